import { kafkaSecurityOf, redisTlsOf } from '@elephant/config';
import { readFileSync } from 'node:fs';
import { TOUCHPOINTS_TOPIC_MAX_BYTES } from '@elephant/channels';
import { DEFAULT_RULES_DOCUMENT, IdentityRulesError, parseRulesDocument, type RulesDocument } from '@elephant/identity';
import { BatchConsumer, BatchProducer, createKafka, deadLetterTopic, ensureTopics, requireTopics } from '@elephant/kafka';
import { createMetricsRegistry, startHealthServer, type Logger, type Registry } from '@elephant/observability';
import { connectRedis } from '@elephant/redis';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import { closeOnFailedStart, retryTransient, throwIfShuttingDown, type OpenedSoFar, type StartOptions } from '@elephant/runtime';
import { topicsOf, type ResolverConfig, type ResolverTopics } from './config.ts';
import { IdentityGraph, scriptCallsFor } from './graph.ts';
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

/**
 * Reads the rules document named by IDENTITY_RULES_FILE, or the built-in defaults.
 * @throws IdentityRulesError (RULES_INVALID, the service exits 78) naming the file and every
 *   bad path, also when the file cannot be read or is not JSON (path `(file)`).
 */
export function loadRules(config: Pick<ResolverConfig, 'IDENTITY_RULES_FILE'>): RulesDocument {
  const file = config.IDENTITY_RULES_FILE;
  if (!file) return DEFAULT_RULES_DOCUMENT;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new IdentityRulesError([{ path: '(file)', problem: `cannot be read as JSON: ${(error as Error).message}` }], file);
  }
  try {
    return parseRulesDocument(json);
  } catch (error) {
    if (error instanceof IdentityRulesError) throw new IdentityRulesError(error.issues, file);
    throw error;
  }
}

/**
 * Wires the identity resolver. A start that fails closes what it had opened (Redis, the
 * producer, the health server, the consumer).
 */
export function startResolver(config: ResolverConfig, logger: Logger, onFatal: (error: Error) => void, options: StartOptions = {}): Promise<RunningResolver> {
  return closeOnFailedStart(logger, (opened) => start(config, logger, onFatal, options, opened));
}

async function start(config: ResolverConfig, logger: Logger, onFatal: (error: Error) => void, options: StartOptions, opened: OpenedSoFar): Promise<RunningResolver> {
  const rules = loadRules(config);
  const topics = topicsOf(config);
  const metrics = createMetricsRegistry({ service: 'identity-resolver' });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, logger, security: kafkaSecurityOf(config) });
  // Created when missing; with CREATE_TOPICS=false only checked (a missing one stops start-up: KAFKA_TOPIC_MISSING).
  await (config.CREATE_TOPICS ? ensureTopics : requireTopics)(kafka, [
    // As the normalizer creates it, whichever of the two starts first.
    { topic: topics.touchpoints, partitions: config.PARTITIONS, configs: { 'max.message.bytes': String(TOUCHPOINTS_TOPIC_MAX_BYTES) } },
    { topic: topics.resolved, partitions: config.PARTITIONS },
    { topic: topics.merges, partitions: config.PARTITIONS },
    { topic: topics.alerts, partitions: 1 },
    deadLetterTopic(topics.deadLetters),
  ]);
  const registry = new AvroRegistry({ url: config.SCHEMA_REGISTRY_URL, clientId: 'elephant-identity-resolver' });
  // A registry or Redis restarting while the resolver starts is waited out (about 30 s), not a crash loop.
  const [resolved, merge, alert] = await retryTransient('registering the schemas', () =>
    Promise.all([
      registry.register(`${topics.resolved}-value`, resolvedTouchpointAvroSchema),
      registry.register(`${topics.merges}-value`, identityMergeSchema as unknown as AvroSchema),
      registry.register(`${topics.alerts}-value`, identityAlertSchema as unknown as AvroSchema),
    ]), logger, { signal: options.signal });
  const redis = await retryTransient('connecting to Redis', () => connectRedis({ url: config.REDIS_URL, tls: redisTlsOf(config), logger, name: 'elephant-identity-resolver', socketTimeoutMs: config.REDIS_SOCKET_TIMEOUT_MS }), logger, { signal: options.signal });
  opened.add('redis', () => redis.disconnect());
  const resolverMetrics = createResolverMetrics(metrics);
  const graph = new IdentityGraph(redis, config.REDIS_KEY_PREFIX, {
    onBudgetSpent: (eventsLeft) => {
      resolverMetrics.budgetSpent.inc();
      resolverMetrics.redisRoundTrips.inc();
      resolverMetrics.redisCommands.inc(scriptCallsFor(eventsLeft));
    },
  });
  const producer = await BatchProducer.connect(kafka);
  opened.add('producer', () => producer.disconnect());
  const consumer = new BatchConsumer({
    kafka,
    groupId: config.CONSUMER_GROUP,
    topics: [topics.touchpoints],
    logger,
    metrics,
    partitionsConsumedConcurrently: config.PARTITIONS_CONCURRENTLY,
    commitIntervalMs: config.COMMIT_INTERVAL_MS,
    onFatal,
    partitionsHandler: createResolverHandler({
      topics,
      rules,
      eventTtlSeconds: config.EVENT_TTL_SECONDS,
      graph,
      registry,
      schemaIds: { resolved: resolved.id, merge: merge.id, alert: alert.id },
      producer,
      metrics: resolverMetrics,
      logger,
      now: Date.now,
    }),
  });
  const health = await startHealthServer({ port: config.HEALTH_PORT, metrics, readiness: { consumer: () => consumer.isReady(), redis: () => redis.status === 'ready' } });
  opened.add('health server', () => health.close());
  throwIfShuttingDown(options.signal, 'starting the identity resolver');
  // It may connect and then fail (subscribing, joining): stopped, it leaves the group and disconnects.
  opened.add('consumer', () => consumer.stop());
  await consumer.start();
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
