import './read-committed.ts';
import { CompressionTypes, type Kafka, type Message, type Producer, type RecordMetadata } from 'kafkajs';
import { KafkaError, recordRejection, refusal, refusalHint } from './errors.ts';
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
  /**
   * Most bytes (keys, values, headers and a per-record allowance) in one produce request.
   * kafkajs puts all of a request's messages for one partition into one record batch, and
   * the broker refuses a batch larger than the topic's max.message.bytes (default 1 MB) as a
   * whole: without this split, two records that fit alone fail together, forever.
   * @default REQUEST_MAX_BYTES
   */
  readonly maxRequestBytes?: number;
}

/** Below the broker's default message.max.bytes (1048588) with room for batch overhead. */
export const REQUEST_MAX_BYTES = 900 * 1024;

/** Record overhead besides key, value and headers (length varints, deltas, attributes), rounded up. */
const RECORD_OVERHEAD = 32;

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

/** Bytes one message takes in a record batch, overhead rounded up. */
export function recordSize(message: Message): number {
  let bytes = RECORD_OVERHEAD + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) bytes += name.length + 8 + byteLength(item);
  }
  return bytes;
}

function byteLength(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/**
 * `topicMessages` cut into requests of at most `max` bytes (recordSize), in order; a message
 * larger than `max` goes alone (the broker then judges it).
 */
export function splitRequests(topicMessages: readonly { topic: string; messages: Message[] }[], max: number): { topic: string; messages: Message[] }[][] {
  const requests: { topic: string; messages: Message[] }[][] = [];
  let current: { topic: string; messages: Message[] }[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    for (const message of messages) {
      const size = recordSize(message);
      if (bytes > 0 && bytes + size > max) {
        requests.push(current);
        current = [];
        bytes = 0;
      }
      const last = current.at(-1);
      if (last?.topic === topic) last.messages.push(message);
      else current.push({ topic, messages: [message] });
      bytes += size;
    }
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/** Sends waiting for the request in flight join the next one up to this many bytes. */
const GROUP_BYTES = 512 * 1024;

type Outcome = { readonly metadata: RecordMetadata[] } | { readonly error: unknown };

function forTopics(metadata: readonly RecordMetadata[], batches: readonly OutboundBatch[]): RecordMetadata[] {
  const topics = new Set(batches.map((batch) => batch.topic));
  return metadata.filter((entry) => topics.has(entry.topicName));
}

/**
 * `producer`, connected. kafkajs' connect() connects the cluster, then asks for a producer id
 * (from the controller, or the transaction coordinator): when that fails, the connected
 * cluster was left open, and a producer renewed before every retry during an outage left one
 * more each time, its sockets open until the broker's idle timeout. Disconnected on failure.
 */
export async function connectedOrDropped(producer: Producer): Promise<Producer> {
  try {
    await producer.connect();
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    throw error;
  }
  return producer;
}

/**
 * A connected producer that sends whole batches and reports failures as KafkaError.
 *
 * Group produce: one request is in flight at a time (the idempotent producer allows no more),
 * and the batches of every caller that arrived meanwhile go together in the next request, so
 * many partitions handled at once cost one round trip, not one each in turn.
 */
export class BatchProducer {
  #producer: Producer;
  /** Makes a connected kafkajs producer like the first one (see #renew). */
  readonly #create: () => Promise<Producer>;
  readonly #compression: CompressionTypes;
  readonly #maxRequestBytes: number;
  readonly #sends: Grouped<readonly OutboundBatch[], Outcome>;
  /** Set by a failed request: the next one goes through a new producer (see #renew). */
  #stale = false;

  private constructor(producer: Producer, create: () => Promise<Producer>, compression: CompressionTypes, maxRequestBytes: number) {
    this.#producer = producer;
    this.#create = create;
    this.#compression = compression;
    this.#maxRequestBytes = maxRequestBytes;
    this.#sends = new Grouped(
      async (sends): Promise<Outcome[]> => {
        try {
          const metadata = await this.#sendAll(sends.flat());
          return sends.map((batches) => ({ metadata: forTopics(metadata, batches) }));
        } catch (error) {
          if (!(error instanceof KafkaError) || error.code !== 'KAFKA_RECORD_REJECTED' || sends.length === 1) throw error;
          // The broker refused a record of one caller; the others shared its request only by
          // chance. Each caller's batches go alone, so only the one they belong to learns
          // the rejection (and can dead-letter the record) while the rest go through.
          const outcomes: Outcome[] = [];
          for (const batches of sends) {
            try {
              outcomes.push({ metadata: forTopics(await this.#sendAll(batches), batches) });
            } catch (alone) {
              outcomes.push({ error: alone });
            }
          }
          return outcomes;
        }
      },
      { weight: sizeOf, max: GROUP_BYTES },
    );
  }

  /** Every message of `batches`, in requests of at most maxRequestBytes, one after another (order kept). */
  async #sendAll(batches: readonly OutboundBatch[]): Promise<RecordMetadata[]> {
    const metadata: RecordMetadata[] = [];
    for (const topicMessages of splitRequests(mergeByTopic(batches), this.#maxRequestBytes)) {
      try {
        if (this.#stale) await this.#renew();
        metadata.push(...(await this.#producer.sendBatch({ topicMessages, acks: -1, compression: this.#compression })));
      } catch (error) {
        // Whatever failed, the next request goes through a new producer (#renew).
        this.#stale = true;
        const topics = topicMessages.map((batch) => batch.topic).join(', ');
        const rejection = recordRejection(error);
        // Retrying a record the broker refuses as such (too large, invalid) fails the same
        // way forever: tell the caller, not the retry loop.
        if (rejection) {
          throw new KafkaError('KAFKA_RECORD_REJECTED', `The broker refused records for ${topics} (${rejection}): ${(error as Error).message}`, { retryable: false, cause: error, details: { type: rejection } });
        }
        const refused = refusal(error);
        if (refused !== undefined) throw new KafkaError('KAFKA_REFUSED', `The broker refuses records for ${topics} (${refused}); ${refusalHint(refused)}: ${(error as Error).message}`, { retryable: false, cause: error, details: { reason: refused } });
        throw new KafkaError('KAFKA_UNAVAILABLE', `Producing to ${topics} failed: ${(error as Error).message}`, { retryable: true, cause: error });
      }
    }
    return metadata;
  }

  /**
   * A fresh kafkajs producer in place of one whose request failed. kafkajs throws on the first
   * partition the broker refused, and sets back the idempotent sequence numbers of every
   * partition of the request, also of those the broker wrote: the next records to such a
   * partition then reuse written sequence numbers, and the broker takes them for a retry of
   * those records, answering with their offsets without writing them (the same count; lost,
   * the send resolved), or refuses them (OUT_OF_ORDER_SEQUENCE_NUMBER, on every retry). A new
   * producer id starts the sequences again. Made before the next request, which fails as
   * unavailable while the broker cannot be reached; nothing is in flight (one request at a time).
   */
  async #renew(): Promise<void> {
    const old = this.#producer;
    this.#producer = await this.#create();
    this.#stale = false;
    await old.disconnect().catch(() => undefined);
  }

  static async connect(kafka: Kafka, options: ProducerOptions = {}): Promise<BatchProducer> {
    const idempotent = options.idempotent ?? true;
    const create = async (): Promise<Producer> => {
      // One request in flight (group produce sends the next one when it returns) keeps
      // per-partition order without relying on sequence numbers.
      // The Java client's murmur2 partitioning (partitioner.ts): a key lands on the same
      // partition as it would from a Java producer, and from every Elephant stage.
      return connectedOrDropped(kafka.producer({ idempotent, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: FastPartitioner }));
    };
    return new BatchProducer(await create(), create, options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None, options.maxRequestBytes ?? REQUEST_MAX_BYTES);
  }

  /**
   * Sends every message of every batch and resolves once the broker acknowledged all of them
   * (acks=all), with the metadata of the request that carried them (for their topics; other
   * callers' batches may have shared it). Retryable broker errors are retried by kafkajs
   * first; what still fails is thrown as a retryable KAFKA_UNAVAILABLE, to every caller whose
   * batches were in that request, so each re-runs its batch. A record the broker refuses as
   * such (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_RECORD) is a non-retryable
   * KAFKA_RECORD_REJECTED, thrown only to the caller whose batches hold it; one the broker
   * refuses for authorization or a setting, a non-retryable KAFKA_REFUSED (errors.ts). The broker wrote
   * the other partitions of the refused request: those records, and the requests of the same
   * call sent before it, may be written twice when re-sent (at-least-once).
   */
  async send(batches: readonly OutboundBatch[]): Promise<RecordMetadata[]> {
    const nonEmpty = batches.filter((batch) => batch.messages.length > 0);
    if (nonEmpty.length === 0) return [];
    const outcome = await this.#sends.submit(nonEmpty);
    if ('error' in outcome) throw outcome.error;
    return outcome.metadata;
  }

  async disconnect(): Promise<void> {
    await this.#producer.disconnect();
  }
}
