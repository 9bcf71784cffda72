import { adaptMessage, statesFutureTime, touchpointKey, IDENTIFIER_TYPES, MAX_REPORTED_REJECTIONS, type AdapterContext, type AdapterResult, type Channel, type DroppedIdentifier, type OmittedDrops } from '@elephant/channels';
import { deadLetter, recordSize, type ConsumedBatch, type PartitionsHandler, type OutboundBatch, type Message, type DeadLetterReason, type KafkaMessage } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import type { AvroRegistry } from '@elephant/registry';
import { ElephantError, isElephantError } from '@elephant/errors';
import type { NormalizerMetrics } from './metrics.ts';
import type { NormalizerTopics } from './config.ts';

/** What the handler needs of a producer (BatchProducer): the seam unit tests stand in for. */
export interface TouchpointProducer {
  /** Resolves once the broker acknowledged every message; throws ElephantErrors (KAFKA_UNAVAILABLE retryable, KAFKA_RECORD_REJECTED and KAFKA_REFUSED not). */
  send(batches: readonly OutboundBatch[]): Promise<unknown>;
}

export interface NormalizerDeps {
  readonly topics: NormalizerTopics;
  /** Everything of the adapter context except the per-message ingest time. */
  readonly context: Omit<AdapterContext, 'ingestTime'>;
  readonly registry: Pick<AvroRegistry, 'encode'>;
  readonly touchpointSchemaId: number;
  readonly producer: TouchpointProducer;
  readonly metrics: NormalizerMetrics;
  readonly logger: Logger;
  /** Clock for dead-letter timestamps. */
  readonly now: () => number;
  /** Largest touchpoint record (key, value, headers); larger ones dead-letter their raw message as TOUCHPOINT_TOO_LARGE. */
  readonly maxTouchpointBytes: number;
}

/** The touchpoint records one raw message became. */
export interface SourceTouchpoints {
  readonly message: KafkaMessage;
  readonly touchpoints: readonly Message[];
}

export interface NormalizedBatch {
  /** The channel whose raw topic the batch came from. */
  readonly channel: Channel;
  readonly touchpoints: Message[];
  /** `touchpoints` by the raw message they came from, in order. */
  readonly bySource: SourceTouchpoints[];
  readonly deadLetters: Message[];
  readonly reasons: Map<string, number>;
  /** Identifiers normalization removed from the emitted touchpoints (each names its eventId; at most MAX_REPORTED_DROPS per touchpoint). */
  readonly dropped: DroppedIdentifier[];
  /** Drops past MAX_REPORTED_DROPS of a touchpoint, counted by type and reason. */
  readonly droppedOmitted: OmittedDrops[];
  /** Emitted touchpoints that state a time after their ingestTime (statesFutureTime: their source's clock runs ahead). */
  readonly ahead: number;
}

/** Why a message failed, from anything thrown while handling it (ADAPTER_FAILED unless it is an ElephantError). */
function failureOf(error: unknown, where: string): DeadLetterReason {
  if (isElephantError(error)) return { code: error.code, message: error.message, details: error.details };
  return { code: 'ADAPTER_FAILED', message: `${where} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}` };
}

/**
 * Turns one batch of raw messages into touchpoint records and dead-letter records. Pure
 * apart from Avro encoding with an already-registered schema: no message can fail the
 * batch, every input ends up in exactly one of the two lists (or both, for a batch message
 * with some rejected events). Whatever throws while one message is handled (the adapter, the
 * key, the encoding) dead-letters that message, never the batch: a plain error would stop
 * the consumer, which would restart on the same batch forever.
 */
export function normalizeBatch(deps: NormalizerDeps, topic: string, partition: number, messages: readonly KafkaMessage[]): NormalizedBatch {
  const channel = channelOf(deps.topics, topic);
  const touchpoints: Message[] = [];
  const bySource: SourceTouchpoints[] = [];
  const deadLetters: Message[] = [];
  const dropped: DroppedIdentifier[] = [];
  const droppedOmitted: OmittedDrops[] = [];
  const reasons = new Map<string, number>();
  let ahead = 0;
  const reject = (message: KafkaMessage, reason: DeadLetterReason): void => {
    let record: Message;
    try {
      record = deadLetter({ topic, partition, message }, reason, `normalizer-${channel}`, deps.now());
    } catch {
      // Details that cannot be written as JSON (a bug): the dead letter goes without them.
      record = deadLetter({ topic, partition, message }, { code: reason.code, message: reason.message }, `normalizer-${channel}`, deps.now());
    }
    deadLetters.push(record);
    reasons.set(reason.code, (reasons.get(reason.code) ?? 0) + 1);
  };
  for (const message of messages) {
    const bytes = message.value ?? Buffer.alloc(0);
    let result: AdapterResult;
    try {
      result = adaptMessage(channel, bytes, { ...deps.context, ingestTime: Number(message.timestamp) });
    } catch (error) {
      // adaptMessage never throws for any bytes; should it, the message is dead-lettered all the same.
      reject(message, failureOf(error, 'The adapter'));
      continue;
    }
    if (!result.ok) {
      reject(message, { code: result.error.code, message: result.error.message, details: result.error.details });
      continue;
    }
    const encoded: Message[] = [];
    let failure: DeadLetterReason | undefined;
    for (const touchpoint of result.touchpoints) {
      let record: Message;
      try {
        record = { key: touchpointKey(touchpoint), value: deps.registry.encode(deps.touchpointSchemaId, touchpoint), headers: lineage(topic, partition, message) };
      } catch (error) {
        // An adapter produced something the schema refuses: a bug, but it must not block
        // the partition. The whole raw message goes to the dead letters for replay.
        failure = failureOf(error, 'Encoding the touchpoint');
        break;
      }
      const size = recordSize(record);
      if (size > deps.maxTouchpointBytes) {
        // The broker would refuse it (or the whole request it is in) on every retry: the
        // partition would stop. Dead-lettered whole, like any message that cannot go on.
        failure = { code: 'TOUCHPOINT_TOO_LARGE', message: `Touchpoint ${touchpoint.eventId} of ${size} bytes exceeds the limit of ${deps.maxTouchpointBytes} bytes (TOUCHPOINT_MAX_BYTES)`, details: { eventId: touchpoint.eventId, size, limit: deps.maxTouchpointBytes } };
        break;
      }
      encoded.push(record);
    }
    if (failure) {
      reject(message, failure);
      continue;
    }
    for (const record of encoded) touchpoints.push(record);
    if (encoded.length > 0) bySource.push({ message, touchpoints: encoded });
    for (const touchpoint of result.touchpoints) if (statesFutureTime(touchpoint)) ahead += 1;
    if (result.rejected.length > 0) {
      const first = result.rejected[0];
      // The first ones in full, the rest counted: a batch of thousands of bad items made a
      // reason of megabytes, built only to be cut to a header's length.
      const reported = result.rejected.slice(0, MAX_REPORTED_REJECTIONS);
      const omitted = result.rejected.length - reported.length;
      reject(message, {
        code: first?.error.code ?? 'SCHEMA_VIOLATION',
        message: `${result.rejected.length} of the message's events were rejected: ${reported.slice(0, 10).map((entry) => `[${entry.index}] ${entry.error.message}`).join('; ')}${result.rejected.length > 10 ? `; and ${result.rejected.length - 10} more` : ''}`,
        details: { rejected: reported.map((entry) => ({ index: entry.index, code: entry.error.code })), ...(omitted > 0 ? { rejectedOmitted: omitted } : {}), emitted: result.touchpoints.length },
      });
    }
    // Loops, not push(...list): spreading passes every element as an argument, and a long
    // list (200,000 drops of one message) overflowed the stack and failed the whole batch.
    for (const drop of result.dropped) dropped.push(drop);
    for (const entry of result.droppedOmitted) droppedOmitted.push(entry);
  }
  return { channel, touchpoints, bySource, deadLetters, reasons, dropped, droppedOmitted, ahead };
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

const KNOWN_TYPES: ReadonlySet<string> = new Set(IDENTIFIER_TYPES);

/** Custom identifier types are open-ended: one label value for all of them keeps the metric's series bounded. */
function typeLabel(type: string): string {
  return KNOWN_TYPES.has(type) ? type : 'custom';
}

/**
 * The batch handler: normalize, then produce touchpoints and dead letters in one send and
 * resolve only once the broker acknowledged both, so the runner commits offsets after the
 * outputs are durable (at-least-once; a redelivered raw message yields the same eventIds).
 *
 * A retryable produce failure is thrown to the runner, which retries the whole batch with
 * backoff: nothing is dead-lettered for it. A record the broker refuses as such
 * (KAFKA_RECORD_REJECTED: too large for the topic, invalid) would fail every retry, so the
 * touchpoints are then sent per raw message and the raw messages whose touchpoints are still
 * refused are dead-lettered as TOUCHPOINT_REJECTED; the others go through.
 */
export function createNormalizerHandler(deps: NormalizerDeps): PartitionsHandler {
  return async (batches) => {
    // Every partition's batch normalized, then all their records in one send: at a low rate a
    // batch is a record or two, and a send per batch was most of the normalizer's work.
    const normalized = batches.map((batch) => {
      const result = normalizeBatch(deps, batch.topic, batch.partition, batch.messages);
      return { batch, ...result, produced: result.touchpoints.length };
    });
    try {
      await deps.producer.send([
        { topic: deps.topics.touchpoints, messages: normalized.flatMap((entry) => entry.touchpoints) },
        { topic: deps.topics.deadLetters, messages: normalized.flatMap((entry) => entry.deadLetters) },
      ]);
    } catch (error) {
      if (!isElephantError(error, 'KAFKA_RECORD_REJECTED')) throw error;
      deps.logger.warn({ partitions: batches.map((batch) => `${batch.topic}|${batch.partition}`), err: error }, 'the broker refused a record of the batch; sending its touchpoints per raw message');
      for (const entry of normalized) {
        const { batch, channel, bySource, deadLetters, reasons } = entry;
        entry.produced = 0;
        for (const source of bySource) {
          try {
            await deps.producer.send([{ topic: deps.topics.touchpoints, messages: source.touchpoints }]);
            entry.produced += source.touchpoints.length;
          } catch (alone) {
            if (!isElephantError(alone, 'KAFKA_RECORD_REJECTED')) throw alone;
            deadLetters.push(deadLetter({ topic: batch.topic, partition: batch.partition, message: source.message }, { code: 'TOUCHPOINT_REJECTED', message: alone.message, details: alone.details }, `normalizer-${channel}`, deps.now()));
            reasons.set('TOUCHPOINT_REJECTED', (reasons.get('TOUCHPOINT_REJECTED') ?? 0) + 1);
          }
        }
      }
      await deps.producer.send([{ topic: deps.topics.deadLetters, messages: normalized.flatMap((entry) => entry.deadLetters) }]);
    }
    for (const entry of normalized) account(deps, entry.batch, entry);
  };
}

/** Metrics and logs of one partition's batch, after the acknowledgement (a retried batch is counted once). */
function account(deps: NormalizerDeps, batch: ConsumedBatch, { channel, deadLetters, reasons, dropped, droppedOmitted, produced, ahead }: NormalizedBatch & { readonly produced: number }): void {
  deps.metrics.consumed.inc({ channel }, batch.messages.length);
  deps.metrics.produced.inc({ channel }, produced);
  if (ahead > 0) deps.metrics.futureTimes.inc({ channel }, ahead);
  for (const [reason, count] of reasons) deps.metrics.deadLettered.inc({ channel, reason }, count);
  if (dropped.length > 0 || droppedOmitted.length > 0) {
    // Counted per label once a batch, not per identifier; each drop is logged at debug, the
    // batch's summary at info (junk values are common: a line per drop at info would be
    // most of the log). Never the value: it is personal data, and invalid ones are often
    // typos of real ones.
    const counts = new Map<string, { type: string; reason: string; count: number }>();
    for (const drop of dropped) {
      const type = typeLabel(drop.type);
      const key = `${type}\u0000${drop.reason}`;
      const entry = counts.get(key);
      if (entry) entry.count += 1;
      else counts.set(key, { type, reason: drop.reason, count: 1 });
      deps.logger.debug({ channel, eventId: drop.eventId, type: drop.type, reason: drop.reason, field: drop.field }, 'identifier dropped by normalization');
    }
    // Past MAX_REPORTED_DROPS of one touchpoint only counts are known: in the metric and the summary, not at debug.
    for (const omitted of droppedOmitted) {
      const type = typeLabel(omitted.type);
      const key = `${type}\u0000${omitted.reason}`;
      const entry = counts.get(key);
      if (entry) entry.count += omitted.count;
      else counts.set(key, { type, reason: omitted.reason, count: omitted.count });
    }
    for (const { type, reason, count } of counts.values()) deps.metrics.droppedIdentifiers.inc({ channel, type, reason }, count);
    deps.logger.info({ channel, partition: batch.partition, dropped: [...counts.values()] }, 'identifiers dropped by normalization');
  }
  if (deadLetters.length > 0) deps.logger.warn({ partition: batch.partition, deadLettered: deadLetters.length, reasons: Object.fromEntries(reasons) }, 'dead-lettered raw messages');
}
