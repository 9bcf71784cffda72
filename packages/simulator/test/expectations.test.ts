import { describe, expect, it } from 'vitest';
import type { Touchpoint } from '@elephant/channels';
import { DEFAULT_RULES, ReferenceResolver, screenIdentifiers } from '@elephant/identity';
import { computeCounters, simulate, type PersonExpectation } from '@elephant/simulator';
import { adaptAll, contextOf } from './helpers.ts';

const population = simulate({ seed: 20250101 });
const adapted = adaptAll(population.records, contextOf(population));

/** Each person's touchpoints, every delivery (duplicates included), via the truth. */
function touchpointsByPerson(touchpoints: readonly Touchpoint[]): Map<string, Touchpoint[]> {
  const byPerson = new Map<string, Touchpoint[]>();
  for (const touchpoint of touchpoints) {
    const person = population.truth.get(touchpoint.eventId);
    if (person === undefined) continue;
    byPerson.set(person, [...(byPerson.get(person) ?? []), touchpoint]);
  }
  return byPerson;
}

/** The counter definitions of docs/simulator.md, written out again over touchpoints (independent of computeCounters). */
function countersOf(delivered: readonly Touchpoint[]): PersonExpectation['counters'] {
  const distinct = [...new Map(delivered.map((touchpoint) => [touchpoint.eventId, touchpoint])).values()];
  const of = (...types: string[]): Touchpoint[] => distinct.filter((touchpoint) => types.includes(touchpoint.eventType));
  const purchases = of('order_completed', 'store_purchase');
  const returns = of('order_refunded', 'store_return');
  const lifetimeValue: Record<string, number> = {};
  for (const touchpoint of [...purchases, ...returns]) {
    const commerce = touchpoint.commerce;
    if (commerce === null) throw new Error(`${touchpoint.eventType} without commerce`);
    lifetimeValue[commerce.currency] = (lifetimeValue[commerce.currency] ?? 0) + (commerce.kind === 'purchase' ? commerce.totalMinor : -commerce.totalMinor);
  }
  const scored = of('support_call', 'support_chat', 'support_ticket')
    .filter((touchpoint) => touchpoint.support?.satisfactionScore !== null && touchpoint.support?.satisfactionScore !== undefined)
    .sort((a, b) => a.eventTime - b.eventTime || (a.eventId < b.eventId ? -1 : 1));
  const eventTypes: Record<string, number> = {};
  for (const touchpoint of distinct) eventTypes[touchpoint.eventType] = (eventTypes[touchpoint.eventType] ?? 0) + 1;
  const times = distinct.map((touchpoint) => touchpoint.eventTime);
  const engaged = of('email_opened', 'email_clicked').map((touchpoint) => touchpoint.eventTime);
  const stages = ['aware', 'acquire', 'onboard', 'engage', 'retain', 'expand'];
  const furthest = Math.max(-1, ...distinct.map((touchpoint) => stages.indexOf(touchpoint.journeyStage)));
  const orderTimes = purchases.map((touchpoint) => touchpoint.eventTime);
  const supportTimes = of('support_call', 'support_chat', 'support_ticket').map((touchpoint) => touchpoint.eventTime);
  const perChannel: Record<string, { events: number; firstSeen: number; lastSeen: number }> = {};
  for (const channel of [...new Set(distinct.map((touchpoint) => touchpoint.channel))].sort()) {
    const channelTimes = distinct.filter((touchpoint) => touchpoint.channel === channel).map((touchpoint) => touchpoint.eventTime);
    perChannel[channel] = { events: channelTimes.length, firstSeen: Math.min(...channelTimes), lastSeen: Math.max(...channelTimes) };
  }
  const sortKeys = (record: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    touchpoints: distinct.length,
    ordersCount: purchases.length,
    returnsCount: returns.length,
    lifetimeValue: sortKeys(lifetimeValue),
    firstOrderAt: orderTimes.length === 0 ? null : Math.min(...orderTimes),
    lastOrderAt: orderTimes.length === 0 ? null : Math.max(...orderTimes),
    ordersWithCoupon: purchases.filter((touchpoint) => touchpoint.loyalty?.couponCode !== undefined && touchpoint.loyalty.couponCode !== null).length,
    supportContacts: of('support_call', 'support_chat', 'support_ticket').length,
    lastSupportContactAt: supportTimes.length === 0 ? null : Math.max(...supportTimes),
    lastSatisfactionScore: scored.at(-1)?.support?.satisfactionScore ?? null,
    lastSatisfactionAt: scored.at(-1)?.eventTime ?? null,
    couponsRedeemed: of('coupon_redeemed').length,
    pointsRedeemed: of('points_redeemed').reduce((sum, touchpoint) => sum - (touchpoint.loyalty?.pointsDelta ?? 0), 0),
    emailOpens: of('email_opened').length,
    emailClicks: of('email_clicked').length,
    emailDelivered: of('email_delivered').length,
    emailBounces: of('email_bounced').length,
    emailUnsubscribes: of('email_unsubscribed').length,
    lastUnsubscribedAt: of('email_unsubscribed').reduce<number | null>((latest, touchpoint) => Math.max(latest ?? touchpoint.eventTime, touchpoint.eventTime), null),
    lastEmailEngagedAt: engaged.length === 0 ? null : Math.max(...engaged),
    contentDownloads: of('content_downloaded').length,
    formSubmissions: of('form_submitted').length,
    contentEvents: distinct.filter((touchpoint) => (touchpoint.content?.contentId ?? '') !== '' || (touchpoint.content?.url ?? '') !== '').length,
    firstSeen: times.length === 0 ? null : Math.min(...times),
    lastSeen: times.length === 0 ? null : Math.max(...times),
    channels: [...new Set(distinct.map((touchpoint) => touchpoint.channel))].sort(),
    furthestTouchpointStage: (stages[furthest] ?? null) as PersonExpectation['counters']['furthestTouchpointStage'],
    perChannel,
    eventTypes: sortKeys(eventTypes),
  };
}

describe('expected counters per person', () => {
  const byPerson = touchpointsByPerson(adapted.touchpoints);

  it('equal the counters computed from the adapted touchpoints (duplicates counted once)', () => {
    const wrong = population.expectations.filter((expectation) => JSON.stringify(countersOf(byPerson.get(expectation.personId) ?? [])) !== JSON.stringify(expectation.counters));
    expect(wrong.map((expectation) => expectation.personId)).toEqual([]);
    // The population exercises each counter.
    const total = (pick: (counters: PersonExpectation['counters']) => number): number => population.expectations.reduce((sum, expectation) => sum + pick(expectation.counters), 0);
    expect(total((counters) => counters.ordersCount)).toBeGreaterThan(1000);
    expect(total((counters) => counters.returnsCount)).toBeGreaterThan(100);
    expect(total((counters) => counters.ordersWithCoupon)).toBeGreaterThan(100);
    expect(total((counters) => counters.supportContacts)).toBeGreaterThan(300);
    expect(total((counters) => counters.couponsRedeemed)).toBeGreaterThan(100);
    expect(total((counters) => counters.pointsRedeemed)).toBeGreaterThan(10_000);
    expect(total((counters) => counters.emailOpens)).toBeGreaterThan(1000);
    expect(total((counters) => counters.emailClicks)).toBeGreaterThan(300);
    expect(total((counters) => counters.contentDownloads)).toBeGreaterThan(100);
    expect(total((counters) => counters.formSubmissions)).toBeGreaterThan(100);
    expect(total((counters) => counters.emailBounces)).toBeGreaterThan(20);
    expect(total((counters) => counters.emailUnsubscribes)).toBeGreaterThan(20);
    expect(total((counters) => counters.contentEvents)).toBeGreaterThan(10_000);
    expect(population.expectations.filter((expectation) => Object.keys(expectation.counters.lifetimeValue).length > 0 && 'CAD' in expectation.counters.lifetimeValue).length).toBeGreaterThan(20);
    expect(population.expectations.filter((expectation) => expectation.counters.lastSatisfactionScore !== null).length).toBeGreaterThan(200);
  });

  it('count a duplicated message once', () => {
    const duplicated = population.events.filter((facts) => facts.tags.includes('duplicated') && (facts.eventType === 'order_completed' || facts.eventType === 'store_purchase'));
    expect(duplicated.length).toBeGreaterThan(5);
    for (const facts of duplicated.slice(0, 20)) {
      const copies = adapted.touchpoints.filter((touchpoint) => touchpoint.eventId === facts.eventId);
      expect(copies.length).toBeGreaterThan(1);
    }
  });

  it('list the identifiers a correct profile holds: the touchpoints\' own ones, minus placeholders and shared tablets', () => {
    const shared = new Set(population.households.map((household) => household.deviceId));
    const wrong = population.expectations.filter((expectation) => {
      const keys = new Set<string>();
      for (const touchpoint of byPerson.get(expectation.personId) ?? []) {
        for (const identifier of screenIdentifiers(touchpoint.identifiers, DEFAULT_RULES).kept) {
          if (identifier.type === 'device_id' && shared.has(identifier.value)) continue;
          keys.add(`${identifier.type}:${identifier.value}`);
        }
      }
      const expected = expectation.identifiers.map((identifier) => `${identifier.type}:${identifier.value}`);
      return JSON.stringify([...keys].sort()) !== JSON.stringify([...expected].sort());
    });
    expect(wrong.map((expectation) => expectation.personId)).toEqual([]);
  });

  it('are what profiles built from the reference resolver\'s clusters show', () => {
    // What the end-to-end test does with real profiles: group touchpoints by resolved profile,
    // compute the counters, and compare each profile with the person whose events it holds.
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.processAll(adapted.touchpoints);
    const expectations = new Map(population.expectations.map((expectation) => [expectation.personId, expectation]));
    let compared = 0;
    for (const cluster of resolver.eventClusters()) {
      const person = population.truth.get(cluster[0] ?? '');
      const expectation = person === undefined ? undefined : expectations.get(person);
      if (expectation === undefined) throw new Error('cluster without a person');
      expect(computeCounters(cluster.map((eventId) => adapted.byEventId.get(eventId)).filter((touchpoint) => touchpoint !== undefined))).toEqual(expectation.counters);
      compared += 1;
    }
    expect(compared).toBe(population.expectations.filter((expectation) => expectation.counters.touchpoints > 0).length);
  });
});
