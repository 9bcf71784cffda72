import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { touchpointSchema } from '@elephant/channels';
import { BatchProducer, DEAD_LETTER_HEADERS, headerText } from '@elephant/kafka';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import { createTestContext, readTopic } from '@elephant/testing';
import { loadConfig, startResolver, topicsOf, type IdentityMerge, type ResolvedTouchpoint, type RunningResolver } from '@elephant/identity-resolver';
import { touchpointOf, type EventLike } from './touchpoints.ts';

/** Fatal errors the services reported: none may happen. */
const fatal: Error[] = [];
const ctx = createTestContext('resolver');
const registry = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
let resolver: RunningResolver;
let touchpointSchemaId: number;

const env = {
  KAFKA_BROKERS: ctx.stack.kafkaBrokers,
  SCHEMA_REGISTRY_URL: ctx.stack.schemaRegistryUrl,
  REDIS_URL: ctx.stack.redisUrl,
  TOPIC_PREFIX: `${ctx.topic('svc')}.`,
  CONSUMER_GROUP: ctx.group('resolver'),
  REDIS_KEY_PREFIX: ctx.keyPrefix,
  PARTITIONS: '4',
  HEALTH_PORT: '0',
  LOG_LEVEL: 'silent',
};
const topics = topicsOf(loadConfig(env));

beforeAll(async () => {
  await ctx.createTopics([
    { topic: topics.touchpoints, partitions: 4 },
    { topic: topics.resolved, partitions: 4 },
    { topic: topics.merges, partitions: 4 },
    { topic: topics.alerts, partitions: 1 },
    { topic: topics.deadLetters, partitions: 1 },
  ]);
  touchpointSchemaId = (await registry.register(`${topics.touchpoints}-value`, touchpointSchema as unknown as AvroSchema)).id;
  resolver = await startResolver(loadConfig(env), ctx.logger, (error) => fatal.push(error));
});

afterAll(async () => {
  expect(fatal, 'no service stopped on a fatal error').toEqual([]);
  await resolver.stop();
  await ctx.cleanup();
});

async function publish(events: readonly EventLike[]): Promise<void> {
  const producer = await BatchProducer.connect(ctx.kafka);
  // One key for all: the test reads outputs in the order the events were resolved.
  await producer.send([{ topic: topics.touchpoints, messages: events.map((event) => ({ key: 'k', value: registry.encode(touchpointSchemaId, touchpointOf(event)) })) }]);
  await producer.disconnect();
}

describe('identity resolver service', () => {
  it('publishes each touchpoint keyed by its profile, merges as events, and dead-letters touchpoints with nothing resolvable', async () => {
    const t = 1795400000000;
    await publish([
      { eventId: 'e1', tenant: 'acme', eventTime: t, identifiers: [{ type: 'anonymous_id', value: 'cookie-a' }] },
      { eventId: 'e2', tenant: 'acme', eventTime: t + 1, identifiers: [{ type: 'email', value: 'ada@lovelace.dev' }] },
      { eventId: 'e3', tenant: 'acme', eventTime: t + 2, identifiers: [{ type: 'email', value: 'ada@lovelace.dev' }, { type: 'anonymous_id', value: 'cookie-a' }, { type: 'email', value: 'test@test.com' }] },
      { eventId: 'e4', tenant: 'acme', eventTime: t + 3, identifiers: [{ type: 'email', value: 'test@test.com' }, { type: 'phone', value: '+10000000000' }] },
      { eventId: 'e5', tenant: 'other', eventTime: t + 4, identifiers: [{ type: 'email', value: 'ada@lovelace.dev' }] },
    ]);
    const resolved = await Promise.all((await readTopic(ctx.kafka, topics.resolved, 4)).map(async (message) => ({ key: message.key?.toString(), value: await registry.decode<ResolvedTouchpoint>(message.value ?? Buffer.alloc(0)) })));
    const byEvent = new Map(resolved.map((entry) => [entry.value.touchpoint.eventId, entry]));
    const first = byEvent.get('e1')?.value.profileId;
    expect(byEvent.get('e3')?.value.profileId).toBe(first);
    expect(byEvent.get('e3')?.key).toBe(first);
    const excluded = byEvent.get('e3')?.value.excludedIdentifiers ?? [];
    expect(excluded.map((entry) => `${entry.type}:${entry.value}`)).toEqual(['email:test@test.com']);
    expect(excluded[0]?.reason).toMatch(/^blocked_value/);
    // Another tenant's graph is separate: the same e-mail is another person there.
    expect(byEvent.get('e5')?.value.profileId).toBeDefined();
    expect(await resolver.graph.profileOf('other', { type: 'email', value: 'ada@lovelace.dev' })).toBe(byEvent.get('e5')?.value.profileId);

    const [merge] = await Promise.all((await readTopic(ctx.kafka, topics.merges, 1)).map((message) => registry.decode<IdentityMerge>(message.value ?? Buffer.alloc(0))));
    expect(merge).toMatchObject({ tenant: 'acme', survivorProfileId: first, mergedProfileIds: [byEvent.get('e2')?.value.profileId], triggeringEventId: 'e3', rule: 'match' });
    expect(merge?.linkingIdentifiers).toEqual(expect.arrayContaining([{ type: 'email', value: 'ada@lovelace.dev' }, { type: 'anonymous_id', value: 'cookie-a' }]));

    const [dead] = await readTopic(ctx.kafka, topics.deadLetters, 1);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.code)).toBe('NO_RESOLVABLE_IDENTIFIER');
    const metrics = await resolver.metrics.getSingleMetricAsString('elephant_resolver_redis_round_trips_total');
    expect(metrics).toMatch(/elephant_resolver_redis_round_trips_total\{[^}]*\} [1-9]/);
  });

  it('carries a touchpoint through as its bytes, and decodes one written with another schema whole, into the current one', async () => {
    const t = 1795400100000;
    const current = touchpointOf({ eventId: 'c1', tenant: 'carry', eventTime: t, identifiers: [{ type: 'email', value: 'grace@hopper.dev' }] });
    const evolved = touchpointOf({ eventId: 'c2', tenant: 'carry', eventTime: t + 1, identifiers: [{ type: 'email', value: 'grace@hopper.dev' }] });
    const evolvedSchema = { ...touchpointSchema, fields: [...touchpointSchema.fields, { name: 'channelRegion', type: ['null', 'string'], default: null }] };
    const evolvedId = (await registry.register(`${topics.touchpoints}-value`, evolvedSchema as unknown as AvroSchema)).id;
    expect(evolvedId).not.toBe(touchpointSchemaId);
    const currentBytes = registry.encode(touchpointSchemaId, current);
    const producer = await BatchProducer.connect(ctx.kafka);
    await producer.send([{ topic: topics.touchpoints, messages: [{ key: 'c', value: currentBytes }, { key: 'c', value: registry.encode(evolvedId, { ...evolved, channelRegion: 'eu' }) }] }]);
    await producer.disconnect();

    const messages = await readTopic(ctx.kafka, topics.resolved, 6);
    const resolved = await Promise.all(messages.map(async (message) => ({ bytes: message.value ?? Buffer.alloc(0), value: await registry.decode<ResolvedTouchpoint>(message.value ?? Buffer.alloc(0)) })));
    const carried = resolved.find((entry) => entry.value.touchpoint.eventId === current.eventId);
    const converted = resolved.find((entry) => entry.value.touchpoint.eventId === evolved.eventId);
    expect(carried?.value.touchpoint).toEqual(current);
    expect(carried?.bytes.includes(currentBytes.subarray(5))).toBe(true);
    expect(converted?.value.touchpoint).toEqual(evolved);
    expect(converted?.value.profileId).toBe(carried?.value.profileId);
    expect(carried?.value.excludedIdentifiers).toEqual([]);
  });
});
