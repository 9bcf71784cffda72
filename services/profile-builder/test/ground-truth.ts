/**
 * A generated stream whose outcome is known, and the checks that a pipeline's profiles and
 * updates match it: shared by the tests that disturb the builder (chaos.it.test.ts kills it,
 * redis-outage.it.test.ts cuts it off Redis).
 */
import { expect } from 'vitest';
import type { Touchpoint } from '@elephant/channels';
import type { Population, TestEvent } from '@elephant/identity';
import { readToEnd } from '@elephant/kafka';
import type { ProfileUpdate } from '@elephant/profiles';
import { connectRedis } from '@elephant/redis';
import type { TestContext } from '@elephant/testing';
import { topicsOf } from '@elephant/profile-builder';
import type { Pipeline } from './harness.ts';

/** About every fifth event is an order, so money is counted too; decided by the event id, so a redelivered copy is the same order. */
export function countedTouchpoint(event: TestEvent): Touchpoint {
  const hash = [...event.eventId].reduce((sum, char) => (sum * 31 + char.charCodeAt(0)) % 1000003, 7);
  const order = hash % 5 === 0;
  const amount = 1000 + (hash % 7) * 100;
  return {
    eventId: event.eventId,
    tenant: event.tenant,
    channel: event.channel,
    source: { system: 'chaos', trust: 50, eventId: event.eventId },
    eventType: order ? 'order_completed' : 'custom_event',
    journeyStage: order ? 'acquire' : 'engage',
    eventTime: event.eventTime,
    ingestTime: event.eventTime,
    identifiers: event.identifiers.map((identifier) => ({ type: identifier.type, value: identifier.value })),
    traits: null,
    commerce: order ? { kind: 'purchase', orderId: `o-${event.eventId}`, returnId: null, currency: 'USD', lineItems: [], totalMinor: amount } : null,
    campaign: null,
    content: null,
    email: null,
    support: null,
    loyalty: null,
    store: null,
    properties: {},
  };
}

/** The population's events as touchpoints, and the amount of each order by event id. */
export function countedStream(population: Population): { touchpoints: Touchpoint[]; amounts: Map<string, number> } {
  const amounts = new Map<string, number>();
  const touchpoints = population.events.map((event) => {
    const touchpoint = countedTouchpoint(event);
    if (touchpoint.commerce && !amounts.has(touchpoint.eventId)) amounts.set(touchpoint.eventId, touchpoint.commerce.totalMinor);
    return touchpoint;
  });
  return { touchpoints, amounts };
}

/**
 * Every live profile's counters equal what the identity graph resolved to it, and over all of
 * them every resolvable generated event and order counts once. Returns the live profiles.
 */
export async function expectCountersExact(ctx: TestContext, pipeline: Pipeline, population: Population, amounts: ReadonlyMap<string, number>): Promise<{ live: string[] }> {
  // Ground truth per live profile: the events the identity graph resolved to it.
  const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
  const prefix = pipeline.resolver.graph.tenantPrefix('acme');
  const live = await pipeline.resolver.graph.liveProfiles('acme');
  const eventsOf = await pipeline.resolver.graph.eventsOf('acme', live);
  let checked = 0;
  let orders = 0;
  // Totals over the builder's states, for the generator's ground truth below.
  const totals = { events: 0, orders: 0, value: 0 };
  try {
    for (const profileId of live) {
      const events = eventsOf.get(profileId) ?? [];
      const stored = await redis.hget(`${prefix}ps:${profileId}`, 's');
      expect(stored, `profile ${profileId} has state`).not.toBeNull();
      const state = JSON.parse(stored ?? '{}') as { computed: { eventsCount: number; ordersCount: number; lifetimeValue: Record<string, number> } };
      const expectedOrders = events.filter((eventId) => amounts.has(eventId));
      const expectedValue = expectedOrders.reduce((sum, eventId) => sum + (amounts.get(eventId) ?? 0), 0);
      expect(state.computed.eventsCount, `eventsCount of ${profileId}`).toBe(events.length);
      expect(state.computed.ordersCount, `ordersCount of ${profileId}`).toBe(expectedOrders.length);
      expect(state.computed.lifetimeValue['USD'] ?? 0, `lifetime value of ${profileId}`).toBe(expectedValue);
      orders += expectedOrders.length;
      totals.events += state.computed.eventsCount;
      totals.orders += state.computed.ordersCount;
      totals.value += state.computed.lifetimeValue['USD'] ?? 0;
      checked += 1;
    }
  } finally {
    redis.disconnect();
  }
  expect(checked).toBe(live.length);
  expect(orders).toBeGreaterThan(0);
  // The graph's pe: events are not ground truth alone: an event lost, or counted twice, in both
  // the graph and the builder would pass the check above. The generator's are: every distinct
  // generated event counted once over all live profiles, every generated order once, except
  // the events carrying nothing but placeholder identifiers (junk_only: unresolvable by design).
  const resolvable = new Set(population.events.filter((event) => !event.tags.includes('junk_only')).map((event) => event.eventId));
  const resolvableOrders = [...amounts].filter(([eventId]) => resolvable.has(eventId));
  expect(resolvable.size).toBeLessThan(new Set(population.events.map((event) => event.eventId)).size);
  expect(totals.events, 'eventsCount over live profiles').toBe(resolvable.size);
  expect(totals.orders, 'ordersCount over live profiles').toBe(resolvableOrders.length);
  expect(totals.value, 'lifetime value over live profiles').toBe(resolvableOrders.reduce((sum, [, amount]) => sum + amount, 0));
  return { live };
}

/**
 * Each profile's updates as a read_committed subscriber reads them: versions 1, 2, 3, ... in
 * order, the last one the version Redis holds. `exactly_once`: each once; `at_least_once`: a
 * version seen again must be the very record first published. Returns how many updates there
 * were, and how many came again.
 */
export async function expectVersionsInOrder(ctx: TestContext, pipeline: Pipeline, guarantee: 'exactly_once' | 'at_least_once', live: readonly string[]): Promise<{ updates: number; repeated: number }> {
  const topics = topicsOf(pipeline.config);
  const prefix = pipeline.resolver.graph.tenantPrefix('acme');
  // Versions as a read_committed subscriber sees them: each profile's 1, 2, 3, ... in order,
  // every one exactly once (an update of a transaction that did not commit comes from the
  // outbox). at_least_once: an update that went out before a kill can come again from the
  // outbox, after its successors of the same entry; a version not above the highest seen
  // must then be the very record first published (what a subscriber that skips it relies on).
  const last = new Map<string, ProfileUpdate>();
  const published = new Map<string, string>();
  let updates = 0;
  let repeated = 0;
  for (const message of await readToEnd(ctx.kafka, topics.updates)) {
    const update = await pipeline.registry.decode<ProfileUpdate>(message.value ?? Buffer.alloc(0));
    const previous = last.get(update.profileId);
    const key = `${update.profileId}@${update.version}`;
    const bytes = message.value?.toString('base64') ?? '';
    if (guarantee === 'at_least_once' && previous !== undefined && update.version <= previous.version) {
      expect(bytes, `${key} published again as another record`).toBe(published.get(key));
      repeated += 1;
      continue;
    }
    expect(update.version, `${update.profileId} went from ${previous?.version ?? 0} to ${update.version}`).toBe((previous?.version ?? 0) + 1);
    last.set(update.profileId, update);
    published.set(key, bytes);
    updates += 1;
  }
  // The last update of every profile carries the version Redis holds.
  const seen = new Map<string, number>();
  for (const update of last.values()) seen.set(update.profileId, update.version);
  const verify = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
  try {
    for (const profileId of live) {
      const version = Number(await verify.hget(`${prefix}ps:${profileId}`, 'v'));
      expect(seen.get(profileId), `last update of ${profileId}`).toBe(version);
    }
  } finally {
    verify.disconnect();
  }
  return { updates, repeated };
}
