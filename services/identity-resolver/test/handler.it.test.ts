/**
 * The handler on a real Kafka, registry and Redis, where the graph leaves an event out: the
 * script refusing it on purpose (LIMITS_UNSATISFIABLE, reached with a doctored copy of the
 * script: see refusing-graph.ts), unresolved events, limits (one case with a rule set the rules
 * parser would refuse, so not reachable through a rules file), and records the broker refuses.
 */
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { touchpointSchema } from '@elephant/channels';
import { DEFAULT_RULES_DOCUMENT, type RulesDocument } from '@elephant/identity';
import { BatchProducer, DEAD_LETTER_HEADERS, KafkaError, headerText, readToEnd, type KafkaMessage, type PartitionsHandler } from '@elephant/kafka';
import { createMetricsRegistry } from '@elephant/observability';
import { connectRedis } from '@elephant/redis';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import { createTestContext, readTopic } from '@elephant/testing';
import { IdentityGraph, OUTPUT_REJECTED, createResolverHandler, createResolverMetrics, identityAlertSchema, identityMergeSchema, loadConfig, resolvedTouchpointAvroSchema, topicsOf, type IdentityAlert, type IdentityMerge } from '@elephant/identity-resolver';
import { graphWithoutVictims } from './refusing-graph.ts';
import { touchpointOf, type EventLike } from './touchpoints.ts';

const ctx = createTestContext('resolver-handler');
const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });

afterAll(async () => {
  redis.disconnect();
  await ctx.cleanup();
});

/**
 * A resolver handler's surroundings on topics of their own (`<name>`): the output topics (the
 * resolved one with `resolvedConfigs`), the schemas registered, one metrics registry, and
 * handlers over the test's Redis graph (or `graph`) with each call's own producer.
 */
async function resolverOn(name: string, options: { resolvedConfigs?: Record<string, string>; alertsConfigs?: Record<string, string>; graph?: IdentityGraph } = {}) {
  const topics = topicsOf(loadConfig({ KAFKA_BROKERS: ctx.stack.kafkaBrokers, SCHEMA_REGISTRY_URL: ctx.stack.schemaRegistryUrl, REDIS_URL: ctx.stack.redisUrl, TOPIC_PREFIX: `${ctx.topic(name)}.` }));
  await ctx.createTopics([
    { topic: topics.resolved, partitions: 1, ...(options.resolvedConfigs ? { configs: options.resolvedConfigs } : {}) },
    { topic: topics.alerts, partitions: 1, ...(options.alertsConfigs ? { configs: options.alertsConfigs } : {}) },
    ...[topics.merges, topics.deadLetters].map((topic) => ({ topic, partitions: 1 })),
  ]);
  const registry = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
  const touchpointId = (await registry.register(`${ctx.topic(name)}.touchpoints-value`, touchpointSchema as unknown as AvroSchema)).id;
  const [resolved, merge, alert] = await Promise.all([
    registry.register(`${topics.resolved}-value`, resolvedTouchpointAvroSchema),
    registry.register(`${topics.merges}-value`, identityMergeSchema as unknown as AvroSchema),
    registry.register(`${topics.alerts}-value`, identityAlertSchema as unknown as AvroSchema),
  ]);
  const graph = options.graph ?? new IdentityGraph(redis, ctx.keyPrefix);
  const metrics = createMetricsRegistry({ service: 'test' });
  const resolverMetrics = createResolverMetrics(metrics);
  const handlerWith = (producer: BatchProducer, rules: RulesDocument = DEFAULT_RULES_DOCUMENT) =>
    createResolverHandler({ topics, rules, eventTtlSeconds: 3600, graph, registry, schemaIds: { resolved: resolved.id, merge: merge.id, alert: alert.id }, producer, metrics: resolverMetrics, logger: ctx.logger, now: Date.now });
  /** `event` as the touchpoint record at `offset` of the input topic. */
  const messageOf = (event: EventLike, offset: number, key: Buffer | null = null): KafkaMessage => ({ key, value: registry.encode(touchpointId, touchpointOf(event)), offset: String(offset), timestamp: '0', attributes: 0, headers: {}, size: 0 }) as unknown as KafkaMessage;
  /** Hands `messages` to a handler with `rules` as one batch of partition 0, with a producer of its own. */
  const deliver = async (messages: KafkaMessage[], rules: RulesDocument = DEFAULT_RULES_DOCUMENT): Promise<void> => {
    const producer = await BatchProducer.connect(ctx.kafka);
    try {
      await handlerWith(producer, rules)([{ topic: topics.touchpoints, partition: 0, messages }], { signal: new AbortController().signal, groupId: 'g' });
    } finally {
      await producer.disconnect();
    }
  };
  return { topics, registry, graph, metrics, handlerWith, messageOf, deliver };
}

describe('resolver handler', () => {
  it('LIMITS_UNSATISFIABLE: dead-letters the refused event with its code and goes on, neither crashing nor dropping it (regression)', async () => {
    // No graph data reaches the limits step's guard since a limit only stops growth
    // (2026-12-06): a copy of the script that never picks an identifier to drop refuses any
    // event that breaks a limit (two user ids here), on a connection of its own.
    const own = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
    onTestFinished(() => own.disconnect());
    const { topics, registry, metrics, handlerWith, messageOf } = await resolverOn('h', { graph: graphWithoutVictims(own, ctx.keyPrefix) });
    const producer = await BatchProducer.connect(ctx.kafka);
    const handler = handlerWith(producer);
    const batchOf = (events: EventLike[]): { topic: string; partition: number; messages: KafkaMessage[] } => ({
      topic: topics.touchpoints,
      partition: 0,
      messages: events.map((event, index) => messageOf(event, index)),
    });
    const context = { signal: new AbortController().signal, groupId: 'g', nextOffset: '1' };
    const t = 1795400500000;
    const phone = [{ type: 'phone', value: '+14155550177' }];
    await handler([batchOf([{ eventId: 'h1', tenant: 'acme', eventTime: t, identifiers: phone }])], context);
    const twoUsers = [{ type: 'user_id', value: 'one' }, { type: 'user_id', value: 'two' }];
    await handler([batchOf([{ eventId: 'h2', tenant: 'acme', eventTime: t + 1, identifiers: twoUsers }, { eventId: 'h3', tenant: 'acme', eventTime: t + 2, identifiers: [{ type: 'user_id', value: 'fine' }] }])], context);
    await producer.disconnect();
    const [dead] = await readTopic(ctx.kafka, topics.deadLetters, 1);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.code)).toBe('LIMITS_UNSATISFIABLE');
    expect(await metrics.getSingleMetricAsString('elephant_resolver_dead_lettered_total')).toMatch(/reason="LIMITS_UNSATISFIABLE"[^\n]* 1/);
    // The rest of the batch went through.
    const out = await Promise.all((await readTopic(ctx.kafka, topics.resolved, 2)).map((message) => registry.decode<{ touchpoint: { eventId: string } }>(message.value ?? Buffer.alloc(0))));
    expect(out.map((record) => record.touchpoint.eventId).sort()).toEqual(['h1', 'h3']);

    // Batches of several partitions in one call: each event resolved, each dead letter naming
    // the partition its message came from.
    const more = await BatchProducer.connect(ctx.kafka);
    const several = handlerWith(more);
    const garbage = { key: null, value: Buffer.from('not avro'), offset: '7', timestamp: '0', attributes: 0, headers: {}, size: 0 } as unknown as KafkaMessage;
    await several(
      [
        { ...batchOf([{ eventId: 'p2', tenant: 'acme', eventTime: t + 3, identifiers: [{ type: 'user_id', value: 'two' }] }]), partition: 2 },
        { topic: topics.touchpoints, partition: 5, messages: [garbage] },
        { ...batchOf([{ eventId: 'p6', tenant: 'acme', eventTime: t + 4, identifiers: [{ type: 'user_id', value: 'six' }] }]), partition: 6 },
      ],
      context,
    );
    await more.disconnect();
    const deadLetters = await readTopic(ctx.kafka, topics.deadLetters, 2);
    expect(deadLetters.map((record) => [headerText(record.headers, DEAD_LETTER_HEADERS.partition), headerText(record.headers, DEAD_LETTER_HEADERS.offset)])).toEqual([
      ['0', '0'],
      ['5', '7'],
    ]);
    const all = await Promise.all((await readTopic(ctx.kafka, topics.resolved, 4)).map((message) => registry.decode<{ touchpoint: { eventId: string } }>(message.value ?? Buffer.alloc(0))));
    expect(all.map((record) => record.touchpoint.eventId).sort()).toEqual(['h1', 'h3', 'p2', 'p6']);
  });
});

describe('resolver handler: input it cannot resolve', () => {
  it('INVALID_TENANT: dead-letters a touchpoint whose tenant cannot be its Redis keys\' hash tag, and resolves the rest (regression: the graph\'s script failed, not retryable, and the resolver stopped on every restart)', async () => {
    const { topics, registry, metrics, deliver, messageOf } = await resolverOn('tenant');
    const t = 1795400700000;
    await deliver([
      messageOf({ eventId: 'bad-tenant', tenant: '}acme', eventTime: t, identifiers: [{ type: 'email', value: 'ann@x.io' }] }, 0),
      messageOf({ eventId: 'good-tenant', tenant: 'acme', eventTime: t + 1, identifiers: [{ type: 'email', value: 'bob@x.io' }] }, 1),
    ]);
    const [dead, ...others] = await readToEnd(ctx.kafka, topics.deadLetters);
    expect(others).toEqual([]);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.code)).toBe('INVALID_TENANT');
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.message)).toBe('Event bad-tenant: tenant "}acme" must not contain { or } (it is the hash tag {<tenant>} of its Redis keys)');
    const resolved = await Promise.all((await readToEnd(ctx.kafka, topics.resolved)).map((message) => registry.decode<{ touchpoint: { eventId: string } }>(message.value ?? Buffer.alloc(0))));
    expect(resolved.map((record) => record.touchpoint.eventId)).toEqual(['good-tenant']);
    expect(await metrics.getSingleMetricAsString('elephant_resolver_dead_lettered_total')).toMatch(/reason="INVALID_TENANT"[^\n]* 1/);
  });

  it('counts a dead letter once it is written: not for a send that failed and was retried (regression: each attempt counted it)', async () => {
    const { topics, metrics, handlerWith, messageOf } = await resolverOn('count');
    // The broker timing out the first send, as the consumer then retries the batch.
    const { handler, context } = await failingFirstHandler(handlerWith);
    const batch = { topic: topics.touchpoints, partition: 0, messages: [messageOf({ eventId: 'blocked', tenant: 'acme', eventTime: 1795400800000, identifiers: [{ type: 'email', value: 'test@test.com' }] }, 0)] };
    await expect(handler([batch], context)).rejects.toThrow('Request timed out');
    await handler([batch], context);
    expect(await readToEnd(ctx.kafka, topics.deadLetters)).toHaveLength(1);
    expect(await metrics.getSingleMetricAsString('elephant_resolver_dead_lettered_total')).toMatch(/reason="NO_RESOLVABLE_IDENTIFIER"[^\n]* 1$/);
    expect(await metrics.getSingleMetricAsString('elephant_resolver_excluded_identifiers_total')).toMatch(/reason="blocked_value"[^\n]* 1$/);
  });

  it('counts a resolved event once, as resolved, when its batch\'s send failed and was retried (regression: created, then again as a replay)', async () => {
    const { topics, metrics, handlerWith, messageOf } = await resolverOn('recount');
    const { handler, context } = await failingFirstHandler(handlerWith);
    const identifiers = [{ type: 'email', value: 'ann@recount.io' }, { type: 'email', value: 'test@test.com' }];
    const batch = { topic: topics.touchpoints, partition: 0, messages: [messageOf({ eventId: 'recount-1', tenant: 'acme', eventTime: 1795400900000, identifiers }, 0)] };
    await expect(handler([batch], context)).rejects.toThrow('Request timed out');
    expect(await metrics.getSingleMetricAsString('elephant_resolver_touchpoints_total')).not.toMatch(/outcome="created"[^\n]* 1$/m);
    await handler([batch], context);
    expect(await readToEnd(ctx.kafka, topics.resolved)).toHaveLength(1);
    const touchpoints = await metrics.getSingleMetricAsString('elephant_resolver_touchpoints_total');
    expect(touchpoints).toMatch(/outcome="created"[^\n]* 1$/m);
    expect(touchpoints).not.toMatch(/outcome="replay"[^\n]* [1-9]/);
    expect(await metrics.getSingleMetricAsString('elephant_resolver_excluded_identifiers_total')).toMatch(/reason="blocked_value"[^\n]* 1$/m);
    // A later redelivery of the same event is a replay, as before.
    await handler([batch], context);
    expect(await metrics.getSingleMetricAsString('elephant_resolver_touchpoints_total')).toMatch(/outcome="replay"[^\n]* 1$/m);
  });
});

/** A handler on a producer of its own whose first send fails (failingFirst), and a context to call it with. */
async function failingFirstHandler(handlerWith: (producer: BatchProducer) => PartitionsHandler): Promise<{ readonly handler: PartitionsHandler; readonly context: Parameters<PartitionsHandler>[1] }> {
  const producer = await BatchProducer.connect(ctx.kafka);
  onTestFinished(() => producer.disconnect());
  return { handler: handlerWith(failingFirst(producer)), context: { signal: new AbortController().signal, groupId: 'g' } };
}

/** `producer`, whose first send fails as a broker timing out would (KAFKA_UNAVAILABLE): the consumer then retries the batch. */
function failingFirst(producer: BatchProducer): BatchProducer {
  let failures = 1;
  return new Proxy(producer, {
    get: (target, property) => {
      if (property === 'send') {
        return (...args: Parameters<BatchProducer['send']>) => {
          if (failures > 0) {
            failures -= 1;
            return Promise.reject(new KafkaError('KAFKA_UNAVAILABLE', 'Request timed out', { retryable: true }));
          }
          return target.send(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('resolver handler: a record the broker refuses', () => {
  it('OUTPUT_REJECTED: dead-letters the touchpoint whose resolved record the broker refuses (MESSAGE_TOO_LARGE), with its original bytes, and goes on; again when the stored result is replayed after a restart (regression: the resolver stopped, and again on every restart)', async () => {
    // A resolved topic that takes records of a normal touchpoint and not a larger one.
    const { topics, registry, metrics, handlerWith, messageOf } = await resolverOn('large', { resolvedConfigs: { 'max.message.bytes': '1500' } });
    const t = 1795400600000;
    const tenant = 'oversize';
    const clicks = Array.from({ length: 60 }, (_, index) => ({ type: 'click_id', value: `click-${index}-0123456789abcdef0123456789` }));
    const events: EventLike[] = [
      { eventId: 'o1', tenant, eventTime: t, identifiers: [{ type: 'email', value: 'big@x.io' }] },
      { eventId: 'o2', tenant, eventTime: t + 1, identifiers: [{ type: 'user_id', value: 'big-user' }] },
      // Merges o2's profile into o1's; its resolved record (about 3 KB) is more than the topic takes.
      { eventId: 'o3', tenant, eventTime: t + 2, identifiers: [{ type: 'user_id', value: 'big-user' }, { type: 'email', value: 'big@x.io' }, ...clicks] },
      { eventId: 'o4', tenant, eventTime: t + 3, identifiers: [{ type: 'email', value: 'small@x.io' }] },
    ];
    const batch = {
      topic: topics.touchpoints,
      partition: 3,
      messages: events.map((event, index) => messageOf(event, 40 + index, Buffer.from('k'))),
    };
    const context = { signal: new AbortController().signal, groupId: 'g', nextOffset: '44' };

    const producer = await BatchProducer.connect(ctx.kafka);
    await handlerWith(producer)([batch], context);
    await producer.disconnect();
    const [dead] = await readTopic(ctx.kafka, topics.deadLetters, 1);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.code)).toBe(OUTPUT_REJECTED);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.message)).toMatch(/refused the resolved touchpoint of event o3 .*MESSAGE_TOO_LARGE/);
    expect(JSON.parse(headerText(dead?.headers, DEAD_LETTER_HEADERS.details) ?? '{}')).toEqual({ type: 'MESSAGE_TOO_LARGE', topic: topics.resolved, kind: 'resolved touchpoint' });
    expect([headerText(dead?.headers, DEAD_LETTER_HEADERS.partition), headerText(dead?.headers, DEAD_LETTER_HEADERS.offset)]).toEqual(['3', '42']);
    expect(dead?.value?.equals(batch.messages[2]?.value as Buffer)).toBe(true);
    expect(dead?.key?.toString()).toBe('k');
    // The others went out, and so did the merge o3 made: the graph did merge.
    const decodeAll = async (messages: KafkaMessage[]) => Promise.all(messages.map((message) => registry.decode<{ touchpoint: { eventId: string } }>(message.value ?? Buffer.alloc(0))));
    expect((await decodeAll(await readTopic(ctx.kafka, topics.resolved, 3))).map((record) => record.touchpoint.eventId).sort()).toEqual(['o1', 'o2', 'o4']);
    const merges = await Promise.all((await readTopic(ctx.kafka, topics.merges, 1)).map((message) => registry.decode<IdentityMerge>(message.value ?? Buffer.alloc(0))));
    expect(new Set(merges.map((entry) => entry.triggeringEventId))).toEqual(new Set(['o3']));
    expect(await metrics.getSingleMetricAsString('elephant_resolver_dead_lettered_total')).toMatch(/reason="OUTPUT_REJECTED"[^\n]* 1/);

    // A restart redelivers the batch: the stored results are replayed, o3's is refused again
    // and dead-lettered again, and the batch completes.
    const restarted = await BatchProducer.connect(ctx.kafka);
    await handlerWith(restarted)([batch], context);
    await restarted.disconnect();
    const deadLetters = await readTopic(ctx.kafka, topics.deadLetters, 2);
    expect(deadLetters.map((record) => headerText(record.headers, DEAD_LETTER_HEADERS.offset))).toEqual(['42', '42']);
    expect((await decodeAll(await readTopic(ctx.kafka, topics.resolved, 6))).map((record) => record.touchpoint.eventId).sort()).toEqual(['o1', 'o1', 'o2', 'o2', 'o4', 'o4']);
  });
});

/** One merge per value and window: a value that took part in one is quarantined before a second. */
const ONE_MERGE_PER_WINDOW: RulesDocument = { ...DEFAULT_RULES_DOCUMENT, defaults: { ...DEFAULT_RULES_DOCUMENT.defaults, quarantine: { ...DEFAULT_RULES_DOCUMENT.defaults.quarantine, maxMergesPerWindow: 1 } } };

/**
 * Six events (`<prefix>1`..`<prefix>6`, at `at(1)`..`at(6)`) after which the e-mail's profile
 * and the cookie's profile have each absorbed one other profile: one merge each, so that under
 * ONE_MERGE_PER_WINDOW an event carrying both quarantines both and is left unresolved.
 */
function twoProfilesMergedOnce(tenant: string, prefix: string, at: (n: number) => number, email: EventLike['identifiers'][number], cookie: EventLike['identifiers'][number], suffix: string): EventLike[] {
  const other = (value: string) => ({ type: 'anonymous_id', value: `${value}-${suffix}` });
  return [
    { eventId: `${prefix}1`, tenant, eventTime: at(1), identifiers: [email] },
    { eventId: `${prefix}2`, tenant, eventTime: at(2), identifiers: [other('z')] },
    { eventId: `${prefix}3`, tenant, eventTime: at(3), identifiers: [email, other('z')] },
    { eventId: `${prefix}4`, tenant, eventTime: at(4), identifiers: [cookie] },
    { eventId: `${prefix}5`, tenant, eventTime: at(5), identifiers: [other('w')] },
    { eventId: `${prefix}6`, tenant, eventTime: at(6), identifiers: [cookie, other('w')] },
  ];
}

describe('resolver handler: an event its own quarantine leaves unresolved', () => {
  it('publishes and counts the alerts of the values it quarantined before dead-lettering it UNRESOLVED_IDENTITY, names them in the message, and counts nothing again on redelivery (regression: no alert, no counter)', async () => {
    const { topics, registry, graph, metrics, messageOf, deliver } = await resolverOn('unresolved');
    const rules = ONE_MERGE_PER_WINDOW;
    const tenant = 'unresolved';
    const t = 1795400700000;
    const email = { type: 'email', value: 'x@unresolved.example.net' };
    const cookie = { type: 'anonymous_id', value: 'y-unresolved' };
    let offset = 0;
    const run = (events: EventLike[]): Promise<void> => deliver(events.map((event) => messageOf(event, offset++)), rules);
    const at = (n: number) => t + n * 1000;
    await run(twoProfilesMergedOnce(tenant, 'u', at, email, cookie, 'unresolved'));
    expect(await readTopic(ctx.kafka, topics.merges, 2)).toHaveLength(2);
    // Merging the two would be a second merge for both values: both are quarantined, nothing is left to link.
    const trigger: EventLike = { eventId: 'u7', tenant, eventTime: at(7), identifiers: [email, cookie, { type: 'email', value: 'test@test.com' }] };
    await run([trigger]);

    const [dead] = await readTopic(ctx.kafka, topics.deadLetters, 1);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.code)).toBe('UNRESOLVED_IDENTITY');
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.message)).toBe('Event u7 has no identifier that may link: email (blocked_value:email "test@test.com"), email (quarantined now: too_many_merges), anonymous_id (quarantined now: too_many_merges)');
    const alerts = await Promise.all((await readTopic(ctx.kafka, topics.alerts, 2)).map((message) => registry.decode<IdentityAlert>(message.value ?? Buffer.alloc(0))));
    expect(alerts.map((entry) => [entry.identifierType, entry.identifierValue, entry.reason, entry.observed, entry.threshold, entry.triggeringEventId]).sort()).toEqual([
      ['anonymous_id', cookie.value, 'too_many_merges', 2, 1, 'u7'],
      ['email', email.value, 'too_many_merges', 2, 1, 'u7'],
    ]);
    expect(await graph.quarantineOf(tenant, email)).toMatchObject({ reason: 'too_many_merges', event: 'u7' });
    const counted = async (name: string, label: string): Promise<number> => Number(new RegExp(`${label}[^\\n]* (\\d+)`).exec(await metrics.getSingleMetricAsString(name))?.[1] ?? 0);
    expect(await counted('elephant_resolver_quarantined_total', 'reason="too_many_merges"')).toBe(2);
    expect(await counted('elephant_resolver_excluded_identifiers_total', 'reason="quarantined"')).toBe(2);
    expect(await counted('elephant_resolver_excluded_identifiers_total', 'reason="blocked_value"')).toBe(1);

    // Redelivered: dead-lettered again, the alerts re-published with the same ids, nothing counted again.
    await run([trigger]);
    const deadAgain = await readTopic(ctx.kafka, topics.deadLetters, 2);
    expect(deadAgain.map((record) => headerText(record.headers, DEAD_LETTER_HEADERS.message))).toEqual([headerText(dead?.headers, DEAD_LETTER_HEADERS.message), headerText(dead?.headers, DEAD_LETTER_HEADERS.message)]);
    const alertsAgain = await Promise.all((await readTopic(ctx.kafka, topics.alerts, 4)).map((message) => registry.decode<IdentityAlert>(message.value ?? Buffer.alloc(0))));
    expect(new Set(alertsAgain.map((entry) => entry.alertId))).toEqual(new Set(alerts.map((entry) => entry.alertId)));
    expect(alertsAgain).toHaveLength(4);
    expect(await counted('elephant_resolver_quarantined_total', 'reason="too_many_merges"')).toBe(2);
    expect(await counted('elephant_resolver_excluded_identifiers_total', 'reason="quarantined"')).toBe(2);
    expect(await counted('elephant_resolver_excluded_identifiers_total', 'reason="blocked_value"')).toBe(1);
  });
});

describe('resolver handler: an unresolved event whose alerts the broker refuses', () => {
  it('dead-letters it as UNRESOLVED_IDENTITY only (regression: a second dead letter, OUTPUT_REJECTED, for the same record)', async () => {
    // An alerts topic that takes no alert.
    const { topics, messageOf, deliver } = await resolverOn('unresolved-refused', { alertsConfigs: { 'max.message.bytes': '100' } });
    const tenant = 'unresolved-refused';
    const at = (n: number) => 1795400800000 + n * 1000;
    const email = { type: 'email', value: 'x@refused.example.net' };
    const cookie = { type: 'anonymous_id', value: 'y-refused' };
    let offset = 0;
    const run = (events: EventLike[]): Promise<void> => deliver(events.map((event) => messageOf(event, offset++)), ONE_MERGE_PER_WINDOW);
    // Two profiles with one merge each, then an event whose merge would quarantine both values.
    await run(twoProfilesMergedOnce(tenant, 'r', at, email, cookie, 'refused'));
    await run([{ eventId: 'r7', tenant, eventTime: at(7), identifiers: [email, cookie] }]);
    // Every send was acknowledged before run returned: the topic holds all there is. The
    // refused send may have written the dead letter already, and the send after it writes it
    // again (dead letters are at-least-once): copies of the one dead letter, nothing else.
    const dead = await readToEnd(ctx.kafka, topics.deadLetters);
    expect(new Set(dead.map((record) => `${headerText(record.headers, DEAD_LETTER_HEADERS.code)} ${headerText(record.headers, DEAD_LETTER_HEADERS.offset)}`))).toEqual(new Set(['UNRESOLVED_IDENTITY 6']));
    expect(await readToEnd(ctx.kafka, topics.alerts)).toEqual([]);
  });
});

describe('resolver handler: limits', () => {
  it('resolves the events of a profile holding more than a lowered limit (regression: dead-lettered, its login dropped as limit:email); an event a limit leaves unresolved names the identifier dropped and the limit in the UNRESOLVED_IDENTITY message (regression: "...may link: " and nothing after)', async () => {
    const { topics, registry, messageOf, deliver } = await resolverOn('lowered');
    const tenant = 'lowered';
    const t = 1795400900000;
    const run = (rules: RulesDocument, events: EventLike[]): Promise<void> => deliver(events.map((event, index) => messageOf(event, index)), rules);
    const user = { type: 'user_id', value: 'lowered-user' };
    await run(DEFAULT_RULES_DOCUMENT, [
      { eventId: 'l1', tenant, eventTime: t, identifiers: [user, { type: 'email', value: 'one@lowered.example.net' }] },
      { eventId: 'l2', tenant, eventTime: t + 1, identifiers: [user, { type: 'email', value: 'two@lowered.example.net' }] },
    ]);
    // The e-mail limit lowered below what the profile holds: it stops the profile growing, and
    // nothing else.
    const limitedTo = (email: number): RulesDocument => ({ ...DEFAULT_RULES_DOCUMENT, defaults: { ...DEFAULT_RULES_DOCUMENT.defaults, limits: { ...DEFAULT_RULES_DOCUMENT.defaults.limits, email } } });
    await run(limitedTo(1), [
      { eventId: 'l3', tenant, eventTime: t + 2, identifiers: [user] },
      { eventId: 'l4', tenant, eventTime: t + 3, identifiers: [user, { type: 'email', value: 'three@lowered.example.net' }] },
    ]);
    const decoded = await Promise.all((await readTopic(ctx.kafka, topics.resolved, 4)).map((message) => registry.decode<{ touchpoint: { eventId: string }; profileId: string; excludedIdentifiers: { type: string; value: string; reason: string }[] }>(message.value ?? Buffer.alloc(0))));
    const [l3, l4] = ['l3', 'l4'].map((eventId) => decoded.find((record) => record.touchpoint.eventId === eventId));
    expect(l3?.profileId).toBe(decoded[0]?.profileId);
    expect(l4?.profileId).toBe(decoded[0]?.profileId);
    expect(l4?.excludedIdentifiers).toEqual([{ type: 'email', value: 'three@lowered.example.net', reason: 'limit:email' }]);

    // A limit leaves an event unresolved only when it is below 1 (the rules parser refuses one;
    // given to the handler directly): its only identifier is dropped.
    await run(limitedTo(0), [{ eventId: 'l5', tenant, eventTime: t + 4, identifiers: [{ type: 'email', value: 'four@lowered.example.net' }] }]);
    const [dead] = await readTopic(ctx.kafka, topics.deadLetters, 1);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.code)).toBe('UNRESOLVED_IDENTITY');
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.message)).toBe('Event l5 has no identifier that may link: email (limit:email)');
  });
});

describe('resolver handler: redelivery', () => {
  it('counts a resolved event\'s blocked identifiers once: not again when it is redelivered (regression: counted on every delivery)', async () => {
    const { topics, metrics, messageOf, deliver } = await resolverOn('redelivered');
    const event: EventLike = { eventId: 'r1', tenant: 'redelivered', eventTime: 1795400800000, identifiers: [{ type: 'user_id', value: 'r-user' }, { type: 'email', value: 'test@test.com' }, { type: 'email', value: 'noreply@redelivered.example.net' }] };
    const message = messageOf(event, 0);
    for (let delivery = 0; delivery < 2; delivery += 1) await deliver([message]);
    expect(await readTopic(ctx.kafka, topics.resolved, 2)).toHaveLength(2);
    const text = await metrics.getSingleMetricAsString('elephant_resolver_excluded_identifiers_total');
    expect(text).toMatch(/reason="blocked_value"[^\n]* 1(\n|$)/);
    expect(text).toMatch(/reason="blocked_pattern"[^\n]* 1(\n|$)/);
    expect(await metrics.getSingleMetricAsString('elephant_resolver_touchpoints_total')).toMatch(/outcome="replay"[^\n]* 1(\n|$)/);
  });
});
