import './read-committed.ts';
/**
 * A consumer group's committed offsets, read the way a transactional consumer needs them:
 * stable (KIP-447's `require_stable`).
 *
 * A transaction that commits consumer offsets (TxnOffsetCommit) leaves them pending at the
 * group coordinator until the transaction's commit marker reaches the offsets topic, which
 * happens after EndTxn returned to the producer. kafkajs 2.2.4 reads offsets with OffsetFetch
 * v4 at most, which answers from the committed offsets only: right after a transaction
 * committed, it can still return the offset before it. The profile builder's outbox recovery
 * decides from that offset whether an earlier transaction published an entry, so it published
 * the entry a second time (measured: about one run in four of
 * services/profile-builder/test/recovery.it.test.ts on a freshly started broker).
 *
 * OffsetFetch v7 (Kafka 2.5+) takes `require_stable`: while a transaction holds pending
 * offsets of a requested partition, the coordinator answers UNSTABLE_OFFSET_COMMIT instead,
 * and the reader asks again until the transaction completed (committed or aborted), as the
 * Java consumer does. kafkajs has no v7 (a flexible version, KIP-482: compact strings and
 * arrays, tagged fields), so this module encodes and decodes it and sends it over kafkajs'
 * own connection to the group coordinator (authentication and TLS included). A broker older
 * than 2.5 gets kafkajs' own OffsetFetch, without the guarantee.
 *
 * kafkajs' consumer reads its group's offsets the same way when it takes partitions (its
 * OffsetManager's resolveOffsets): after a rebalance, a partition's new owner started from the
 * offset before the previous owner's last transaction, which was still completing, and
 * processed that transaction's records again (the builder found them applied and skipped them:
 * work wasted, nothing published twice). That read is made stable here too, as the Java
 * consumer does with read_committed: Broker#offsetFetch sends OffsetFetch v7 with
 * `require_stable` when called from resolveOffsets (marked by an AsyncLocalStorage context, so
 * the admin's reads, which must not wait, are left alone), and asks again while a transaction
 * holds the offsets, for up to CONSUMER_STABLE_WAIT_MS, below any session timeout (the
 * consumer sends no heartbeat meanwhile). A transaction still open then (its producer died:
 * the broker aborts it after its transaction timeout, up to 15 minutes) gets a warning and the
 * read kafkajs made before, as it was: failing instead had kafkajs' consumer retry the fetch,
 * each attempt waiting again without a heartbeat, until the coordinator expelled the member.
 * packages/kafka/test/committed-offsets.test.ts checks the bytes,
 * packages/kafka/test/committed-offsets.it.test.ts the behaviour against a real broker.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kafka } from 'kafkajs';
import { KafkaError } from './errors.ts';
import { decodeFlexible, flexibleBody, noTaggedFields, rawRequest, readCompactArrayLength, skipTaggedFields, supports, writeCompactArrayLength, type RawBroker } from './flexible.ts';
import { kafkajsCluster, kafkajsModule } from './internals.ts';
import { sleep } from './retry.ts';

const OFFSET_FETCH = 9;
const STABLE_VERSION = 7;

/** Errors the read waits out: a transaction holding the offsets, a coordinator loading or moving. */
const WAITED_OUT = new Set(['UNSTABLE_OFFSET_COMMIT', 'GROUP_LOAD_IN_PROGRESS', 'GROUP_COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR_FOR_GROUP']);
const COORDINATOR_MOVED = new Set(['GROUP_COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR_FOR_GROUP']);

export interface OffsetFetchPartition {
  readonly topic: string;
  readonly partition: number;
  /** The next offset the group reads; -1n when it committed none. */
  readonly offset: bigint;
  readonly errorCode: number;
}

export interface OffsetFetchResponse {
  readonly errorCode: number;
  /** throttle_time_ms: since KIP-219 the broker answers first and the client waits (kafkajs' connection reads this field). */
  readonly clientSideThrottleTime: number;
  readonly partitions: readonly OffsetFetchPartition[];
}

/** The body of an OffsetFetch v7 request for one group (see flexible.ts). */
export function encodeOffsetFetchV7(groupId: string, topics: ReadonlyMap<string, readonly number[]>, requireStable: boolean): Buffer {
  return flexibleBody((encoder) => {
    writeCompactArrayLength(encoder.writeUVarIntString(groupId), topics.size);
    for (const [topic, partitions] of topics) {
      writeCompactArrayLength(encoder.writeUVarIntString(topic), partitions.length);
      for (const partition of partitions) encoder.writeInt32(partition);
      noTaggedFields(encoder);
    }
    noTaggedFields(encoder.writeInt8(requireStable ? 1 : 0));
  });
}

/** Decodes an OffsetFetch v7 response as kafkajs hands it over (after the correlation id). */
export function decodeOffsetFetchV7(payload: Buffer): OffsetFetchResponse {
  return decodeFlexible(payload, 'OffsetFetch v7', (decoder) => {
    const clientSideThrottleTime = decoder.readInt32();
    const partitions: OffsetFetchPartition[] = [];
    for (let topics = readCompactArrayLength(decoder); topics > 0; topics -= 1) {
      const topic = decoder.readUVarIntString() ?? '';
      for (let count = readCompactArrayLength(decoder); count > 0; count -= 1) {
        const partition = decoder.readInt32();
        const offset = decoder.readInt64();
        decoder.readInt32(); // committed_leader_epoch
        decoder.readUVarIntString(); // metadata
        const errorCode = decoder.readInt16();
        skipTaggedFields(decoder);
        partitions.push({ topic, partition, offset, errorCode });
      }
      skipTaggedFields(decoder);
    }
    const errorCode = decoder.readInt16();
    skipTaggedFields(decoder);
    return { errorCode, partitions, clientSideThrottleTime };
  });
}

interface BrokerLike extends RawBroker {
  offsetFetch(request: { groupId: string; topics: { topic: string; partitions: { partition: number }[] }[] }): Promise<{ responses: { topic: string; partitions: { partition: number; offset: string }[] }[] }>;
}

interface ClusterLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(lookup: { groupId: string }): Promise<BrokerLike>;
  /** The coordinator lookups coordinator-cache.ts keeps. */
  elephantCoordinators?: Map<string, unknown>;
}

function stableOffsetFetch(groupId: string, topics: ReadonlyMap<string, readonly number[]>) {
  const body = encodeOffsetFetchV7(groupId, topics, true);
  return rawRequest(OFFSET_FETCH, STABLE_VERSION, 'OffsetFetch', body, decodeOffsetFetchV7, (decoded) => (decoded.errorCode !== 0 ? decoded.errorCode : decoded.partitions.find((entry) => entry.errorCode !== 0)?.errorCode));
}

/**
 * How long the consumer's stable read waits out a transaction before it reads the offsets as
 * they are: half the shortest session timeout a broker accepts by default
 * (group.min.session.timeout.ms, 6 s), as the consumer sends no heartbeat meanwhile (a longer
 * wait with a short session timeout had the member expelled, rejoin and wait again). A live
 * transaction completes within milliseconds.
 */
export const CONSUMER_STABLE_WAIT_MS = 3000;

/** Set while kafkajs' consumer resolves its committed offsets (see the module comment). */
const consumerReads = new AsyncLocalStorage<true>();

interface OffsetFetchArgs {
  readonly groupId: string;
  readonly topics: readonly { readonly topic: string; readonly partitions: readonly { readonly partition: number }[] }[];
}

/** kafkajs' OffsetFetch response (v1-v4), as its OffsetManager reads it. */
interface KafkajsOffsetFetchResponse {
  readonly throttleTime: number;
  readonly errorCode: number;
  readonly responses: { topic: string; partitions: { partition: number; offset: string; metadata: string | null; errorCode: number }[] }[];
}

interface ConsumerBroker extends RawBroker {
  offsetFetch(args: OffsetFetchArgs): Promise<KafkajsOffsetFetchResponse>;
  disconnect(): Promise<void>;
  readonly logger: { warn(message: string, extra?: Record<string, unknown>): void };
}

type ResolveOffsets = (this: object) => Promise<void>;
type OffsetFetch = (this: ConsumerBroker, args: OffsetFetchArgs) => Promise<KafkajsOffsetFetchResponse>;
const OffsetManager = kafkajsModule<{ prototype: { resolveOffsets: ResolveOffsets } }>('consumer/offsetManager/index.js');
const Broker = kafkajsModule<{ prototype: { offsetFetch: OffsetFetch } }>('broker/index.js');
const originalResolve = OffsetManager.prototype.resolveOffsets;
const originalOffsetFetch = Broker.prototype.offsetFetch;
if (typeof originalResolve !== 'function' || typeof originalOffsetFetch !== 'function') {
  throw new Error('kafkajs OffsetManager#resolveOffsets or Broker#offsetFetch not found: stable offset reads need kafkajs 2.2.x');
}

OffsetManager.prototype.resolveOffsets = function resolveOffsets(this: object): Promise<void> {
  return consumerReads.run(true, () => originalResolve.call(this));
};

Broker.prototype.offsetFetch = async function offsetFetch(this: ConsumerBroker, args: OffsetFetchArgs): Promise<KafkajsOffsetFetchResponse> {
  if (consumerReads.getStore() !== true || !supports(this, OFFSET_FETCH, STABLE_VERSION)) return originalOffsetFetch.call(this, args);
  const topics = new Map(args.topics.map(({ topic, partitions }) => [topic, partitions.map(({ partition }) => partition)]));
  const started = Date.now();
  for (let attempt = 0; ; attempt += 1) {
    try {
      const decoded = await this.connectionPool.send(stableOffsetFetch(args.groupId, topics));
      const responses = new Map<string, KafkajsOffsetFetchResponse['responses'][number]>();
      for (const { topic, partition, offset } of decoded.partitions) {
        let entry = responses.get(topic);
        if (entry === undefined) responses.set(topic, (entry = { topic, partitions: [] }));
        entry.partitions.push({ partition, offset: offset.toString(), metadata: null, errorCode: 0 });
      }
      return { throttleTime: decoded.clientSideThrottleTime, errorCode: 0, responses: [...responses.values()] };
    } catch (error) {
      if ((error as { type?: unknown }).type === 'UNSTABLE_OFFSET_COMMIT') {
        if (Date.now() - started < CONSUMER_STABLE_WAIT_MS) {
          await sleep(Math.min(200, 20 * 2 ** attempt));
          continue;
        }
        this.logger.warn(`A transaction has held the committed offsets of group ${args.groupId} for ${CONSUMER_STABLE_WAIT_MS} ms (its producer may have stopped; the broker aborts it after its transaction timeout): starting from the offsets committed before it, whose records it may have processed already`, { groupId: args.groupId, topics: [...topics.keys()] });
        return originalOffsetFetch.call(this, args);
      }
      // As kafkajs' Broker does for its own requests: a closed connection is opened anew next time.
      if ((error as { name?: unknown }).name === 'KafkaJSConnectionClosedError') await this.disconnect();
      throw error;
    }
  }
};

export interface CommittedOffsetsOptions {
  /** How long one read waits out open transactions and coordinator moves before failing (retryable). @default 10000 */
  readonly maxWaitMs?: number;
  /** Called with the broker's error type each time a read waits (UNSTABLE_OFFSET_COMMIT: a transaction holds the offset). */
  readonly onWait?: (type: string) => void;
}

/**
 * Reads a group's committed offsets, stable (see the module comment), over one connection to
 * its coordinator, opened on first use.
 */
export class CommittedOffsets {
  readonly #kafka: Kafka;
  readonly #groupId: string;
  readonly #maxWaitMs: number;
  readonly #onWait: ((type: string) => void) | undefined;
  #cluster: Promise<ClusterLike> | undefined;
  /** Aborted by close(): a read waiting out an open transaction stops, and none connects again. */
  readonly #closed = new AbortController();
  /** The reads in progress, which close() waits for. */
  readonly #reads = new Set<Promise<bigint>>();

  constructor(kafka: Kafka, groupId: string, options: CommittedOffsetsOptions = {}) {
    this.#kafka = kafka;
    this.#groupId = groupId;
    this.#maxWaitMs = options.maxWaitMs ?? 10000;
    this.#onWait = options.onWait;
  }

  /** The next offset the group reads from `topic`/`partition`; -1 when it never committed one. */
  get(topic: string, partition: number): Promise<bigint> {
    const read = this.#get(topic, partition);
    this.#reads.add(read);
    const forget = (): void => {
      this.#reads.delete(read);
    };
    read.then(forget, forget);
    return read;
  }

  #closedError(topic: string, partition: number, cause?: unknown): KafkaError {
    return new KafkaError('KAFKA_UNAVAILABLE', `Could not read the committed offset of ${this.#groupId} on ${topic}/${partition}: closed`, { retryable: true, cause });
  }

  async #get(topic: string, partition: number): Promise<bigint> {
    const started = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      if (this.#closed.signal.aborted) throw this.#closedError(topic, partition);
      const connecting = this.#connect();
      let cluster: ClusterLike;
      try {
        cluster = await connecting;
      } catch (error) {
        throw new KafkaError('KAFKA_UNAVAILABLE', `Could not connect to read the committed offsets of ${this.#groupId}: ${(error as Error).message}`, { retryable: true, cause: error });
      }
      if (this.#closed.signal.aborted) {
        await this.#reset(connecting);
        throw this.#closedError(topic, partition);
      }
      try {
        const offset = await this.#read(cluster, topic, partition);
        // Closed during the request: kafkajs may have connected the cluster again meanwhile.
        if (this.#closed.signal.aborted) await this.#reset(connecting);
        return offset;
      } catch (error) {
        if (this.#closed.signal.aborted) {
          await this.#reset(connecting);
          throw this.#closedError(topic, partition, error);
        }
        const type = (error as { type?: unknown }).type;
        if (typeof type === 'string' && WAITED_OUT.has(type) && Date.now() - started < this.#maxWaitMs && !this.#closed.signal.aborted) {
          if (COORDINATOR_MOVED.has(type)) cluster.elephantCoordinators?.clear();
          this.#onWait?.(type);
          await sleep(Math.min(500, 25 * 2 ** attempt), this.#closed.signal);
          continue;
        }
        if (typeof type !== 'string') await this.#reset(connecting);
        const reason = type === 'UNSTABLE_OFFSET_COMMIT' ? `a transaction still open after ${this.#maxWaitMs} ms holds it (UNSTABLE_OFFSET_COMMIT)` : (error as Error).message;
        throw new KafkaError('KAFKA_UNAVAILABLE', `Could not read the committed offset of ${this.#groupId} on ${topic}/${partition}: ${reason}`, { retryable: true, cause: error });
      }
    }
  }

  async #read(cluster: ClusterLike, topic: string, partition: number): Promise<bigint> {
    const coordinator = await cluster.findGroupCoordinator({ groupId: this.#groupId });
    if (supports(coordinator, OFFSET_FETCH, STABLE_VERSION)) {
      const { partitions } = await coordinator.connectionPool.send(stableOffsetFetch(this.#groupId, new Map([[topic, [partition]]])));
      return partitions.find((entry) => entry.topic === topic && entry.partition === partition)?.offset ?? -1n;
    }
    const { responses } = await coordinator.offsetFetch({ groupId: this.#groupId, topics: [{ topic, partitions: [{ partition }] }] });
    const found = responses.find((entry) => entry.topic === topic)?.partitions.find((entry) => entry.partition === partition);
    return BigInt(found?.offset ?? '-1');
  }

  #connect(): Promise<ClusterLike> {
    this.#cluster ??= (async () => {
      const cluster = kafkajsCluster<ClusterLike>(this.#kafka);
      await cluster.connect();
      return cluster;
    })();
    const connecting = this.#cluster;
    connecting.catch(() => {
      if (this.#cluster === connecting) this.#cluster = undefined;
    });
    return connecting;
  }

  /**
   * Drops `failed` after a failure that was not the broker's answer, so that the next read
   * connects again; a connection another read opened since is left alone.
   */
  async #reset(failed: Promise<ClusterLike>): Promise<void> {
    if (this.#cluster === failed) this.#cluster = undefined;
    await failed.then((cluster) => cluster.disconnect()).catch(() => undefined);
  }

  /** Closes the connection once the reads in progress have ended: one waiting out a transaction fails at once (retryable, "closed"), one mid-request when it answers. */
  async close(): Promise<void> {
    this.#closed.abort();
    await Promise.allSettled([...this.#reads]);
    const connecting = this.#cluster;
    if (connecting) await this.#reset(connecting);
  }
}
