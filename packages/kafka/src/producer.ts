import './read-committed.ts';
import { CompressionTypes, type Kafka, type Message, type Producer, type RecordMetadata } from 'kafkajs';
import { KafkaError } from './errors.ts';
import { FastPartitioner } from './partitioner.ts';
import { Grouped } from './grouped.ts';

export type { Message, RecordMetadata };

export interface ProducerOptions {
  /**
   * Idempotent delivery (acks=all, broker-side de-duplication of retries): a retry after a
   * lost acknowledgement never writes a message twice. @default true
   */
  readonly idempotent?: boolean;
  /** @default 'none' */
  readonly compression?: 'none' | 'gzip';
}

export interface OutboundBatch {
  readonly topic: string;
  readonly messages: readonly Message[];
}

/** Messages of several batches in one list per topic, in the order given. */
export function mergeByTopic(batches: readonly OutboundBatch[]): { topic: string; messages: Message[] }[] {
  const byTopic = new Map<string, Message[]>();
  for (const batch of batches) {
    if (batch.messages.length === 0) continue;
    const list = byTopic.get(batch.topic);
    if (list) list.push(...batch.messages);
    else byTopic.set(batch.topic, [...batch.messages]);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** Bytes of keys and values, the bulk of a request. */
export function sizeOf(batches: readonly OutboundBatch[]): number {
  let bytes = 0;
  for (const batch of batches) for (const message of batch.messages) bytes += (message.value?.length ?? 0) + (message.key?.length ?? 0);
  return bytes;
}

/** Sends waiting for the request in flight join the next one up to this many bytes. */
const GROUP_BYTES = 512 * 1024;

/**
 * A connected producer that sends whole batches and reports failures as KafkaError.
 *
 * Group produce: one request is in flight at a time (the idempotent producer allows no more),
 * and the batches of every caller that arrived meanwhile go together in the next request, so
 * many partitions handled at once cost one round trip, not one each in turn.
 */
export class BatchProducer {
  readonly #producer: Producer;
  readonly #sends: Grouped<readonly OutboundBatch[], RecordMetadata[]>;

  private constructor(producer: Producer, compression: CompressionTypes) {
    this.#producer = producer;
    this.#sends = new Grouped(
      async (sends) => {
        const topicMessages = mergeByTopic(sends.flat());
        let metadata: RecordMetadata[];
        try {
          metadata = await producer.sendBatch({ topicMessages, acks: -1, compression });
        } catch (error) {
          throw new KafkaError('KAFKA_UNAVAILABLE', `Producing to ${topicMessages.map((batch) => batch.topic).join(', ')} failed: ${(error as Error).message}`, { retryable: true, cause: error });
        }
        return sends.map((batches) => {
          const topics = new Set(batches.map((batch) => batch.topic));
          return metadata.filter((entry) => topics.has(entry.topicName));
        });
      },
      { weight: sizeOf, max: GROUP_BYTES },
    );
  }

  static async connect(kafka: Kafka, options: ProducerOptions = {}): Promise<BatchProducer> {
    const idempotent = options.idempotent ?? true;
    // One request in flight (group produce sends the next one when it returns) keeps
    // per-partition order without relying on sequence numbers.
    // The Java client's murmur2 partitioning (partitioner.ts): a key lands on the same
    // partition as it would from a Java producer, and from every Elephant stage.
    const producer = kafka.producer({ idempotent, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: FastPartitioner });
    await producer.connect();
    return new BatchProducer(producer, options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None);
  }

  /**
   * Sends every message of every batch and resolves once the broker acknowledged all of them
   * (acks=all), with the metadata of the request that carried them (for their topics; other
   * callers' batches may have shared it). Retryable broker errors are retried by kafkajs
   * first; what still fails is thrown as a retryable KAFKA_UNAVAILABLE, to every caller whose
   * batches were in that request, so each re-runs its batch.
   */
  send(batches: readonly OutboundBatch[]): Promise<RecordMetadata[]> {
    const nonEmpty = batches.filter((batch) => batch.messages.length > 0);
    return nonEmpty.length === 0 ? Promise.resolve([]) : this.#sends.submit(nonEmpty);
  }

  async disconnect(): Promise<void> {
    await this.#producer.disconnect();
  }
}
