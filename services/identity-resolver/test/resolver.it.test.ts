import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { touchpointSchema } from '@elephant/channels';
import { BatchProducer, DEAD_LETTER_HEADERS, headerText } from '@elephant/kafka';
import { connectRedis } from '@elephant/redis';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import { createTestContext, readTopic, uniqueName, waitUntil } from '@elephant/testing';
import { loadConfig, startResolver, topicsOf, type IdentityAlert, type IdentityMerge, type ResolvedTouchpoint, type RunningResolver } from '@elephant/identity-resolver';
import { touchpointOf, type EventLike } from './touchpoints.ts';

/** Fatal errors the services reported: none may happen. */
const fatal: Error[] = [];
const ctx = createTestContext('resolver');
const registry = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
let resolver: RunningResolver;
let touchpointSchemaId: number;

// The service reads its rules from a file, as deployed: the shipped defaults plus one tenant
// ("filed") with its own e-mail limit, super-node threshold and blocked e-mail pattern.
const rulesDir = mkdtempSync(join(tmpdir(), 'elephant-resolver-rules-'));
const shipped = JSON.parse(readFileSync(new URL('../../../config/identity-rules.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const rulesFile = join(rulesDir, 'identity-rules.json');
writeFileSync(rulesFile, JSON.stringify({ ...shipped, tenants: { filed: { limits: { email: 1 }, quarantine: { maxProfilesPerValue: 2 }, blocked: { patterns: { email: ['^(orders|receipts)@shop\\.example$'] } } } } }));

const env = {
  IDENTITY_RULES_FILE: rulesFile,
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
  rmSync(rulesDir, { recursive: true, force: true });
});

/** Reads `topic` from the beginning, decoded, until `done` says the records suffice. */
async function readUntil<T>(topic: string, done: (records: T[]) => boolean, message: string): Promise<T[]> {
  const consumer = ctx.kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  const records: T[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        records.push(...(await Promise.all(batch.messages.map((entry) => registry.decode<T>(entry.value ?? Buffer.alloc(0))))));
      },
    });
    await waitUntil(() => done(records), { message, timeoutMs: 60000 });
    return records;
  } finally {
    await consumer.disconnect();
  }
}

/** The resolved records of these events, once all of them are out. */
async function resolvedOf(eventIds: readonly string[]): Promise<Map<string, ResolvedTouchpoint>> {
  const records = await readUntil<ResolvedTouchpoint>(topics.resolved, (all) => eventIds.every((eventId) => all.some((record) => record.touchpoint.eventId === eventId)), `resolved ${eventIds.join(', ')}`);
  return new Map(records.filter((record) => eventIds.includes(record.touchpoint.eventId)).map((record) => [record.touchpoint.eventId, record]));
}

/** A counter's value in the service's /metrics, for the sample whose labels contain `labels`. */
async function counter(name: string, labels: string): Promise<number> {
  const text = await resolver.metrics.getSingleMetricAsString(name);
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) if (match[1]?.includes(labels)) return Number(match[2]);
  return 0;
}

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
    expect(merge).toMatchObject({ tenant: 'acme', survivorProfileId: first, mergedProfileIds: [byEvent.get('e2')?.value.profileId], triggeringEventId: 'e3', rule: 'match', mergedAt: t + 2 });
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
  it('drops and re-matches when a merge would break a limit, and says which limit in excludedIdentifiers (limit:<types>)', async () => {
    const t = 1795400200000;
    await publish([
      { eventId: 'l1', tenant: 'limits', eventTime: t, identifiers: [{ type: 'user_id', value: 'alice' }, { type: 'email', value: 'family@home.net' }] },
      { eventId: 'l2', tenant: 'limits', eventTime: t + 1, identifiers: [{ type: 'user_id', value: 'bob' }] },
      { eventId: 'l3', tenant: 'limits', eventTime: t + 2, identifiers: [{ type: 'user_id', value: 'bob' }, { type: 'email', value: 'family@home.net' }] },
    ]);
    const byEvent = await resolvedOf(['l1', 'l2', 'l3']);
    // Bob keeps his login; the e-mail that would have joined him to Alice is left out.
    expect(byEvent.get('l3')?.profileId).toBe(byEvent.get('l2')?.profileId);
    expect(byEvent.get('l3')?.profileId).not.toBe(byEvent.get('l1')?.profileId);
    expect(byEvent.get('l3')?.excludedIdentifiers).toEqual([{ type: 'email', value: 'family@home.net', reason: 'limit:user_id' }]);
    expect(await resolver.graph.profileOf('limits', { type: 'email', value: 'family@home.net' })).toBe(byEvent.get('l1')?.profileId);
    expect(await counter('elephant_resolver_excluded_identifiers_total', 'reason="limit"')).toBeGreaterThanOrEqual(1);
  });

  it('applies a tenant override and a blocked pattern read from IDENTITY_RULES_FILE', async () => {
    const t = 1795400300000;
    const second = [{ type: 'user_id', value: 'fu' }, { type: 'email', value: 'two@f.io' }];
    await publish([
      { eventId: 'f1', tenant: 'filed', eventTime: t, identifiers: [{ type: 'user_id', value: 'fu' }, { type: 'email', value: 'one@f.io' }] },
      { eventId: 'f2', tenant: 'filed', eventTime: t + 1, identifiers: second },
      { eventId: 'f3', tenant: 'filed', eventTime: t + 2, identifiers: [{ type: 'anonymous_id', value: 'fc' }, { type: 'email', value: 'orders@shop.example' }] },
      // The same events for a tenant the file does not name: the defaults apply.
      { eventId: 'd1', tenant: 'defaulted', eventTime: t, identifiers: [{ type: 'user_id', value: 'fu' }, { type: 'email', value: 'one@f.io' }] },
      { eventId: 'd2', tenant: 'defaulted', eventTime: t + 1, identifiers: second },
      { eventId: 'd3', tenant: 'defaulted', eventTime: t + 2, identifiers: [{ type: 'anonymous_id', value: 'fc' }, { type: 'email', value: 'orders@shop.example' }] },
    ]);
    const byEvent = await resolvedOf(['f1', 'f2', 'f3', 'd1', 'd2', 'd3']);
    // "filed" allows one e-mail per profile: the second is dropped, the event still matches.
    expect(byEvent.get('f2')?.profileId).toBe(byEvent.get('f1')?.profileId);
    expect(byEvent.get('f2')?.excludedIdentifiers).toEqual([{ type: 'email', value: 'two@f.io', reason: 'limit:email' }]);
    expect(byEvent.get('d2')?.excludedIdentifiers).toEqual([]);
    // Its blocked pattern keeps a shop's own order address out of the graph.
    expect(byEvent.get('f3')?.excludedIdentifiers).toEqual([{ type: 'email', value: 'orders@shop.example', reason: 'blocked_pattern:email /^(orders|receipts)@shop\\.example$/' }]);
    expect(await resolver.graph.profileOf('filed', { type: 'email', value: 'orders@shop.example' })).toBeUndefined();
    expect(byEvent.get('d3')?.excludedIdentifiers).toEqual([]);
    expect(await resolver.graph.profileOf('defaulted', { type: 'email', value: 'orders@shop.example' })).toBe(byEvent.get('d3')?.profileId);
  });

  it('quarantines a super-node value: an IdentityAlert on the alerts topic and elephant_resolver_quarantined_total', async () => {
    const t = 1795400400000;
    const storePhone = { type: 'phone', value: '+14155550142' };
    const before = await counter('elephant_resolver_quarantined_total', 'reason="too_many_profiles"');
    // "filed" quarantines a value seen on more than 2 profiles: four logins typed with the store's number.
    await publish(['q1', 'q2', 'q3', 'q4'].map((user, index) => ({ eventId: `${user}-event`, tenant: 'filed', eventTime: t + index, identifiers: [{ type: 'user_id', value: user }, storePhone] })));
    const alerts = await readUntil<IdentityAlert>(topics.alerts, (all) => all.some((alert) => alert.tenant === 'filed' && alert.identifierValue === storePhone.value), 'an alert for the store phone');
    const alert = alerts.find((entry) => entry.tenant === 'filed' && entry.identifierValue === storePhone.value);
    expect(alert).toMatchObject({ kind: 'identifier_quarantined', identifierType: 'phone', reason: 'too_many_profiles', threshold: 2, observed: 3, triggeringEventId: 'q3-event' });
    expect(alert?.alertId).toMatch(/^[0-9a-f]{32}$/);
    expect(await resolver.graph.quarantineOf('filed', storePhone)).toMatchObject({ reason: 'too_many_profiles', event: 'q3-event' });
    expect(await counter('elephant_resolver_quarantined_total', 'reason="too_many_profiles"')).toBe(before + 1);
    // From then on it links nothing: the fourth login stays its own profile and says why.
    const byEvent = await resolvedOf(['q1-event', 'q4-event']);
    expect(byEvent.get('q4-event')?.excludedIdentifiers).toEqual([{ ...storePhone, reason: 'quarantined' }]);
    expect(await resolver.graph.profileOf('filed', storePhone)).toBe(byEvent.get('q1-event')?.profileId);

    // Released by hand (docs/identity.md), then quarantined again by a later login: a new alert,
    // not one subscribers that de-duplicate by alertId take for a replay of the first.
    const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
    try {
      expect(await redis.del(`${resolver.graph.tenantPrefix('filed')}q:${storePhone.type}:${storePhone.value}`)).toBe(1);
    } finally {
      redis.disconnect();
    }
    await publish([{ eventId: 'q5-event', tenant: 'filed', eventTime: t + 10, identifiers: [{ type: 'user_id', value: 'q5' }, storePhone] }]);
    const again = await readUntil<IdentityAlert>(topics.alerts, (all) => all.some((entry) => entry.triggeringEventId === 'q5-event'), 'the second alert for the store phone');
    const second = again.find((entry) => entry.triggeringEventId === 'q5-event');
    expect(second).toMatchObject({ identifierValue: storePhone.value, reason: 'too_many_profiles' });
    expect(second?.alertId).not.toBe(alert?.alertId);
  });

  it('resolves a touchpoint of 10,000 identifiers by its strongest 100 and reports the rest as too_many_identifiers, and goes on (regression: the script failed on it, the resolver stopped and failed again on restart)', async () => {
    const t = 1795400050000;
    const clicks = Array.from({ length: 9_999 }, (_, index) => ({ type: 'click_id', value: `c${index}` }));
    await publish([
      { eventId: 'w1', tenant: 'wide', eventTime: t, identifiers: [...clicks, { type: 'user_id', value: 'wide-user' }] },
      { eventId: 'w2', tenant: 'wide', eventTime: t + 1, identifiers: [{ type: 'user_id', value: 'wide-user' }] },
    ]);
    const byEvent = await resolvedOf(['w1', 'w2']);
    const wide = byEvent.get('w1');
    expect(wide?.touchpoint.identifiers).toHaveLength(10_000);
    const excluded = wide?.excludedIdentifiers ?? [];
    expect(excluded).toHaveLength(9_900);
    expect(excluded.every((entry) => entry.reason === 'too_many_identifiers:maxIdentifiersPerEvent 100')).toBe(true);
    // The strongest: the login first, then the first 99 click ids in the event's order.
    expect(excluded[0]).toEqual({ type: 'click_id', value: 'c99', reason: 'too_many_identifiers:maxIdentifiersPerEvent 100' });
    expect(await resolver.graph.identifiersOf('wide', wide?.profileId ?? '')).toHaveLength(100);
    expect(byEvent.get('w2')?.profileId).toBe(wide?.profileId);
    expect(await counter('elephant_resolver_excluded_identifiers_total', 'reason="too_many_identifiers"')).toBe(9_900);
    expect(fatal).toEqual([]);
  });

  it('orders a touchpoint whose source clock runs ahead by its ingestTime: the merge it makes is dated then, not in the future', async () => {
    const t = 1795500000000;
    const year = 365 * 24 * 3_600_000;
    await publish([
      { eventId: 'clock-1', tenant: 'clock', eventTime: t, identifiers: [{ type: 'anonymous_id', value: 'cookie-clock' }] },
      { eventId: 'clock-2', tenant: 'clock', eventTime: t + 1, identifiers: [{ type: 'email', value: 'clock@lovelace.dev' }] },
      { eventId: 'clock-3', tenant: 'clock', eventTime: t + 10 * year, ingestTime: t + 2, identifiers: [{ type: 'email', value: 'clock@lovelace.dev' }, { type: 'anonymous_id', value: 'cookie-clock' }] },
    ]);
    const [merge] = await readUntil<IdentityMerge>(topics.merges, (all) => all.some((record) => record.triggeringEventId === 'clock-3'), 'the merge of clock-3').then((all) => all.filter((record) => record.triggeringEventId === 'clock-3'));
    expect(merge).toMatchObject({ tenant: 'clock', mergedAt: t + 2 });
    // The graph records it at the same time: the absorbed profile's mergedAt, the links' last seen.
    const absorbed = merge?.mergedProfileIds[0] ?? '';
    expect((await resolver.graph.mergeChainOf('clock', absorbed)).map((hop) => hop.mergedAt)).toEqual([t + 2]);
    const links = await resolver.graph.identifiersOf('clock', merge?.survivorProfileId ?? '');
    expect(links.map((link) => [link.type, link.lastSeen]).sort()).toEqual([
      ['anonymous_id', t + 2],
      ['email', t + 2],
    ]);
    // The touchpoint itself goes on with the time its source reported.
    expect((await resolvedOf(['clock-3'])).get('clock-3')?.touchpoint.eventTime).toBe(t + 10 * year);
  });
});
