import { kafkaSecurityOf, redisTlsOf } from '@elephant/config';
import { randomUUID } from 'node:crypto';
import { identityMergeSchema, resolvedTouchpointSchema } from '@elephant/identity';
import { BatchConsumer, BatchProducer, checkCoPartitioned, deadLetterTopic, CommittedOffsets, CoPartitionedAssigner, TransactionGroup, TransactionalProducer, createKafka, ensureTopics, REQUEST_MAX_BYTES, requireTopics, type Kafka } from '@elephant/kafka';
import { createMetricsRegistry, startHealthServer, type Logger, type Registry } from '@elephant/observability';
import { profileSnapshotSchema, profileUpdateSchema } from '@elephant/profiles';
import { connectRedis } from '@elephant/redis';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import { closeOnFailedStart, retryTransient, throwIfShuttingDown, type OpenedSoFar, type StartOptions } from '@elephant/runtime';
import { profileOptionsOf, topicsOf, type BuilderConfig, type BuilderTopics } from './config.ts';
import { erasureRequestSchema } from './generated/erasure-request.ts';
import { BackgroundWork, StateCache, createBuilderHandler, type SchemaIds } from './handler.ts';
import { createBuilderMetrics } from './metrics.ts';
import { ProfileStore } from './store.ts';

export interface RunningBuilder {
  readonly topics: BuilderTopics;
  readonly metrics: Registry;
  readonly store: ProfileStore;
  readonly healthPort: number;
  stop(): Promise<void>;
}

const asSchema = (schema: object): AvroSchema => schema as unknown as AvroSchema;

/** Where a batch's outputs go: a transaction group (exactly_once) or a plain producer (at_least_once). */
export type OutputCommits = Pick<TransactionGroup, 'commit'>;

/**
 * Wires one profile builder. It reads resolved touchpoints, merges and erasure requests —
 * three topics keyed by profile id and co-partitioned, so one member owns a profile across
 * all three — one batch at a time, and commits each batch in a Kafka transaction
 * (PROCESSING_GUARANTEE=exactly_once) or sends its outputs and then lets the consumer commit
 * its offsets (at_least_once).
 */
export interface BuilderOptions extends StartOptions {
  /**
   * Wraps where outputs go (fault injection in tests: a commit that fails, or that succeeds
   * and then reports a failure, as a crash at either point would).
   */
  readonly wrapCommits?: (commits: OutputCommits) => OutputCommits;
}

/**
 * The producer of the chosen guarantee and where batches' outputs go through it.
 * exactly_once: a transactional producer and a transaction group (outputs and offsets in one
 * transaction). at_least_once: a plain idempotent producer; the outputs are sent and
 * acknowledged (acks=all) before the handler resolves and the consumer commits the input
 * offsets after that (`commit: 'runner'`), so `offsets` is not used. The outbox works as with
 * transactions: an entry counts as published once the committed offset passed it, so an entry
 * whose records went out just before a crash, ahead of the offset commit, is published again
 * (at least once, never lost).
 */
async function connectOutputs(kafka: Kafka, config: BuilderConfig): Promise<{ producer: Pick<BatchProducer, 'disconnect'>; commits: OutputCommits }> {
  // kafkajs puts a request's records of one partition into one record batch, which the broker
  // judges against the topic's max.message.bytes as a whole: MAX_RECORD_BYTES is under that
  // limit (docs/operations.md), so requests no larger keep every batch within it. Before
  // 2026-12-07 a backlog's batch of up to REQUEST_MAX_BYTES was refused on topics with a lower
  // limit (MESSAGE_TOO_LARGE, every record fitting), and the builder exited at every restart.
  const maxRequestBytes = Math.min(REQUEST_MAX_BYTES, config.MAX_RECORD_BYTES);
  if (config.PROCESSING_GUARANTEE === 'exactly_once') {
    const producer = await TransactionalProducer.connect(kafka, `${config.TRANSACTIONAL_ID_PREFIX}-${randomUUID()}`, { transactionTimeoutMs: config.TRANSACTION_TIMEOUT_MS, maxRequestBytes });
    return { producer, commits: new TransactionGroup(producer, config.TRANSACTION_INTERVAL_MS) };
  }
  const producer = await BatchProducer.connect(kafka, { maxRequestBytes });
  return {
    producer,
    commits: {
      commit: async (batches) => {
        await producer.send(batches);
      },
    },
  };
}

/** Registers the schemas of every topic the builder reads or writes, under `<topic>-value`. */
export async function registerSchemas(registry: AvroRegistry, topics: BuilderTopics): Promise<SchemaIds> {
  const [update, snapshot, resolved, merge, erasure] = await Promise.all([
    registry.register(`${topics.updates}-value`, asSchema(profileUpdateSchema)),
    registry.register(`${topics.snapshots}-value`, asSchema(profileSnapshotSchema)),
    registry.register(`${topics.resolved}-value`, asSchema(resolvedTouchpointSchema)),
    registry.register(`${topics.merges}-value`, asSchema(identityMergeSchema)),
    registry.register(`${topics.erasures}-value`, asSchema(erasureRequestSchema)),
  ]);
  return { update: update.id, snapshot: snapshot.id, resolved: resolved.id, merge: merge.id, erasure: erasure.id };
}

/**
 * Wires the profile builder. A start that fails closes what it had opened (Redis, the
 * producer, the committed-offsets reader, the health server, the consumer).
 */
export function startBuilder(config: BuilderConfig, logger: Logger, onFatal: (error: Error) => void, options: BuilderOptions = {}): Promise<RunningBuilder> {
  return closeOnFailedStart(logger, (opened) => start(config, logger, onFatal, options, opened));
}

async function start(config: BuilderConfig, logger: Logger, onFatal: (error: Error) => void, options: BuilderOptions, opened: OpenedSoFar): Promise<RunningBuilder> {
  const topics = topicsOf(config);
  const metrics = createMetricsRegistry({ service: 'profile-builder' });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'elephant-profile-builder', logger, security: kafkaSecurityOf(config) });
  // Created when missing; with CREATE_TOPICS=false only checked (a missing one stops start-up: KAFKA_TOPIC_MISSING).
  await (config.CREATE_TOPICS ? ensureTopics : requireTopics)(kafka, [
    { topic: topics.resolved, partitions: config.PARTITIONS },
    { topic: topics.merges, partitions: config.PARTITIONS },
    { topic: topics.erasures, partitions: config.PARTITIONS },
    // Deltas carry before/after values: a segment rolls daily so that retention (the broker's
    // retention.ms) removes an erased person's updates within retention + a day, not + a week.
    { topic: topics.updates, partitions: config.PARTITIONS, configs: { 'segment.ms': '86400000' } },
    // Latest profile per key. Compaction never touches the active segment, and a quiet topic
    // might not roll one for a week (segment.ms default): max.compaction.lag.ms makes every
    // record compactable within a day, so an erased person's older full snapshots go within
    // about a day of the tombstone; the tombstone itself goes a day after that.
    {
      topic: topics.snapshots,
      partitions: config.PARTITIONS,
      cleanupPolicy: 'compact',
      configs: { 'delete.retention.ms': '86400000', 'min.cleanable.dirty.ratio': '0.1', 'segment.ms': '86400000', 'max.compaction.lag.ms': '86400000' },
    },
    deadLetterTopic(topics.deadLetters),
  ]);
  // Created here or not, the three inputs must agree on their partition count (co-partitioned by profile id).
  await checkCoPartitioned(kafka, [topics.resolved, topics.merges, topics.erasures]);
  const registry = new AvroRegistry({ url: config.SCHEMA_REGISTRY_URL, clientId: 'elephant-profile-builder' });
  // A registry or Redis restarting while the builder starts is waited out (about 30 s), not a crash loop.
  const schemaIds = await retryTransient('registering the schemas', () => registerSchemas(registry, topics), logger, { signal: options.signal });
  const redis = await retryTransient('connecting to Redis', () => connectRedis({ url: config.REDIS_URL, tls: redisTlsOf(config), logger, name: 'elephant-profile-builder', socketTimeoutMs: config.REDIS_SOCKET_TIMEOUT_MS }), logger, { signal: options.signal });
  opened.add('redis', () => redis.disconnect());
  const store = new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS, { appliedTtlSeconds: config.APPLIED_TTL_SECONDS });
  const { producer, commits } = await connectOutputs(kafka, config);
  opened.add('producer', () => producer.disconnect());
  const committed = new CommittedOffsets(kafka, config.CONSUMER_GROUP);
  opened.add('committed offsets', () => committed.close());
  const background = new BackgroundWork();
  const consumer = new BatchConsumer({
    kafka,
    groupId: config.CONSUMER_GROUP,
    topics: [topics.resolved, topics.merges, topics.erasures],
    logger,
    metrics,
    // Partitions run at once (one partition number at a time, see the handler) and share transactions.
    partitionsConsumedConcurrently: config.PARTITIONS_CONCURRENTLY,
    partitionAssigners: [CoPartitionedAssigner],
    // exactly_once: the handler commits the offsets in each batch's transaction.
    commit: config.PROCESSING_GUARANTEE === 'exactly_once' ? 'handler' : 'runner',
    onFatal,
    handler: createBuilderHandler({
      topics,
      store,
      registry,
      schemaIds,
      transactions: options.wrapCommits ? options.wrapCommits(commits) : commits,
      metrics: createBuilderMetrics(metrics),
      logger,
      now: Date.now,
      committedOffset: (topic, partition) => committed.get(topic, partition),
      states: new StateCache(config.STATE_CACHE_PROFILES, config.STATE_CACHE_MAX_BYTES),
      maxProfileBytes: config.MAX_PROFILE_BYTES,
      maxRecordBytes: config.MAX_RECORD_BYTES,
      profileOptions: profileOptionsOf(config),
      background,
    }),
  });
  const health = await startHealthServer({ port: config.HEALTH_PORT, metrics, readiness: { consumer: () => consumer.isReady(), redis: () => redis.status === 'ready' } });
  opened.add('health server', () => health.close());
  throwIfShuttingDown(options.signal, 'starting the profile builder');
  // It may connect and then fail (subscribing, joining): stopped, it leaves the group and disconnects.
  opened.add('consumer', () => consumer.stop());
  await consumer.start();
  logger.info({ topics, group: config.CONSUMER_GROUP, guarantee: config.PROCESSING_GUARANTEE }, 'profile builder started');
  return {
    topics,
    metrics,
    store,
    healthPort: health.port,
    stop: async () => {
      health.markShuttingDown();
      await consumer.stop();
      // What the last batches left running (outbox deletions, tombstones) uses the producer and Redis.
      await background.drained();
      await Promise.all([committed.close(), producer.disconnect()]);
      redis.disconnect();
      await health.close();
    },
  };
}
