import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedTouchpoint } from '@elephant/identity';
import type { ProfileSnapshot, ProfileUpdate } from '@elephant/profiles';
import { erasureRequestSchema, topicsOf } from '@elephant/profile-builder';
import { BatchProducer, readToEnd } from '@elephant/kafka';
import { connectRedis } from '@elephant/redis';
import type { AvroSchema } from '@elephant/registry';
import { createTestContext, waitUntil } from '@elephant/testing';
import { decodeAll, keyContents, startPipeline, touchpoint, type Pipeline } from './harness.ts';

const ctx = createTestContext('builder');
const pipelines: Pipeline[] = [];

afterAll(async () => {
  await Promise.all(pipelines.map((pipeline) => pipeline.stop()));
  for (const pipeline of pipelines) expect(pipeline.fatal).toEqual([]);
  await ctx.cleanup();
});

const at = (day: number, hour = 10): string => new Date(Date.UTC(2026, 9, day, hour)).toISOString();

/** Every update and the latest snapshot per profile, once `done` holds. */
async function outputs(pipeline: Pipeline, done: (snapshots: Map<string, ProfileSnapshot | null>, updates: ProfileUpdate[]) => boolean): Promise<{ updates: ProfileUpdate[]; snapshots: Map<string, ProfileSnapshot | null> }> {
  const topics = topicsOf(pipeline.config);
  let result: { updates: ProfileUpdate[]; snapshots: Map<string, ProfileSnapshot | null> } | undefined;
  await waitUntil(
    async () => {
      // Snapshots first: a snapshot is committed with its update, so the updates read next hold
      // at least every update behind the snapshots seen (a condition on a snapshot then sees them).
      const snapshots = new Map<string, ProfileSnapshot | null>();
      for (const message of await readToEnd(ctx.kafka, topics.snapshots)) snapshots.set(message.key?.toString() ?? '', message.value ? await pipeline.registry.decode<ProfileSnapshot>(message.value) : null);
      const updates = await decodeAll<ProfileUpdate>(pipeline.registry, await readToEnd(ctx.kafka, topics.updates));
      result = { updates, snapshots };
      return done(snapshots, updates);
    },
    { timeoutMs: 60000, intervalMs: 500, message: 'the profile outputs' },
  );
  if (!result) throw new Error('no outputs');
  return result;
}


function journey(): ReturnType<typeof touchpoint>[] {
  return [
    touchpoint('crm', { type: 'created', id: 'crm-evt-1', occurredAt: at(1), contact: { id: 'crm-42', firstName: 'Adeline', lastName: 'Lovelace', emails: ['ada@lovelace.dev'], phones: ['(415) 555-0142'], loyaltyCard: 'LC-42' } }),
    touchpoint('web', { type: 'identify', messageId: 'web-1', anonymousId: 'cookie-42', userId: 'u-42', timestamp: at(2), traits: { email: 'ADA@lovelace.dev', firstName: 'Ada' } }),
    touchpoint('web', { type: 'track', event: 'Order Completed', messageId: 'web-2', userId: 'u-42', timestamp: at(3), properties: { order_id: 'o-1', total: 120, currency: 'USD', products: [{ product_id: 'p-1', name: 'Trail shoe', price: 120, quantity: 1 }] } }),
    touchpoint('email', [
      { email: 'ada@lovelace.dev', timestamp: Date.parse(at(4)) / 1000, event: 'open', sg_event_id: 'sg-1', sg_message_id: 'm-1' },
    ]),
    touchpoint('email', [{ email: 'ada@lovelace.dev', timestamp: Date.parse(at(4, 11)) / 1000, event: 'click', sg_event_id: 'sg-2', sg_message_id: 'm-1', url: 'https://shop.test/sale' }]),
    touchpoint('pos', { type: 'purchase', id: 'txn-1', occurredAt: at(5), storeId: 's-1', loyaltyCard: 'LC-42', currency: 'USD', lineItems: [{ productId: 'p-2', name: 'Socks', quantity: 2, unitPrice: 15 }], total: 30 }),
    touchpoint('pos', { type: 'return', id: 'txn-2', occurredAt: at(6), storeId: 's-1', loyaltyCard: 'LC-42', currency: 'USD', lineItems: [{ productId: 'p-2', name: 'Socks', quantity: 1, unitPrice: 10 }], total: 10 }),
    touchpoint('support', { type: 'call', id: 'call-1', occurredAt: at(7), callerPhone: '+1 415 555 0142', agent: 'agent-5', reason: 'sizing', resolution: 'resolved', satisfactionScore: 4 }),
    touchpoint('loyalty', { type: 'coupon', id: 'red-1', occurredAt: at(8), loyaltyCard: 'LC-42', couponCode: 'WELCOME10' }),
    touchpoint('content', { type: 'download', id: 'dl-1', occurredAt: at(9), anonymousId: 'cookie-42', email: 'ada@lovelace.dev', contentId: 'guide-1', title: 'Trail running guide' }),
  ];
}

describe('profile builder on the real stack', () => {
  it("builds one customer's profile across channels: the expected profile and the exact sequence of updates, versions 1..n", async () => {
    const startedAt = Date.now();
    const pipeline = await startPipeline(ctx, 'journey');
    pipelines.push(pipeline);
    const events = journey();
    await pipeline.publish(events);
    const survivorOf = async (): Promise<string | undefined> => pipeline.resolver.graph.profileOf('acme', { type: 'email', value: 'ada@lovelace.dev' });
    const { updates, snapshots } = await outputs(pipeline, (latest) => [...latest.values()].some((snapshot) => snapshot?.computed.eventsCount === events.length));
    const profileId = await survivorOf();
    const snapshot = snapshots.get(profileId ?? '');
    const ms = (day: number, hour = 10): number => Date.parse(at(day, hour));
    // The whole profile, worked out by hand from the ten touchpoints above.
    expect(snapshot).toMatchObject({
      profileId,
      tenant: 'acme',
      version: 10,
      mergedFrom: [],
      createdAt: Date.UTC(2026, 10, 2), // the first touchpoint's ingest time
      // lastSeen: the latest touchpoint carrying each (the content download carries cookie and e-mail)
      identities: [
        { type: 'anonymous_id', value: 'cookie-42', lastSeen: ms(9) },
        { type: 'crm_id', value: 'crm-42', lastSeen: ms(1) },
        { type: 'email', value: 'ada@lovelace.dev', lastSeen: ms(9) },
        { type: 'loyalty_card', value: 'LC42', lastSeen: ms(8) },
        { type: 'phone', value: '+14155550142', lastSeen: ms(7) },
        { type: 'user_id', value: 'u-42', lastSeen: ms(3) },
      ],
      // The web identify (Segment, trust 70) beats the CRM's hand-typed first name (trust 50).
      traits: {
        email: 'ada@lovelace.dev',
        phone: '+14155550142',
        firstName: 'Ada',
        lastName: 'Lovelace',
        provenance: { firstName: { source: 'segment', trust: 70, eventTime: ms(2) }, lastName: { source: 'crm', trust: 50, eventTime: ms(1) } },
      },
      consent: [],
    });
    expect(snapshot?.computed).toEqual({
      eventsCount: 10,
      firstSeen: ms(1),
      lastSeen: ms(9),
      channels: {
        content: { events: 1, firstSeen: ms(9), lastSeen: ms(9) },
        crm: { events: 1, firstSeen: ms(1), lastSeen: ms(1) },
        email: { events: 2, firstSeen: ms(4), lastSeen: ms(4, 11) },
        loyalty: { events: 1, firstSeen: ms(8), lastSeen: ms(8) },
        pos: { events: 2, firstSeen: ms(5), lastSeen: ms(6) },
        support: { events: 1, firstSeen: ms(7), lastSeen: ms(7) },
        web: { events: 2, firstSeen: ms(2), lastSeen: ms(3) },
      },
      channelsUsed: ['content', 'crm', 'email', 'loyalty', 'pos', 'support', 'web'],
      // web, email and pos have two each: the latest lastSeen (pos, day 6) wins.
      preferredChannel: 'pos',
      lifetimeValue: { USD: 14000 }, // 120 + 30 - 10
      ordersCount: 2,
      returnsCount: 1,
      firstOrderAt: ms(3),
      lastOrderAt: ms(5),
      products: [
        { productId: 'p-2', lastPurchasedAt: ms(5) }, // the return on day 6 is not a purchase
        { productId: 'p-1', lastPurchasedAt: ms(3) },
      ],
      contentEvents: 1,
      content: [{ contentId: 'guide-1', channel: 'content', lastAt: ms(9) }],
      email: { delivered: 0, opens: 1, clicks: 1, bounces: 0, unsubscribed: false, subscriptionChangedAt: null, lastEngagedAt: ms(4, 11) },
      support: { contacts: 1, lastContactAt: ms(7), lastSatisfactionScore: 4, lastSatisfactionAt: ms(7) },
      loyalty: { couponsRedeemed: 1, pointsDelta: 0 },
      journeyStage: 'expand', // from the second order on
    });

    // The exact sequence: one touchpoint update per event, in publish order, versions 1..10.
    const mine = updates.filter((update) => update.profileId === profileId);
    expect(mine.map((update) => [update.version, update.kind, update.causeEventId])).toEqual(events.map((event, index) => [index + 1, 'touchpoint', event.eventId]));
    // How far the profile is behind its channels: one observation per applied touchpoint, from
    // its ingestTime (the harness's, 2026-11-02) to the acknowledgement of its update.
    const observed = { count: 0, sum: 0, overAnHour: 0 };
    for (const builder of pipeline.builders) {
      const text = await builder.metrics.getSingleMetricAsString('elephant_builder_update_delay_seconds');
      const sample = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? 'NaN');
      observed.count += sample(/^elephant_builder_update_delay_seconds_count(?:\{[^}]*\})? (\S+)$/m);
      observed.sum += sample(/^elephant_builder_update_delay_seconds_sum(?:\{[^}]*\})? (\S+)$/m);
      observed.overAnHour += sample(/^elephant_builder_update_delay_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} (\S+)$/m) - sample(/^elephant_builder_update_delay_seconds_bucket\{[^}]*le="3600"[^}]*\} (\S+)$/m);
    }
    expect(observed.count).toBe(events.length);
    expect(observed.overAnHour).toBe(events.length);
    // In seconds: between the test's start and now, less the harness's ingestTime, each.
    expect(observed.sum).toBeGreaterThanOrEqual((events.length * (startedAt - Date.UTC(2026, 10, 2))) / 1000);
    expect(observed.sum).toBeLessThanOrEqual((events.length * (Date.now() - Date.UTC(2026, 10, 2))) / 1000);
    const after = (update: ProfileUpdate | undefined, path: string): unknown => {
      const change = update?.changes.find((entry) => entry.path === path);
      return change === undefined ? 'unchanged' : change.after === null ? null : (JSON.parse(change.after) as unknown);
    };
    const key = (update: ProfileUpdate | undefined, paths: readonly string[]): Record<string, unknown> => Object.fromEntries(paths.map((path) => [path, after(update, path)]));
    const [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10] = mine;
    expect(key(v1, ['traits.firstName', 'traits.lastName', 'identities.crm_id.crm-42', 'identities.loyalty_card.LC42', 'computed.preferredChannel', 'computed.firstSeen'])).toEqual({
      'traits.firstName': 'Adeline',
      'traits.lastName': 'Lovelace',
      'identities.crm_id.crm-42': 'crm-42',
      'identities.loyalty_card.LC42': 'LC42',
      'computed.preferredChannel': 'crm',
      'computed.firstSeen': ms(1),
    });
    expect(key(v2, ['traits.firstName', 'traits.email', 'identities.user_id.u-42', 'computed.preferredChannel'])).toEqual({ 'traits.firstName': 'Ada', 'traits.email': 'unchanged', 'identities.user_id.u-42': 'u-42', 'computed.preferredChannel': 'web' });
    expect(v2?.changes.find((change) => change.path === 'traits.firstName')?.before).toBe(JSON.stringify('Adeline'));
    expect(key(v3, ['computed.ordersCount', 'computed.lifetimeValue.USD', 'computed.products.p-1', 'computed.firstOrderAt'])).toEqual({ 'computed.ordersCount': 1, 'computed.lifetimeValue.USD': 12000, 'computed.products.p-1': ms(3), 'computed.firstOrderAt': ms(3) });
    expect(key(v4, ['computed.email.opens', 'computed.channelsUsed'])).toEqual({ 'computed.email.opens': 1, 'computed.channelsUsed': ['crm', 'email', 'web'] });
    expect(key(v5, ['computed.email.clicks', 'computed.preferredChannel'])).toEqual({ 'computed.email.clicks': 1, 'computed.preferredChannel': 'email' });
    expect(key(v6, ['computed.ordersCount', 'computed.lifetimeValue.USD', 'computed.products.p-2', 'computed.journeyStage'])).toEqual({ 'computed.ordersCount': 2, 'computed.lifetimeValue.USD': 15000, 'computed.products.p-2': ms(5), 'computed.journeyStage': 'expand' });
    expect(key(v7, ['computed.returnsCount', 'computed.lifetimeValue.USD', 'computed.preferredChannel', 'computed.products.p-2'])).toEqual({ 'computed.returnsCount': 1, 'computed.lifetimeValue.USD': 14000, 'computed.preferredChannel': 'pos', 'computed.products.p-2': 'unchanged' });
    expect(key(v8, ['computed.support.contacts', 'computed.support.lastSatisfactionScore', 'identities.phone.+14155550142'])).toEqual({ 'computed.support.contacts': 1, 'computed.support.lastSatisfactionScore': 4, 'identities.phone.+14155550142': 'unchanged' });
    expect(key(v9, ['computed.loyalty.couponsRedeemed'])).toEqual({ 'computed.loyalty.couponsRedeemed': 1 });
    expect(key(v10, ['computed.content.content.guide-1', 'computed.contentEvents', 'computed.lastSeen'])).toEqual({ 'computed.content.content.guide-1': ms(9), 'computed.contentEvents': 1, 'computed.lastSeen': ms(9) });
    // The journey stage only moves forward: its values in update order.
    const stages = mine.flatMap((update) => update.changes.filter((change) => change.path === 'computed.journeyStage').map((change) => [update.version, JSON.parse(change.after ?? 'null') as unknown]));
    expect(stages).toEqual([
      [1, 'acquire'], // a CRM contact created
      [4, 'engage'], // the first e-mail engagement (the first order, v3, is still acquire)
      [6, 'expand'], // the second order
    ]);
  });

  it('reconciles by trust, then recency, and a late older event never overwrites a newer value', async () => {
    const pipeline = await startPipeline(ctx, 'trust');
    pipelines.push(pipeline);
    const identify = (id: string, day: number, firstName: string): ReturnType<typeof touchpoint> => touchpoint('web', { type: 'identify', messageId: id, userId: 'u-7', timestamp: at(day), traits: { firstName } });
    await pipeline.publish([
      identify('w1', 10, 'Grace'),
      touchpoint('crm', { type: 'updated', id: 'crm-7', occurredAt: at(11), contact: { id: 'crm-7', firstName: 'G.', userId: 'u-7' } }),
      identify('w2', 5, 'Late'),
      identify('w3', 12, 'Grace B.'),
    ]);
    const profileOf = (): Promise<string | undefined> => pipeline.resolver.graph.profileOf('acme', { type: 'user_id', value: 'u-7' });
    const { updates, snapshots } = await outputs(pipeline, (latest) => [...latest.values()].some((snapshot) => snapshot?.computed.eventsCount === 4));
    const profileId = await profileOf();
    const firstNames = updates
      .filter((update) => update.profileId === profileId)
      .flatMap((update) => update.changes.filter((change) => change.path === 'traits.firstName').map((change) => change.after));
    // Grace (t10) → [CRM's G. loses on trust] → [the late t5 event loses on recency] → Grace B. (t12)
    expect(firstNames.map((value) => (value === null ? null : (JSON.parse(value) as string)))).toEqual(['Grace', 'Grace B.']);
    expect(snapshots.get(profileId ?? '')?.traits.firstName).toBe('Grace B.');
  });

  it('folds both states on a merge (in-flight touchpoints included), counts nothing twice, and tombstones the merged profile', async () => {
    const pipeline = await startPipeline(ctx, 'merge');
    pipelines.push(pipeline);
    await Promise.all(pipeline.builders.map((builder) => builder.stop()));
    pipeline.builders.length = 0;
    await pipeline.publish([
      touchpoint('crm', { type: 'created', id: 'm-1', occurredAt: at(1), contact: { id: 'crm-9', emails: ['lin@merge.dev'] } }),
      touchpoint('web', { type: 'page', messageId: 'm-2', anonymousId: 'cookie-9', timestamp: at(2), properties: { url: 'https://shop.test/' } }),
      touchpoint('web', { type: 'track', event: 'Order Completed', messageId: 'm-3', anonymousId: 'cookie-9', timestamp: at(3), properties: { order_id: 'o-9', total: 50, currency: 'USD', products: [] } }),
      touchpoint('web', { type: 'identify', messageId: 'm-4', anonymousId: 'cookie-9', timestamp: at(4), traits: { email: 'lin@merge.dev' } }),
      touchpoint('web', { type: 'page', messageId: 'm-5', anonymousId: 'cookie-9', timestamp: at(5), properties: { url: 'https://shop.test/again' } }),
    ]);
    // Resolution (and the merge) happens before any builder runs: the merged profile's
    // touchpoints are in flight on its own partition when the builder starts.
    const survivor = await waitUntil(async () => {
      const crm = await pipeline.resolver.graph.profileOf('acme', { type: 'crm_id', value: 'crm-9' });
      const cookie = await pipeline.resolver.graph.profileOf('acme', { type: 'anonymous_id', value: 'cookie-9' });
      return crm !== undefined && crm === cookie ? crm : undefined;
    });
    await pipeline.startBuilder();
    const { updates, snapshots } = await outputs(pipeline, (latest) => latest.get(survivor)?.computed.eventsCount === 5);
    const merge = updates.find((update) => update.kind === 'merge' && update.profileId === survivor);
    expect(merge?.mergedProfileIds).toHaveLength(1);
    const merged = merge?.mergedProfileIds[0] ?? '';
    expect(snapshots.get(survivor)?.computed).toMatchObject({ eventsCount: 5, ordersCount: 1, lifetimeValue: { USD: 5000 } });
    expect(snapshots.get(survivor)?.mergedFrom).toContain(merged);
    expect(snapshots.has(merged) ? snapshots.get(merged) : null).toBeNull();
    // The merged profile publishes nothing after its merge. Its updates and the announcement sit
    // on different partitions (no order between them), so compare versions: the announcement's
    // eventsCount change is what the absorbed state held when folded (0 when the builder folded
    // it before applying any of its touchpoints), one version per event, so no update of the
    // merged id may carry a version above it.
    const counted = merge?.changes.find((change) => change.path === 'computed.eventsCount');
    const foldedVersion = Number(JSON.parse(counted?.after ?? '0')) - Number(JSON.parse(counted?.before ?? '0'));
    const afterMerge = updates.filter((update) => update.profileId === merged && update.version > foldedVersion);
    expect(afterMerge).toEqual([]);

    // Whether one of the five took the forwarding path above depends on timing. So one more
    // touchpoint resolved to the merged id (before the merge, as far as the resolver knew)
    // reaches the builder now, after the fold: it must land on the survivor.
    const topics = topicsOf(pipeline.config);
    const ofMerged = await waitUntil(async () => (await readToEnd(ctx.kafka, topics.resolved)).find((message) => message.key?.toString() === merged), { message: 'a resolved record of the merged profile' });
    const record = await pipeline.registry.decode<ResolvedTouchpoint>(ofMerged.value ?? Buffer.alloc(0));
    const producer = await BatchProducer.connect(ctx.kafka);
    try {
      await producer.send([{ topic: topics.resolved, messages: [{ key: merged, value: pipeline.registry.encode((ofMerged.value ?? Buffer.alloc(5)).readInt32BE(1), { ...record, touchpoint: { ...record.touchpoint, eventId: 'm-in-flight', properties: { ...record.touchpoint.properties, probe: 'kept' } } }) }] }]);
    } finally {
      await producer.disconnect();
    }
    const later = await outputs(pipeline, (latest) => latest.get(survivor)?.computed.eventsCount === 6);
    expect(later.updates.filter((update) => update.causeEventId === 'm-in-flight').map((update) => update.profileId)).toEqual([survivor]);
    // Forwarded whole: the builder reads touchpoints without their properties, the survivor's writer gets them all.
    const forwarded = await Promise.all((await readToEnd(ctx.kafka, topics.resolved)).filter((message) => message.key?.toString() === survivor).map((message) => pipeline.registry.decode<ResolvedTouchpoint>(message.value ?? Buffer.alloc(0))));
    expect(forwarded.find((entry) => entry.touchpoint.eventId === 'm-in-flight')?.touchpoint.properties).toEqual({ ...record.touchpoint.properties, probe: 'kept' });
    const metrics = await pipeline.builders[0]?.metrics.getSingleMetricAsString('elephant_builder_touchpoints_total');
    expect(Number(/outcome="forwarded"[^}]*\} (\d+)/.exec(metrics ?? '')?.[1] ?? '0')).toBeGreaterThan(0);
    expect(later.updates.filter((update) => update.profileId === merged && update.version > foldedVersion)).toEqual([]);
  });

  it('erases a person: nothing left in Redis, a tombstone, and in-flight events do not recreate them', async () => {
    const pipeline = await startPipeline(ctx, 'erase');
    pipelines.push(pipeline);
    const secret = ['eve@erase.dev', '+14155550177', 'cookie-eve', 'LC-EVE', 'Eve', 'crm-eve'];
    await pipeline.publish([
      touchpoint('crm', { type: 'created', id: 'e-1', occurredAt: at(1), contact: { id: 'crm-eve', firstName: 'Eve', emails: ['eve@erase.dev'], phones: ['+1 415 555 0177'], loyaltyCard: 'LC-EVE' } }),
      touchpoint('web', { type: 'identify', messageId: 'e-2', anonymousId: 'cookie-eve', timestamp: at(2), traits: { email: 'eve@erase.dev' } }),
    ]);
    const profileId = await waitUntil(() => pipeline.resolver.graph.profileOf('acme', { type: 'email', value: 'eve@erase.dev' }));
    await outputs(pipeline, (latest) => latest.get(profileId)?.computed.eventsCount === 2);

    const requestedAt = Date.UTC(2026, 10, 3);
    const topics = topicsOf(pipeline.config);
    const { id } = await pipeline.registry.register(`${topics.erasures}-value`, erasureRequestSchema as unknown as AvroSchema);
    const producer = await BatchProducer.connect(ctx.kafka);
    await producer.send([{ topic: topics.erasures, messages: [{ key: profileId, value: pipeline.registry.encode(id, { requestId: 'gdpr-1', tenant: 'acme', profileId, requestedAt, reason: null }) }] }]);
    await producer.disconnect();
    const { updates, snapshots } = await outputs(pipeline, (latest, all) => all.some((update) => update.kind === 'erasure') && latest.get(profileId) === null);
    const erasure = updates.find((update) => update.kind === 'erasure');
    expect(erasure?.version).toBeGreaterThan(Math.max(...updates.filter((update) => update.kind !== 'erasure' && update.profileId === profileId).map((update) => update.version)));
    expect(snapshots.get(profileId)).toBeNull();

    // An event ingested before the request (in flight) must not bring Eve back.
    await pipeline.publish([touchpoint('web', { type: 'page', messageId: 'e-3', anonymousId: 'cookie-eve', timestamp: at(2, 12), properties: {} }, requestedAt - 1000)]);
    await waitUntil(async () => (await pipeline.resolver.metrics.getSingleMetricAsString('elephant_resolver_touchpoints_total')).includes('outcome="erased"'), { message: 'the leftover to be dropped' });
    expect(await pipeline.resolver.graph.profileOf('acme', { type: 'anonymous_id', value: 'cookie-eve' })).toBeUndefined();

    const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
    try {
      const keys = await redis.keys(`${ctx.keyPrefix}erase:*`);
      const leaks: string[] = [];
      for (const key of keys) {
        const content = await keyContents(redis, key);
        for (const value of secret) if (key.includes(value) || content.some((item) => item?.includes(value))) leaks.push(`${key} holds ${value}`);
        if (key.includes(`ps:${profileId}`) || key.includes(`p:${profileId}:ids`)) leaks.push(`${key} still exists`);
      }
      expect(leaks).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
