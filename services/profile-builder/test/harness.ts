/** The resolver and the builder of one test, on the test's own topics and Redis prefix. */
import { adaptMessage, touchpointSchema, type Channel, type Touchpoint } from '@elephant/channels';
import { loadConfig as loadResolverConfig, startResolver, type RunningResolver } from '@elephant/identity-resolver';
import { BatchProducer, CommittedOffsets, TransactionalProducer, type BatchHandler, type ConsumedOffset, type KafkaMessage, type OutboundBatch, type TransactionGroup } from '@elephant/kafka';
import { createMetricsRegistry, type Registry } from '@elephant/observability';
import { connectRedis, type Redis } from '@elephant/redis';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import type { TestContext } from '@elephant/testing';
import type { ProfileUpdate, ProfileSnapshot } from '@elephant/profiles';
import {
  BackgroundWork,
  createBuilderHandler,
  createBuilderMetrics,
  loadConfig,
  ProfileStore,
  profileOptionsOf,
  registerSchemas,
  startBuilder,
  StateCache,
  topicsOf,
  type BuilderConfig,
  type BuilderOptions,
  type BuilderTopics,
  type RunningBuilder,
  type SchemaIds,
} from '@elephant/profile-builder';

export interface Pipeline {
  readonly resolver: RunningResolver;
  readonly builders: RunningBuilder[];
  readonly config: BuilderConfig;
  readonly registry: AvroRegistry;
  readonly fatal: Error[];
  publish(touchpoints: readonly Touchpoint[]): Promise<void>;
  startBuilder(): Promise<RunningBuilder>;
  stop(): Promise<void>;
}

export function envOf(ctx: TestContext, scope: string): Record<string, string> {
  return {
    KAFKA_BROKERS: ctx.stack.kafkaBrokers,
    SCHEMA_REGISTRY_URL: ctx.stack.schemaRegistryUrl,
    REDIS_URL: ctx.stack.redisUrl,
    TOPIC_PREFIX: `${ctx.topic(scope)}.`,
    REDIS_KEY_PREFIX: `${ctx.keyPrefix}${scope}:`,
    PARTITIONS: '4',
    HEALTH_PORT: '0',
    LOG_LEVEL: 'silent',
  };
}

export interface PipelineOptions {
  /** Options of the builder's (e.g. wrapCommits). */
  readonly builder?: BuilderOptions;
  /**
   * The resolver writes its merges to this topic instead of the builder's input, so that a
   * test decides when (and how often) the builder sees each one.
   */
  readonly heldMerges?: string;
  /** Settings of the builder's over the test's (e.g. PROCESSING_GUARANTEE). */
  readonly builderEnv?: Readonly<Record<string, string>>;
  /** Settings of both services over the test's (e.g. REDIS_URL). */
  readonly env?: Readonly<Record<string, string>>;
}

export async function startPipeline(ctx: TestContext, scope: string, options: PipelineOptions = {}): Promise<Pipeline> {
  const { builder: builderOptions = {}, heldMerges, builderEnv = {} } = options;
  const env = { ...envOf(ctx, scope), ...options.env };
  const config = loadConfig({ ...env, CONSUMER_GROUP: ctx.group(`${scope}-builder`), ...builderEnv });
  const resolverConfig = loadResolverConfig({ ...env, CONSUMER_GROUP: ctx.group(`${scope}-resolver`), ...(heldMerges === undefined ? {} : { MERGES_TOPIC: heldMerges }) });
  const topics = topicsOf(config);
  await ctx.createTopics([
    { topic: `${env['TOPIC_PREFIX'] ?? ''}touchpoints.v1`, partitions: 4 },
    { topic: topics.resolved, partitions: 4 },
    { topic: topics.merges, partitions: 4 },
    { topic: topics.erasures, partitions: 4 },
    { topic: topics.updates, partitions: 4 },
    { topic: topics.snapshots, partitions: 4, cleanupPolicy: 'compact' },
    { topic: topics.deadLetters, partitions: 1 },
    { topic: `${env['TOPIC_PREFIX'] ?? ''}identity.alerts.v1`, partitions: 1 },
    { topic: `${env['TOPIC_PREFIX'] ?? ''}dlq.identity-resolver.v1`, partitions: 1 },
    ...(heldMerges === undefined ? [] : [{ topic: heldMerges, partitions: 4 }]),
  ]);
  const fatal: Error[] = [];
  const registry = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
  const touchpointsTopic = `${env['TOPIC_PREFIX'] ?? ''}touchpoints.v1`;
  const { id } = await registry.register(`${touchpointsTopic}-value`, touchpointSchema as unknown as AvroSchema);
  const resolver = await startResolver(resolverConfig, ctx.logger, (error) => fatal.push(error));
  const builders: RunningBuilder[] = [];
  const pipeline: Pipeline = {
    resolver,
    builders,
    config,
    registry,
    fatal,
    publish: async (touchpoints) => {
      const producer = await BatchProducer.connect(ctx.kafka);
      // One key: the resolver sees them in this order.
      await producer.send([{ topic: touchpointsTopic, messages: touchpoints.map((touchpoint) => ({ key: 'journey', value: registry.encode(id, touchpoint) })) }]);
      await producer.disconnect();
    },
    startBuilder: async () => {
      const builder = await startBuilder(config, ctx.logger, (error) => fatal.push(error), builderOptions);
      builders.push(builder);
      return builder;
    },
    stop: async () => {
      await Promise.all(builders.map((builder) => builder.stop()));
      await resolver.stop();
    },
  };
  await pipeline.startBuilder();
  return pipeline;
}

/** A touchpoint from a raw channel message, as the normalizer would make it. */
export function touchpoint(channel: Channel, raw: unknown, ingestTime = Date.UTC(2026, 10, 2)): Touchpoint {
  const result = adaptMessage(channel, Buffer.from(JSON.stringify(raw)), { tenant: 'acme', ingestTime, defaultRegion: 'US', defaultCurrency: 'USD' });
  if (!result.ok) throw new Error(`${channel} sample does not adapt: ${result.error.message}`);
  const [first] = result.touchpoints;
  if (!first) throw new Error('no touchpoint');
  return first;
}

export async function decodeAll<T>(registry: AvroRegistry, messages: readonly KafkaMessage[]): Promise<T[]> {
  return Promise.all(messages.map((message) => registry.decode<T>(message.value ?? Buffer.alloc(0))));
}

export type { ProfileUpdate, ProfileSnapshot };

/** A record as the consumer hands it to a handler, for tests that drive the builder's handler by hand. */
export function message(offset: number, value: Buffer): KafkaMessage {
  return { key: null, value, offset: String(offset), timestamp: String(Date.now()), attributes: 0, headers: {} };
}

/** The builder's batch handler on the real stack, driven by hand, at_least_once: outputs sent and acknowledged, offsets not committed. */
export interface HandlerOnStack {
  readonly config: BuilderConfig;
  readonly topics: BuilderTopics;
  readonly registry: AvroRegistry;
  readonly schemaIds: SchemaIds;
  readonly redis: Redis;
  readonly metrics: Registry;
  readonly handler: BatchHandler;
  /** What the handler's batches left running after they returned (outbox deletions, tombstones). */
  readonly background: BackgroundWork;
  /** A batch of partition 0 of `topic` (default: the resolved touchpoints) whose last message has offset `nextOffset - 1`. */
  run(messages: KafkaMessage[], nextOffset: number, topic?: string): Promise<void>;
  close(): Promise<void>;
}

/** `scope`'s builder topics (`partitions` each), its schemas and a Redis connection; `env` adds builder settings. */
async function builderTopicsOnStack(ctx: TestContext, scope: string, env: Record<string, string>, partitions: number) {
  const config = loadConfig({ ...envOf(ctx, scope), CONSUMER_GROUP: ctx.group(scope), ...env });
  const topics = topicsOf(config);
  await ctx.createTopics([topics.resolved, topics.merges, topics.erasures, topics.updates, topics.snapshots, topics.deadLetters].map((topic) => ({ topic, partitions })));
  const registry = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
  const schemaIds = await registerSchemas(registry, topics);
  const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
  return { config, topics, registry, schemaIds, redis };
}

/** For tests that drive the builder's handler by hand with exactly_once commits: a transactional producer and the group's committed offsets on `scope`'s topics. */
export interface TransactionalOnStack {
  readonly config: BuilderConfig;
  readonly topics: BuilderTopics;
  readonly registry: AvroRegistry;
  readonly schemaIds: SchemaIds;
  readonly redis: Redis;
  readonly producer: TransactionalProducer;
  readonly committed: CommittedOffsets;
  readonly close: () => Promise<void>;
}

export async function transactionalOnStack(ctx: TestContext, scope: string, partitions = 1): Promise<TransactionalOnStack> {
  const { config, topics, registry, schemaIds, redis } = await builderTopicsOnStack(ctx, scope, {}, partitions);
  const producer = await TransactionalProducer.connect(ctx.kafka, ctx.group(`${scope}-tx`));
  const committed = new CommittedOffsets(ctx.kafka, config.CONSUMER_GROUP);
  return {
    config,
    topics,
    registry,
    schemaIds,
    redis,
    producer,
    committed,
    close: async () => {
      await Promise.all([producer.disconnect(), committed.close()]);
      redis.disconnect();
    },
  };
}

/** What a Redis key holds, whatever its type: a string's value, a hash's fields and values, a set's or sorted set's members. */
export async function keyContents(redis: Redis, key: string): Promise<(string | null)[]> {
  const type = await redis.type(key);
  if (type === 'string') return [await redis.get(key)];
  if (type === 'hash') return Object.entries(await redis.hgetall(key)).flat();
  if (type === 'set') return redis.smembers(key);
  if (type === 'zset') return redis.zrange(key, '0', '-1');
  return [];
}

/**
 * Commits a transaction through `group`, sent again (up to five times) where the broker still
 * wrote the previous one's markers (CONCURRENT_TRANSACTIONS beyond the client's retries): the
 * builder would process the batch again; a test driving the handler by hand sends it again.
 */
export async function commitAgainOnConflict(group: TransactionGroup, batches: readonly OutboundBatch[], offsets: readonly ConsumedOffset[]): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await group.commit(batches, offsets);
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

/**
 * Runs a batch as the consumer would: again (up to five times) after a failure that was not
 * injected (the broker or Redis of a freshly started stack can refuse a first request).
 * 'ok', or the injected error's message (an error whose message says `injected`).
 */
export async function attemptUnlessInjected(call: () => Promise<void>): Promise<string> {
  for (let tries = 1; ; tries += 1) {
    try {
      await call();
      return 'ok';
    } catch (error) {
      const text = (error as Error).message;
      if (text.includes('injected')) return text;
      if (tries >= 5) throw error;
    }
  }
}

/** `scope`'s topics (one partition each) and Redis prefix, and a handler over them; `env` adds builder settings, `options.now` is the handler's clock. */
export async function handlerOnStack(ctx: TestContext, scope: string, env: Record<string, string> = {}, options: { readonly now?: () => number; readonly wrapStore?: (store: ProfileStore) => ProfileStore } = {}): Promise<HandlerOnStack> {
  const { config, topics, registry, schemaIds, redis } = await builderTopicsOnStack(ctx, scope, env, 1);
  const producer = await BatchProducer.connect(ctx.kafka);
  const metrics = createMetricsRegistry();
  const background = new BackgroundWork();
  const handler = createBuilderHandler({
    topics,
    store: (options.wrapStore ?? ((store) => store))(new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS)),
    registry,
    schemaIds,
    transactions: { commit: async (batches) => void (await producer.send(batches)) },
    metrics: createBuilderMetrics(metrics),
    logger: ctx.logger,
    now: options.now ?? Date.now,
    states: new StateCache(100),
    committedOffset: () => Promise.resolve(-1n),
    maxProfileBytes: config.MAX_PROFILE_BYTES,
    maxRecordBytes: config.MAX_RECORD_BYTES,
    profileOptions: profileOptionsOf(config),
    background,
  });
  return {
    config,
    topics,
    registry,
    schemaIds,
    redis,
    metrics,
    handler,
    background,
    run: (messages, nextOffset, topic = topics.resolved) => handler({ topic, partition: 0, messages }, { signal: new AbortController().signal, groupId: config.CONSUMER_GROUP, nextOffset: String(nextOffset) }),
    close: async () => {
      await background.drained();
      await producer.disconnect();
      redis.disconnect();
    },
  };
}
