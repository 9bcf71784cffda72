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
});
