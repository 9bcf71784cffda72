import { adaptMessage, touchpointKey, type AdapterContext, type Channel } from '@elephant/channels';
import { deadLetter, type BatchHandler, type BatchProducer, type Message, type DeadLetterReason, type KafkaMessage } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import type { AvroRegistry } from '@elephant/registry';
import { ElephantError, isElephantError } from '@elephant/errors';
import type { NormalizerMetrics } from './metrics.ts';
import type { NormalizerTopics } from './config.ts';

export interface NormalizerDeps {
  readonly topics: NormalizerTopics;
  /** Everything of the adapter context except the per-message ingest time. */
  readonly context: Omit<AdapterContext, 'ingestTime'>;
  readonly registry: AvroRegistry;
  readonly touchpointSchemaId: number;
  readonly producer: BatchProducer;
  readonly metrics: NormalizerMetrics;
  readonly logger: Logger;
  /** Clock for dead-letter timestamps. */
  readonly now: () => number;
}

export interface NormalizedBatch {
  /** The channel whose raw topic the batch came from. */
  readonly channel: Channel;
  readonly touchpoints: Message[];
  readonly deadLetters: Message[];
  readonly reasons: Map<string, number>;
}

/**
 * Turns one batch of raw messages into touchpoint records and dead-letter records. Pure
 * apart from Avro encoding with an already-registered schema: no message can fail the
 * batch, every input ends up in exactly one of the two lists (or both, for a batch message
 * with some rejected events).
 */
export function normalizeBatch(deps: NormalizerDeps, topic: string, partition: number, messages: readonly KafkaMessage[]): NormalizedBatch {
  const channel = channelOf(deps.topics, topic);
  const touchpoints: Message[] = [];
  const deadLetters: Message[] = [];
  const reasons = new Map<string, number>();
  const reject = (message: KafkaMessage, reason: DeadLetterReason): void => {
    deadLetters.push(deadLetter({ topic, partition, message }, reason, `normalizer-${channel}`, deps.now()));
    reasons.set(reason.code, (reasons.get(reason.code) ?? 0) + 1);
  };
  for (const message of messages) {
    const bytes = message.value ?? Buffer.alloc(0);
    const result = adaptMessage(channel, bytes, { ...deps.context, ingestTime: Number(message.timestamp) });
    if (!result.ok) {
      reject(message, { code: result.error.code, message: result.error.message, details: result.error.details });
      continue;
    }
    const encoded: Message[] = [];
    let failure: DeadLetterReason | undefined;
    for (const touchpoint of result.touchpoints) {
      try {
        encoded.push({ key: touchpointKey(touchpoint), value: deps.registry.encode(deps.touchpointSchemaId, touchpoint), headers: lineage(topic, partition, message) });
      } catch (error) {
        // An adapter produced something the schema refuses: a bug, but it must not block
        // the partition. The whole raw message goes to the dead letters for replay.
        failure = isElephantError(error) ? { code: error.code, message: error.message, details: error.details } : { code: 'ADAPTER_FAILED', message: String(error) };
        break;
      }
    }
    if (failure) {
      reject(message, failure);
      continue;
    }
    touchpoints.push(...encoded);
    if (result.rejected.length > 0) {
      const first = result.rejected[0];
      reject(message, {
        code: first?.error.code ?? 'SCHEMA_VIOLATION',
        message: `${result.rejected.length} of the message's events were rejected: ${result.rejected.map((entry) => `[${entry.index}] ${entry.error.message}`).join('; ')}`,
        details: { rejected: result.rejected.map((entry) => ({ index: entry.index, code: entry.error.code })), emitted: result.touchpoints.length },
      });
    }
    if (result.dropped.length > 0) deps.metrics.droppedIdentifiers.inc({ channel }, result.dropped.length);
  }
  return { channel, touchpoints, deadLetters, reasons };
}

/** The channel whose raw topic `topic` is. */
export function channelOf(topics: NormalizerTopics, topic: string): Channel {
  const source = topics.sources.find((entry) => entry.topic === topic);
  if (!source) throw new ElephantError('NORMALIZER_UNKNOWN_TOPIC', `Received a batch of ${topic}, which is none of this normalizer's raw topics (${topics.sources.map((entry) => entry.topic).join(', ')})`, { retryable: false });
  return source.channel;
}

function lineage(topic: string, partition: number, message: KafkaMessage): Record<string, string> {
  return { 'elephant.source.topic': topic, 'elephant.source.partition': String(partition), 'elephant.source.offset': message.offset };
}

/**
 * The batch handler: normalize, then produce touchpoints and dead letters in one send and
 * resolve only once the broker acknowledged both, so the runner commits offsets after the
 * outputs are durable (at-least-once; a redelivered raw message yields the same eventIds).
 */
export function createNormalizerHandler(deps: NormalizerDeps): BatchHandler {
  return async (batch) => {
    const { channel, touchpoints, deadLetters, reasons } = normalizeBatch(deps, batch.topic, batch.partition, batch.messages);
    await deps.producer.send([
      { topic: deps.topics.touchpoints, messages: touchpoints },
      { topic: deps.topics.deadLetters, messages: deadLetters },
    ]);
    deps.metrics.consumed.inc({ channel }, batch.messages.length);
    deps.metrics.produced.inc({ channel }, touchpoints.length);
    for (const [reason, count] of reasons) deps.metrics.deadLettered.inc({ channel, reason }, count);
    if (deadLetters.length > 0) deps.logger.warn({ partition: batch.partition, deadLettered: deadLetters.length, reasons: Object.fromEntries(reasons) }, 'dead-lettered raw messages');
  };
}
