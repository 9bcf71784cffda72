/** elephant_consumer_lag on the real broker: it must show a partition that commits nothing. */
import { afterAll, describe, expect, it } from 'vitest';
import { BatchConsumer, BatchProducer, KafkaError } from '@elephant/kafka';
import { createMetricsRegistry } from '@elephant/observability';
import { createTestContext, waitUntil } from '@elephant/testing';

const ctx = createTestContext('lag');
afterAll(() => ctx.cleanup());

describe('consumer lag metric', () => {
  it('regression (lag froze on a stuck partition): is set at fetch time, while a failing batch commits nothing', async () => {
    const topic = ctx.topic('stuck');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const producer = await BatchProducer.connect(ctx.kafka);
    await producer.send([{ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: String(i) })) }]);
    await producer.disconnect();
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
      const lag = async (): Promise<number | undefined> => (await metrics.getMetricsAsJSON()).find((metric) => metric.name === 'elephant_consumer_lag')?.values.find((value) => value.labels['topic'] === topic)?.value;
      await waitUntil(async () => attempts >= 2 && (await lag()) !== undefined, { timeoutMs: 30000, message: 'the batch retried and the lag gauge set' });
      expect(await lag()).toBe(5);
    } finally {
      await consumer.stop();
    }
  });

  it('regression (an exactly_once builder showed every record it ever fetched as lag): goes back to 0 when the handler commits the offsets itself', async () => {
    const topic = ctx.topic('handler-commits');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const producer = await BatchProducer.connect(ctx.kafka);
    await producer.send([{ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: String(i) })) }]);
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
      const lag = async (): Promise<number | undefined> => (await metrics.getMetricsAsJSON()).find((metric) => metric.name === 'elephant_consumer_lag')?.values.find((value) => value.labels['topic'] === topic)?.value;
      await waitUntil(() => handled === 5, { message: 'the first five records handled' });
      // Before the fix: 5, and 10 after the next five (the first offset this member fetched, never moved).
      await waitUntil(async () => (await lag()) === 0, { message: 'the lag gauge back to 0' });
      await producer.send([{ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: String(5 + i) })) }]);
      await waitUntil(() => handled === 10, { message: 'the next five handled' });
      await waitUntil(async () => (await lag()) === 0, { message: 'the lag gauge back to 0 again' });
    } finally {
      await producer.disconnect();
      await consumer.stop();
    }
  });
});
