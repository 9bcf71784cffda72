import './read-committed.ts';
/**
 * A hook that runs before a kafkajs 2.2.4 consumer (re)joins its group: the place where the
 * Java client calls onPartitionsRevoked.
 *
 * BatchConsumer keeps processing batches after kafkajs handed them over (so that the next
 * fetch overlaps the processing), which kafkajs does not know about. Before the member joins
 * again (a rebalance, a coordinator change, stale metadata) it must finish, and commit, the
 * batches in hand and drop the ones it queued. kafkajs has no revocation callback, so this
 * module wraps ConsumerGroup#joinAndSync (every path to a join goes through it) and runs the
 * hook of the BatchConsumer whose `consumer.run()` started the group, found through an
 * AsyncLocalStorage that kafkajs' own async work inherits.
 *
 * Dropping queued batches leaves kafkajs' fetch positions past them, so two more corrections
 * keep a rejoin from skipping records, for the groups that have a hook:
 *
 * - The hook returns, for each partition it dropped batches of (or whose batch in hand did not
 *   finish), the offset of the first record not handled, and the fetch position of the
 *   membership being replaced is set back to it before the join. A join that succeeds starts
 *   from the committed offsets anyway (a new OffsetManager); one that fails leaves kafkajs
 *   fetching with the old membership, which without this went on after the dropped batches:
 *   handled, committed (the generation was still valid), the dropped records never.
 * - A fetch that meets stale metadata (a leader moved, partitions added) does not join from
 *   inside the fetch, as kafkajs does: kafkajs runs one fetcher per broker, and while one
 *   joined, the others went on fetching from positions past the dropped batches and handed the
 *   next records over during the join. It throws a rebalancing error instead, after refreshing
 *   the metadata as kafkajs would: the fetch manager stops every fetcher (and waits for them),
 *   and kafkajs' runner joins with nothing fetching, as it does for a rebalance announced by a
 *   heartbeat. No fetch of the member runs during its join, as in the Java client, where the
 *   poll loop that fetches is the one that rebalances.
 *
 * packages/kafka/test/rejoin.it.test.ts checks both against the real broker;
 * packages/kafka/test/prefetch.it.test.ts checks the hook in a rebalance between two members.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { kafkajsModule } from './internals.ts';
import type { GroupGeneration } from './txn-offset-commit.ts';

/** A partition's fetch position to go back to: the offset of its first record not handled. */
export interface RewindTo {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export type BeforeRejoin = () => Promise<readonly RewindTo[]>;

/** Told the generation and member id of each join that succeeded (what fences the member's transactional commits, see txn-offset-commit.ts). */
export type Joined = (generation: GroupGeneration) => void;

interface Hooks {
  readonly beforeRejoin: BeforeRejoin;
  readonly joined: Joined | undefined;
}

const hooks = new AsyncLocalStorage<Hooks>();

/** Runs `start` (which calls kafkajs' `consumer.run()`) so that the group's joins call `hook` first, and `joined` after each that succeeded. */
export function withRejoinHook<T>(hook: BeforeRejoin, start: () => T, joined?: Joined): T {
  return hooks.run({ beforeRejoin: hook, joined }, start);
}

/** What this module uses of a kafkajs OffsetManager (one per membership). */
interface OffsetManager {
  /** Next fetch offset per assigned topic and partition (an object per assigned topic). */
  readonly resolvedOffsets: Record<string, Record<string, string> | undefined>;
  resolveOffset(position: { topic: string; partition: number; offset: string }): void;
}

/** What this module uses of a kafkajs ConsumerGroup. */
interface ConsumerGroup {
  readonly groupId: string;
  /** Set by each join; null before the first. */
  readonly generationId: number | null;
  readonly memberId: string | null;
  /** null before the first join. */
  readonly offsetManager: OffsetManager | null;
  readonly cluster: { refreshMetadata(): Promise<void> };
  readonly logger: { warn(message: string, extra: object): void };
}

type GroupMethod<A extends unknown[]> = (this: ConsumerGroup, ...args: A) => Promise<unknown>;

interface ConsumerGroupClass {
  prototype: {
    joinAndSync: GroupMethod<unknown[]>;
    recoverFromFetch: GroupMethod<[unknown]>;
  };
}

const ConsumerGroup = kafkajsModule<ConsumerGroupClass>('consumer/consumerGroup.js');
const originalJoinAndSync = ConsumerGroup.prototype.joinAndSync;
const originalRecoverFromFetch = ConsumerGroup.prototype.recoverFromFetch;
for (const [name, value] of [['ConsumerGroup#joinAndSync', originalJoinAndSync], ['ConsumerGroup#recoverFromFetch', originalRecoverFromFetch]] as const) {
  if (typeof value !== 'function') throw new Error(`kafkajs ${name} not found: the rejoin hook needs kafkajs 2.2.x`);
}

ConsumerGroup.prototype.joinAndSync = async function joinAndSync(this: ConsumerGroup, ...args: unknown[]): Promise<unknown> {
  const hook = hooks.getStore();
  if (hook) rewind(this.offsetManager, await hook.beforeRejoin());
  const result = await originalJoinAndSync.apply(this, args);
  if (hook?.joined && this.generationId !== null && this.memberId !== null) hook.joined({ generationId: this.generationId, memberId: this.memberId });
  return result;
};

/** Sets the membership's fetch positions back to the first records the hook did not see handled. */
function rewind(manager: OffsetManager | null, positions: readonly RewindTo[]): void {
  if (!manager) return;
  for (const { topic, partition, offset } of positions) {
    // Only partitions of this membership (kafkajs keeps an object per assigned topic).
    if (manager.resolvedOffsets[topic] === undefined) continue;
    // resolveOffset takes the last offset handled and fetches from the one after it.
    manager.resolveOffset({ topic, partition, offset: (BigInt(offset) - 1n).toString() });
  }
}

/** The fetch errors after which kafkajs 2.2.4 joins the group again from inside the fetch. */
const STALE_METADATA = new Set(['LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'UNKNOWN_TOPIC_OR_PARTITION']);

function field(error: unknown, name: 'type' | 'name' | 'message'): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[name] : undefined;
}

ConsumerGroup.prototype.recoverFromFetch = async function recoverFromFetch(this: ConsumerGroup, error: unknown): Promise<unknown> {
  if (!hooks.getStore()) return originalRecoverFromFetch.call(this, error);
  const type = field(error, 'type');
  const name = field(error, 'name');
  const staleMetadata = (typeof type === 'string' && STALE_METADATA.has(type)) || name === 'KafkaJSTopicMetadataNotLoaded';
  if (!staleMetadata && name !== 'KafkaJSStaleTopicMetadataAssignment') return originalRecoverFromFetch.call(this, error);
  if (staleMetadata) await this.cluster.refreshMetadata();
  const message = `${String(field(error, 'message'))}: joining the group again once every fetcher has stopped`;
  this.logger.warn('Fetch met stale metadata; rejoining through the runner', { groupId: this.groupId, error: String(field(error, 'message')) });
  // kafkajs' runner joins again on a rebalancing error, after its fetch manager stopped every fetcher.
  throw Object.assign(new Error(message, { cause: error }), { name: 'KafkaJSError', type: 'REBALANCE_IN_PROGRESS', retriable: true });
};
