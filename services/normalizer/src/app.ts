import { touchpointSchema } from '@elephant/channels';
import { BatchConsumer, BatchProducer, createKafka, ensureTopics } from '@elephant/kafka';
import { createMetricsRegistry, startHealthServer, type Logger, type Registry } from '@elephant/observability';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import { adapterContextOf, topicsOf, type NormalizerConfig, type NormalizerTopics } from './config.ts';
import { createNormalizerHandler } from './handler.ts';
import { createNormalizerMetrics } from './metrics.ts';

export interface RunningNormalizer {
  readonly topics: NormalizerTopics;
  readonly metrics: Registry;
  readonly healthPort: number;
  /** Graceful stop: finish and commit the batch in hand, leave the group, disconnect. */
  stop(): Promise<void>;
}

/** Dead letters keep the original bytes, so they must accept what the raw topics accept. */
const DEAD_LETTER_MAX_BYTES = 10 * 1024 * 1024;

/**
 * Wires one normalizer: registers the Touchpoint schema, creates missing topics, and starts
 * the consumer runner with the normalizing handler. `onFatal` is called if the consumer
 * stops on its own.
 */
export async function startNormalizer(config: NormalizerConfig, logger: Logger, onFatal: (error: Error) => void): Promise<RunningNormalizer> {
  const topics = topicsOf(config);
  const channel = config.NORMALIZER_CHANNEL;
  const metrics = createMetricsRegistry({ service: 'normalizer', channel });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `elephant-normalizer-${channel}`, logger });
  if (config.CREATE_TOPICS) {
    await ensureTopics(kafka, [
      { topic: topics.source, partitions: config.TOUCHPOINTS_PARTITIONS },
      { topic: topics.touchpoints, partitions: config.TOUCHPOINTS_PARTITIONS },
      { topic: topics.deadLetters, partitions: 1, configs: { 'max.message.bytes': String(DEAD_LETTER_MAX_BYTES) } },
    ]);
  }
  const registry = new AvroRegistry({ url: config.SCHEMA_REGISTRY_URL, clientId: `elephant-normalizer-${channel}` });
  const { id: touchpointSchemaId } = await registry.register(`${topics.touchpoints}-value`, touchpointSchema as unknown as AvroSchema);
  const producer = await BatchProducer.connect(kafka);
  const consumer = new BatchConsumer({
    kafka,
    groupId: topics.group,
    topics: [topics.source],
    logger,
    metrics,
    partitionsConsumedConcurrently: config.PARTITIONS_CONCURRENTLY,
    onFatal,
    handler: createNormalizerHandler({
      channel,
      topics,
      context: adapterContextOf(config),
      registry,
      touchpointSchemaId,
      producer,
      metrics: createNormalizerMetrics(metrics),
      logger,
      now: Date.now,
    }),
  });
  const health = await startHealthServer({ port: config.HEALTH_PORT, metrics, readiness: { consumer: () => consumer.isRunning() } });
  try {
    await consumer.start();
  } catch (error) {
    await Promise.allSettled([health.close(), producer.disconnect()]);
    throw error;
  }
  logger.info({ channel, source: topics.source, touchpoints: topics.touchpoints, deadLetters: topics.deadLetters, group: topics.group, schemaId: touchpointSchemaId }, 'normalizer started');
  return {
    topics,
    metrics,
    healthPort: health.port,
    stop: async () => {
      health.markShuttingDown();
      await consumer.stop();
      await producer.disconnect();
      await health.close();
    },
  };
}
