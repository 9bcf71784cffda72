import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHANNELS, defaultJourneyStage, EVENT_TYPES, type Touchpoint } from '@elephant/channels';
import { emptyProfile, foldMerge, mergeIdentities, parseProfileState, preferredChannel, profileFields, snapshotOf, updateOf, type ApplyOptions, type FieldChange, type ProfileSnapshot, type ProfileState } from '@elephant/profiles';
import { applyAll, expectEncodes, snapshotType, T0, traits, updateType } from './helpers.ts';

// Small pools, so that ties (same time, same trust, same product, same identifier) and the
// bounds of the lists are hit often.
const options: ApplyOptions = { maxIdentities: 4, maxProducts: 3, maxContent: 3 };
const time = fc.integer({ min: 0, max: 20 }).map((offset) => T0 + offset * 60_000);
const maybe = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arbitrary, { nil: null, freq: 2 });
const pick = <T>(values: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...values);

const draft = fc.record({
  channel: pick(CHANNELS),
  eventType: pick(EVENT_TYPES),
  eventTime: time,
  trust: pick([30, 50, 70, 90]),
  identifiers: fc.uniqueArray(fc.record({ type: pick(['email', 'anonymous_id', 'phone']), value: pick(['a', 'b', 'c', 'd', 'e']) }), {
    minLength: 1,
    maxLength: 3,
    selector: (identifier) => `${identifier.type}:${identifier.value}`,
  }),
  traits: maybe(
    fc.record({
      email: maybe(pick(['ann@example.com', 'ann@work.example', 'a.lee@example.com'])),
      firstName: maybe(pick(['Ann', 'Anna'])),
      city: maybe(pick(['Berlin', 'Hamburg'])),
      language: maybe(pick(['de', 'en'])),
      consent: fc.array(fc.record({ purpose: pick(['ads', 'Email Marketing', 'analytics']), granted: fc.boolean(), statedAt: time }), { maxLength: 2 }),
    }),
  ),
  commerce: maybe(
    fc.record({
      kind: pick(['purchase', 'return']),
      currency: pick(['EUR', 'USD']),
      totalMinor: fc.integer({ min: 0, max: 100_000 }),
      products: fc.array(pick(['p1', 'p2', 'p3', 'p4', 'p5']), { maxLength: 3 }),
    }),
  ),
  contentId: maybe(pick(['c1', 'c2', 'c3', 'c4'])),
  satisfactionScore: maybe(fc.integer({ min: 1, max: 5 })),
  support: fc.boolean(),
  couponCode: maybe(pick(['SPRING', 'BDAY'])),
  pointsDelta: maybe(fc.integer({ min: -500, max: 500 })),
  stage: fc.boolean(),
});
type Draft = typeof draft extends fc.Arbitrary<infer T> ? T : never;

function build(spec: Draft, index: number): Touchpoint {
  const eventId = `e-${String(index).padStart(3, '0')}`;
  return {
    eventId,
    tenant: 'acme',
    channel: spec.channel,
    source: { system: `s-${spec.trust}`, eventId, trust: spec.trust },
    eventType: spec.eventType,
    journeyStage: spec.stage ? defaultJourneyStage(spec.eventType) : 'aware',
    eventTime: spec.eventTime,
    ingestTime: spec.eventTime + 1000,
    identifiers: spec.identifiers,
    traits:
      spec.traits === null
        ? null
        : traits({
            email: spec.traits.email,
            firstName: spec.traits.firstName,
            address: spec.traits.city === null ? null : { street: null, city: spec.traits.city, postalCode: null, region: null, country: null },
            preferences: spec.traits.language === null ? {} : { language: spec.traits.language },
            consent: spec.traits.consent,
          }),
    commerce:
      spec.commerce === null
        ? null
        : {
            kind: spec.commerce.kind,
            orderId: `o-${index}`,
            returnId: null,
            currency: spec.commerce.currency,
            totalMinor: spec.commerce.totalMinor,
            lineItems: spec.commerce.products.map((productId) => ({ productId, name: null, category: null, quantity: 1, unitPriceMinor: 100, currency: spec.commerce?.currency ?? 'EUR' })),
          },
    campaign: null,
    content: spec.contentId === null ? null : { contentId: spec.contentId, title: null, kind: 'page', url: null },
    email: null,
    support: spec.support ? { interactionId: `i-${index}`, kind: 'call', agent: null, reason: null, resolution: null, satisfactionScore: spec.satisfactionScore } : null,
    loyalty: spec.couponCode === null && spec.pointsDelta === null ? null : { couponCode: spec.couponCode, pointsDelta: spec.pointsDelta, programId: null },
    store: null,
    properties: {},
  };
}

const touchpoints = fc.array(draft, { maxLength: 40 }).map((drafts) => drafts.map(build));
/** A list of touchpoints and the same list in another order. */
const permuted = touchpoints.chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length })));

/** The counters a ground truth computes by simply counting the events. */
function groundTruth(list: readonly Touchpoint[]) {
  const lifetimeValue: Record<string, number> = {};
  for (const touchpoint of list) {
    const commerce = touchpoint.commerce;
    if (commerce) lifetimeValue[commerce.currency] = (lifetimeValue[commerce.currency] ?? 0) + (commerce.kind === 'purchase' ? commerce.totalMinor : -commerce.totalMinor);
  }
  const count = (predicate: (touchpoint: Touchpoint) => boolean): number => list.filter(predicate).length;
  return {
    eventsCount: list.length,
    ordersCount: count((touchpoint) => touchpoint.commerce?.kind === 'purchase'),
    returnsCount: count((touchpoint) => touchpoint.commerce?.kind === 'return'),
    lifetimeValue,
    contentEvents: count((touchpoint) => touchpoint.content !== null),
    opens: count((touchpoint) => touchpoint.eventType === 'email_opened'),
    clicks: count((touchpoint) => touchpoint.eventType === 'email_clicked'),
    delivered: count((touchpoint) => touchpoint.eventType === 'email_delivered'),
    bounces: count((touchpoint) => touchpoint.eventType === 'email_bounced'),
    supportContacts: count((touchpoint) => touchpoint.support !== null),
    couponsRedeemed: count((touchpoint) => touchpoint.loyalty?.couponCode != null && touchpoint.commerce?.kind !== 'return'),
    pointsDelta: list.reduce((sum, touchpoint) => sum + (touchpoint.loyalty?.pointsDelta ?? 0), 0),
    channelEvents: Object.fromEntries(CHANNELS.map((channel): [string, number] => [channel, count((touchpoint) => touchpoint.channel === channel)]).filter(([, events]) => events !== 0)),
  };
}

function countersOf(snapshot: ProfileSnapshot) {
  const { computed } = snapshot;
  return {
    eventsCount: computed.eventsCount,
    ordersCount: computed.ordersCount,
    returnsCount: computed.returnsCount,
    lifetimeValue: computed.lifetimeValue,
    contentEvents: computed.contentEvents,
    opens: computed.email.opens,
    clicks: computed.email.clicks,
    delivered: computed.email.delivered,
    bounces: computed.email.bounces,
    supportContacts: computed.support.contacts,
    couponsRedeemed: computed.loyalty.couponsRedeemed,
    pointsDelta: computed.loyalty.pointsDelta,
    channelEvents: Object.fromEntries(Object.entries(computed.channels).map(([channel, stats]) => [channel, stats.events])),
  };
}

/** The plain definition of a change list: compare every field of both states. */
function naiveDiff(before: ProfileState, after: ProfileState): FieldChange[] {
  const was = profileFields(before);
  const is = profileFields(after);
  return [...new Set([...was.keys(), ...is.keys()])]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((path) => ({ path, before: was.get(path) ?? null, after: is.get(path) ?? null }))
    .filter((change) => change.before !== change.after);
}

describe('properties', () => {
  it('mergeIdentities and preferredChannel equal their definitions (also on their fast paths)', () => {
    const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    const entry = fc.record({ type: pick(['email', 'phone']), value: pick(['a', 'b', 'c', 'd']), lastSeen: fc.integer({ min: 0, max: 5 }) });
    // The definition: latest lastSeen per identity, the `max` most recent kept, sorted by type and value.
    const defined = (lists: { type: string; value: string; lastSeen: number }[][], max: number) => {
      const latest = new Map<string, { type: string; value: string; lastSeen: number }>();
      for (const e of lists.flat()) {
        const key = `${e.type}\u0000${e.value}`;
        if ((latest.get(key)?.lastSeen ?? -1) < e.lastSeen) latest.set(key, { ...e });
      }
      const order = (a: { type: string; value: string }, b: { type: string; value: string }) => byName(a.type, b.type) || byName(a.value, b.value);
      return [...latest.values()].sort((a, b) => b.lastSeen - a.lastSeen || order(a, b)).slice(0, max).sort(order);
    };
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), fc.array(entry, { maxLength: 3 }), fc.integer({ min: 1, max: 6 }), (first, seen, max) => {
        const held = mergeIdentities([first], max); // a state's list: sorted, at most max
        expect(mergeIdentities([held, seen], max)).toEqual(defined([held, seen], max));
        // Seen again only (the fast path): the same list, later lastSeen where later.
        const again = held.slice(0, 2).map((e) => ({ ...e, lastSeen: e.lastSeen + (seen.length % 2) }));
        const merged = mergeIdentities([held, again], max);
        expect(merged).toEqual(defined([held, again], max));
        // Taken without the general merge: entries seen no later stay the same objects.
        merged.forEach((identity, index) => {
          if (identity.lastSeen === held[index]?.lastSeen) expect(identity).toBe(held[index]);
        });
      }),
    );
    const stats = fc.record({ events: fc.integer({ min: 1, max: 3 }), firstSeen: fc.constant(0), lastSeen: fc.integer({ min: 0, max: 2 }) });
    fc.assert(
      fc.property(fc.dictionary(pick(['web', 'email', 'pos', 'ads', 'crm']), stats), (channels) => {
        const names = Object.keys(channels).sort(byName);
        let best: string | null = null;
        for (const name of names) {
          const s = channels[name];
          const b = best === null ? undefined : channels[best];
          if (s !== undefined && (b === undefined || s.events > b.events || (s.events === b.events && s.lastSeen > b.lastSeen))) best = name;
        }
        expect(preferredChannel(channels)).toBe(best);
      }),
    );
  });

  it('counters equal a plain count of the events applied', () => {
    fc.assert(
      fc.property(touchpoints, (list) => {
        expect(countersOf(snapshotOf(applyAll(list, options).state))).toEqual(groundTruth(list));
      }),
    );
  });

  it('products and content equal their definitions after every touchpoint (one entry per key, the latest time, most recent first, bounded)', () => {
    const latest = <T>(entries: readonly T[], key: (entry: T) => string, at: (entry: T) => number, order: (a: T, b: T) => number, max: number): T[] => {
      const kept = new Map<string, T>();
      for (const entry of entries) {
        const held = kept.get(key(entry));
        if (held === undefined || at(entry) > at(held)) kept.set(key(entry), entry);
      }
      return [...kept.values()].sort(order).slice(0, max);
    };
    const code = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    fc.assert(
      fc.property(touchpoints, (list) => {
        const { states } = applyAll(list, options);
        states.forEach((state, index) => {
          const seen = list.slice(0, index + 1);
          const bought = seen.flatMap((touchpoint) => (touchpoint.commerce?.kind === 'purchase' ? touchpoint.commerce.lineItems.map((item) => ({ productId: item.productId, lastPurchasedAt: touchpoint.eventTime })) : []));
          const consumed = seen.flatMap((touchpoint) => (touchpoint.content?.contentId ? [{ contentId: touchpoint.content.contentId, channel: touchpoint.channel, lastAt: touchpoint.eventTime }] : []));
          expect(state.computed.products).toEqual(latest(bought, (entry) => entry.productId, (entry) => entry.lastPurchasedAt, (a, b) => b.lastPurchasedAt - a.lastPurchasedAt || code(a.productId, b.productId), 3));
          expect(state.computed.content).toEqual(
            latest(consumed, (entry) => `${entry.channel} ${entry.contentId}`, (entry) => entry.lastAt, (a, b) => b.lastAt - a.lastAt || code(a.channel, b.channel) || code(a.contentId, b.contentId), 3),
          );
        });
      }),
    );
  });

  it('the order touchpoints arrive in changes nothing: counters, traits, consent, lists, byte for byte', () => {
    fc.assert(
      fc.property(permuted, ([list, shuffled]) => {
        const one = applyAll(list, options).state;
        const other = applyAll(shuffled, options).state;
        expect(countersOf(snapshotOf(other))).toEqual(countersOf(snapshotOf(one)));
        expect(JSON.stringify(other)).toBe(JSON.stringify(one));
      }),
    );
  });

  it('folding two profiles equals one profile that got all their touchpoints', () => {
    fc.assert(
      fc.property(touchpoints, fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (list, sides) => {
        const left = list.filter((_, index) => sides[index] === true);
        const right = list.filter((_, index) => sides[index] !== true);
        const survivor = applyAll(left, options, emptyProfile('p-1', 'acme', T0)).state;
        const absorbed = applyAll(right, options, emptyProfile('p-2', 'acme', T0)).state;
        const merged = foldMerge(survivor, [absorbed], options).state;
        const whole = applyAll(list, options, emptyProfile('p-1', 'acme', T0)).state;
        expect({ ...merged, version: 0, mergedFrom: [] }).toEqual({ ...whole, version: 0, mergedFrom: [] });
        expect(JSON.stringify(merged.computed)).toBe(JSON.stringify(whole.computed));
        expect(merged.mergedFrom).toEqual(['p-2']);
        expect(merged.version).toBe(left.length + 1);
      }),
    );
  });

  it('changes are exactly the fields whose value differs, for touchpoints and merges', () => {
    fc.assert(
      fc.property(touchpoints, touchpoints, (left, right) => {
        const one = applyAll(left, options, emptyProfile('p-1', 'acme', T0));
        let previous = emptyProfile('p-1', 'acme', T0);
        one.states.forEach((state, index) => {
          expect(one.steps[index]).toEqual(naiveDiff(previous, state));
          previous = state;
        });
        const other = applyAll(right, options, emptyProfile('p-2', 'acme', T0)).state;
        const merged = foldMerge(one.state, [other], options);
        expect(merged.changes).toEqual(naiveDiff(one.state, merged.state));
      }),
    );
  });

  it('snapshots and updates encode with the Avro schemas, and states survive JSON storage', () => {
    fc.assert(
      fc.property(touchpoints, (list) => {
        const { state, states, steps } = applyAll(list, options);
        expectEncodes(snapshotType, snapshotOf(state));
        states.forEach((after, index) => expectEncodes(updateType, updateOf(after, steps[index] ?? [], { kind: 'touchpoint', eventId: `e-${index}` })));
        expect(parseProfileState(JSON.parse(JSON.stringify(state)))).toEqual(state);
      }),
      { numRuns: 50 },
    );
  });
});
