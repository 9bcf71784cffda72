/**
 * The ground-truth checks the demo and the end-to-end test apply: every computed counter is
 * compared (firstOrderAt … journeyStage were skipped once), and every profile is checked,
 * a split person's parts included.
 */
import { describe, expect, it } from 'vitest';
import { checkProfiles, counterMismatches, type ScoredProfile } from '@elephant/cli';
import { computeCounters, counterEventOf, simulate, type CounterFacts } from '@elephant/simulator';
import type { ProfileSnapshot } from '@elephant/profiles';

type Computed = ProfileSnapshot['computed'];

const simulation = simulate({ seed: 3, people: 30 });
const truth = new Map(simulation.events.map((facts) => [facts.eventId, facts]));

/** The computed traits a perfect profile of these touchpoints shows (what the builder would compute). */
function perfect(facts: readonly CounterFacts[]): Computed {
  const c = computeCounters(facts.map(counterEventOf));
  const channels = Object.fromEntries(Object.entries(c.perChannel).map(([channel, stats]) => [channel, { ...stats }]));
  return {
    eventsCount: c.touchpoints,
    firstSeen: c.firstSeen,
    lastSeen: c.lastSeen,
    channels,
    channelsUsed: c.channels,
    preferredChannel: Object.entries(c.perChannel).sort(([a, x], [b, y]) => y.events - x.events || y.lastSeen - x.lastSeen || (a < b ? -1 : 1))[0]?.[0] ?? null,
    lifetimeValue: c.lifetimeValue,
    ordersCount: c.ordersCount,
    returnsCount: c.returnsCount,
    firstOrderAt: c.firstOrderAt,
    lastOrderAt: c.lastOrderAt,
    products: [],
    contentEvents: c.contentEvents,
    content: [],
    email: { delivered: c.emailDelivered, opens: c.emailOpens, clicks: c.emailClicks, bounces: c.emailBounces, unsubscribed: c.emailUnsubscribes > 0, subscriptionChangedAt: c.lastUnsubscribedAt, lastEngagedAt: c.lastEmailEngagedAt },
    support: { contacts: c.supportContacts, lastContactAt: c.lastSupportContactAt, lastSatisfactionScore: c.lastSatisfactionScore, lastSatisfactionAt: c.lastSatisfactionAt },
    loyalty: { couponsRedeemed: c.couponsRedeemed + c.ordersWithCoupon, pointsDelta: c.pointsRedeemed === 0 ? 0 : -c.pointsRedeemed },
    journeyStage: c.ordersCount >= 2 ? 'expand' : c.furthestTouchpointStage,
  };
}

const busiest = [...simulation.expectations].sort((a, b) => b.counters.ordersCount - a.counters.ordersCount || b.counters.touchpoints - a.counters.touchpoints)[0];
if (!busiest) throw new Error('no people simulated');
const own = simulation.events.filter((facts) => facts.personId === busiest.personId);

describe('counterMismatches', () => {
  it('finds nothing wrong with a perfect profile', () => {
    expect(counterMismatches(perfect(own), busiest.counters)).toEqual([]);
  });

  it.each([
    ['firstOrderAt', (c: Computed): Computed => ({ ...c, firstOrderAt: (c.firstOrderAt ?? 0) - 1 })],
    ['lastOrderAt', (c: Computed): Computed => ({ ...c, lastOrderAt: (c.lastOrderAt ?? 0) + 1 })],
    ['support.lastContactAt', (c: Computed): Computed => ({ ...c, support: { ...c.support, lastContactAt: 1 } })],
    ['loyalty.pointsDelta', (c: Computed): Computed => ({ ...c, loyalty: { ...c.loyalty, pointsDelta: c.loyalty.pointsDelta - 5 } })],
    ['email.bounces', (c: Computed): Computed => ({ ...c, email: { ...c.email, bounces: c.email.bounces + 1 } })],
    ['email.unsubscribed', (c: Computed): Computed => ({ ...c, email: { ...c.email, unsubscribed: !c.email.unsubscribed } })],
    ['email.lastEngagedAt', (c: Computed): Computed => ({ ...c, email: { ...c.email, lastEngagedAt: 1 } })],
    ['channelsUsed', (c: Computed): Computed => ({ ...c, channelsUsed: [...c.channelsUsed, 'fax'] })],
    ['channels', (c: Computed): Computed => ({ ...c, channels: { ...c.channels, web: { events: 1, firstSeen: 1, lastSeen: 1 } } })],
    ['journeyStage', (c: Computed): Computed => ({ ...c, journeyStage: 'aware' })],
    ['preferredChannel', (c: Computed): Computed => ({ ...c, preferredChannel: 'fax' })],
    ['support.lastSatisfactionAt', (c: Computed): Computed => ({ ...c, support: { ...c.support, lastSatisfactionAt: 1 } })],
    ['email.subscriptionChangedAt', (c: Computed): Computed => ({ ...c, email: { ...c.email, subscriptionChangedAt: 1 } })],
  ])('compares %s (it was skipped once)', (name, spoil) => {
    const problems = counterMismatches(spoil(perfect(own)), busiest.counters);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name.replace('.', '\\.')}:`));
  });
});

describe('checkProfiles', () => {
  const profilesOf = (groups: readonly (readonly CounterFacts[])[]): ScoredProfile[] => groups.map((facts, index) => ({ profileId: `p${index + 1}`, events: facts.map((f) => f.eventId), computed: perfect(facts) }));
  const byPerson = simulation.expectations.map((person) => simulation.events.filter((facts) => facts.personId === person.personId));

  it('passes one perfect profile per person', () => {
    const check = checkProfiles(profilesOf(byPerson), truth);
    expect(check).toMatchObject({ profilesChecked: byPerson.length, profilesExact: byPerson.length, splitPeople: [], overMergedProfiles: [], missingEvents: [], problems: [] });
  });

  it('checks a split person\'s parts against their parts, instead of skipping the person', () => {
    const half = Math.floor(own.length / 2);
    const others = byPerson.filter((facts) => facts[0]?.personId !== busiest.personId);
    const check = checkProfiles(profilesOf([...others, own.slice(0, half), own.slice(half)]), truth);
    expect(check.splitPeople).toEqual([busiest.personId]);
    expect(check.problems).toEqual([]);
    // A part that counts the whole person's touchpoints is wrong.
    const wrong = profilesOf([...others, own.slice(0, half), own.slice(half)]).map((profile, index, all) => (index === all.length - 1 ? { ...profile, computed: perfect(own) } : profile));
    expect(checkProfiles(wrong, truth).problems).toHaveLength(1);
  });

  it('lists over-merged profiles, lost touchpoints, unknown events and missing state', () => {
    const [first = [], second = [], ...rest] = byPerson;
    const merged = profilesOf([[...first, ...second], ...rest.slice(1)]);
    const check = checkProfiles([...merged, { profileId: 'px', events: ['not-an-event'], computed: null }], truth);
    expect(check.overMergedProfiles).toEqual(['p1']);
    // Lost touchpoints count against the recall, not against a profile's counters.
    expect(check.missingEvents).toEqual(rest[0]?.map((facts) => facts.eventId));
    expect(check.problems.join('\n')).toMatch(/not in the truth/);
    expect(check.problems.join('\n')).toMatch(/no profile state/);
    expect(check.problems).toHaveLength(2);
  });
});
