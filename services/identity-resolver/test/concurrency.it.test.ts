/**
 * Four resolver processes in one consumer group on eight partitions, over a generated
 * population (households sharing devices, junk values, redeliveries), with one process
 * SIGKILLed mid-stream and replaced. Afterwards the graph must hold its invariants and,
 * where no rule intervened, equal a plain union-find over the same events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { touchpointSchema } from '@elephant/channels';
import { DEFAULT_RULES, compileRules, generatePopulation, pairwiseQuality, screenIdentifiers } from '@elephant/identity';
import { BatchProducer, consumerGroupLag } from '@elephant/kafka';
import { connectRedis, type Redis } from '@elephant/redis';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import { createTestContext, waitUntil } from '@elephant/testing';
import { IdentityGraph, loadConfig, topicsOf, type ResolvedTouchpoint } from '@elephant/identity-resolver';
import { touchpointOf } from './touchpoints.ts';

const ctx = createTestContext('resolver-concurrency');
const children: ChildProcess[] = [];
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const env = {
  KAFKA_BROKERS: ctx.stack.kafkaBrokers,
  SCHEMA_REGISTRY_URL: ctx.stack.schemaRegistryUrl,
  REDIS_URL: ctx.stack.redisUrl,
  TOPIC_PREFIX: `${ctx.topic('c')}.`,
  CONSUMER_GROUP: ctx.group('resolvers'),
  REDIS_KEY_PREFIX: ctx.keyPrefix,
  PARTITIONS: '8',
  PARTITIONS_CONCURRENTLY: '2',
  HEALTH_PORT: '0',
  LOG_LEVEL: 'warn',
};
const topics = topicsOf(loadConfig(env));
let redis: Redis | undefined;

function launch(): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [main], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (redis) {
    const keys = await redis.keys(`${ctx.keyPrefix}*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
    redis.disconnect();
  }
  await ctx.cleanup();
});

describe('identity resolution under concurrency', () => {
  it('keeps the graph consistent with 4 instances, 8 partitions, redeliveries and a killed instance', async () => {
    const population = generatePopulation({ seed: 20261123, people: 2000 });
    const tenant = population.events[0]?.tenant ?? 'acme';
    const registry = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
    await ctx.createTopics([
      { topic: topics.touchpoints, partitions: 8 },
      { topic: topics.resolved, partitions: 8 },
      { topic: topics.merges, partitions: 8 },
      { topic: topics.alerts, partitions: 1 },
      { topic: topics.deadLetters, partitions: 1 },
    ]);
    const { id } = await registry.register(`${topics.touchpoints}-value`, touchpointSchema as unknown as AvroSchema);
    const producer = await BatchProducer.connect(ctx.kafka);
    for (let i = 0; i < population.events.length; i += 1000) {
      await producer.send([{ topic: topics.touchpoints, messages: population.events.slice(i, i + 1000).map((event) => ({ key: event.eventId, value: registry.encode(id, touchpointOf(event)) })) }]);
    }
    await producer.disconnect();

    const instances = [launch(), launch(), launch(), launch()];
    redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
    const graph = new IdentityGraph(redis, ctx.keyPrefix);
    const resolvedCount = async (): Promise<number> => Number((await redis?.get(`${graph.tenantPrefix(tenant)}seq`)) ?? 0);
    await waitUntil(async () => (await resolvedCount()) > 500, { message: 'resolution to be under way', timeoutMs: 60000 });
    const victim = instances[1];
    victim?.child.kill('SIGKILL');
    await victim?.exited;
    launch();
    await waitUntil(async () => (await consumerGroupLag(ctx.kafka, env.CONSUMER_GROUP, [topics.touchpoints])) === 0, { message: 'the group to consume every touchpoint', timeoutMs: 240000, intervalMs: 500 });

    // Invariant 1: an identifier belongs to at most one live profile, and its owner pointer agrees.
    const prefix = graph.tenantPrefix(tenant);
    const live = await graph.liveProfiles(tenant);
    const ownerOf = new Map<string, string>();
    const compiled = compileRules(DEFAULT_RULES);
    for (const profile of live) {
      const members = await redis.smembers(`${prefix}p:${profile}:ids`);
      const perType = new Map<string, number>();
      for (const member of members) {
        expect(ownerOf.get(member), `${member} is in two live profiles`).toBeUndefined();
        ownerOf.set(member, profile);
        const type = member.slice(0, member.indexOf(':'));
        perType.set(type, (perType.get(type) ?? 0) + 1);
      }
      // Invariant 2: every profile respects the limits.
      for (const [type, count] of perType) expect(count, `${profile} holds ${count} ${type}`).toBeLessThanOrEqual(compiled.limit(type) ?? Infinity);
    }
    const pipeline = redis.pipeline();
    const members = [...ownerOf.keys()];
    for (const member of members) pipeline.hget(`${prefix}i:${member}`, 'p');
    const pointers = (await pipeline.exec()) ?? [];
    for (let index = 0; index < members.length; index += 1) {
      const pointer = String(pointers[index]?.[1]);
      expect(await graph.survivorOf(tenant, pointer)).toBe(ownerOf.get(members[index] ?? ''));
    }

    // Invariant 3: where no limit or quarantine intervened, the profiles' merging-type
    // identifiers equal the components of a plain union-find over each event's merging-type
    // identifiers (order-independent, unlike device ownership). Blocked values never reach
    // the graph, and non-merging ones (devices) can never join two components.
    const parent = new Map<string, string>();
    const find = (node: string): string => {
      let root = node;
      while (parent.get(root) !== root) root = parent.get(root) ?? root;
      parent.set(node, root);
      return root;
    };
    const touched = new Set<string>();
    for (const event of population.events) {
      const { kept } = screenIdentifiers(event.identifiers, DEFAULT_RULES);
      const linking = kept.filter((identifier) => compiled.links(identifier.type)).map((identifier) => `${identifier.type}:${identifier.value}`);
      for (const key of linking) if (!parent.has(key)) parent.set(key, key);
      for (const key of linking.slice(1)) parent.set(find(key), find(linking[0] ?? key));
    }
    const resolved = await readResolved(registry);
    for (const record of resolved) {
      if (record.excludedIdentifiers.some((excluded) => excluded.reason.startsWith('limit') || excluded.reason === 'quarantined')) {
        for (const identifier of record.touchpoint.identifiers) touched.add(`${identifier.type}:${identifier.value}`);
      }
    }
    const components = new Map<string, string[]>();
    for (const key of parent.keys()) components.set(find(key), [...(components.get(find(key)) ?? []), key]);
    let compared = 0;
    for (const component of components.values()) {
      if (component.some((key) => touched.has(key))) continue;
      const owners = new Set(component.map((key) => ownerOf.get(key)));
      expect(owners.size, `component ${component.slice(0, 3).join(', ')} split over ${owners.size} profiles`).toBe(1);
      const [owner] = owners;
      const held = [...ownerOf].filter(([key, profile]) => profile === owner && compiled.links(key.slice(0, key.indexOf(':')))).map(([key]) => key);
      expect(new Set(held)).toEqual(new Set(component));
      compared += 1;
    }
    console.log(`union-find comparison: ${compared} of ${components.size} components (the rest touched by a limit or quarantine)`);
    expect(compared).toBeGreaterThan(components.size * 0.9);

    // Quality against the ground truth, for the record (the demo issue holds the bar).
    const profileOfEvent = new Map<string, string>();
    for (const record of resolved) profileOfEvent.set(record.touchpoint.eventId, await graph.survivorOf(tenant, record.profileId));
    const clusters = new Map<string, string[]>();
    for (const [eventId, profile] of profileOfEvent) clusters.set(profile, [...(clusters.get(profile) ?? []), eventId]);
    const quality = pairwiseQuality([...clusters.values()], population.truth);
    console.log(`identity quality under concurrency: ${JSON.stringify({ events: population.events.length, profiles: live.length, ...quality })}`);
    expect(quality.precision).toBeGreaterThanOrEqual(0.99);
  });
});

async function readResolved(registry: AvroRegistry): Promise<ResolvedTouchpoint[]> {
  const consumer = ctx.kafka.consumer({ groupId: ctx.group('reader'), maxWaitTimeInMs: 100 });
  const records: ResolvedTouchpoint[] = [];
  const admin = ctx.kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topics.resolved);
  await admin.disconnect();
  const total = ends.reduce((sum, end) => sum + Number(end.high), 0);
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.resolved], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      records.push(...(await Promise.all(batch.messages.map((message) => registry.decode<ResolvedTouchpoint>(message.value ?? Buffer.alloc(0))))));
    },
  });
  await waitUntil(() => records.length >= total, { message: `all ${total} resolved touchpoints`, timeoutMs: 120000 });
  await consumer.disconnect();
  return records;
}
