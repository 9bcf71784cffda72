import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, PartitionAssigner } from 'kafkajs';
import { describeError, isRetryable } from '@elephant/errors';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@elephant/observability';
import { KafkaError, protocolErrorIn } from './errors.ts';
import { sleep } from './retry.ts';
import { withRejoinHook, type RewindTo } from './rejoin.ts';
import type { GroupGeneration } from './txn-offset-commit.ts';
import { requeueFailedCommit, type PendingCommit } from './uncommitted.ts';

export type { KafkaMessage };

export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
}

export interface BatchContext {
  /** Aborted when the runner is stopping; long waits should give up on it. */
  readonly signal: AbortSignal;
  /** The group and the offset to commit for this batch (last offset + 1), for handlers that commit in a transaction. */
  readonly groupId: string;
  readonly nextOffset: string;
  /**
   * Aborted when the membership the batch was fetched under ends before the batch does: the
   * rejoin's wait for the batches in hand timed out, or kafkajs crashed the member out of its
   * group. The partition may be another member's then; a handler that commits offsets itself
   * (in a transaction) checks it before its commit, and fails the batch with a retryable
   * error instead: the runner leaves it uncommitted, and the partition's owner handles it.
   */
  readonly membership?: AbortSignal;
  /**
   * The generation and member id of that membership, for a handler that commits offsets in a
   * transaction (ConsumedOffset.generation): the coordinator then refuses the commit once the
   * group has moved past it, even when this member has not noticed yet.
   */
  readonly generation?: GroupGeneration;
}

/**
 * Processes one batch of one partition. Resolve only when every effect of the batch is
 * durable (produced messages acknowledged, Redis writes done): the runner commits the
 * batch's offsets right after. Throw a retryable error to have the same batch retried with
 * backoff; a non-retryable error is a bug (bad input must be dead-lettered by the handler)
 * and stops the runner. Batches of one partition are handed over one at a time, in order;
 * different partitions run at once.
 */
export type BatchHandler = (batch: ConsumedBatch, context: BatchContext) => Promise<void>;

/**
 * Processes batches of several partitions in one call (`BatchConsumerOptions.partitionsHandler`),
 * each batch in order within its partition as for BatchHandler, under the same contract for
 * the whole call: resolve once every effect of every batch is durable (the runner then commits
 * each partition's offset); a retryable error has all of them retried together.
 */
export type PartitionsHandler = (batches: readonly ConsumedBatch[], context: { readonly signal: AbortSignal; readonly groupId: string }) => Promise<void>;

/**
 * One of `handler` and `partitionsHandler`. `handler`: one partition's batch per call.
 * `partitionsHandler`: the batches waiting in every idle partition at once, up to
 * `maxBytesPerPartition` in all, in one call (each partition still one batch at a time, in
 * order), committed by the runner. At a low rate spread over many partitions each fetch brings
 * a record or two per partition: handled per partition, each of them pays a handler's round
 * trips (a produce, a Redis pipeline) of its own.
 */
export type BatchConsumerOptions = BatchConsumerSettings & ({ readonly handler: BatchHandler; readonly partitionsHandler?: never } | { readonly partitionsHandler: PartitionsHandler; readonly handler?: never; readonly commit?: 'runner' });

export interface BatchConsumerSettings {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly logger: Logger;
  /** Registry for the runner's metrics; omit to skip metrics. */
  readonly metrics?: Registry;
  /** Where a group with no committed offset starts. @default true */
  readonly fromBeginning?: boolean;
  /** Partitions whose batches this member processes at once. @default 1 */
  readonly partitionsConsumedConcurrently?: number;
  /** @default 30000 */
  readonly sessionTimeoutMs?: number;
  /** @default 3000 */
  readonly heartbeatIntervalMs?: number;
  /** Longest the broker holds a fetch open waiting for data: on an idle partition, a hop costs up to this much latency. @default 20 */
  readonly maxWaitTimeMs?: number;
  /**
   * Bytes of one partition per fetch, and the most the member keeps fetched ahead of the
   * handler per partition: when that much waits, it stops fetching until the handler takes it.
   * A handler's batch is at most this big too. @default 1048576
   */
  readonly maxBytesPerPartition?: number;
  /**
   * Offsets of handled batches are committed at most this often, every partition's in one
   * request; stop and rejoin commit at once. Longer means fewer requests to the broker and
   * more batches delivered again after a crash (handlers are idempotent). A commit that fails
   * is retried, the wait doubling from twice this (at least 200 ms) up to 5 s (or this, when
   * longer). @default 100
   */
  readonly commitIntervalMs?: number;
  /** Backoff between retries of a batch that failed with a retryable error. */
  readonly retryBackoff?: { readonly initialMs: number; readonly maxMs: number };
  /**
   * A batch failing with retryable errors for longer than this makes isReady() false until it
   * (or the member's next batch of its partitions) goes through: a dependency down for good or
   * a setting the broker keeps refusing as retryable is retried, not lost, and shows as not
   * ready instead of as a ready service that publishes nothing. @default 60000
   */
  readonly stalledAfterMs?: number;
  /** Called once if the runner stops on its own (non-retryable failure, consumer crash). */
  readonly onFatal?: (error: Error) => void;
  /**
   * `runner` (default): the runner commits the batch after the handler resolved.
   * `handler`: the handler commits the batch's offsets itself (in a Kafka transaction, with
   * `sendOffsets`), and the runner only moves its fetch position.
   */
  readonly commit?: 'runner' | 'handler';
  /** e.g. [CoPartitionedAssigner] when one member must own a key across topics. */
  readonly partitionAssigners?: PartitionAssigner[];
}

interface RunnerMetrics {
  readonly messages: Counter<'topic' | 'group'>;
  readonly batches: Counter<'topic' | 'group' | 'outcome'>;
  readonly batchSeconds: Histogram<'topic' | 'group'>;
  readonly lag: Gauge<'topic' | 'partition' | 'group'>;
  readonly queueSeconds: Histogram<'topic' | 'group'>;
  readonly queued: Gauge<'topic' | 'partition' | 'group'>;
  readonly rejoining: Gauge<'group'>;
}

/** Metrics are shared by every runner of a process (one registry), labelled by group. */
function runnerMetrics(registry: Registry): RunnerMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const metrics: RunnerMetrics = {
    messages: new Counter({ name: 'elephant_consumer_messages_total', help: 'Messages handled and committed', labelNames: ['topic', 'group'], registers: [registry] }),
    batches: new Counter({ name: 'elephant_consumer_batches_total', help: 'Batch attempts by outcome (committed, retried, failed)', labelNames: ['topic', 'group', 'outcome'], registers: [registry] }),
    batchSeconds: new Histogram({ name: 'elephant_consumer_batch_seconds', help: 'Time the handler took for one batch, retries included', labelNames: ['topic', 'group'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
    lag: new Gauge({ name: 'elephant_consumer_lag', help: 'Messages from the first uncommitted offset to the high watermark, set at each fetch and after each commit (by the runner, or by a handler that commits its own offsets)', labelNames: ['topic', 'partition', 'group'], registers: [registry] }),
    rejoining: new Gauge({ name: 'elephant_consumer_rejoining', help: '1 while the member finishes its batches in hand before joining its group again (rebalance)', labelNames: ['group'], registers: [registry] }),
    queued: new Gauge({ name: 'elephant_consumer_queued_messages', help: 'Messages fetched and waiting for the handler', labelNames: ['topic', 'partition', 'group'], registers: [registry] }),
    queueSeconds: new Histogram({ name: 'elephant_consumer_queue_seconds', help: 'Time fetched messages waited for their partition\'s previous batch before the handler got them', labelNames: ['topic', 'group'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

const metricsByRegistry = new WeakMap<Registry, RunnerMetrics>();

/** Fetched messages of one partition waiting for the handler. */
interface Fetched {
  readonly messages: readonly KafkaMessage[];
  /** performance.now() when kafkajs handed them over. */
  readonly arrived: number;
  readonly bytes: number;
  readonly nextOffset: string;
  readonly offsetLag: string;
  /** The group membership they were fetched under (see #beforeRejoin). */
  readonly epoch: number;
  /** Commits offsets through the kafkajs runner that fetched them. */
  readonly commit: EachBatchPayload['commitOffsetsIfNecessary'];
}

/** What one call of the handler takes from one partition's queue. */
interface Taken {
  readonly lane: Lane;
  readonly items: readonly Fetched[];
}

/** Offsets of handled batches of one partition, waiting to be committed. */
interface Uncommitted extends PendingCommit {
  readonly offsetLag: string;
  readonly commit: EachBatchPayload['commitOffsetsIfNecessary'];
}

/**
 * The group coordinator's answers to an offset commit of a membership that is over (the group
 * rebalanced, or is completing a rebalance, without this member's generation): the same commit
 * would fail again, and kafkajs' fetch loop joins the group again on the same answer. Not
 * retried: the batches go to the partition's owner after the rebalance, from the committed offset.
 */
const MEMBERSHIP_OVER = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);
/** Longest wait before retrying a failed offset commit. */
const MAX_COMMIT_BACKOFF_MS = 5000;
/**
 * The final commit, on stop or before a rejoin (#idle), is given up (its batches are then
 * delivered again) after this many attempts, or when one fails more than
 * FINAL_COMMIT_WINDOW_MS after the final flush began: a broker that stays down must not hold
 * a stop up for ever, and one attempt can take a while (kafkajs retries the coordinator's
 * lookup inside it, about 16 s with createKafka's defaults). The waits between attempts are
 * at most FINAL_COMMIT_BACKOFF_MS.
 */
const FINAL_COMMIT_ATTEMPTS = 3;
const FINAL_COMMIT_WINDOW_MS = 5000;
const FINAL_COMMIT_BACKOFF_MS = 1000;

/** One partition's queue and the loop that hands it to the handler, one batch at a time. */
interface Lane {
  /** `topic|partition` */
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly queue: Fetched[];
  queued: number;
  queuedBytes: number;
  active: Promise<void> | undefined;
  readonly waiters: Set<() => void>;
  /** The first offset not committed yet, as far as this member knows (for the lag gauge). */
  uncommittedFrom: bigint | undefined;
  /**
   * The offset of the first record of this membership not handled yet: where kafkajs must fetch
   * from again if the batches after it are dropped (see #beforeRejoin).
   */
  position: bigint | undefined;
  /** Where kafkajs fetches this partition from next: the offset after the last record handed over. */
  fetched: bigint | undefined;
  /** Records after the last batch handed over that need no handling, to commit once that batch is done (#skipped). */
  skipped: Skipped | undefined;
}

/** Offsets kafkajs fetched and handed no record of: transaction markers and aborted records. */
interface Skipped {
  /** The lane's `fetched` before them: every record before it must have been handled. */
  readonly from: bigint | undefined;
  /** The offset after them. */
  readonly to: bigint;
  readonly offsetLag: string;
  readonly epoch: number;
}

/**
 * Runs a consumer-group member that hands batches to a handler and commits a batch's
 * offsets only after the handler resolved. Nothing is auto-committed, so a member that
 * dies mid-batch leaves the batch uncommitted and the next owner of the partition gets it
 * again (at-least-once; handlers make effects idempotent).
 *
 * The member fetches while it processes: kafkajs' own loop sends the next fetch only after
 * every batch of the previous one was processed, so a record arriving meanwhile waited a
 * whole cycle per hop. Here kafkajs hands each batch over to a per-partition queue and goes
 * on fetching; each partition's queue is processed in order, what waited in it taken as one
 * batch; a full queue stops the fetching (back-pressure). Before the member joins its group
 * again it finishes and commits the batches in hand and drops the queued ones, so two members
 * never process a partition at once; kafkajs then fetches from the committed offsets, or, if
 * the join fails, from the first record not handled (rejoin.ts), so none is skipped.
 *
 * `stop()` is the graceful path for SIGTERM: drop what is queued, let the batches in hand
 * finish and commit, leave the group, disconnect.
 */
export class BatchConsumer {
  readonly #options: BatchConsumerOptions;
  readonly #consumer: Consumer;
  readonly #log: Logger;
  readonly #metrics: RunnerMetrics | undefined;
  readonly #abort = new AbortController();
  /** Aborted when a rejoin begins: a batch waiting to retry gives up at once instead of holding the join up. */
  #rejoin = new AbortController();
  readonly #lanes = new Map<string, Lane>();
  readonly #slots: Slots;
  readonly #maxBytes: number;
  #epoch = 0;
  /** Aborted when #epoch moves on: BatchContext.membership of the batches handled under it. */
  #membership = new AbortController();
  /** The generation and member id of the last join that succeeded (rejoin.ts tells). */
  #generation: GroupGeneration | undefined;
  #rejoining = false;
  #running = false;
  /** In the group: set by each join, cleared by each crash (kafkajs restarts a crashed member on its own). */
  #joined = false;
  /** Left the group in a crash, until kafkajs' restart joins it again: nothing is handled meanwhile (#leftGroup). */
  #outOfGroup = false;
  /** Partitions this member has exported lag and queue gauges for, by lane key (topic|partition). */
  readonly #series = new Map<string, { readonly topic: string; readonly partition: number }>();
  /** Handler calls being retried, each with when its first attempt failed (performance.now()). */
  readonly #failingSince = new Map<object, number>();
  #stopping: Promise<void> | undefined;
  #lanesIdle: Promise<void> | undefined;
  #failure: Error | undefined;
  readonly #uncommitted = new Map<string, Uncommitted>();
  #committing: Promise<void> | undefined;
  #commitTimer: NodeJS.Timeout | undefined;
  #lastCommitAt = Number.NEGATIVE_INFINITY;
  /** Offset commits that failed in a row (reset by one that succeeds, and by a new membership): the next waits longer. */
  #commitFailures = 0;
  /**
   * While the final flush (#idle) runs, once no batch is in hand: when it began
   * (performance.now()) and the commits that failed since (FINAL_COMMIT_ATTEMPTS). A commit
   * failing before (on stop or rejoin, another lane's batch still in hand) is retried as usual.
   */
  #finalFlush: { readonly since: number; failures: number } | undefined;
  /** Commits offsets through the kafkajs runner, from the last batch it handed over (#commitSkipped). */
  #commitThrough: EachBatchPayload['commitOffsetsIfNecessary'] | undefined;

  constructor(options: BatchConsumerOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'consumer', group: options.groupId });
    this.#metrics = options.metrics ? runnerMetrics(options.metrics) : undefined;
    this.#slots = new Slots(options.partitionsConsumedConcurrently ?? 1);
    this.#maxBytes = options.maxBytesPerPartition ?? 1048576;
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3000,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 20,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1048576,
      allowAutoTopicCreation: false,
      ...(options.partitionAssigners ? { partitionAssigners: options.partitionAssigners } : {}),
      // kafkajs restarts the consumer after its own (protocol, network) failures; not once
      // stop() began (a crash whose restart timer was set after stop() cleared it joined the
      // group again after the service stopped, holding partitions it never processed).
      retry: { retries: 5, restartOnFailure: () => Promise.resolve(this.#stopping === undefined) },
    });
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, (event) => {
      this.#joined = true;
      this.#outOfGroup = false;
      this.#dropSeriesOutside(event.payload.memberAssignment);
    });
    // kafkajs reports a batch it fetched and handed no record of only as an event, then moves
    // its fetch position past it (its runner would commit that position with autoCommit).
    this.#consumer.on(this.#consumer.events.START_BATCH_PROCESS, (event) => {
      const { topic, partition, batchSize, lastOffset, offsetLag } = event.payload;
      if (batchSize === 0) this.#skipped(topic, partition, lastOffset, offsetLag);
    });
    this.#consumer.on(this.#consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      // Out of the group until kafkajs' restart joins it again (a broker outage can keep it
      // restarting for as long as it lasts): not ready meanwhile.
      this.#joined = false;
      // During a stop too: the batch in hand must not commit in its own transaction for
      // partitions that are other members' now (BatchContext.membership).
      this.#leftGroup();
      if (restart || this.#stopping) return;
      this.#fail(new KafkaError('KAFKA_CONSUMER_CRASHED', `Consumer of ${options.topics.join(', ')} stopped: ${describeError(error)}`, { cause: error }));
    });
  }

  /**
   * kafkajs left the group before it reported the crash (it disconnects first): the
   * partitions are other members' from now on. What is queued is dropped, no new batch starts
   * until the member joins again, a batch being retried gives up, and nothing handled so far
   * is committed (the commit would go out under a membership that is gone). A batch in hand
   * finishes, uncommitted; the restarted member's join waits for it (#beforeRejoin), and
   * fetches from the committed offsets. Before this, the lanes went on handing their queued
   * batches (up to a fetch each) to the handler while the new owners processed them too.
   */
  #leftGroup(): void {
    this.#outOfGroup = true;
    this.#newMembership();
    this.#rejoin.abort();
    this.#rejoin = new AbortController();
    this.#uncommitted.clear();
    // kafkajs restarts the member with a runner of its own.
    this.#commitThrough = undefined;
    // No rewinds: the restarted member fetches from the committed offsets.
    this.#forgetLanes();
    this.#release();
  }

  /**
   * Drops what every lane fetched under the membership that ended (its queue, its positions),
   * and the lanes with no batch in hand: the partition may be another member's after the next
   * join, and a lane is made again on demand. Returns, per partition, the first record fetched
   * and not handled (batches queued, the one in hand, or one that gave up its retries and left
   * the lane idle, its records neither handled nor queued), for a rejoin to set kafkajs back to.
   */
  #forgetLanes(): RewindTo[] {
    const rewinds: RewindTo[] = [];
    for (const lane of this.#lanes.values()) {
      if (lane.position !== undefined && lane.fetched !== undefined && lane.position < lane.fetched) rewinds.push({ topic: lane.topic, partition: lane.partition, offset: lane.position.toString() });
      lane.position = undefined;
      lane.fetched = undefined;
      lane.queue.length = 0;
      lane.queued = 0;
      lane.queuedBytes = 0;
      this.#gauge(lane);
      if (!lane.active) this.#lanes.delete(lane.key);
    }
    return rewinds;
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#running = false;
    this.#release();
    this.#log.error({ err: error }, 'consumer stopped by a non-retryable failure');
    this.#options.onFatal?.(error);
  }

  /**
   * True between a successful start and stop while the member is in its group (for readiness
   * probes): false from a crash that kafkajs restarts the consumer after until it has joined
   * again, and after a first join that failed (kafkajs' run() resolves then too).
   */
  isRunning(): boolean {
    return this.#running && this.#joined;
  }

  /**
   * For readiness probes: running and in the group (isRunning), and no batch failing with
   * retryable errors for longer than `stalledAfterMs`.
   */
  isReady(): boolean {
    if (!this.isRunning()) return false;
    const limit = this.#options.stalledAfterMs ?? 60000;
    const now = performance.now();
    for (const since of this.#failingSince.values()) if (now - since > limit) return false;
    return true;
  }

  #setLag(topic: string, partition: number, value: number): void {
    if (!this.#metrics) return;
    this.#series.set(`${topic}|${partition}`, { topic, partition });
    this.#metrics.lag.set({ topic, group: this.#options.groupId, partition: String(partition) }, value);
  }

  /**
   * Removes the lag and queue gauges of partitions this member no longer has (all of them when
   * `assignment` is undefined): a series left behind would show its last lag for as long as the
   * process lives, counted twice in a sum with the new owner's, or alerting on a caught-up group.
   */
  #dropSeriesOutside(assignment: Readonly<Record<string, readonly number[]>> | undefined): void {
    if (!this.#metrics) return;
    for (const [key, { topic, partition }] of this.#series) {
      if (assignment?.[topic]?.includes(partition)) continue;
      const labels = { topic, group: this.#options.groupId, partition: String(partition) };
      this.#metrics.lag.remove(labels);
      this.#metrics.queued.remove(labels);
      this.#series.delete(key);
    }
  }

  async start(): Promise<void> {
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [...this.#options.topics], fromBeginning: this.#options.fromBeginning ?? true });
    await withRejoinHook(
      () => this.#beforeRejoin(),
      () =>
        this.#consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently ?? 1,
          eachBatch: (payload) => this.#eachBatch(payload),
        }),
      (generation) => {
        this.#generation = generation;
      },
    );
    this.#running = true;
  }

  /** No new batch starts: stopping, rejoining the group, out of it after a crash, or failed. */
  #halted(): boolean {
    return this.#stopping !== undefined || this.#rejoining || this.#outOfGroup || this.#failure !== undefined;
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (this.#stopping) {
      // Not resolved: kafkajs would only fetch the same records again until it stops.
      await this.#lanesIdle;
      return;
    }
    if (this.#failure) {
      await sleep(1000, this.#abort.signal);
      return;
    }
    if (this.#rejoining || this.#outOfGroup || batch.isEmpty()) return;
    const commit: Fetched['commit'] = (offsets) => payload.commitOffsetsIfNecessary(offsets);
    this.#commitThrough = commit;
    const lane = this.#lane(batch.topic, batch.partition);
    // Its records come after any skipped before it: its own offsets cover them.
    lane.skipped = undefined;
    // At fetch time too, not only after a commit: a partition whose batches keep failing
    // commits nothing, and its lag must still grow on the dashboard.
    lane.uncommittedFrom ??= BigInt(batch.firstOffset() ?? batch.highWatermark);
    // Records before the first one kafkajs delivered (transaction markers, aborted records) need no handling.
    lane.position ??= BigInt(batch.firstOffset() ?? batch.lastOffset());
    lane.fetched = BigInt(batch.lastOffset()) + 1n;
    this.#setLag(batch.topic, batch.partition, Number(BigInt(batch.highWatermark) - lane.uncommittedFrom));
    const bytes = batch.messages.reduce((sum, message) => sum + (message.value?.length ?? 0) + (message.key?.length ?? 0), 0);
    lane.queue.push({ arrived: performance.now(), bytes, messages: batch.messages, nextOffset: (BigInt(batch.lastOffset()) + 1n).toString(), offsetLag: batch.offsetLag(), epoch: this.#epoch, commit });
    lane.queued += batch.messages.length;
    lane.queuedBytes += bytes;
    this.#gauge(lane);
    // Only the fetch position moves; the offsets are committed once the handler is done.
    payload.resolveOffset(batch.lastOffset());
    this.#kick(lane);
    const heartbeatMs = this.#options.heartbeatIntervalMs ?? 3000;
    while (lane.queuedBytes >= this.#maxBytes && !this.#halted()) {
      await waitForTake(lane, heartbeatMs);
      // kafkajs heartbeats from its fetch loop, which waits here: keep the membership alive.
      // A rebalance throws, and kafkajs joins again (after #beforeRejoin).
      await payload.heartbeat();
    }
  }

  #lane(topic: string, partition: number): Lane {
    const key = `${topic}|${partition}`;
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { key, topic, partition, queue: [], queued: 0, queuedBytes: 0, active: undefined, waiters: new Set(), uncommittedFrom: undefined, position: undefined, fetched: undefined, skipped: undefined };
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  /**
   * kafkajs fetched records of a partition and handed none of them over (an aborted
   * transaction's records, transaction markers), up to `lastOffset`: nothing to handle, but
   * their offsets must be committed too, or a partition whose last records they are keeps a
   * lag for good. A batch waiting in the lane takes them (its offset to commit moves past
   * them); otherwise they are committed once the lane's batch in hand, if any, is done and
   * nothing before them is left unhandled (#commitSkipped).
   */
  #skipped(topic: string, partition: number, lastOffset: string, offsetLag: string): void {
    if (this.#halted()) return;
    const lane = this.#lane(topic, partition);
    const to = BigInt(lastOffset) + 1n;
    const from = lane.fetched;
    lane.fetched = to;
    const waiting = lane.queue.at(-1);
    if (waiting) {
      lane.queue[lane.queue.length - 1] = { ...waiting, nextOffset: to.toString(), offsetLag };
      return;
    }
    lane.skipped = { from, to, offsetLag, epoch: this.#epoch };
    this.#commitSkipped(lane);
  }

  /**
   * Commits the lane's skipped offsets (#skipped) through the runner's commits, once its batch
   * in hand (committed by the handler itself with `commit: 'handler'`) is done. Not when a
   * batch before them was given up (its records are fetched again after a rejoin or restart).
   */
  #commitSkipped(lane: Lane): void {
    const skipped = lane.skipped;
    if (!skipped || lane.active || lane.queue.length > 0) return;
    lane.skipped = undefined;
    if (skipped.epoch !== this.#epoch || this.#halted()) return;
    if (lane.position !== undefined && skipped.from !== undefined && lane.position < skipped.from) return;
    lane.position = skipped.to;
    const pending = this.#uncommitted.get(lane.key);
    const commit = pending?.commit ?? this.#commitThrough ?? ((offsets) => this.#consumer.commitOffsets(offsets?.topics.flatMap(({ topic, partitions }) => partitions.map(({ partition, offset }) => ({ topic, partition, offset }))) ?? []));
    this.#uncommitted.set(lane.key, { topic: lane.topic, partition: lane.partition, offset: skipped.to.toString(), offsetLag: skipped.offsetLag, epoch: skipped.epoch, commit, batches: pending?.batches ?? 0, messages: pending?.messages ?? 0 });
    this.#scheduleCommit();
  }

  #kick(lane: Lane): void {
    if (lane.active || lane.queue.length === 0 || this.#halted()) return;
    if (this.#options.partitionsHandler) {
      this.#scheduleDispatch();
      return;
    }
    lane.active = this.#drain(lane)
      .catch((error: unknown) => this.#fail(new HandlerBug(error)))
      .finally(() => {
        lane.active = undefined;
        this.#commitSkipped(lane);
        this.#kick(lane);
      });
  }

  async #drain(lane: Lane): Promise<void> {
    for (;;) {
      if (this.#halted() || lane.queue.length === 0) return;
      await this.#slots.acquire();
      try {
        const items = this.#take(lane);
        if (!items) return;
        await this.#process([{ lane, items }]);
      } finally {
        this.#slots.release();
      }
    }
  }

  #dispatchScheduled = false;

  /**
   * With a partitionsHandler: dispatches on the next turn of the event loop, once kafkajs has
   * handed over every partition of the fetch that woke it, so they go to the handler together.
   */
  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    setImmediate(() => {
      this.#dispatchScheduled = false;
      this.#dispatch();
    });
  }

  /** While a slot is free, hands what waits in the idle partitions to the partitionsHandler. */
  #dispatch(): void {
    while (!this.#halted() && this.#slots.tryAcquire()) {
      const group: Taken[] = [];
      let bytes = 0;
      // Oldest records first: under a backlog the partitions taken last time do not come back
      // ahead of the ones that waited.
      const ready = [...this.#lanes.values()].filter((lane) => !lane.active && lane.queue.length > 0).sort((a, b) => (a.queue[0] as Fetched).arrived - (b.queue[0] as Fetched).arrived);
      for (const lane of ready) {
        if (bytes >= this.#maxBytes) break;
        const items = this.#take(lane, this.#maxBytes - bytes);
        if (!items) continue;
        group.push({ lane, items });
        bytes += items.reduce((sum, item) => sum + item.bytes, 0);
      }
      if (group.length === 0) {
        this.#slots.release();
        return;
      }
      const run: Promise<void> = this.#process(group)
        .catch((error: unknown) => this.#fail(new HandlerBug(error)))
        .finally(() => {
          this.#slots.release();
          for (const { lane } of group) {
            lane.active = undefined;
            this.#commitSkipped(lane);
          }
          this.#scheduleDispatch();
        });
      for (const { lane } of group) lane.active = run;
    }
  }

  /** What waits in the lane (fetched under the current membership), up to one fetch's bytes. */
  #take(lane: Lane, limit = this.#maxBytes): Fetched[] | undefined {
    if (this.#halted()) return undefined;
    const items: Fetched[] = [];
    let bytes = 0;
    // No bigger than one fetch of the partition (maxBytesPerPartition): what a handler
    // produces for a batch stays within the broker's limits as it did without queueing.
    while (lane.queue.length > 0) {
      const next = lane.queue[0] as Fetched;
      if (items.length > 0 && bytes + next.bytes > limit) break;
      lane.queue.shift();
      lane.queued -= next.messages.length;
      lane.queuedBytes -= next.bytes;
      if (next.epoch !== this.#epoch) continue;
      items.push(next);
      bytes += next.bytes;
    }
    for (const wake of lane.waiters) wake();
    this.#gauge(lane);
    return items.length > 0 ? items : undefined;
  }

  async #process(group: readonly Taken[]): Promise<void> {
    const first = group[0];
    if (!first) return;
    const groupId = this.#options.groupId;
    const epoch = (first.items[0] as Fetched).epoch;
    const batches = group.map(({ lane, items }) => ({ topic: lane.topic, partition: lane.partition, messages: items.length === 1 ? (items[0] as Fetched).messages : items.flatMap((item) => item.messages) }));
    const topics = [...new Set(group.map(({ lane }) => lane.topic))];
    const where = group.length === 1 ? { topic: first.lane.topic, partition: first.lane.partition } : { partitions: group.map(({ lane }) => lane.key) };
    const started = performance.now();
    for (const { lane, items } of group) this.#metrics?.queueSeconds.observe({ topic: lane.topic, group: groupId }, (started - (items[0] as Fetched).arrived) / 1000);
    const { handler, partitionsHandler } = this.#options;
    const signal = this.#abort.signal;
    const membership = this.#membership.signal;
    const generation = this.#generation;
    const nextOffset = (first.items.at(-1) as Fetched).nextOffset;
    const invoke = partitionsHandler ? () => partitionsHandler(batches, { signal, groupId }) : () => handler(batches[0] as ConsumedBatch, generation ? { signal, groupId, nextOffset, membership, generation } : { signal, groupId, nextOffset, membership });
    const backoff = this.#options.retryBackoff ?? { initialMs: 200, maxMs: 10000 };
    // Identifies this call while it is retried (isReady).
    const call = {};
    try {
      for (let attempt = 0; ; attempt += 1) {
        // A batch not finished before stop or a rejoin stays uncommitted: the partition's next
        // owner (or this member after restart) receives it again.
        if (attempt > 0 && (this.#halted() || this.#epoch !== epoch)) return;
        try {
          await invoke();
          break;
        } catch (error) {
          if (!isRetryable(error)) {
            // A bug, not bad input (handlers dead-letter bad input): stop here, leave the batch
            // uncommitted for after the fix, and let the service shut down through onFatal
            // rather than retry the same batch forever.
            for (const topic of topics) this.#metrics?.batches.inc({ topic, group: groupId, outcome: 'failed' });
            this.#fail(new HandlerBug(error));
            return;
          }
          // The membership ended while it ran (a crash, a rejoin that stopped waiting): not
          // retried here; the partition's owner gets the batch.
          if (this.#halted() || this.#epoch !== epoch) return;
          if (!this.#failingSince.has(call)) this.#failingSince.set(call, performance.now());
          for (const topic of topics) this.#metrics?.batches.inc({ topic, group: groupId, outcome: 'retried' });
          const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempt);
          // A first failure that a retry fixes is routine (the builder's optimistic check of
          // profiles another partition changed meanwhile, a leader moving): counted in
          // elephant_consumer_batches_total{outcome="retried"}, logged at info; a batch that
          // keeps failing is a warning from its second retry on.
          this.#log[attempt === 0 ? 'info' : 'warn']({ ...where, attempt, delayMs: delay, err: error }, 'batch failed with a retryable error; retrying');
          await sleep(delay, AbortSignal.any([this.#abort.signal, this.#rejoin.signal]));
        }
      }
    } finally {
      this.#failingSince.delete(call);
    }
    const seconds = (performance.now() - started) / 1000;
    for (const topic of topics) this.#metrics?.batchSeconds.observe({ topic, group: groupId }, seconds);
    if (this.#epoch === epoch) for (const { lane, items } of group) lane.position = BigInt((items.at(-1) as Fetched).nextOffset);
    if (this.#options.commit === 'handler') {
      this.#metrics?.batches.inc({ topic: first.lane.topic, group: groupId, outcome: 'committed' });
      this.#metrics?.messages.inc({ topic: first.lane.topic, group: groupId }, (batches[0] as ConsumedBatch).messages.length);
      // The handler committed the offsets (with its transaction): the lag is what was behind the batch when it was fetched.
      if (this.#epoch === epoch) {
        const last = first.items.at(-1) as Fetched;
        first.lane.uncommittedFrom = BigInt(last.nextOffset);
        this.#setLag(first.lane.topic, first.lane.partition, Number(last.offsetLag));
      }
      return;
    }
    if (this.#epoch !== epoch) {
      // The member joined the group again while this batch ran (the wait before a rejoin
      // timed out), or left it in a crash: the partition may be another member's now, and
      // kafkajs fetches it again from the committed offset.
      this.#log.warn(where, 'batch finished after the member rejoined or left its group; left uncommitted');
      return;
    }
    // The lane goes on with its next batch while the offsets are committed.
    group.forEach(({ lane, items }, index) => {
      const last = items.at(-1) as Fetched;
      const pending = this.#uncommitted.get(lane.key);
      this.#uncommitted.set(lane.key, { topic: lane.topic, partition: lane.partition, offset: last.nextOffset, offsetLag: last.offsetLag, epoch, commit: last.commit, batches: (pending?.batches ?? 0) + 1, messages: (pending?.messages ?? 0) + (batches[index] as ConsumedBatch).messages.length });
    });
    this.#scheduleCommit();
  }

  /**
   * Commits now, or when commitIntervalMs has passed since the last commit began (after a
   * failed commit, its backoff: #commitDelayMs).
   */
  #scheduleCommit(): void {
    if (this.#committing || this.#commitTimer) return; // the running commit or the timer takes it
    const wait = this.#lastCommitAt + this.#commitDelayMs() - performance.now();
    if (wait <= 0) {
      void this.#flushCommits();
      return;
    }
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      void this.#flushCommits();
    }, wait);
  }

  /**
   * Commits the offsets of the batches handled so far, every partition's in one request, one
   * request at a time (offsets are cumulative: a later commit covers an earlier one).
   */
  #flushCommits(): Promise<void> {
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    this.#committing ??= this.#commitOnce().finally(() => {
      this.#committing = undefined;
      if (this.#uncommitted.size > 0) this.#scheduleCommit();
    });
    return this.#committing;
  }

  /**
   * commitIntervalMs; after n failed commits in a row, the interval (at least 100 ms) times 2^n,
   * up to MAX_COMMIT_BACKOFF_MS but never shorter than the interval itself, and during the final
   * flush up to FINAL_COMMIT_BACKOFF_MS (a stop has a deadline).
   */
  #commitDelayMs(): number {
    const interval = this.#options.commitIntervalMs ?? 100;
    if (this.#commitFailures === 0) return interval;
    const backoff = Math.max(interval, Math.min(MAX_COMMIT_BACKOFF_MS, Math.max(interval, 100) * 2 ** this.#commitFailures));
    return this.#finalFlush === undefined ? backoff : Math.min(FINAL_COMMIT_BACKOFF_MS, backoff);
  }

  async #commitOnce(): Promise<void> {
    this.#lastCommitAt = performance.now();
    const entries = [...this.#uncommitted.values()].filter((entry) => entry.epoch === this.#epoch);
    this.#uncommitted.clear();
    const first = entries[0];
    if (!first) return;
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const entry of entries) {
      const partitions = byTopic.get(entry.topic);
      if (partitions) partitions.push({ partition: entry.partition, offset: entry.offset });
      else byTopic.set(entry.topic, [{ partition: entry.partition, offset: entry.offset }]);
    }
    try {
      // Through the kafkajs runner that fetched the batches, not consumer.commitOffsets():
      // kafkajs' consumer-level commit silently does nothing once stop() began.
      await first.commit({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
    } catch (error) {
      this.#commitFailed(entries, error);
      return;
    }
    this.#commitFailures = 0;
    const group = this.#options.groupId;
    for (const entry of entries) {
      this.#metrics?.batches.inc({ topic: entry.topic, group, outcome: 'committed' }, entry.batches);
      this.#metrics?.messages.inc({ topic: entry.topic, group }, entry.messages);
      this.#setLag(entry.topic, entry.partition, Number(entry.offsetLag));
      const lane = this.#lanes.get(`${entry.topic}|${entry.partition}`);
      if (lane) lane.uncommittedFrom = BigInt(entry.offset);
    }
  }

  /**
   * Puts the offsets of a failed commit back for a retry (#flushCommits schedules it after the
   * backoff): dropped, a partition that goes quiet afterwards kept its last batches uncommitted
   * until a rebalance or a restart delivered them again. Not when the membership they were
   * handled under is over (a rejoin or a crash since, or the coordinator's answer says so), nor
   * once the final flush has made its attempts: those batches are delivered again instead.
   */
  #commitFailed(entries: readonly Uncommitted[], error: unknown): void {
    this.#commitFailures += 1;
    const final = this.#finalFlush;
    if (final) final.failures += 1;
    const notRetried = this.#notRetried(entries, error);
    if (notRetried !== undefined) {
      this.#log.warn({ err: error, partitions: entries.length, retrying: false, reason: notRetried }, 'offset commit failed and is not retried; the batches will be delivered again');
      return;
    }
    requeueFailedCommit(this.#uncommitted, entries, this.#epoch);
    this.#log.warn({ err: error, partitions: entries.length, retrying: true, failures: this.#commitFailures, retryInMs: Math.round(this.#commitDelayMs()) }, 'offset commit failed; retrying');
  }

  /** Why a failed commit of `entries` is not retried, or undefined when it is. */
  #notRetried(entries: readonly Uncommitted[], error: unknown): string | undefined {
    const over = protocolErrorIn(error, MEMBERSHIP_OVER);
    if (over !== undefined) return `the coordinator answered ${over}`;
    if ((entries[0] as Uncommitted).epoch !== this.#epoch) return 'the member left or joined its group again since';
    const final = this.#finalFlush;
    if (final === undefined) return undefined;
    const elapsed = performance.now() - final.since;
    if (final.failures < FINAL_COMMIT_ATTEMPTS && elapsed <= FINAL_COMMIT_WINDOW_MS) return undefined;
    return `the final commit (on stop or before a rejoin) failed ${final.failures} times in ${Math.round(elapsed)} ms`;
  }

  #gauge(lane: Lane): void {
    this.#series.set(lane.key, { topic: lane.topic, partition: lane.partition });
    this.#metrics?.queued.set({ topic: lane.topic, partition: String(lane.partition), group: this.#options.groupId }, lane.queued);
  }

  /** Wakes eachBatch calls waiting for room in a queue. */
  #release(): void {
    for (const lane of this.#lanes.values()) for (const wake of lane.waiters) wake();
  }

  /**
   * Resolves when no batch is in hand and the offsets of the handled ones are committed, or
   * given up: after FINAL_COMMIT_ATTEMPTS failed commits or FINAL_COMMIT_WINDOW_MS (#commitFailed), or once the
   * membership ends (a rejoin that stopped waiting for this), so that it cannot loop for ever.
   */
  async #idle(): Promise<void> {
    const epoch = this.#epoch;
    await Promise.all([...this.#lanes.values()].map((lane) => lane.active ?? Promise.resolve()));
    // A stop during a rejoin's flush joins it.
    const ours = this.#finalFlush === undefined;
    const final = (this.#finalFlush ??= { since: performance.now(), failures: 0 });
    try {
      while (this.#epoch === epoch && (this.#committing !== undefined || this.#uncommitted.size > 0)) {
        // Commits at once, and retries its own failed commit after the backoff (#commitDelayMs).
        if (this.#committing === undefined && final.failures > 0) await sleep(this.#lastCommitAt + this.#commitDelayMs() - performance.now());
        await this.#flushCommits();
      }
    } finally {
      if (ours) this.#finalFlush = undefined;
    }
  }

  /**
   * Runs before each join of the group (kafkajs has no revocation callback; see rejoin.ts):
   * let the batches in hand finish and commit under the current membership, drop the queued
   * ones. Bounded by the session timeout, so a stuck handler cannot keep the group waiting.
   * Returns, for each partition whose batches were dropped or did not finish, the offset of its
   * first record not handled: kafkajs' fetch position had moved past the dropped ones, and
   * rejoin.ts sets it back (a join that fails leaves kafkajs fetching under the old membership).
   */
  async #beforeRejoin(): Promise<readonly RewindTo[]> {
    if (this.#lanes.size === 0) return [];
    this.#rejoining = true;
    this.#rejoin.abort();
    this.#release();
    this.#metrics?.rejoining.set({ group: this.#options.groupId }, 1);
    let rewinds: RewindTo[] = [];
    try {
      await waitAtMost(this.#idle(), this.#options.sessionTimeoutMs ?? 30000);
    } finally {
      this.#newMembership();
      rewinds = this.#forgetLanes();
      this.#rejoin = new AbortController();
      this.#rejoining = false;
      this.#metrics?.rejoining.set({ group: this.#options.groupId }, 0);
    }
    return rewinds;
  }

  /** A new membership: batches fetched or in hand under the old one are not committed by the runner, and their handlers are told (BatchContext.membership). */
  #newMembership(): void {
    this.#epoch += 1;
    this.#commitFailures = 0;
    this.#membership.abort();
    this.#membership = new AbortController();
  }

  /** Graceful stop; safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#running = false;
      this.#abort.abort();
      this.#release();
      this.#lanesIdle = this.#idle();
      await this.#lanesIdle;
      await this.#consumer.stop();
      await this.#consumer.disconnect();
      this.#joined = false;
      // The partitions are other members' now (a service that runs several consumers in one
      // process, the CLI's `run`, keeps exporting its registry).
      this.#dropSeriesOutside(undefined);
    })();
    return this.#stopping;
  }
}

/** At most `size` holders at once, served in arrival order. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** A slot now if one is free and nobody waits for one, without waiting. */
  tryAcquire(): boolean {
    if (this.#free === 0 || this.#waiting.length > 0) return false;
    this.#free -= 1;
    return true;
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free += 1;
  }
}

function waitForTake(lane: Lane, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      lane.waiters.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    lane.waiters.add(done);
  });
}

function waitAtMost(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

class HandlerBug extends KafkaError {
  constructor(cause: unknown) {
    super('KAFKA_HANDLER_FAILED', `Batch handler failed with a non-retryable error: ${describeError(cause)}`, { cause });
  }
}
