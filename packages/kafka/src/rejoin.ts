import './read-committed.ts';
/**
 * A hook that runs before a kafkajs 2.2.4 consumer (re)joins its group: the place where the
 * Java client calls onPartitionsRevoked.
 *
 * BatchConsumer keeps processing batches after kafkajs handed them over (so that the next
 * fetch overlaps the processing), which kafkajs does not know about. Before the member joins
 * again (a rebalance, a coordinator change, stale metadata) it must finish, and commit, the
 * batches in hand and drop the ones it queued: after the join, kafkajs fetches every assigned
 * partition again from its committed offset, and another member may own the partition. kafkajs
 * has no revocation callback, so this module wraps ConsumerGroup#joinAndSync (every path to a
 * join goes through it) and runs the hook of the BatchConsumer whose `consumer.run()` started
 * the group, found through an AsyncLocalStorage that kafkajs' own async work inherits.
 *
 * Dropping the queued batches is only safe if nothing is fetched from the positions they moved
 * until the join has replaced them. kafkajs keeps a partition's fetch position in the group's
 * OffsetManager, which SYNC replaces with a new one that starts from the committed offsets. But
 * kafkajs runs one fetcher per broker, and a fetcher that meets stale metadata joins from inside
 * its own fetch while the other brokers' fetchers go on, with the old OffsetManager: one of them
 * fetched past the dropped batches and handed the next records over during the join (seconds,
 * while a rebalance gathers its members); they were handled and committed, and the dropped
 * records never came again. So, for the groups that have a hook:
 * - a join marks the OffsetManager it replaces as stale before the hook runs;
 * - a fetch remembers the OffsetManager it started with; while that one is stale and a join is
 *   under way, the fetch waits as kafkajs' fetch waits with nothing to fetch, instead of
 *   fetching; if no join is under way (one that failed), it joins first;
 * - kafkajs' runner does nothing with a batch fetched under an OffsetManager that is stale or
 *   no longer the group's: no handler, no resolved offset (kafkajs would resolve a batch of
 *   only aborted records into the new OffsetManager).
 * packages/kafka/test/rejoin.it.test.ts replays a rejoin started by another broker's fetcher
 * against the real broker, and guards the kafkajs internals this depends on;
 * packages/kafka/test/prefetch.it.test.ts checks the hook in a rebalance between two members.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { kafkajsModule } from './internals.ts';

export type BeforeRejoin = () => Promise<void>;

const hooks = new AsyncLocalStorage<BeforeRejoin>();

/** Runs `start` (which calls kafkajs' `consumer.run()`) so that the group's joins call `hook` first. */
export function withRejoinHook<T>(hook: BeforeRejoin, start: () => T): T {
  return hooks.run(hook, start);
}

/** What this module uses of a kafkajs ConsumerGroup. */
interface ConsumerGroup {
  /** Fetch positions and committed offsets of one membership; null before the first join. */
  readonly offsetManager: object | null;
  /** The consumer's maxWaitTimeInMs. */
  readonly maxWaitTime: number;
  joinAndSync(): Promise<unknown>;
}

interface ConsumerGroupClass {
  prototype: {
    joinAndSync: (this: ConsumerGroup, ...args: unknown[]) => Promise<unknown>;
    fetch: (this: ConsumerGroup, nodeId: number) => Promise<object[]>;
  };
}

interface RunnerClass {
  prototype: { handleBatch: (this: { readonly consumerGroup: ConsumerGroup }, batch: object) => Promise<void> };
}

const ConsumerGroupModule = kafkajsModule<ConsumerGroupClass>('consumer/consumerGroup.js');
const Runner = kafkajsModule<RunnerClass>('consumer/runner.js');
const originalJoinAndSync = ConsumerGroupModule.prototype.joinAndSync;
const originalFetch = ConsumerGroupModule.prototype.fetch;
const originalHandleBatch = Runner.prototype.handleBatch;
for (const [name, value] of [['ConsumerGroup#joinAndSync', originalJoinAndSync], ['ConsumerGroup#fetch', originalFetch], ['Runner#handleBatch', originalHandleBatch]] as const) {
  if (typeof value !== 'function') throw new Error(`kafkajs ${name} not found: the rejoin hook needs kafkajs 2.2.x`);
}

/** Groups whose joins run a hook (BatchConsumer's); other kafkajs consumers are left as they are. */
const hooked = new WeakSet<ConsumerGroup>();
/** Joins of a group under way. */
const joining = new WeakMap<ConsumerGroup, number>();
/** OffsetManagers a join replaces: their positions are past batches the hook dropped. */
const stale = new WeakSet<object>();
/** The OffsetManager each batch of a hooked group was fetched under. */
const fetchedUnder = new WeakMap<object, object>();

ConsumerGroupModule.prototype.joinAndSync = async function joinAndSync(this: ConsumerGroup, ...args: unknown[]): Promise<unknown> {
  const hook = hooks.getStore();
  if (!hook) return originalJoinAndSync.apply(this, args);
  hooked.add(this);
  if (this.offsetManager) stale.add(this.offsetManager);
  joining.set(this, (joining.get(this) ?? 0) + 1);
  try {
    await hook();
    return await originalJoinAndSync.apply(this, args);
  } finally {
    joining.set(this, (joining.get(this) ?? 1) - 1);
  }
};

ConsumerGroupModule.prototype.fetch = async function fetch(this: ConsumerGroup, nodeId: number): Promise<object[]> {
  if (!hooked.has(this)) return originalFetch.call(this, nodeId);
  if (this.offsetManager && stale.has(this.offsetManager)) {
    if ((joining.get(this) ?? 0) > 0) {
      // The join under way sets the positions; kafkajs' fetch waits like this when it has
      // nothing to fetch (and its runner heartbeats after an empty fetch).
      await sleep(this.maxWaitTime);
      return [];
    }
    // A join that failed left the positions stale: none of them may be fetched from.
    await this.joinAndSync();
  }
  const manager = this.offsetManager;
  const batches = await originalFetch.call(this, nodeId);
  if (manager) for (const batch of batches) fetchedUnder.set(batch, manager);
  return batches;
};

Runner.prototype.handleBatch = function handleBatch(this: { readonly consumerGroup: ConsumerGroup }, batch: object): Promise<void> {
  const manager = fetchedUnder.get(batch);
  // Fetched before a join that has begun (or ended) since: from positions that join drops.
  if (manager !== undefined && (manager !== this.consumerGroup.offsetManager || stale.has(manager))) return Promise.resolve();
  return originalHandleBatch.call(this, batch);
};
