import { describe, expect, it } from 'vitest';
import { isElephantError } from '@elephant/errors';
import { emptyProfile, foldMerge, snapshotOf, updateOf } from '@elephant/profiles';
import { applyAll, DAY, describeChanges, expectEncodes, HOUR, snapshotType, T0, touchpoint, traits, updateType } from './helpers.ts';

const purchase = (eventId: string, eventTime: number, currency: string, totalMinor: number, productId: string) =>
  touchpoint({
    eventId,
    channel: 'pos',
    source: { system: 'pos', eventId, trust: 90 },
    eventType: 'store_purchase',
    journeyStage: 'acquire',
    eventTime,
    commerce: { kind: 'purchase', orderId: eventId, returnId: null, currency, totalMinor, lineItems: [{ productId, name: null, category: null, quantity: 1, unitPriceMinor: totalMinor, currency }] },
  });

// Profile A: a web visitor who logged in and bought online; profile B: the same person in the
// store and in the mailbox, known there by loyalty card and e-mail. Then a touchpoint links them.
const a = applyAll(
  [
    touchpoint({ eventId: 'a-1', eventTime: T0, traits: traits({ firstName: 'Ann', email: 'ann@old.example', consent: [{ purpose: 'ads', granted: true, statedAt: T0 }] }) }),
    touchpoint({ eventId: 'a-2', eventTime: T0 + DAY, eventType: 'order_completed', journeyStage: 'acquire', commerce: purchase('x', 0, 'EUR', 1000, 'p-web').commerce }),
    touchpoint({ eventId: 'a-3', eventTime: T0 + 3 * DAY, content: { contentId: 'guide', title: null, kind: 'page', url: null } }),
  ],
  {},
  emptyProfile('p-a', 'acme', T0 - DAY),
).state;
const b = applyAll(
  [
    purchase('b-1', T0 + 2 * DAY, 'EUR', 2500, 'p-store'),
    purchase('b-2', T0 + 2 * DAY + HOUR, 'USD', 700, 'p-web'),
    touchpoint({
      eventId: 'b-3',
      channel: 'email',
      source: { system: 'sendgrid', eventId: 'b-3', trust: 80 },
      eventType: 'email_opened',
      journeyStage: 'engage',
      eventTime: T0 + 4 * DAY,
      identifiers: [{ type: 'email', value: 'ann@new.example' }],
      traits: traits({ email: 'ann@new.example', consent: [{ purpose: 'ads', granted: false, statedAt: T0 + 4 * DAY }] }),
    }),
  ],
  {},
  emptyProfile('p-b', 'acme', T0 + DAY),
).state;

describe('foldMerge, nested and timed', () => {
  it('regression (an absorbed state already folded into another absorbed one was counted twice): counts each touchpoint once', () => {
    const c = applyAll([purchase('c-1', T0 + 5 * DAY, 'EUR', 400, 'p-c')], {}, emptyProfile('p-c', 'acme', T0)).state;
    const bWithC = foldMerge(b, [c]).state;
    const nested = foldMerge(a, [bWithC, c]);
    const direct = foldMerge(a, [bWithC]);
    expect(snapshotOf(nested.state).computed).toEqual(snapshotOf(direct.state).computed);
    expect(snapshotOf(nested.state).computed.lifetimeValue).toEqual({ EUR: 3900, USD: 700 });
    expect(nested.folded).toEqual(['p-b']);
    expect(nested.state.mergedFrom).toEqual(['p-b', 'p-c']);
  });

  it('takes `now` as the update time when it is later than the folded states\' (the builder passes when it applied the merge)', () => {
    const later = T0 + 30 * DAY;
    expect(foldMerge(a, [b], { now: later }).state.updatedAt).toBe(later);
    expect(foldMerge(a, [b]).state.updatedAt).toBe(Math.max(a.updatedAt, b.updatedAt));
  });
});

describe('foldMerge', () => {
  const { state, changes, folded } = foldMerge(a, [b]);
  const snapshot = snapshotOf(state);

  it('sums counters, so every touchpoint is counted exactly once', () => {
    expect(snapshot.computed).toMatchObject({
      eventsCount: 6,
      ordersCount: 3,
      returnsCount: 0,
      lifetimeValue: { EUR: 3500, USD: 700 },
      contentEvents: 1,
      email: { opens: 1, lastEngagedAt: T0 + 4 * DAY },
      channels: { web: { events: 3, firstSeen: T0, lastSeen: T0 + 3 * DAY }, pos: { events: 2 }, email: { events: 1 } },
      preferredChannel: 'web',
      journeyStage: 'expand',
    });
  });

  it('keeps the history of both: first/last seen, products with their last purchase, content', () => {
    expect(snapshot.computed.firstSeen).toBe(T0);
    expect(snapshot.computed.lastSeen).toBe(T0 + 4 * DAY);
    expect(snapshot.computed.firstOrderAt).toBe(T0 + DAY);
    expect(snapshot.computed.lastOrderAt).toBe(T0 + 2 * DAY + HOUR);
    expect(snapshot.computed.products).toEqual([
      { productId: 'p-web', lastPurchasedAt: T0 + 2 * DAY + HOUR },
      { productId: 'p-store', lastPurchasedAt: T0 + 2 * DAY },
    ]);
    expect(snapshot.computed.content).toEqual([{ contentId: 'guide', channel: 'web', lastAt: T0 + 3 * DAY }]);
    expect(snapshot.identities.map((identity) => `${identity.type}:${identity.value}`)).toEqual(['email:ann@new.example', 'user_id:u-1']);
    expect(snapshot.createdAt).toBe(T0 - DAY);
  });

  it('reconciles traits by trust and consent by recency across both states', () => {
    expect(snapshot.traits).toMatchObject({ firstName: 'Ann', email: 'ann@new.example' });
    expect(snapshot.traits.provenance.email).toMatchObject({ source: 'sendgrid', trust: 80 });
    expect(snapshot.consent).toMatchObject([{ purpose: 'ads', granted: false, eventId: 'b-3' }]);
  });

  it('announces the merge as one update of the survivor with what changed for it', () => {
    expect(state.profileId).toBe('p-a');
    expect(state.version).toBe(a.version + 1);
    expect(state.mergedFrom).toEqual(['p-b']);
    expect(folded).toEqual(['p-b']);
    expect(describeChanges(changes)).toContain('computed.eventsCount: 3 → 6');
    expect(describeChanges(changes)).toContain('computed.lifetimeValue.USD: ∅ → 700');
    expect(describeChanges(changes)).toContain('traits.email: "ann@old.example" → "ann@new.example"');
    expect(describeChanges(changes)).toContain('mergedFrom.p-b: ∅ → "p-b"');
    const update = updateOf(state, changes, { kind: 'merge', eventId: 'merge-1', mergedProfileIds: folded });
    expect(update).toMatchObject({ profileId: 'p-a', version: 4, kind: 'merge', causeEventId: 'merge-1', mergedProfileIds: ['p-b'] });
    expectEncodes(updateType, update);
    expectEncodes(snapshotType, snapshot);
  });

  it('is the same whichever state is the survivor, apart from identity and version', () => {
    const other = foldMerge(b, [a]).state;
    expect(snapshotOf(other).computed).toEqual(snapshot.computed);
    expect(snapshotOf(other).traits).toEqual(snapshot.traits);
    expect(other.consent).toEqual(state.consent);
    expect(other.identities).toEqual(state.identities);
  });

  it('folds nothing twice: a redelivered merge leaves the survivor as it is', () => {
    const again = foldMerge(state, [b]);
    expect(again.state).toBe(state);
    expect(again.changes).toEqual([]);
    expect(again.folded).toEqual([]);
  });

  it('carries chains of merges: the absorbed profile brings its own mergedFrom', () => {
    const c = foldMerge(emptyProfile('p-c', 'acme', T0), [emptyProfile('p-d', 'acme', T0)]).state;
    const merged = foldMerge(state, [c]).state;
    expect(merged.mergedFrom).toEqual(['p-b', 'p-c', 'p-d']);
    expect(foldMerge(merged, [emptyProfile('p-d', 'acme', T0)]).changes).toEqual([]);
  });

  it('keeps applying touchpoints in flight for the absorbed profile to the survivor', () => {
    const late = touchpoint({ eventId: 'b-4', channel: 'email', source: { system: 'sendgrid', eventId: 'b-4', trust: 80 }, eventType: 'email_clicked', journeyStage: 'engage', eventTime: T0 + 4 * DAY + HOUR });
    const after = applyAll([late], {}, state).state;
    expect(after.computed.email).toMatchObject({ opens: 1, clicks: 1, lastEngagedAt: T0 + 4 * DAY + HOUR });
    expect(after.computed.eventsCount).toBe(7);
    expect(after.version).toBe(state.version + 1);
  });

  it('refuses another tenant and a profile absorbing itself', () => {
    const foreign = emptyProfile('p-x', 'globex', T0);
    expect(() => foldMerge(a, [foreign])).toThrow(expect.objectContaining({ code: 'TENANT_MISMATCH' }));
    try {
      foldMerge(a, [a]);
      expect.unreachable();
    } catch (error) {
      expect(isElephantError(error, 'INVALID_MERGE')).toBe(true);
    }
  });
});
