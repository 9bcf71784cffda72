/** elephant_consumer_lag on the real broker: it must show a partition that commits nothing. */
import { afterAll, describe, expect, it } from 'vitest';
import { BatchConsumer, BatchProducer, consumerGroupsLag, consumerGroupsLags, ensureTopics, KafkaError, LagPoller, type Kafka, type Message } from '@elephant/kafka';
import { createMetricsRegistry } from '@elephant/observability';
import { createTestContext, waitUntil } from '@elephant/testing';

const ctx = createTestContext('lag');
afterAll(() => ctx.cleanup());

type Metrics = ReturnType<typeof createMetricsRegistry>;

/** A topic of this test with `partitions` partitions and `messages` in it. */
async function topicWith(name: string, partitions: number, messages: Message[]): Promise<string> {
  const topic = ctx.topic(name);
  await ctx.createTopics([{ topic, partitions }]);
  await send(topic, messages);
  return topic;
}

async function send(topic: string, messages: Message[]): Promise<void> {
  const producer = await BatchProducer.connect(ctx.kafka);
  try {
    await producer.send([{ topic, messages }]);
  } finally {
    await producer.disconnect();
  }
}

/** The elephant_consumer_lag series of `topic` in `metrics`: partition → value. */
async function lagOf(metrics: Metrics, topic: string): Promise<Map<string, number>> {
  const values = (await metrics.getMetricsAsJSON()).find((metric) => metric.name === 'elephant_consumer_lag')?.values ?? [];
  return new Map(values.filter((value) => value.labels['topic'] === topic).map((value) => [String(value.labels['partition']), value.value]));
}

const five = (from = 0): Message[] => Array.from({ length: 5 }, (_, i) => ({ value: String(from + i) }));
const onePerPartition: Message[] = [0, 1].map((partition) => ({ value: String(partition), partition }));

describe('consumer lag metric', () => {
  it('regression (lag froze on a stuck partition): is set at fetch time, while a failing batch commits nothing', async () => {
    const topic = await topicWith('stuck', 1, five());
    const metrics = createMetricsRegistry({ service: 'lag-test' });
    let attempts = 0;
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId: ctx.group('stuck'),
      topics: [topic],
      logger: ctx.logger,
      metrics,
      retryBackoff: { initialMs: 20, maxMs: 50 },
      handler: () => {
        attempts += 1;
        return Promise.reject(new KafkaError('KAFKA_UNAVAILABLE', 'downstream down', { retryable: true }));
      },
    });
    await consumer.start();
    try {
      const lag = async (): Promise<number | undefined> => (await lagOf(metrics, topic)).get('0');
      await waitUntil(async () => attempts >= 2 && (await lag()) !== undefined, { timeoutMs: 30000, message: 'the batch retried and the lag gauge set' });
      expect(await lag()).toBe(5);
    } finally {
      await consumer.stop();
    }
  });

  it('regression (an exactly_once builder showed every record it ever fetched as lag): goes back to 0 when the handler commits the offsets itself', async () => {
    const topic = await topicWith('handler-commits', 1, five());
    const metrics = createMetricsRegistry({ service: 'lag-test' });
    let handled = 0;
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId: ctx.group('handler-commits'),
      topics: [topic],
      logger: ctx.logger,
      metrics,
      commit: 'handler',
      handler: (batch) => {
        handled += batch.messages.length;
        return Promise.resolve();
      },
    });
    await consumer.start();
    try {
      const lag = async (): Promise<number | undefined> => (await lagOf(metrics, topic)).get('0');
      await waitUntil(() => handled === 5, { message: 'the first five records handled' });
      // Before the fix: 5, and 10 after the next five (the first offset this member fetched, never moved).
      await waitUntil(async () => (await lag()) === 0, { message: 'the lag gauge back to 0' });
      await send(topic, five(5));
      await waitUntil(() => handled === 10, { message: 'the next five handled' });
      await waitUntil(async () => (await lag()) === 0, { message: 'the lag gauge back to 0 again' });
    } finally {
      await consumer.stop();
    }
  });

  it('regression (a member kept exporting the lag of partitions a rebalance gave another member): drops the series of partitions it no longer has', async () => {
    const topic = await topicWith('moved', 2, onePerPartition);
    const group = ctx.group('moved');
    const consumerOf = (metrics: Metrics): BatchConsumer =>
      new BatchConsumer({ kafka: ctx.kafka, groupId: group, topics: [topic], logger: ctx.logger, metrics, sessionTimeoutMs: 10000, handler: () => Promise.resolve() });
    const partitionsIn = async (metrics: Metrics): Promise<string[]> => [...(await lagOf(metrics, topic)).keys()].sort();
    const firstMetrics = createMetricsRegistry({ service: 'lag-test' });
    const first = consumerOf(firstMetrics);
    await first.start();
    const secondMetrics = createMetricsRegistry({ service: 'lag-test' });
    const second = consumerOf(secondMetrics);
    try {
      await waitUntil(async () => (await partitionsIn(firstMetrics)).length === 2, { timeoutMs: 30000, message: 'the first member exported the lag of both partitions' });
      await second.start();
      // Before the fix the first member kept both series: its own and the one it lost.
      await waitUntil(async () => (await partitionsIn(firstMetrics)).length === 1, { timeoutMs: 30000, message: 'the first member left with the lag of one partition' });
      // A record for each partition, so that the second member fetches from its own too.
      await send(topic, onePerPartition);
      await waitUntil(async () => (await partitionsIn(secondMetrics)).length === 1, { timeoutMs: 30000, message: 'the second member exporting the other' });
      expect([...(await partitionsIn(firstMetrics)), ...(await partitionsIn(secondMetrics))].sort()).toEqual(['0', '1']);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
    expect(await partitionsIn(firstMetrics)).toEqual([]);
  });

  it('regression (ready while kafkajs restarted a crashed member over and over, out of its group): isRunning() is false from the crash until the member has joined again', async () => {
    // Created and deleted here rather than by the context, whose clean-up would delete it again.
    const topic = ctx.topic('gone');
    const admin = ctx.kafka.admin();
    await admin.connect();
    // (ensureTopics: kafkajs' waitForLeaders gives up on a broker whose metadata lags the create.)
    await ensureTopics(ctx.kafka, [{ topic, partitions: 1 }]);
    const consumer = new BatchConsumer({ kafka: ctx.kafka, groupId: ctx.group('gone'), topics: [topic], logger: ctx.logger, handler: () => Promise.resolve() });
    await consumer.start();
    try {
      expect(consumer.isRunning()).toBe(true);
      await admin.deleteTopics({ topics: [topic], timeout: 10000 });
      await waitUntil(() => !consumer.isRunning(), { timeoutMs: 60000, message: 'not running once the member crashed out of its group' });
    } finally {
      await admin.disconnect();
      await consumer.stop();
    }
  });

  it('regression (ready while a batch failed for ever with a retryable error and nothing was published): isReady() is false once a batch has failed for longer than stalledAfterMs, and true again once it goes through', async () => {
    const topic = await topicWith('stalled', 1, [{ value: 'x' }]);
    let down = true;
    let handled = 0;
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId: ctx.group('stalled'),
      topics: [topic],
      logger: ctx.logger,
      retryBackoff: { initialMs: 20, maxMs: 50 },
      stalledAfterMs: 300,
      handler: (batch) => {
        if (down) return Promise.reject(new KafkaError('KAFKA_UNAVAILABLE', 'downstream down', { retryable: true }));
        handled += batch.messages.length;
        return Promise.resolve();
      },
    });
    await consumer.start();
    try {
      expect(consumer.isReady()).toBe(true);
      await waitUntil(() => !consumer.isReady(), { timeoutMs: 30000, message: 'not ready while the batch keeps failing' });
      expect(consumer.isRunning()).toBe(true);
      down = false;
      await waitUntil(() => handled === 1 && consumer.isReady(), { timeoutMs: 30000, message: 'ready again once the batch went through' });
    } finally {
      await consumer.stop();
    }
  });
});

describe('consumerGroupsLags', () => {
  it('regression (a topic not created yet failed the whole reading with UNKNOWN_TOPIC_OR_PARTITION): names it as missing and counts the others', async () => {
    const topic = await topicWith('present', 1, five());
    const absent = ctx.topic('not-created-yet');
    const group = ctx.group('lag-reader');
    expect(await consumerGroupsLags(ctx.kafka, [{ group, topics: [topic, absent] }])).toEqual([{ group, lag: 5, missingTopics: [absent] }]);
    const error = await consumerGroupsLag(ctx.kafka, [{ group, topics: [topic, absent] }]).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(KafkaError);
    expect(error).toMatchObject({ code: 'KAFKA_TOPIC_MISSING', retryable: true, details: { topics: [absent] } });
  });
});

describe('LagPoller', () => {
  it('regression (kafkajs\' admin ends a partition at its last stable offset: a group behind an open transaction read as caught up): counts the records behind it until it completes', async () => {
    const topic = ctx.topic('open-transaction');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const group = ctx.group('open-transaction');
    const producer = ctx.kafka.producer({ transactionalId: `${ctx.id}-open-transaction`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const poller = new LagPoller(ctx.kafka);
    try {
      const open = await producer.transaction();
      await open.send({ topic, messages: [{ value: 'in the transaction' }] });
      await send(topic, five());
      // The last stable offset is 0 (the transaction's record), the high watermark 6.
      expect(await poller.lag([{ group, topics: [topic] }])).toBe(6);
      await open.commit();
      // And its marker.
      await waitUntil(async () => (await poller.lag([{ group, topics: [topic] }])) === 7, { message: 'the commit marker counted' });
    } finally {
      await poller.close();
      await producer.disconnect();
    }
  });

  it('regression (a connection opened and closed for every poll: 110-140 ms each, the benchmark read the end of a run late): polls over one admin connection, reads new ends and commits each time, polls again on a new connection when one fails on the kept one', async () => {
    const topic = await topicWith('polled', 1, five());
    const group = ctx.group('lag-poller');
    let admins = 0;
    const counting: Kafka = Object.create(ctx.kafka, {
      admin: {
        value: (...args: Parameters<Kafka['admin']>) => {
          admins += 1;
          return ctx.kafka.admin(...args);
        },
      },
    }) as Kafka;
    const poller = new LagPoller(counting);
    const setter = ctx.kafka.admin();
    await setter.connect();
    try {
      expect(await poller.lag([{ group, topics: [topic] }])).toBe(5);
      await setter.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '3' }] });
      expect(await poller.lag([{ group, topics: [topic] }])).toBe(2);
      await send(topic, five(5));
      expect(await poller.lag([{ group, topics: [topic] }])).toBe(7);
      expect(admins).toBe(1);
      // kafkajs refuses an empty group id before any request: a poll that fails on the kept
      // connection (stale metadata, for all it knows) is made once more on a new one, and
      // fails there too; the next poll opens a third.
      await expect(poller.lag([{ group: '', topics: [topic] }])).rejects.toThrow();
      expect(admins).toBe(2);
      expect(await poller.lag([{ group, topics: [topic] }])).toBe(7);
      expect(admins).toBe(3);
    } finally {
      await setter.disconnect();
      await poller.close();
    }
  });
});
