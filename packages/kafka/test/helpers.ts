/** Helpers of the consumer tests that drive a BatchConsumer step by step on the real broker. */
import { BatchProducer, type Kafka } from '@elephant/kafka';
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
