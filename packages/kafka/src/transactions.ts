import './read-committed.ts';
import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';
import { KafkaError } from './errors.ts';
import { FastPartitioner } from './partitioner.ts';
import { Grouped } from './grouped.ts';
import { mergeByTopic, type OutboundBatch } from './producer.ts';
import { retryOnProtocolError } from './retry.ts';

/** The producer's retries: from the first backoff (1 ms unless configured), doubling, up to 1 s a wait; about 4 s in all. */
const RETRIES = 13;
const MAX_RETRY_MS = 1000;
const RETRY_BACKOFF_MS = 1;

export interface ConsumedOffset {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read (last processed + 1). */
  readonly offset: string;
}

export interface TransactionalProducerOptions {
  /**
   * How long the broker lets a transaction stay open before aborting it. It bounds how long a
   * transaction of a process that died mid-way holds back read_committed consumers (they stop
   * at the oldest open transaction). @default 60000
   */
  readonly transactionTimeoutMs?: number;
  /** First retry backoff of the producer's requests (doubling, up to 1 s; 13 retries, about 4 s in all). @default 1 */
  readonly retryBackoffMs?: number;
}

/**
 * A transactional producer for consume-transform-produce: a batch's outputs and its input
 * offsets are committed atomically, so a consumer with read_committed isolation sees each
 * output once even when the batch is processed again after a crash (the aborted attempt's
 * outputs stay invisible). The transactional id must be unique per live instance.
 */
export class TransactionalProducer {
  readonly #producer: Producer;
  readonly #retryBackoffMs: number;

  private constructor(producer: Producer, retryBackoffMs: number) {
    this.#producer = producer;
    this.#retryBackoffMs = retryBackoffMs;
  }

  static async connect(kafka: Kafka, transactionalId: string, options: TransactionalProducerOptions = {}): Promise<TransactionalProducer> {
    const producer = kafka.producer({
      transactionalId,
      transactionTimeout: options.transactionTimeoutMs ?? 60000,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: FastPartitioner,
      // A transaction that starts right after the previous commit often meets the coordinator
      // still writing that commit's markers (CONCURRENT_TRANSACTIONS, retriable), which takes it
      // a millisecond or two. The retry's first backoff is what that transaction waits: at 10 ms
      // the builder alone at 1,000 events/s spent p50 11 ms sending each transaction's records
      // (AddPartitionsToTxn and Produce) and its updates took p50 43 / p99 154 ms; at 1 ms, p50
      // 2.4 ms and p50 7 / p99 30 ms (docs/benchmarks.md). Doubling from 1 ms, 13 retries
      // span about 4 s, as the 10 retries from 10 ms did.
      retry: { initialRetryTime: options.retryBackoffMs ?? RETRY_BACKOFF_MS, maxRetryTime: MAX_RETRY_MS, retries: RETRIES },
    });
    await producer.connect();
    return new TransactionalProducer(producer, options.retryBackoffMs ?? RETRY_BACKOFF_MS);
  }

  /**
   * Sends `batches` and commits `offsets` in one transaction; aborts on any failure. The
   * records (AddPartitionsToTxn, Produce) and the offsets (AddOffsetsToTxn, TxnOffsetCommit) go
   * at once rather than one after the other: the builder alone at 1,000 events/s, p50 8–11 →
   * 6–7 ms, and the whole pipeline's p99 168–211 → 103–132 ms in alternating runs
   * (docs/benchmarks.md). Tried before `whileConcurrent` existed, this made the p99 seconds
   * long: AddOffsetsToTxn, now often the transaction's first request, met the previous
   * transaction's completion and failed.
   */
  async commit(batches: readonly OutboundBatch[], offsets: readonly ConsumedOffset[]): Promise<void> {
    const transaction = await this.#producer.transaction();
    try {
      const topicMessages = mergeByTopic(batches);
      const byGroup = new Map<string, Map<string, { partition: number; offset: string }[]>>();
      for (const offset of offsets) {
        const topics = byGroup.get(offset.groupId) ?? new Map<string, { partition: number; offset: string }[]>();
        topics.set(offset.topic, [...(topics.get(offset.topic) ?? []), { partition: offset.partition, offset: offset.offset }]);
        byGroup.set(offset.groupId, topics);
      }
      const sendOffsets = async (): Promise<void> => {
        for (const [consumerGroupId, topics] of byGroup) {
          await whileConcurrent(() => transaction.sendOffsets({ consumerGroupId, topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) }), this.#retryBackoffMs);
        }
      };
      const sent = await Promise.allSettled([topicMessages.length > 0 ? transaction.sendBatch({ topicMessages, compression: CompressionTypes.None }) : Promise.resolve(), sendOffsets()]);
      for (const outcome of sent) if (outcome.status === 'rejected') throw outcome.reason;
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw new KafkaError('KAFKA_UNAVAILABLE', `Transaction failed and was aborted: ${(error as Error).message}`, { retryable: true, cause: error });
    }
  }

  async disconnect(): Promise<void> {
    await this.#producer.disconnect();
  }
}

/**
 * Runs `send` again while the coordinator answers CONCURRENT_TRANSACTIONS (it is still
 * completing this producer's previous transaction), backing off from `backoffMs`, doubling, up
 * to 1 s and 13 retries, as the producer's own retries do. kafkajs retries that answer to
 * AddPartitionsToTxn, but sends AddOffsetsToTxn once: a transaction with offsets and no
 * records (a batch that published nothing) starts with it, and failed on the first answer.
 * Measured with the builder alone at 1,000 events/s: a few transactions a minute failed so,
 * each batch of them retried after the consumer's 200 ms, 400 ms, ... backoff, and its
 * partition waited (updates p99 51 ms–1.6 s, max 0.6–3 s; docs/benchmarks.md).
 */
function whileConcurrent<T>(send: () => Promise<T>, backoffMs: number): Promise<T> {
  return retryOnProtocolError('CONCURRENT_TRANSACTIONS', send, RETRIES, (attempt) => Math.min(MAX_RETRY_MS, backoffMs * 2 ** attempt));
}

/** One caller's share of a transaction. */
interface Participant {
  readonly batches: readonly OutboundBatch[];
  readonly offsets: readonly ConsumedOffset[];
}

/**
 * Group commit over one transactional producer: batches of different partitions, processed
 * concurrently, share a transaction. The first caller's transaction starts at once; callers
 * that arrive while it runs join the next one. Every participant of a transaction learns its
 * outcome: if it fails, each of them fails (and processes its batch again).
 *
 * Records keep their order within a participant; participants must not share a partition
 * key space that needs ordering across them (the caller serializes those).
 */
export class TransactionGroup {
  readonly #transactions: Grouped<Participant, undefined>;

  /**
   * `minIntervalMs`: a transaction starts no sooner than this after the previous one started;
   * what finishes meanwhile joins it (0: as soon as the previous one is done).
   */
  constructor(producer: Pick<TransactionalProducer, 'commit'>, minIntervalMs = 0) {
    this.#transactions = new Grouped<Participant, undefined>(
      async (participants) => {
        await producer.commit(
          mergeByTopic(participants.flatMap((participant) => participant.batches)),
          participants.flatMap((participant) => participant.offsets),
        );
        return participants.map(() => undefined);
      },
      undefined,
      minIntervalMs,
    );
  }

  async commit(batches: readonly OutboundBatch[], offsets: readonly ConsumedOffset[]): Promise<void> {
    await this.#transactions.submit({ batches, offsets });
  }
}
