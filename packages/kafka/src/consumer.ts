import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, PartitionAssigner } from 'kafkajs';
import { describeError, isRetryable } from '@elephant/errors';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@elephant/observability';
import { KafkaError } from './errors.ts';

export type { KafkaMessage };

export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
}

export interface BatchContext {
  /** Call during long work so the group does not consider this member dead. */
  heartbeat(): Promise<void>;
  /** Aborted when the runner is stopping; long waits should give up on it. */
  readonly signal: AbortSignal;
  /** The group and the offset to commit for this batch (last offset + 1), for handlers that commit in a transaction. */
  readonly groupId: string;
  readonly nextOffset: string;
}

/**
 * Processes one batch of one partition. Resolve only when every effect of the batch is
 * durable (produced messages acknowledged, Redis writes done): the runner commits the
 * batch's offsets right after. Throw a retryable error to have the same batch retried with
 * backoff; a non-retryable error is a bug (bad input must be dead-lettered by the handler)
 * and stops the runner.
 */
export type BatchHandler = (batch: ConsumedBatch, context: BatchContext) => Promise<void>;

export interface BatchConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly handler: BatchHandler;
  readonly logger: Logger;
  /** Registry for the runner's metrics; omit to skip metrics. */
  readonly metrics?: Registry;
  /** Where a group with no committed offset starts. @default true */
  readonly fromBeginning?: boolean;
  /** Partitions processed at once by this member. @default 1 */
  readonly partitionsConsumedConcurrently?: number;
  /** @default 30000 */
  readonly sessionTimeoutMs?: number;
  /** @default 3000 */
  readonly heartbeatIntervalMs?: number;
  /** Longest the broker holds a fetch open waiting for data: on an idle partition, a hop costs up to this much latency. @default 20 */
  readonly maxWaitTimeMs?: number;
  /** @default 1048576 */
  readonly maxBytesPerPartition?: number;
  /** Backoff between retries of a batch that failed with a retryable error. */
  readonly retryBackoff?: { readonly initialMs: number; readonly maxMs: number };
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
}

/** Metrics are shared by every runner of a process (one registry), labelled by group. */
function runnerMetrics(registry: Registry): RunnerMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const metrics: RunnerMetrics = {
    messages: new Counter({ name: 'elephant_consumer_messages_total', help: 'Messages handled and committed', labelNames: ['topic', 'group'], registers: [registry] }),
    batches: new Counter({ name: 'elephant_consumer_batches_total', help: 'Batch attempts by outcome (committed, retried, failed)', labelNames: ['topic', 'group', 'outcome'], registers: [registry] }),
    batchSeconds: new Histogram({ name: 'elephant_consumer_batch_seconds', help: 'Time to handle and commit one batch', labelNames: ['topic', 'group'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
    lag: new Gauge({ name: 'elephant_consumer_lag', help: 'Messages behind the high watermark after the last committed batch', labelNames: ['topic', 'partition', 'group'], registers: [registry] }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

const metricsByRegistry = new WeakMap<Registry, RunnerMetrics>();

/**
 * Runs a consumer-group member that hands batches to a handler and commits a batch's
 * offsets only after the handler resolved. Nothing is auto-committed, so a member that
 * dies mid-batch leaves the batch uncommitted and the next owner of the partition gets it
 * again (at-least-once; handlers make effects idempotent).
 *
 * `stop()` is the graceful path for SIGTERM: stop fetching, let the batch in hand finish
 * and commit, leave the group, disconnect.
 */
export class BatchConsumer {
  readonly #options: BatchConsumerOptions;
  readonly #consumer: Consumer;
  readonly #log: Logger;
  readonly #metrics: RunnerMetrics | undefined;
  readonly #abort = new AbortController();
  #running = false;
  #stopping: Promise<void> | undefined;

  constructor(options: BatchConsumerOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'consumer', group: options.groupId });
    this.#metrics = options.metrics ? runnerMetrics(options.metrics) : undefined;
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3000,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 20,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1048576,
      allowAutoTopicCreation: false,
      ...(options.partitionAssigners ? { partitionAssigners: options.partitionAssigners } : {}),
      // kafkajs restarts the consumer after its own (protocol, network) failures.
      retry: { retries: 5 },
    });
    this.#consumer.on(this.#consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      if (restart || this.#stopping) return;
      this.#fail(new KafkaError('KAFKA_CONSUMER_CRASHED', `Consumer of ${options.topics.join(', ')} stopped: ${describeError(error)}`, { cause: error }));
    });
  }

  #failure: Error | undefined;

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#running = false;
    this.#log.error({ err: error }, 'consumer stopped by a non-retryable failure');
    this.#options.onFatal?.(error);
  }

  /** True between a successful start and stop (for readiness probes). */
  isRunning(): boolean {
    return this.#running;
  }

  async start(): Promise<void> {
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [...this.#options.topics], fromBeginning: this.#options.fromBeginning ?? true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    this.#running = true;
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (this.#failure) return;
    const heartbeat = (): Promise<void> => payload.heartbeat();
    const isRunning = (): boolean => payload.isRunning();
    const isStale = (): boolean => payload.isStale();
    if (batch.isEmpty()) return;
    const topic = batch.topic;
    const group = this.#options.groupId;
    const timer = this.#metrics?.batchSeconds.startTimer({ topic, group });
    const backoff = this.#options.retryBackoff ?? { initialMs: 200, maxMs: 10000 };
    for (let attempt = 0; ; attempt += 1) {
      // A batch not finished before stop or rebalance stays uncommitted: the partition's
      // next owner (or this member after restart) receives it again.
      if (!isRunning() || isStale() || this.#abort.signal.aborted) return;
      try {
        await this.#options.handler({ topic, partition: batch.partition, messages: batch.messages }, { heartbeat, signal: this.#abort.signal, groupId: group, nextOffset: (BigInt(batch.lastOffset()) + 1n).toString() });
        break;
      } catch (error) {
        if (!isRetryable(error)) {
          // A bug, not bad input (handlers dead-letter bad input): stop here, leave the batch
          // uncommitted for after the fix, and let the service shut down through onFatal
          // rather than have kafkajs retry the same batch.
          this.#metrics?.batches.inc({ topic, group, outcome: 'failed' });
          this.#fail(new HandlerBug(error));
          return;
        }
        this.#metrics?.batches.inc({ topic, group, outcome: 'retried' });
        const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempt);
        this.#log.warn({ topic, partition: batch.partition, attempt, delayMs: delay, err: error }, 'batch failed with a retryable error; retrying');
        await sleep(delay, this.#abort.signal);
        await heartbeat().catch(() => undefined);
      }
    }
    const last = batch.lastOffset();
    payload.resolveOffset(last);
    if (this.#options.commit === 'handler') {
      this.#metrics?.batches.inc({ topic, group, outcome: 'committed' });
      this.#metrics?.messages.inc({ topic, group }, batch.messages.length);
      timer?.();
      return;
    }
    // Through the batch payload, not consumer.commitOffsets(): kafkajs' consumer-level commit
    // silently does nothing once stop() began, which would leave the batch that stop()
    // waited for uncommitted and have it processed again after a SIGTERM.
    await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }] });
    timer?.();
    this.#metrics?.batches.inc({ topic, group, outcome: 'committed' });
    this.#metrics?.messages.inc({ topic, group }, batch.messages.length);
    this.#metrics?.lag.set({ topic, group, partition: String(batch.partition) }, Number(batch.offsetLag()));
  }

  /** Graceful stop; safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#abort.abort();
      this.#running = false;
      await this.#consumer.stop();
      await this.#consumer.disconnect();
    })();
    return this.#stopping;
  }
}

class HandlerBug extends KafkaError {
  constructor(cause: unknown) {
    super('KAFKA_HANDLER_FAILED', `Batch handler failed with a non-retryable error: ${describeError(cause)}`, { cause });
  }
}


function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
