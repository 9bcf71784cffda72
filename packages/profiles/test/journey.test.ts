import { describe, expect, it } from 'vitest';
import { adaptContent, adaptEmail, adaptLoyalty, adaptPos, adaptSupport, adaptWeb, type Touchpoint } from '@elephant/channels';
import { applyTouchpoint, emptyProfile, foldMerge, snapshotOf, updateOf, type ProfileUpdate } from '@elephant/profiles';
import { applyAll, context, DAY, describeChanges, expectEncodes, HOUR, one as onlyTouchpoint, snapshotType, T0, updateType } from './helpers.ts';

const iso = (time: number): string => new Date(time).toISOString();
const unix = (time: number): number => time / 1000;
/** The adapter's one touchpoint, ingested a minute after it happened (profiles order times bounded by the ingestTime). */
const one = (result: Parameters<typeof onlyTouchpoint>[0]): Touchpoint => {
  const touchpoint = onlyTouchpoint(result);
  return { ...touchpoint, ingestTime: touchpoint.eventTime + 60_000 };
};

// One customer, Ann, across channels over four days.
const identify = one(
  adaptWeb(
    {
      type: 'identify',
      messageId: 'm-identify',
      userId: 'u-ann',
      anonymousId: 'anon-1',
      timestamp: iso(T0),
      traits: { email: 'Ann@Example.com', firstName: 'Ann', lastName: 'Lee', address: { city: 'Berlin', country: 'de' }, preferences: { language: 'de' } },
      context: { consent: { categoryPreferences: { Advertising: false, 'Email Marketing': true } } },
    },
    context,
  ),
);
const delivered = one(adaptEmail([{ event: 'delivered', email: 'ann@example.com', timestamp: unix(T0 + HOUR), sg_event_id: 'sg-1', sg_message_id: 'msg-1' }], context));
const opened = one(adaptEmail([{ event: 'open', email: 'ann@example.com', timestamp: unix(T0 + 2 * HOUR), sg_event_id: 'sg-2', sg_message_id: 'msg-1' }], context));
const clicked = one(
  adaptEmail([{ event: 'click', email: 'ann@example.com', timestamp: unix(T0 + 3 * HOUR), sg_event_id: 'sg-3', sg_message_id: 'msg-1', url: 'https://shop.example/hats' }], context),
);
const order = one(
  adaptWeb(
    {
      type: 'track',
      event: 'Order Completed',
      messageId: 'm-order',
      userId: 'u-ann',
      timestamp: iso(T0 + DAY),
      properties: { order_id: 'o-1', total: 59.98, currency: 'EUR', coupon: 'WELCOME', products: [{ product_id: 'scarf-1', price: 29.99, quantity: 2 }] },
    },
    context,
  ),
);
const storePurchase = one(
  adaptPos(
    {
      type: 'purchase',
      id: 'txn-1',
      occurredAt: iso(T0 + 2 * DAY),
      storeId: 'berlin-mitte',
      currency: 'EUR',
      totalMinor: 4200,
      lineItems: [{ sku: 'hat-1', quantity: 1, unitPriceMinor: 4200 }],
      loyaltyCard: '6001-1',
      customer: { email: 'ann@example.com' },
    },
    context,
  ),
);
const storeReturn = one(
  adaptPos(
    {
      type: 'return',
      id: 'ret-1',
      originalOrderId: 'txn-1',
      occurredAt: iso(T0 + 2 * DAY + 2 * HOUR),
      currency: 'EUR',
      totalMinor: 4200,
      lineItems: [{ sku: 'hat-1', quantity: 1, unitPriceMinor: 4200 }],
      loyaltyCard: '6001-1',
    },
    context,
  ),
);
const supportCall = one(adaptSupport({ type: 'call', id: 'call-1', occurredAt: iso(T0 + 3 * DAY), customer: { email: 'ann@example.com' }, reason: 'return', satisfactionScore: 4 }, context));
const coupon = one(adaptLoyalty({ type: 'coupon', id: 'cp-1', occurredAt: iso(T0 + 3 * DAY + HOUR), loyaltyCard: '6001-1', couponCode: 'BDAY' }, context));
const download = one(adaptContent({ type: 'download', id: 'dl-1', occurredAt: iso(T0 + 4 * DAY), contentId: 'wp-cdp', contentTitle: 'CDP whitepaper', customer: { email: 'ann@example.com' } }, context));

const journey: readonly Touchpoint[] = [identify, delivered, opened, clicked, order, storePurchase, storeReturn, supportCall, coupon, download];

/** Freezes a value and everything it references. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

describe('one customer across channels', () => {
  it('never modifies the state it is given (the builder caches decoded states by version)', () => {
    let state = deepFreeze(emptyProfile('p-1', 'acme', T0));
    for (const touchpoint of journey) state = deepFreeze(applyTouchpoint(state, touchpoint, {}).state);
    const other = deepFreeze(applyAll(journey.slice(0, 3), {}, emptyProfile('p-2', 'acme', T0)).state);
    expect(() => foldMerge(state, [other])).not.toThrow();
    expect(state.computed.eventsCount).toBe(journey.length);
  });

  const { state, states, steps } = applyAll(journey);
  const updates: ProfileUpdate[] = journey.map((touchpoint, index) => {
    const after = states[index];
    if (after === undefined) throw new Error('missing state');
    return updateOf(after, steps[index] ?? [], { kind: 'touchpoint', eventId: touchpoint.eventId });
  });

  it('builds the expected profile', () => {
    const snapshot = snapshotOf(state);
    expect(snapshot).toMatchObject({
      profileId: 'p-1',
      tenant: 'acme',
      version: 10,
      traits: {
        email: 'ann@example.com',
        firstName: 'Ann',
        lastName: 'Lee',
        address: { street: null, city: 'Berlin', postalCode: null, region: null, country: 'DE' },
        preferences: { language: 'de' },
      },
      consent: [
        { purpose: 'advertising', granted: false, statedAt: T0, source: 'segment', eventId: identify.eventId },
        { purpose: 'email_marketing', granted: true, statedAt: T0, source: 'segment', eventId: identify.eventId },
      ],
      mergedFrom: [],
    });
    expect(snapshot.traits.provenance.email).toEqual({ source: 'segment', trust: 70, eventTime: T0, eventId: identify.eventId });
    expect(snapshot.identities.map((identity) => `${identity.type}:${identity.value}`)).toEqual(['anonymous_id:anon-1', 'email:ann@example.com', 'loyalty_card:60011', 'user_id:u-ann']);
    expect(snapshot.computed).toEqual({
      eventsCount: 10,
      firstSeen: T0,
      lastSeen: T0 + 4 * DAY,
      channels: {
        content: { events: 1, firstSeen: T0 + 4 * DAY, lastSeen: T0 + 4 * DAY },
        email: { events: 3, firstSeen: T0 + HOUR, lastSeen: T0 + 3 * HOUR },
        loyalty: { events: 1, firstSeen: T0 + 3 * DAY + HOUR, lastSeen: T0 + 3 * DAY + HOUR },
        pos: { events: 2, firstSeen: T0 + 2 * DAY, lastSeen: T0 + 2 * DAY + 2 * HOUR },
        support: { events: 1, firstSeen: T0 + 3 * DAY, lastSeen: T0 + 3 * DAY },
        web: { events: 2, firstSeen: T0, lastSeen: T0 + DAY },
      },
      channelsUsed: ['content', 'email', 'loyalty', 'pos', 'support', 'web'],
      preferredChannel: 'email',
      lifetimeValue: { EUR: 5998 + 4200 - 4200 },
      ordersCount: 2,
      returnsCount: 1,
      firstOrderAt: T0 + DAY,
      lastOrderAt: T0 + 2 * DAY,
      products: [
        { productId: 'hat-1', lastPurchasedAt: T0 + 2 * DAY },
        { productId: 'scarf-1', lastPurchasedAt: T0 + DAY },
      ],
      contentEvents: 1,
      content: [{ contentId: 'wp-cdp', channel: 'content', lastAt: T0 + 4 * DAY }],
      email: { delivered: 1, opens: 1, clicks: 1, bounces: 0, unsubscribed: false, subscriptionChangedAt: null, lastEngagedAt: T0 + 3 * HOUR },
      support: { contacts: 1, lastContactAt: T0 + 3 * DAY, lastSatisfactionScore: 4, lastSatisfactionAt: T0 + 3 * DAY },
      loyalty: { couponsRedeemed: 2, pointsDelta: 0 },
      journeyStage: 'expand',
    });
    expectEncodes(snapshotType, snapshot);
  });

  it('announces every step with exactly the fields it changed', () => {
    expect(describeChanges(steps[0] ?? [])).toEqual([
      'computed.channels.web.events: ∅ → 1',
      `computed.channels.web.firstSeen: ∅ → ${T0}`,
      `computed.channels.web.lastSeen: ∅ → ${T0}`,
      'computed.channelsUsed: [] → ["web"]',
      'computed.eventsCount: 0 → 1',
      `computed.firstSeen: ∅ → ${T0}`,
      'computed.journeyStage: ∅ → "acquire"',
      `computed.lastSeen: ∅ → ${T0}`,
      'computed.preferredChannel: ∅ → "web"',
      'consent.advertising: ∅ → false',
      'consent.email_marketing: ∅ → true',
      'identities.anonymous_id.anon-1: ∅ → "anon-1"',
      'identities.email.ann@example.com: ∅ → "ann@example.com"',
      'identities.user_id.u-ann: ∅ → "u-ann"',
      'traits.address.city: ∅ → "Berlin"',
      'traits.address.country: ∅ → "DE"',
      'traits.email: ∅ → "ann@example.com"',
      'traits.firstName: ∅ → "Ann"',
      'traits.lastName: ∅ → "Lee"',
      'traits.preferences.language: ∅ → "de"',
    ]);
    // The e-mail open: engagement, and e-mail ties web on events but was seen later.
    expect(describeChanges(steps[2] ?? [])).toEqual([
      'computed.channels.email.events: 1 → 2',
      `computed.channels.email.lastSeen: ${T0 + HOUR} → ${T0 + 2 * HOUR}`,
      `computed.email.lastEngagedAt: ∅ → ${T0 + 2 * HOUR}`,
      'computed.email.opens: 0 → 1',
      'computed.eventsCount: 2 → 3',
      `computed.lastSeen: ${T0 + HOUR} → ${T0 + 2 * HOUR}`,
    ]);
    // The web order: money, products, coupon; the journey stays at its furthest stage (engage).
    expect(describeChanges(steps[4] ?? [])).toEqual([
      'computed.channels.web.events: 1 → 2',
      `computed.channels.web.lastSeen: ${T0} → ${T0 + DAY}`,
      'computed.eventsCount: 4 → 5',
      `computed.firstOrderAt: ∅ → ${T0 + DAY}`,
      `computed.lastOrderAt: ∅ → ${T0 + DAY}`,
      `computed.lastSeen: ${T0 + 3 * HOUR} → ${T0 + DAY}`,
      'computed.lifetimeValue.EUR: ∅ → 5998',
      'computed.loyalty.couponsRedeemed: 0 → 1',
      'computed.ordersCount: 0 → 1',
      `computed.products.scarf-1: ∅ → ${T0 + DAY}`,
    ]);
    // The store return: money back, a return counted, the product list untouched.
    expect(describeChanges(steps[6] ?? [])).toEqual([
      'computed.channels.pos.events: 1 → 2',
      `computed.channels.pos.lastSeen: ${T0 + 2 * DAY} → ${T0 + 2 * DAY + 2 * HOUR}`,
      'computed.eventsCount: 6 → 7',
      `computed.lastSeen: ${T0 + 2 * DAY} → ${T0 + 2 * DAY + 2 * HOUR}`,
      'computed.lifetimeValue.EUR: 10198 → 5998',
      'computed.returnsCount: 0 → 1',
    ]);
  });

  it('moves the journey stage only forward, to expand with the second order', () => {
    const stages = steps.map((changes) => changes.find((change) => change.path === 'computed.journeyStage')?.after ?? null);
    expect(stages).toEqual(['"acquire"', '"engage"', null, null, null, '"expand"', null, null, null, null]);
  });

  it('publishes updates with strictly increasing versions that encode with the Avro schema', () => {
    expect(updates.map((update) => update.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(updates.map((update) => update.causeEventId)).toEqual(journey.map((touchpoint) => touchpoint.eventId));
    for (const update of updates) {
      expect(update.kind).toBe('touchpoint');
      expect(update.changes.length).toBeGreaterThan(0);
      expectEncodes(updateType, update);
    }
  });

  it('gives the same profile whatever the order the touchpoints arrive in', () => {
    const reversed = applyAll([...journey].reverse()).state;
    expect(JSON.stringify(reversed)).toBe(JSON.stringify(state));
  });

  it('starts from an empty profile at version 0', () => {
    const empty = emptyProfile('p-1', 'acme', T0);
    expect(empty.version).toBe(0);
    expectEncodes(snapshotType, snapshotOf(empty));
  });
});
