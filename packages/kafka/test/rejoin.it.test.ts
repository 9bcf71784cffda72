/**
 * The rejoin hook (packages/kafka/src/rejoin.ts) and the kafkajs 2.2.4 internals it relies on,
 * against the real broker.
 *
 * kafkajs runs one fetcher per broker. A fetcher that meets stale metadata (NOT_LEADER,
 * FENCED_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION, partitions added) joins the group again
 * from inside its own fetch, while the other brokers' fetchers go on fetching. With one broker
 * there is one fetcher, so the test plays the other broker's part: the handler of the first
 * batch starts the rejoin (`ConsumerGroup#joinAndSync`, in the consumer's async context, as
 * kafkajs' own call is) and the test holds the JoinGroup step, the seconds a real rebalance
 * takes to gather its members, while this member's fetcher keeps running.
 */
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchConsumer, BatchProducer, consumerGroupLag } from '@elephant/kafka';
import { createMetricsRegistry } from '@elephant/observability';
import { createTestContext, waitUntil } from '@elephant/testing';

const ctx = createTestContext('rejoin');

interface GroupInternals {
  readonly groupId: string;
  joinAndSync(): Promise<unknown>;
}

type Method = (this: GroupInternals, ...args: unknown[]) => Promise<unknown>;

// kafkajs' ConsumerGroup: JOIN (JoinGroup) is a private symbol method, called by joinAndSync
// before SYNC (SyncGroup, then a new offset manager).
const require = createRequire(import.meta.url);
const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: Record<string | symbol, unknown> };
const joinSymbol = Object.getOwnPropertySymbols(ConsumerGroup.prototype).find((symbol) => symbol.description === 'private:ConsumerGroup:join');
if (!joinSymbol) throw new Error('kafkajs ConsumerGroup has no private join step: the test needs kafkajs 2.2.x');
const originalJoin = ConsumerGroup.prototype[joinSymbol] as Method;
const originalFetch = ConsumerGroup.prototype['fetch'] as Method;

/** What the test sees of each group's joins and fetches. */
interface Observed {
  group: GroupInternals | undefined;
  joins: number;
  fetches: number;
  /** Holds the JoinGroup step of the group's next joins. */
  hold: Promise<void> | undefined;
  /** Holds the next fetch that brings records, after it returned them. */
  holdFetch: Promise<void> | undefined;
  heldFetches: number;
  /** Fails the group's next JoinGroup step. */
  failJoin: boolean;
}
const observed = new Map<string, Observed>();
const observe = (groupId: string): Observed => {
  let entry = observed.get(groupId);
  if (!entry) {
    entry = { group: undefined, joins: 0, fetches: 0, hold: undefined, holdFetch: undefined, heldFetches: 0, failJoin: false };
    observed.set(groupId, entry);
  }
  return entry;
};
ConsumerGroup.prototype[joinSymbol] = async function join(this: GroupInternals, ...args: unknown[]): Promise<unknown> {
  const entry = observe(this.groupId);
  entry.group = this;
  entry.joins += 1;
  if (entry.hold) await entry.hold;
  if (entry.failJoin) {
    entry.failJoin = false;
    throw new Error('JoinGroup failed (test)');
  }
  return originalJoin.apply(this, args);
};
ConsumerGroup.prototype['fetch'] = async function fetch(this: GroupInternals, ...args: unknown[]): Promise<unknown> {
  const entry = observe(this.groupId);
  try {
    const batches = await originalFetch.apply(this, args);
    const hold = entry.holdFetch;
    if (hold && Array.isArray(batches) && batches.length > 0) {
      entry.holdFetch = undefined;
      entry.heldFetches += 1;
      await hold;
    }
    return batches;
  } finally {
    entry.fetches += 1;
  }
};

afterAll(async () => {
  ConsumerGroup.prototype[joinSymbol] = originalJoin;
  ConsumerGroup.prototype['fetch'] = originalFetch;
  await ctx.cleanup();
});

async function produceOneByOne(topic: string, values: readonly string[]): Promise<void> {
  const producer = await BatchProducer.connect(ctx.kafka);
  try {
    for (const value of values) await producer.send([{ topic, messages: [{ key: value, value }] }]);
  } finally {
    await producer.disconnect();
  }
}

async function gauge(registry: ReturnType<typeof createMetricsRegistry>, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  return (metric?.values ?? []).reduce((sum, entry) => sum + Number(entry.value), 0);
}

function gate(): { readonly opened: Promise<void>; release(): void } {
  let release = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { opened, release };
}

describe('a rejoin started by another broker\'s fetcher', () => {
  it.each(['runner', 'handler'] as const)('does not let this fetcher hand over records fetched past the dropped batches (commit: %s): they were skipped and committed past', async (commit) => {
    const topic = ctx.topic(`skip-${commit}`);
    const groupId = ctx.group(`skip-${commit}`);
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const metrics = createMetricsRegistry({ service: 'rejoin-test' });
    const startRejoin = gate();
    const finishFirst = gate();
    const joinHeld = gate();
    const handled: string[][] = [];
    let rejoin: Promise<unknown> | undefined;
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId,
      topics: [topic],
      logger: ctx.logger,
      metrics,
      commit,
      handler: async (batch) => {
        handled.push(batch.messages.map((message) => message.value?.toString() ?? ''));
        if (handled.length > 1) return;
        // The first batch: while it is in the handler and the next ones wait in the queue
        // (this fetcher's position already past them), "another fetcher" starts a rejoin.
        await startRejoin.opened;
        const group = observe(groupId).group;
        if (!group) throw new Error('the consumer group was not observed joining');
        rejoin = group.joinAndSync();
        await finishFirst.opened;
      },
    });
    await produceOneByOne(topic, ['a']);
    await consumer.start();
    try {
      await waitUntil(() => handled.length === 1, { message: 'the first batch to reach the handler' });
      await produceOneByOne(topic, ['b0', 'b1']);
      await waitUntil(async () => (await gauge(metrics, 'elephant_consumer_queued_messages')) === 2, { message: 'b0 and b1 to be fetched and queued' });
      const entry = observe(groupId);
      entry.hold = joinHeld.opened;
      const joinsBefore = entry.joins;
      startRejoin.release();
      await waitUntil(async () => (await gauge(metrics, 'elephant_consumer_rejoining')) === 1, { message: 'the hook to wait for the batch in hand' });
      finishFirst.release();
      // The hook committed 'a' (runner mode), dropped b0 and b1, and the JoinGroup is held.
      await waitUntil(() => entry.joins === joinsBefore + 1, { message: 'the rejoin to reach its JoinGroup' });
      await produceOneByOne(topic, ['c0']);
      const fetchesAfter = entry.fetches;
      await waitUntil(() => handled.length > 1 || entry.fetches >= fetchesAfter + 5, { message: 'five fetches during the join' });
      // Before the fix this fetcher went on from its old position (after b1) and handed c0
      // over under the new epoch: handled and committed at 4, b0 and b1 never.
      expect(handled).toEqual([['a']]);
      joinHeld.release();
      await rejoin;
      if (commit === 'runner') {
        await waitUntil(async () => (await consumerGroupLag(ctx.kafka, groupId, [topic])) === 0, { message: 'everything to be committed' });
        // Fetched again from the committed offset (after 'a') once the join had set new positions.
        expect(handled.flat()).toEqual(['a', 'b0', 'b1', 'c0']);
      } else {
        // The handler committed nothing: after the join the member starts again from offset 0.
        await waitUntil(() => handled.flat().includes('c0'), { message: 'c0 to be handled after the join' });
        expect(handled.flat()).toEqual(['a', 'a', 'b0', 'b1', 'c0']);
      }
    } finally {
      startRejoin.release();
      finishFirst.release();
      joinHeld.release();
      await Promise.allSettled([rejoin]);
      await consumer.stop();
    }
  });
  it('does not let a batch fetched before the join in and handed over after it through (handled, and resolved into the new offset state): it skipped the dropped batches', async () => {
    const topic = ctx.topic('late');
    const groupId = ctx.group('late');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const metrics = createMetricsRegistry({ service: 'rejoin-test' });
    const startRejoin = gate();
    const finishFirst = gate();
    const fetchHeld = gate();
    const handled: string[][] = [];
    let rejoin: Promise<unknown> | undefined;
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId,
      topics: [topic],
      logger: ctx.logger,
      metrics,
      handler: async (batch) => {
        handled.push(batch.messages.map((message) => message.value?.toString() ?? ''));
        if (handled.length > 1) return;
        await startRejoin.opened;
        const group = observe(groupId).group;
        if (!group) throw new Error('the consumer group was not observed joining');
        rejoin = group.joinAndSync();
        await finishFirst.opened;
      },
    });
    await produceOneByOne(topic, ['a']);
    await consumer.start();
    try {
      await waitUntil(() => handled.length === 1, { message: 'the first batch to reach the handler' });
      await produceOneByOne(topic, ['b0']);
      await waitUntil(async () => (await gauge(metrics, 'elephant_consumer_queued_messages')) === 1, { message: 'b0 to be fetched and queued' });
      // The fetch that brings c0 (from after b0) returns and is held before kafkajs hands it over.
      const entry = observe(groupId);
      entry.holdFetch = fetchHeld.opened;
      await produceOneByOne(topic, ['c0']);
      await waitUntil(() => entry.heldFetches === 1, { message: 'the fetch of c0 to be held' });
      startRejoin.release();
      await waitUntil(async () => (await gauge(metrics, 'elephant_consumer_rejoining')) === 1, { message: 'the hook to wait for the batch in hand' });
      finishFirst.release();
      // The hook committed 'a' and dropped b0; the join ends with a new offset state.
      await rejoin;
      fetchHeld.release();
      await waitUntil(async () => (await consumerGroupLag(ctx.kafka, groupId, [topic])) === 0 && handled.flat().includes('c0'), { message: 'everything to be handled and committed' });
      // Before the fix kafkajs handed c0 over: handled, its offset resolved into the new
      // offset state and committed (3), b0 never.
      expect(handled.flat()).toEqual(['a', 'b0', 'c0']);
    } finally {
      startRejoin.release();
      finishFirst.release();
      fetchHeld.release();
      await Promise.allSettled([rejoin]);
      await consumer.stop();
    }
  });
  it('joins again before fetching when the rejoin failed: the positions it left were past the dropped batches', async () => {
    const topic = ctx.topic('failed');
    const groupId = ctx.group('failed');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const metrics = createMetricsRegistry({ service: 'rejoin-test' });
    const startRejoin = gate();
    const finishFirst = gate();
    const handled: string[][] = [];
    let rejoin: Promise<unknown> | undefined;
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId,
      topics: [topic],
      logger: ctx.logger,
      metrics,
      handler: async (batch) => {
        handled.push(batch.messages.map((message) => message.value?.toString() ?? ''));
        if (handled.length > 1) return;
        await startRejoin.opened;
        const group = observe(groupId).group;
        if (!group) throw new Error('the consumer group was not observed joining');
        rejoin = group.joinAndSync();
        await finishFirst.opened;
      },
    });
    await produceOneByOne(topic, ['a']);
    await consumer.start();
    try {
      await waitUntil(() => handled.length === 1, { message: 'the first batch to reach the handler' });
      await produceOneByOne(topic, ['b0', 'b1']);
      await waitUntil(async () => (await gauge(metrics, 'elephant_consumer_queued_messages')) === 2, { message: 'b0 and b1 to be fetched and queued' });
      const entry = observe(groupId);
      entry.failJoin = true;
      const joinsBefore = entry.joins;
      startRejoin.release();
      await waitUntil(async () => (await gauge(metrics, 'elephant_consumer_rejoining')) === 1, { message: 'the hook to wait for the batch in hand' });
      finishFirst.release();
      await expect(rejoin).rejects.toThrow('JoinGroup failed (test)');
      await produceOneByOne(topic, ['c0']);
      await waitUntil(async () => (await consumerGroupLag(ctx.kafka, groupId, [topic])) === 0 && handled.flat().includes('c0'), { message: 'everything to be handled and committed' });
      // Before the fix the member went on fetching from after b1 under the membership it had.
      expect(handled.flat()).toEqual(['a', 'b0', 'b1', 'c0']);
      expect(entry.joins).toBe(joinsBefore + 2);
    } finally {
      startRejoin.release();
      finishFirst.release();
      await Promise.allSettled([rejoin]);
      await consumer.stop();
    }
  });
});
