import { pairwiseQuality, type PairwiseQuality } from '@elephant/identity';
import type { ProfileSnapshot } from '@elephant/profiles';
import type { PersonCounters, Simulation } from '@elephant/simulator';
import type { Redis } from '@elephant/redis';

/** Events per live profile, as the identity graph resolved them (merges included). */
export async function eventClusters(redis: Redis, tenantPrefix: string, profileIds: readonly string[]): Promise<Map<string, string[]>> {
  const pipeline = redis.pipeline();
  for (const profileId of profileIds) pipeline.smembers(`${tenantPrefix}pe:${profileId}`);
  const replies = (await pipeline.exec()) ?? [];
  return new Map(profileIds.map((profileId, index) => [profileId, (replies[index]?.[1] as string[] | undefined) ?? []]));
}

export function identityQuality(clusters: ReadonlyMap<string, readonly string[]>, simulation: Simulation): PairwiseQuality {
  return pairwiseQuality([...clusters.values()], simulation.truth);
}

/**
 * The counters a profile must show for a person, compared one by one. The profile counts a
 * coupon code on an order as a redeemed coupon; the simulator counts those separately.
 */
export function counterMismatches(computed: ProfileSnapshot['computed'], expected: PersonCounters): string[] {
  const pairs: [string, unknown, unknown][] = [
    ['eventsCount', computed.eventsCount, expected.touchpoints],
    ['ordersCount', computed.ordersCount, expected.ordersCount],
    ['returnsCount', computed.returnsCount, expected.returnsCount],
    ['lifetimeValue', JSON.stringify(sorted(computed.lifetimeValue)), JSON.stringify(sorted(expected.lifetimeValue))],
    ['support.contacts', computed.support.contacts, expected.supportContacts],
    ['support.lastSatisfactionScore', computed.support.lastSatisfactionScore, expected.lastSatisfactionScore],
    ['email.opens', computed.email.opens, expected.emailOpens],
    ['email.clicks', computed.email.clicks, expected.emailClicks],
    ['email.delivered', computed.email.delivered, expected.emailDelivered],
    ['loyalty.couponsRedeemed', computed.loyalty.couponsRedeemed, expected.couponsRedeemed + expected.ordersWithCoupon],
    ['contentEvents', computed.contentEvents, expected.contentEvents],
    ['firstSeen', computed.firstSeen, expected.firstSeen],
    ['lastSeen', computed.lastSeen, expected.lastSeen],
  ];
  return pairs.filter(([, actual, wanted]) => actual !== wanted).map(([name, actual, wanted]) => `${name}: ${String(actual)} ≠ ${String(wanted)}`);
}

function sorted(record: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
