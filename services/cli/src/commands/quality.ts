import { pairwiseQuality, type PairwiseQuality } from '@elephant/identity';
import type { ProfileSnapshot } from '@elephant/profiles';
import { computeCounters, counterEventOf, type CounterFacts, type PersonCounters, type Simulation } from '@elephant/simulator';

export function identityQuality(clusters: ReadonlyMap<string, readonly string[]>, simulation: Pick<Simulation, 'truth'>): PairwiseQuality {
  return pairwiseQuality([...clusters.values()], simulation.truth);
}

/** The profile's journey stage for a person, as docs/profiles.md defines it: expand from the second order on. */
const EXPAND_ORDERS = 2;

/**
 * Every computed counter a profile must show for a person, compared one by one (docs/simulator.md,
 * "Counters", maps each to its profile field). The profile counts a coupon code on an order as a
 * redeemed coupon; the simulator counts those separately, so the two are added here.
 */
export function counterMismatches(computed: ProfileSnapshot['computed'], expected: PersonCounters): string[] {
  const pairs: [string, unknown, unknown][] = [
    ['eventsCount', computed.eventsCount, expected.touchpoints],
    ['ordersCount', computed.ordersCount, expected.ordersCount],
    ['returnsCount', computed.returnsCount, expected.returnsCount],
    ['lifetimeValue', sorted(computed.lifetimeValue), sorted(expected.lifetimeValue)],
    ['firstOrderAt', computed.firstOrderAt, expected.firstOrderAt],
    ['lastOrderAt', computed.lastOrderAt, expected.lastOrderAt],
    ['support.contacts', computed.support.contacts, expected.supportContacts],
    ['support.lastContactAt', computed.support.lastContactAt, expected.lastSupportContactAt],
    ['support.lastSatisfactionScore', computed.support.lastSatisfactionScore, expected.lastSatisfactionScore],
    ['support.lastSatisfactionAt', computed.support.lastSatisfactionAt, expected.lastSatisfactionAt],
    ['email.opens', computed.email.opens, expected.emailOpens],
    ['email.clicks', computed.email.clicks, expected.emailClicks],
    ['email.delivered', computed.email.delivered, expected.emailDelivered],
    ['email.bounces', computed.email.bounces, expected.emailBounces],
    // No resubscribes are simulated, so any unsubscribe leaves the person unsubscribed.
    ['email.unsubscribed', computed.email.unsubscribed, expected.emailUnsubscribes > 0],
    ['email.subscriptionChangedAt', computed.email.subscriptionChangedAt, expected.lastUnsubscribedAt],
    ['email.lastEngagedAt', computed.email.lastEngagedAt, expected.lastEmailEngagedAt],
    ['loyalty.couponsRedeemed', computed.loyalty.couponsRedeemed, expected.couponsRedeemed + expected.ordersWithCoupon],
    // Only redemptions carry a pointsDelta (negative); the simulator counts the points redeemed.
    ['loyalty.pointsDelta', computed.loyalty.pointsDelta, expected.pointsRedeemed === 0 ? 0 : -expected.pointsRedeemed],
    ['contentEvents', computed.contentEvents, expected.contentEvents],
    ['firstSeen', computed.firstSeen, expected.firstSeen],
    ['lastSeen', computed.lastSeen, expected.lastSeen],
    ['channelsUsed', [...computed.channelsUsed], [...expected.channels]],
    ['channels', sortedChannels(computed.channels), sortedChannels(expected.perChannel)],
    ['preferredChannel', computed.preferredChannel, preferredChannelOf(expected.perChannel)],
    ['journeyStage', computed.journeyStage, expected.ordersCount >= EXPAND_ORDERS ? 'expand' : expected.furthestTouchpointStage],
  ];
  return pairs.filter(([, actual, wanted]) => JSON.stringify(actual) !== JSON.stringify(wanted)).map(([name, actual, wanted]) => `${name}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(wanted)}`);
}

function sorted(record: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** docs/profiles.md: most touchpoints; tie: latest lastSeen; tie: first by name. Null without touchpoints. */
function preferredChannelOf(perChannel: PersonCounters['perChannel']): string | null {
  let best: [string, { readonly events: number; readonly lastSeen: number }] | null = null;
  for (const entry of Object.entries(perChannel).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (best === null || entry[1].events > best[1].events || (entry[1].events === best[1].events && entry[1].lastSeen > best[1].lastSeen)) best = entry;
  }
  return best?.[0] ?? null;
}

function sortedChannels(record: Readonly<Record<string, { readonly events: number; readonly firstSeen: number; readonly lastSeen: number }>>): Record<string, [number, number, number]> {
  return Object.fromEntries(
    Object.entries(record)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([channel, stats]) => [channel, [stats.events, stats.firstSeen, stats.lastSeen]]),
  );
}

/** A live profile as the quality check reads it: its events and its computed traits. */
export interface ScoredProfile {
  readonly profileId: string;
  readonly events: readonly string[];
  readonly computed: ProfileSnapshot['computed'] | null;
}

export interface ProfileCheck {
  /** Every live profile. */
  readonly profilesChecked: number;
  /** Profiles whose every computed counter equals what the truth implies for their events. */
  readonly profilesExact: number;
  /** People whose touchpoints are spread over several profiles (recall below 1). */
  readonly splitPeople: readonly string[];
  /** Profiles holding touchpoints of several people (precision below 1). */
  readonly overMergedProfiles: readonly string[];
  /**
   * Truth touchpoints on no profile: ones the resolver could not place (a quarantined value
   * left them no linking identifier; it dead-letters them as UNRESOLVED_IDENTITY) or still in
   * flight. They are lost pairs in the recall, not a counter error of any profile.
   */
  readonly missingEvents: readonly string[];
  /** One line per profile whose counters are wrong, holds an event the truth does not know, or has no state. */
  readonly problems: readonly string[];
}

/**
 * Checks every live profile against the ground truth: its computed counters must equal the
 * counters of the truth touchpoints it holds (computeCounters over their facts). For a person
 * on one profile that is the person's own expectation; for a person split over profiles, each
 * part must count exactly its part, so no profile is skipped. Splits and over-merges are
 * listed for the report; they are scored by pairwise precision and recall, not here.
 */
export function checkProfiles(profiles: readonly ScoredProfile[], truth: ReadonlyMap<string, CounterFacts & { readonly personId: string }>): ProfileCheck {
  const problems: string[] = [];
  const overMerged: string[] = [];
  const holders = new Map<string, Set<string>>();
  let exact = 0;
  for (const profile of profiles) {
    const owners = new Set<string>();
    const facts: CounterFacts[] = [];
    for (const eventId of profile.events) {
      const line = truth.get(eventId);
      if (line === undefined) {
        problems.push(`profile ${profile.profileId}: event ${eventId} is not in the truth`);
        continue;
      }
      facts.push(line);
      owners.add(line.personId);
      holders.set(line.personId, (holders.get(line.personId) ?? new Set()).add(profile.profileId));
    }
    if (owners.size > 1) overMerged.push(profile.profileId);
    if (profile.computed === null) {
      problems.push(`profile ${profile.profileId}: no profile state (is the profile builder running?)`);
      continue;
    }
    const mismatches = counterMismatches(profile.computed, computeCounters(facts.map(counterEventOf)));
    if (mismatches.length === 0) exact += 1;
    else problems.push(`profile ${profile.profileId} (${[...owners].sort().join(', ')}): ${mismatches.join('; ')}`);
  }
  const onProfiles = new Set(profiles.flatMap((profile) => profile.events));
  const missing = [...truth.keys()].filter((eventId) => !onProfiles.has(eventId));
  const split = [...holders].filter(([, set]) => set.size > 1).map(([person]) => person).sort();
  return { profilesChecked: profiles.length, profilesExact: exact, splitPeople: split, overMergedProfiles: overMerged, missingEvents: missing, problems };
}
