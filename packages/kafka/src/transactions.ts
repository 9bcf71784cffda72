import './read-committed.ts';
import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';
import { KafkaError, protocolErrorIn, recordRejection, refusal, refusalHint } from './errors.ts';
import { FastPartitioner } from './partitioner.ts';
import { Grouped } from './grouped.ts';
import { connectedOrDropped, mergeByTopic, REQUEST_MAX_BYTES, splitRequests, type OutboundBatch } from './producer.ts';
import { retryOnProtocolError } from './retry.ts';
import { withGeneration, type GroupGeneration } from './txn-offset-commit.ts';

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
  /**
   * The group membership the offset's batch was fetched under (BatchContext.generation): the
   * coordinator refuses the commit, and the transaction aborts, once the group has moved past
   * it (KAFKA_MEMBERSHIP_FENCED; see txn-offset-commit.ts). Without it the commit is not fenced.
   */
  readonly generation?: GroupGeneration | undefined;
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
  /**
   * A transaction's records go in produce requests of at most this many bytes, one after
   * another: kafkajs puts a request's records of one partition in one record batch, which the
   * broker refuses over the topic's max.message.bytes (1 MB by default). @default REQUEST_MAX_BYTES
   */
  readonly maxRequestBytes?: number;
}

/**
 * A transactional producer for consume-transform-produce: a batch's outputs and its input
 * offsets are committed atomically, so a consumer with read_committed isolation sees each
 * output once even when the batch is processed again after a crash (the aborted attempt's
 * outputs stay invisible). The transactional id must be unique per live instance.
 */
export class TransactionalProducer {
  #producer: Producer;
  readonly #create: () => Promise<Producer>;
  readonly #retryBackoffMs: number;
  readonly #maxRequestBytes: number;
  /** The producer can run no further transaction (fenced, or stuck in kafkajs' state machine): made anew before the next. */
  #renew = false;

  private constructor(producer: Producer, create: () => Promise<Producer>, retryBackoffMs: number, maxRequestBytes: number) {
    this.#producer = producer;
    this.#create = create;
    this.#retryBackoffMs = retryBackoffMs;
    this.#maxRequestBytes = maxRequestBytes;
  }

  static async connect(kafka: Kafka, transactionalId: string, options: TransactionalProducerOptions = {}): Promise<TransactionalProducer> {
    const create = (): Promise<Producer> => connectedOrDropped(TransactionalProducer.#configure(kafka, transactionalId, options));
    return new TransactionalProducer(await create(), create, options.retryBackoffMs ?? RETRY_BACKOFF_MS, options.maxRequestBytes ?? REQUEST_MAX_BYTES);
  }

  static #configure(kafka: Kafka, transactionalId: string, options: TransactionalProducerOptions): Producer {
    return kafka.producer({
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
    let transaction: Awaited<ReturnType<Producer['transaction']>>;
    try {
      if (this.#renew) await this.#renewProducer();
      transaction = await this.#producer.transaction();
    } catch (error) {
      this.#renew = true;
      const refused = refusal(error);
      if (refused !== undefined) throw new KafkaError('KAFKA_REFUSED', `Transaction could not begin: the broker refuses it (${refused}); ${refusalHint(refused)}: ${(error as Error).message}`, { retryable: false, cause: error, details: { reason: refused } });
      throw new KafkaError('KAFKA_UNAVAILABLE', `Transaction could not begin: ${(error as Error).message}`, { retryable: true, cause: error });
    }
    try {
      // Usually one request; more when a partition's records would make a record batch the
      // broker refuses (an outbox recovery after a crash republished 2,335 updates of one
      // partition, MESSAGE_TOO_LARGE, and the builder exited at every restart).
      const requests = splitRequests(mergeByTopic(batches), this.#maxRequestBytes);
      const sendRecords = async (): Promise<void> => {
        for (const topicMessages of requests) await transaction.sendBatch({ topicMessages, compression: CompressionTypes.None });
      };
      // One TxnOffsetCommit per group and membership (a transaction shared by batches fetched
      // before and after a rejoin holds two).
      const byMembership = new Map<string, { groupId: string; generation: GroupGeneration | undefined; topics: Map<string, { partition: number; offset: string }[]> }>();
      for (const offset of offsets) {
        const key = JSON.stringify([offset.groupId, offset.generation?.generationId, offset.generation?.memberId, offset.generation?.groupInstanceId]);
        let entry = byMembership.get(key);
        if (!entry) byMembership.set(key, (entry = { groupId: offset.groupId, generation: offset.generation, topics: new Map() }));
        const partitions = entry.topics.get(offset.topic);
        if (partitions) partitions.push({ partition: offset.partition, offset: offset.offset });
        else entry.topics.set(offset.topic, [{ partition: offset.partition, offset: offset.offset }]);
      }
      const sendOffsets = async (): Promise<void> => {
        for (const { groupId: consumerGroupId, generation, topics } of byMembership.values()) {
          await whileConcurrent(() => transaction.sendOffsets({ consumerGroupId, topics: withGeneration([...topics].map(([topic, partitions]) => ({ topic, partitions })), generation) }), this.#retryBackoffMs);
        }
      };
      const sent = await Promise.allSettled([sendRecords(), sendOffsets()]);
      for (const outcome of sent) if (outcome.status === 'rejected') throw outcome.reason;
      await transaction.commit();
    } catch (error) {
      // kafkajs leaves a transaction whose commit or abort failed in its COMMITTING or ABORTING
      // state, and refuses every later one; a fenced producer (the broker aborted a transaction
      // that ran past its timeout and bumped the epoch) can run none either. Both are made anew
      // before the next transaction: InitProducerId with the same transactional id gets a new
      // epoch and aborts whatever the old one left open. Before, the next transaction threw a
      // kafkajs error the runner took for a bug, and the builder exited.
      // And after any failed transaction: kafkajs sets back the sequence numbers of every
      // partition of a produce request that failed, also of those the broker wrote, and the next
      // transaction's records to them reused written numbers, which the broker took for retries
      // of those records (acknowledged, not written: lost, with their input offsets committed)
      // or refused. A new epoch starts the sequences again.
      const aborted = await transaction.abort().then(
        () => true,
        () => false,
      );
      this.#renew = true;
      const rejected = recordRejection(error);
      // The same records are refused every time: retrying would stop the partitions for good.
      if (rejected !== undefined) throw new KafkaError('KAFKA_RECORD_REJECTED', `Transaction aborted: the broker refused a record (${rejected}): ${(error as Error).message}`, { retryable: false, cause: error, details: { reason: rejected } });
      const fenced = protocolErrorIn(error, STALE_MEMBERSHIP);
      if (fenced !== undefined) throw new KafkaError('KAFKA_MEMBERSHIP_FENCED', `Transaction ${aborted ? 'aborted' : 'not aborted (the producer is made anew)'}: the group coordinator refused offsets of a membership the consumer group has moved past (${fenced}); the batches of that membership are another member's now, and any other batch of the transaction is to be processed again: ${(error as Error).message}`, { retryable: true, cause: error, details: { reason: fenced } });
      const refused = refusal(error);
      if (refused !== undefined) throw new KafkaError('KAFKA_REFUSED', `Transaction aborted: the broker refuses it (${refused}); ${refusalHint(refused)}: ${(error as Error).message}`, { retryable: false, cause: error, details: { reason: refused } });
      throw new KafkaError('KAFKA_UNAVAILABLE', `Transaction failed and was ${aborted ? 'aborted' : 'not aborted (the producer is made anew)'}: ${(error as Error).message}`, { retryable: true, cause: error });
    }
  }

  async #renewProducer(): Promise<void> {
    await this.#producer.disconnect().catch(() => undefined);
    this.#producer = await this.#create();
    this.#renew = false;
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

/** The group coordinator's answers to offsets of a membership that ended (TxnOffsetCommit v3, see txn-offset-commit.ts). */
const STALE_MEMBERSHIP = new Set(['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);


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
