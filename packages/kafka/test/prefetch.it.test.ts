import { afterAll, describe, expect, it } from 'vitest';
import { BatchConsumer, consumerGroupLag } from '@elephant/kafka';
import { createMetricsRegistry } from '@elephant/observability';
import { createTestContext, waitUntil } from '@elephant/testing';
import { gate, gauge, produceOneByOne } from './helpers.ts';

const ctx = createTestContext('prefetch');

afterAll(async () => {
  await ctx.cleanup();
});

describe('BatchConsumer fetching while it processes', () => {
  it('fetches while a batch is in the handler and hands what waited over as one batch', async () => {
    const topic = ctx.topic('ahead');
    const group = ctx.group('ahead');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const metrics = createMetricsRegistry({ service: 'prefetch-test' });
    const held = gate();
    const calls: string[][] = [];
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId: group,
      topics: [topic],
      logger: ctx.logger,
      metrics,
      handler: async (batch) => {
        calls.push(batch.messages.map((message) => message.value?.toString() ?? ''));
        if (calls.length === 1) await held.opened;
      },
    });
    await produceOneByOne(ctx.kafka, topic, ['first']);
    await consumer.start();
    try {
      await waitUntil(() => calls.length === 1, { message: 'the first batch to reach the handler' });
      // One record per send, each fetched on its own, while the first batch is still held.
      const later = Array.from({ length: 5 }, (_, index) => `later-${index}`);
      for (const [index, value] of later.entries()) {
        await produceOneByOne(ctx.kafka, topic, [value]);
        await waitUntil(async () => (await gauge(metrics, 'elephant_consumer_queued_messages')) === index + 1, { message: `${value} to be fetched while the handler holds the first batch` });
      }
      expect(calls).toHaveLength(1);
      held.release();
      await waitUntil(async () => (await consumerGroupLag(ctx.kafka, group, [topic])) === 0, { message: 'everything to be committed' });
      expect(calls).toEqual([['first'], later]);
      expect(await gauge(metrics, 'elephant_consumer_queued_messages')).toBe(0);
    } finally {
      held.release();
      await consumer.stop();
    }
  });

  it('finishes and commits the batches in hand before the member joins its group again, so a partition is never processed by two members', async () => {
    const topic = ctx.topic('rejoin');
    const group = ctx.group('rejoin');
    await ctx.createTopics([{ topic, partitions: 2 }]);
    const held = gate();
    const handled: { member: string; values: string[] }[] = [];
    const inHandler = new Set<string>();
    const metrics = createMetricsRegistry({ service: 'prefetch-test' });
    const member = (name: string): BatchConsumer =>
      new BatchConsumer({
        kafka: ctx.kafka,
        groupId: group,
        topics: [topic],
        logger: ctx.logger,
        ...(name === 'a' ? { metrics } : {}),
        partitionsConsumedConcurrently: 2,
        sessionTimeoutMs: 10000,
        heartbeatIntervalMs: 300,
        handler: async (batch) => {
          inHandler.add(`${name}:${batch.partition}`);
          handled.push({ member: name, values: batch.messages.map((message) => message.value?.toString() ?? '') });
          // Member a holds its first batches until member b is waiting to join.
          if (name === 'a') await held.opened;
          inHandler.delete(`${name}:${batch.partition}`);
        },
      });
    const a = member('a');
    const b = member('b');
    await produceOneByOne(ctx.kafka, topic, ['p0-0', 'p0-1'], 0);
    await produceOneByOne(ctx.kafka, topic, ['p1-0', 'p1-1'], 1);
    await a.start();
    let bStarted: Promise<void> | undefined;
    try {
      await waitUntil(() => inHandler.has('a:0') && inHandler.has('a:1'), { message: 'member a to hold a batch of each partition' });
      bStarted = b.start();
      // Member b's join starts a rebalance; member a waits for the batches it holds.
      await waitUntil(async () => (await gauge(metrics, 'elephant_consumer_rejoining')) === 1, { message: 'member a to wait for its batches in hand before joining again' });
      expect(handled.every((entry) => entry.member === 'a')).toBe(true);
      held.release();
      await bStarted;
      await produceOneByOne(ctx.kafka, topic, ['p0-2'], 0);
      await produceOneByOne(ctx.kafka, topic, ['p1-2'], 1);
      await waitUntil(async () => (await consumerGroupLag(ctx.kafka, group, [topic])) === 0 && handled.flatMap((entry) => entry.values).length >= 6, { message: 'both members to process the rest' });
    } finally {
      held.release();
      await Promise.allSettled([bStarted]);
      await Promise.all([a.stop(), b.stop()]);
    }
    const values = handled.flatMap((entry) => entry.values);
    // Without the wait before rejoining, member a rejoins while it holds its batches; the
    // member that gets their partition fetches them again from the committed offset.
    expect(values.toSorted()).toEqual(['p0-0', 'p0-1', 'p0-2', 'p1-0', 'p1-1', 'p1-2']);
    expect(handled.some((entry) => entry.member === 'b')).toBe(true);
  });
});
