/**
 * The benchmark's baseline: consume a topic and produce every message to another, with the
 * stages' client, batch consumer runner and batch producer, and no serialization. Run inside
 * the benchmark for throughput, and as a process of its own (passthrough-main.ts) under a
 * fixed load for latency, as the stages are.
 */
import { BatchConsumer, BatchProducer, type Kafka } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';

export interface PassthroughOptions {
  readonly kafka: Kafka;
  readonly from: string;
  readonly to: string;
  readonly groupId: string;
  readonly logger: Logger;
}

export interface RunningPassthrough {
  stop(): Promise<void>;
}

export async function startPassthrough(options: PassthroughOptions): Promise<RunningPassthrough> {
  const producer = await BatchProducer.connect(options.kafka);
  const consumer = new BatchConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: [options.from],
    logger: options.logger,
    // The stages' defaults (PARTITIONS_CONCURRENTLY 8; the normalizer and the resolver take
    // every waiting partition's batch in one call, one send): until 2026-12-07 the passthrough
    // took one partition's batch per call, two at a time, each with a send of its own.
    partitionsConsumedConcurrently: 8,
    partitionsHandler: async (batches) => {
      await producer.send([{ topic: options.to, messages: batches.flatMap((batch) => batch.messages.map((message) => ({ key: message.key, value: message.value }))) }]);
    },
  });
  await consumer.start();
  return {
    stop: async () => {
      await consumer.stop();
      await producer.disconnect();
    },
  };
}
