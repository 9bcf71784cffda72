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
 * packages/kafka/test/prefetch.it.test.ts checks the hook in a rebalance between two members.
 *
 * Known gap, with more than one broker: kafkajs runs a fetcher per broker, and one that meets
 * stale metadata joins from inside its fetch while the others go on fetching from the positions
 * of the batches the hook dropped; docs/operations.md, "How the services consume".
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { kafkajsModule } from './internals.ts';

export type BeforeRejoin = () => Promise<void>;

const hooks = new AsyncLocalStorage<BeforeRejoin>();

/** Runs `start` (which calls kafkajs' `consumer.run()`) so that the group's joins call `hook` first. */
export function withRejoinHook<T>(hook: BeforeRejoin, start: () => T): T {
  return hooks.run(hook, start);
}

interface ConsumerGroupClass {
  prototype: { joinAndSync: (this: unknown, ...args: unknown[]) => Promise<unknown> };
}

const ConsumerGroup = kafkajsModule<ConsumerGroupClass>('consumer/consumerGroup.js');
const original = ConsumerGroup.prototype.joinAndSync;
if (typeof original !== 'function') throw new Error('kafkajs ConsumerGroup#joinAndSync not found: the rejoin hook needs kafkajs 2.2.x');
ConsumerGroup.prototype.joinAndSync = async function joinAndSync(this: unknown, ...args: unknown[]): Promise<unknown> {
  const hook = hooks.getStore();
  if (hook) await hook();
  return original.apply(this, args);
};
