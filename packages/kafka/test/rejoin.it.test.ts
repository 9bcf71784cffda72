/**
 * A rejoin must not skip records (packages/kafka/src/rejoin.ts), against the real broker.
 *
 * BatchConsumer drops the batches it queued before the member joins its group again; kafkajs'
 * fetch position had moved past them. Two ways lost them:
 * - kafkajs 2.2.4 joins from inside a fetch that met stale metadata (a leader moved), while its
 *   fetchers of the other brokers go on fetching from those positions and hand the next
 *   records over during the join. One broker has one fetcher, so the test cannot play the other
 *   brokers; it checks what makes that impossible: no fetch of the member runs during its join;
 * - a join that fails leaves kafkajs fetching under the old membership, from those positions.
 *
 * The stale metadata is the one condition the test makes up: the first fetch after the test
 * arms it fails as a fetch from a broker that is no longer a partition's leader does
 * (NOT_LEADER_FOR_PARTITION), from inside kafkajs' fetch, where kafkajs checks the assignment.
 */
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { ElephantError } from '@elephant/errors';
import { BatchConsumer, consumerGroupLag } from '@elephant/kafka';
import { createMetricsRegistry } from '@elephant/observability';
import { createTestContext, waitUntil } from '@elephant/testing';
import { gate, gauge, produceOneByOne } from './helpers.ts';

const ctx = createTestContext('rejoin');

interface GroupInternals {
  readonly groupId: string;
}

type Method = (this: GroupInternals, ...args: unknown[]) => unknown;

// kafkajs' ConsumerGroup (the instance kafkajs uses, patched by @elephant/kafka on import):
// JOIN (JoinGroup) is a private symbol method that joinAndSync calls before SYNC.
const require = createRequire(import.meta.url);
const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: Record<string | symbol, unknown> };
const joinSymbol = Object.getOwnPropertySymbols(ConsumerGroup.prototype).find((symbol) => symbol.description === 'private:ConsumerGroup:join');
if (!joinSymbol) throw new Error('kafkajs ConsumerGroup has no private join step: the test needs kafkajs 2.2.x');
const originalJoin = ConsumerGroup.prototype[joinSymbol] as Method;
const originalFetch = ConsumerGroup.prototype['fetch'] as Method;
const originalCheck = ConsumerGroup.prototype['checkForStaleAssignment'] as Method;
if (typeof originalFetch !== 'function' || typeof originalCheck !== 'function') throw new Error('kafkajs ConsumerGroup#fetch or #checkForStaleAssignment not found: the test needs kafkajs 2.2.x');

/** What the test sees of, and does to, each group's fetches and joins. */
interface Observed {
  /** Fetches under way now. */
  fetching: number;
  fetches: number;
  joins: number;
  /** Fetches under way when each JoinGroup step began. */
  fetchingAtJoin: number[];
  /** The next fetch fails as one from a broker that is no longer the leader. */
  staleOnce: boolean;
  /** The next JoinGroup step fails. */
  failJoinOnce: boolean;
  /** The next fetch fails so that kafkajs crashes the member: it leaves the group, and restarts it. */
  crashOnce: boolean;
}
const observed = new Map<string, Observed>();
const observe = (groupId: string): Observed => {
  let entry = observed.get(groupId);
  if (!entry) {
    entry = { fetching: 0, fetches: 0, joins: 0, fetchingAtJoin: [], staleOnce: false, failJoinOnce: false, crashOnce: false };
    observed.set(groupId, entry);
  }
  return entry;
};
ConsumerGroup.prototype[joinSymbol] = function join(this: GroupInternals, ...args: unknown[]): unknown {
  const entry = observe(this.groupId);
  entry.joins += 1;
  entry.fetchingAtJoin.push(entry.fetching);
  if (entry.failJoinOnce) {
    entry.failJoinOnce = false;
    return Promise.reject(new Error('JoinGroup failed (test)'));
  }
  return originalJoin.apply(this, args);
};
ConsumerGroup.prototype['fetch'] = async function fetch(this: GroupInternals, ...args: unknown[]): Promise<unknown> {
  const entry = observe(this.groupId);
  if (entry.crashOnce) {
    entry.crashOnce = false;
    // kafkajs' runner gives up on this error at once (no retries) and crashes the member;
    // retriable, so kafkajs disconnects it (leaving the group) and restarts it.
    throw Object.assign(new Error('no broker available (test)'), { name: 'KafkaJSNoBrokerAvailableError', retriable: true });
  }
  entry.fetching += 1;
  try {
    return await originalFetch.apply(this, args);
  } finally {
    entry.fetching -= 1;
    entry.fetches += 1;
  }
};
ConsumerGroup.prototype['checkForStaleAssignment'] = function checkForStaleAssignment(this: GroupInternals, ...args: unknown[]): unknown {
  const entry = observe(this.groupId);
  if (entry.staleOnce) {
    entry.staleOnce = false;
    throw Object.assign(new Error('This server is not the leader for that topic-partition (test)'), { name: 'KafkaJSProtocolError', type: 'NOT_LEADER_FOR_PARTITION', retriable: true });
  }
  return originalCheck.apply(this, args);
};

afterAll(async () => {
  ConsumerGroup.prototype[joinSymbol] = originalJoin;
  ConsumerGroup.prototype['fetch'] = originalFetch;
  ConsumerGroup.prototype['checkForStaleAssignment'] = originalCheck;
  await ctx.cleanup();
});

/** A handler call: its records, whether the member was in its group when it began, and its membership signal. */
interface Call {
  readonly values: string[];
  readonly inGroup: boolean;
  readonly membership: AbortSignal | undefined;
}

/** The records of the handler calls, in order. */
const valuesOf = (calls: readonly Call[]): string[] => calls.flatMap((call) => call.values);

/**
 * A member with 'a' in its handler (held until `release`) and 'b0', 'b1' fetched and queued
 * behind it (kafkajs' position past them).
 */
async function memberWithBatchesQueued(name: string, commit: 'runner' | 'handler'): Promise<{ calls: Call[]; metrics: ReturnType<typeof createMetricsRegistry>; groupId: string; topic: string; consumer: BatchConsumer; release: () => void }> {
  const topic = ctx.topic(name);
  const groupId = ctx.group(name);
  await ctx.createTopics([{ topic, partitions: 1 }]);
  const metrics = createMetricsRegistry({ service: 'rejoin-test' });
  const first = gate();
  const calls: Call[] = [];
  const consumer: BatchConsumer = new BatchConsumer({
    kafka: ctx.kafka,
    groupId,
    topics: [topic],
    logger: ctx.logger,
    metrics,
    commit,
    handler: async (batch, context) => {
      calls.push({ values: batch.messages.map((message) => message.value?.toString() ?? ''), inGroup: consumer.isRunning(), membership: context.membership });
      if (calls.length === 1) await first.opened;
    },
  });
  await produceOneByOne(ctx.kafka, topic, ['a']);
  await consumer.start();
  try {
    await waitUntil(() => calls.length === 1, { message: 'the first batch to reach the handler' });
    await produceOneByOne(ctx.kafka, topic, ['b0', 'b1']);
    await waitUntil(async () => (await gauge(metrics, 'elephant_consumer_queued_messages')) === 2, { message: 'b0 and b1 to be fetched and queued' });
    return { calls, metrics, groupId, topic, consumer, release: () => first.release() };
  } catch (error) {
    first.release();
    await consumer.stop();
    throw error;
  }
}

/** memberWithBatchesQueued, when its next fetch meets stale metadata. */
async function rejoinWithBatchesQueued(name: string, commit: 'runner' | 'handler', failJoin: boolean): Promise<{ calls: Call[]; entry: Observed; joinsBefore: number; groupId: string; topic: string; consumer: BatchConsumer; release: () => void }> {
  const { calls, metrics, groupId, topic, consumer, release } = await memberWithBatchesQueued(name, commit);
  try {
    const entry = observe(groupId);
    const joinsBefore = entry.joins;
    entry.failJoinOnce = failJoin;
    entry.staleOnce = true;
    // The member finishes 'a' before it joins (and, handled by the runner, commits it).
    await waitUntil(async () => (await gauge(metrics, 'elephant_consumer_rejoining')) === 1, { message: 'the rejoin to wait for the batch in hand' });
    release();
    await waitUntil(() => entry.joins === joinsBefore + 1, { message: 'the JoinGroup step of the rejoin' });
    return { calls, entry, joinsBefore, groupId, topic, consumer, release };
  } catch (error) {
    release();
    await consumer.stop();
    throw error;
  }
}

describe('a rejoin after a fetch met stale metadata (a leader moved)', () => {
  it('joins with no fetch of the member under way, then fetches the dropped records again: kafkajs joined from inside the fetch, while other brokers\' fetchers went on', async () => {
    const { calls, entry, joinsBefore, groupId, topic, consumer, release } = await rejoinWithBatchesQueued('stale', 'runner', false);
    try {
      // Before the fix: 1 (the join ran inside the fetch that met the stale metadata).
      expect(entry.fetchingAtJoin.slice(joinsBefore)).toEqual([0]);
      await produceOneByOne(ctx.kafka, topic, ['c0']);
      await waitUntil(async () => valuesOf(calls).includes('c0') && (await consumerGroupLag(ctx.kafka, groupId, [topic])) === 0, { message: 'everything to be handled and committed' });
      expect(valuesOf(calls)).toEqual(['a', 'b0', 'b1', 'c0']);
      expect(entry.joins).toBe(joinsBefore + 1);
    } finally {
      release();
      await consumer.stop();
    }
  });

  it.each(['runner', 'handler'] as const)('fetches the dropped records again when the join fails (commit: %s): kafkajs went on under the old membership, after them', async (commit) => {
    const { calls, entry, joinsBefore, groupId, topic, consumer, release } = await rejoinWithBatchesQueued(`failed-${commit}`, commit, true);
    try {
      await produceOneByOne(ctx.kafka, topic, ['c0']);
      await waitUntil(() => valuesOf(calls).includes('c0'), { message: 'c0 to be handled after the failed join' });
      // Before the fix: ['a', 'c0'], committed past b0 and b1 (the membership was still valid).
      expect(valuesOf(calls)).toEqual(['a', 'b0', 'b1', 'c0']);
      if (commit === 'runner') await waitUntil(async () => (await consumerGroupLag(ctx.kafka, groupId, [topic])) === 0, { message: 'everything to be committed' });
      expect(entry.fetchingAtJoin.slice(joinsBefore)).toEqual([0]);
    } finally {
      release();
      await consumer.stop();
    }
  });
});

describe('a rejoin while a batch waits to retry', () => {
  it.each(['runner', 'handler'] as const)('handles the batch again when the join fails (commit: %s): with nothing queued behind it, its records were skipped', async (commit) => {
    const topic = ctx.topic(`retrying-${commit}`);
    const groupId = ctx.group(`retrying-${commit}`);
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const metrics = createMetricsRegistry({ service: 'rejoin-test' });
    const handled: string[][] = [];
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId,
      topics: [topic],
      logger: ctx.logger,
      metrics,
      commit,
      // Far longer than the test: the rejoin must end the wait, not the backoff.
      retryBackoff: { initialMs: 600000, maxMs: 600000 },
      handler: async (batch) => {
        handled.push(batch.messages.map((message) => message.value?.toString() ?? ''));
        if (handled.length === 1) throw new ElephantError('REDIS_UNAVAILABLE', 'Redis is down (test)', { retryable: true });
      },
    });
    await produceOneByOne(ctx.kafka, topic, ['a']);
    await consumer.start();
    try {
      await waitUntil(() => handled.length === 1, { message: 'the first attempt at the batch' });
      const entry = observe(groupId);
      const joinsBefore = entry.joins;
      entry.failJoinOnce = true;
      entry.staleOnce = true;
      await waitUntil(() => entry.joins === joinsBefore + 1, { message: 'the JoinGroup step of the rejoin' });
      await produceOneByOne(ctx.kafka, topic, ['c0']);
      await waitUntil(() => handled.flat().includes('c0'), { message: 'c0 to be handled after the failed join' });
      // Before the fix: [['a'], ['c0']]: kafkajs went on from after 'a' under the old
      // membership, and c0's commit covered it.
      expect(handled.flat()).toEqual(['a', 'a', 'c0']);
      if (commit === 'runner') await waitUntil(async () => (await consumerGroupLag(ctx.kafka, groupId, [topic])) === 0, { message: 'everything to be committed' });
      expect(await gauge(metrics, 'elephant_consumer_rejoining')).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});

describe('a crash (kafkajs leaves the group, then restarts the member)', () => {
  it.each(['runner', 'handler'] as const)('regression (the lanes went on handing queued batches to the handler out of the group, while the new owners processed them): nothing is handled between the crash and the next join, and nothing is lost (commit: %s)', async (commit) => {
    const { calls, groupId, topic, consumer, release } = await memberWithBatchesQueued(`crash-${commit}`, commit);
    try {
      observe(groupId).crashOnce = true;
      await waitUntil(() => !consumer.isRunning(), { message: 'the member to crash out of its group' });
      // The batch in hand is told: a handler that commits in a transaction does not commit it.
      expect(calls[0]?.membership?.aborted).toBe(true);
      // The batch in hand ends out of the group; before the fix the lane went on with b0 and b1.
      release();
      await waitUntil(() => consumer.isRunning(), { timeoutMs: 30000, message: 'kafkajs to restart the member and join again' });
      await waitUntil(() => valuesOf(calls).includes('b1'), { timeoutMs: 30000, message: 'b1 to be handled after the join' });
      expect(calls.slice(1).filter((call) => !call.inGroup)).toEqual([]);
      // Nothing was committed out of the group: 'a' comes again, then b0 and b1.
      expect(valuesOf(calls).filter((value) => value !== 'a')).toEqual(['b0', 'b1']);
      expect(valuesOf(calls).filter((value) => value === 'a').length).toBeGreaterThanOrEqual(1);
      if (commit === 'runner') await waitUntil(async () => (await consumerGroupLag(ctx.kafka, groupId, [topic])) === 0, { message: 'everything to be committed' });
    } finally {
      release();
      await consumer.stop();
    }
  });
});
