/** Helpers of the consumer tests that drive a BatchConsumer step by step on the real broker. */
import { BatchProducer, TransactionalProducer, type Kafka } from '@elephant/kafka';
import { waitUntil, type TestContext } from '@elephant/testing';
import type { createMetricsRegistry } from '@elephant/observability';

/** Produces each value as a record of its own (key = value), one send after another. */
export async function produceOneByOne(kafka: Kafka, topic: string, values: readonly string[], partition?: number): Promise<void> {
  const producer = await BatchProducer.connect(kafka);
  try {
    for (const value of values) await producer.send([{ topic, messages: [{ key: value, value, ...(partition === undefined ? {} : { partition }) }] }]);
  } finally {
    await producer.disconnect();
  }
}

/** Sum of a gauge's values in a registry. */
export async function gauge(registry: ReturnType<typeof createMetricsRegistry>, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  return (metric?.values ?? []).reduce((sum, entry) => sum + Number(entry.value), 0);
}

/** Resolves `opened` once `release` is called. */
export function gate(): { readonly opened: Promise<void>; readonly release: () => void } {
  let release = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { opened, release };
}

/**
 * Waits until one transaction with offsets goes through. On a stack just started (a test file
 * run alone), the broker creates the coordinators' topics (consumer offsets, transaction state)
 * at their first lookup and answers COORDINATOR_NOT_AVAILABLE for some seconds, longer than the
 * producer's retries.
 */
export async function transactionCoordinatorsReady(ctx: TestContext): Promise<void> {
  const topic = ctx.topic('coordinators');
  await ctx.createTopics([{ topic, partitions: 1 }]);
  const producer = await TransactionalProducer.connect(ctx.kafka, `${ctx.id}-coordinators`, { transactionTimeoutMs: 10000 });
  try {
    await waitUntil(() => producer.commit([], [{ groupId: ctx.group('coordinators'), topic, partition: 0, offset: '0' }]).then(() => true), { message: 'the transaction and group coordinators', timeoutMs: 60000, intervalMs: 500 });
  } finally {
    await producer.disconnect();
  }
}
