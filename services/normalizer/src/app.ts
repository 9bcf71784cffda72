import { kafkaSecurityOf } from '@elephant/config';
import { touchpointSchema, TOUCHPOINTS_TOPIC_MAX_BYTES } from '@elephant/channels';
import { BatchConsumer, BatchProducer, createKafka, deadLetterTopic, ensureTopics, requireTopics } from '@elephant/kafka';
import { createMetricsRegistry, startHealthServer, type Logger, type Registry } from '@elephant/observability';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import { closeOnFailedStart, retryTransient, throwIfShuttingDown, type OpenedSoFar, type StartOptions } from '@elephant/runtime';
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

/**
 * Wires one normalizer: registers the Touchpoint schema, creates missing topics, and starts
 * the consumer runner with the normalizing handler. One consumer reads the raw topics of
 * every channel of the process and one producer writes what they become, so a process that
 * serves several channels costs the broker one member's fetches and one producer's requests.
 * `onFatal` is called if the consumer stops on its own. A start that fails closes what it had
 * opened (the producer, the health server, the consumer).
 */
export function startNormalizer(config: NormalizerConfig, logger: Logger, onFatal: (error: Error) => void, options: StartOptions = {}): Promise<RunningNormalizer> {
  return closeOnFailedStart(logger, (opened) => start(config, logger, onFatal, options, opened));
}

async function start(config: NormalizerConfig, logger: Logger, onFatal: (error: Error) => void, options: StartOptions, opened: OpenedSoFar): Promise<RunningNormalizer> {
  const topics = topicsOf(config);
  if (config.TOUCHPOINT_MAX_BYTES >= TOUCHPOINTS_TOPIC_MAX_BYTES) logger.warn({ touchpointMaxBytes: config.TOUCHPOINT_MAX_BYTES, topicMaxBytes: TOUCHPOINTS_TOPIC_MAX_BYTES }, 'TOUCHPOINT_MAX_BYTES is not below the touchpoints topic limit the normalizer sets: the broker may refuse touchpoints (they are then dead-lettered as TOUCHPOINT_REJECTED)');
  const channels = config.channels;
  const name = `elephant-normalizer-${channels.join('.')}`;
  // Each metric has a channel label; a single-channel process labels the process's own metrics too.
  const metrics = createMetricsRegistry(channels.length === 1 ? { service: 'normalizer', channel: channels.join('') } : { service: 'normalizer' });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: name, logger, security: kafkaSecurityOf(config) });
  // Created when missing; with CREATE_TOPICS=false only checked (a missing one stops start-up: KAFKA_TOPIC_MISSING).
  await (config.CREATE_TOPICS ? ensureTopics : requireTopics)(kafka, [
    ...topics.sources.map(({ topic }) => ({ topic, partitions: config.PARTITIONS })),
    { topic: topics.touchpoints, partitions: config.PARTITIONS, configs: { 'max.message.bytes': String(TOUCHPOINTS_TOPIC_MAX_BYTES) } },
    deadLetterTopic(topics.deadLetters),
  ]);
  const registry = new AvroRegistry({ url: config.SCHEMA_REGISTRY_URL, clientId: name });
  // A registry that is still starting (or briefly down) must not stop the Deployment in a
  // crash loop: transient failures are retried with backoff; a refusal (incompatible schema) is not.
  const { id: touchpointSchemaId } = await retryTransient('registering the Touchpoint schema', () => registry.register(`${topics.touchpoints}-value`, touchpointSchema as unknown as AvroSchema), logger, { signal: options.signal });
  const producer = await BatchProducer.connect(kafka);
  opened.add('producer', () => producer.disconnect());
  const consumer = new BatchConsumer({
    kafka,
    groupId: topics.group,
    topics: topics.sources.map(({ topic }) => topic),
    logger,
    metrics,
    partitionsConsumedConcurrently: config.PARTITIONS_CONCURRENTLY,
    onFatal,
    partitionsHandler: createNormalizerHandler({
      topics,
      context: adapterContextOf(config),
      registry,
      touchpointSchemaId,
      producer,
      metrics: createNormalizerMetrics(metrics),
      logger,
      now: Date.now,
      maxTouchpointBytes: config.TOUCHPOINT_MAX_BYTES,
    }),
  });
  const health = await startHealthServer({ port: config.HEALTH_PORT, metrics, readiness: { consumer: () => consumer.isReady() } });
  opened.add('health server', () => health.close());
  throwIfShuttingDown(options.signal, 'starting the normalizer');
  // It may connect and then fail (subscribing, joining): stopped, it leaves the group and disconnects.
  opened.add('consumer', () => consumer.stop());
  await consumer.start();
  logger.info({ channels, sources: topics.sources.map(({ topic }) => topic), touchpoints: topics.touchpoints, deadLetters: topics.deadLetters, group: topics.group, schemaId: touchpointSchemaId }, 'normalizer started');
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
