import { readFileSync } from 'node:fs';
import { DEFAULT_RULES_DOCUMENT, parseRulesDocument, type RulesDocument } from '@elephant/identity';
import { BatchConsumer, BatchProducer, createKafka, ensureTopics } from '@elephant/kafka';
import { createMetricsRegistry, startHealthServer, type Logger, type Registry } from '@elephant/observability';
import { connectRedis } from '@elephant/redis';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import { topicsOf, type ResolverConfig, type ResolverTopics } from './config.ts';
import { IdentityGraph } from './graph.ts';
import { createResolverHandler } from './handler.ts';
import { createResolverMetrics } from './metrics.ts';
import { identityAlertSchema, identityMergeSchema, resolvedTouchpointAvroSchema } from './schemas.ts';

export interface RunningResolver {
  readonly topics: ResolverTopics;
  readonly metrics: Registry;
  readonly graph: IdentityGraph;
  readonly healthPort: number;
  stop(): Promise<void>;
}

/** Reads the rules document named by IDENTITY_RULES_FILE, or the built-in defaults. */
export function loadRules(config: ResolverConfig): RulesDocument {
  if (!config.IDENTITY_RULES_FILE) return DEFAULT_RULES_DOCUMENT;
  return parseRulesDocument(JSON.parse(readFileSync(config.IDENTITY_RULES_FILE, 'utf8')) as unknown);
}

export async function startResolver(config: ResolverConfig, logger: Logger, onFatal: (error: Error) => void): Promise<RunningResolver> {
  const rules = loadRules(config);
  const topics = topicsOf(config);
  const metrics = createMetricsRegistry({ service: 'identity-resolver' });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, logger });
  if (config.CREATE_TOPICS) {
    await ensureTopics(kafka, [
      { topic: topics.touchpoints, partitions: config.PARTITIONS },
      { topic: topics.resolved, partitions: config.PARTITIONS },
      { topic: topics.merges, partitions: config.PARTITIONS },
      { topic: topics.alerts, partitions: 1 },
      { topic: topics.deadLetters, partitions: 1, configs: { 'max.message.bytes': String(10 * 1024 * 1024) } },
    ]);
  }
  const registry = new AvroRegistry({ url: config.SCHEMA_REGISTRY_URL, clientId: 'elephant-identity-resolver' });
  const [resolved, merge, alert] = await Promise.all([
    registry.register(`${topics.resolved}-value`, resolvedTouchpointAvroSchema),
    registry.register(`${topics.merges}-value`, identityMergeSchema as unknown as AvroSchema),
    registry.register(`${topics.alerts}-value`, identityAlertSchema as unknown as AvroSchema),
  ]);
  const redis = await connectRedis({ url: config.REDIS_URL, logger, name: 'elephant-identity-resolver' });
  const graph = new IdentityGraph(redis, config.REDIS_KEY_PREFIX);
  const producer = await BatchProducer.connect(kafka);
  const consumer = new BatchConsumer({
    kafka,
    groupId: config.CONSUMER_GROUP,
    topics: [topics.touchpoints],
    logger,
    metrics,
    partitionsConsumedConcurrently: config.PARTITIONS_CONCURRENTLY,
    onFatal,
    handler: createResolverHandler({
      topics,
      rules,
      eventTtlSeconds: config.EVENT_TTL_SECONDS,
      graph,
      registry,
      schemaIds: { resolved: resolved.id, merge: merge.id, alert: alert.id },
      producer,
      metrics: createResolverMetrics(metrics),
      logger,
      now: Date.now,
    }),
  });
  const health = await startHealthServer({ port: config.HEALTH_PORT, metrics, readiness: { consumer: () => consumer.isRunning(), redis: () => redis.status === 'ready' } });
  try {
    await consumer.start();
  } catch (error) {
    await Promise.allSettled([health.close(), producer.disconnect()]);
    redis.disconnect();
    throw error;
  }
  logger.info({ topics, group: config.CONSUMER_GROUP }, 'identity resolver started');
  return {
    topics,
    metrics,
    graph,
    healthPort: health.port,
    stop: async () => {
      health.markShuttingDown();
      await consumer.stop();
      await producer.disconnect();
      redis.disconnect();
      await health.close();
    },
  };
}
