import { describe, expect, it } from 'vitest';
import { MAX_AMOUNT_MINOR as MAX_AMOUNT } from '@elephant/channels';
import { emptyProfile, foldMerge, parseProfileState, snapshotOf } from '@elephant/profiles';
import { applyAll, expectEncodes, HOUR, snapshotType, T0, touchpoint } from './helpers.ts';

const email = (eventId: string, eventType: string, eventTime: number) =>
  touchpoint({ eventId, channel: 'email', source: { system: 'sendgrid', eventId, trust: 80 }, eventType, journeyStage: 'engage', eventTime });

describe('computed traits', () => {
  it('e-mail engagement: counts per event type, the latest subscription change wins, a tie unsubscribes', () => {
    const { state } = applyAll([
      email('e-1', 'email_delivered', T0),
      email('e-2', 'email_bounced', T0 + 1),
      email('e-3', 'email_opened', T0 + 2),
      email('e-4', 'email_resubscribed', T0 + 5),
      email('e-5', 'email_unsubscribed', T0 + 4),
      email('e-6', 'email_sent', T0 + 6),
    ]);
    expect(snapshotOf(state).computed.email).toEqual({ delivered: 1, opens: 1, clicks: 0, bounces: 1, unsubscribed: false, subscriptionChangedAt: T0 + 5, lastEngagedAt: T0 + 2 });
    const tied = applyAll([email('e-1', 'email_resubscribed', T0), email('e-2', 'email_spam_reported', T0)]).state;
    expect(tied.computed.email).toMatchObject({ unsubscribed: true, subscriptionChangedAt: T0 });
  });

  it('support: contacts counted, the satisfaction of the latest scored contact kept', () => {
    const call = (eventId: string, eventTime: number, satisfactionScore: number | null) =>
      touchpoint({ eventId, channel: 'support', eventType: 'support_call', eventTime, support: { interactionId: eventId, kind: 'call', agent: null, reason: null, resolution: null, satisfactionScore } });
    const { state } = applyAll([call('e-2', T0 + 2 * HOUR, 2), call('e-1', T0 + HOUR, 5), call('e-3', T0 + 3 * HOUR, null)]);
    expect(snapshotOf(state).computed.support).toEqual({ contacts: 3, lastContactAt: T0 + 3 * HOUR, lastSatisfactionScore: 2, lastSatisfactionAt: T0 + 2 * HOUR });
  });

  it('coupons: a coupon on a purchase or a redemption counts, one on a return does not; points are summed', () => {
    const commerce = (kind: string) => ({ kind, orderId: 'o-1', returnId: null, currency: 'EUR', totalMinor: 100, lineItems: [] });
    const { state } = applyAll([
      touchpoint({ eventId: 'e-1', eventType: 'order_completed', commerce: commerce('purchase'), loyalty: { couponCode: 'A', pointsDelta: null, programId: null } }),
      touchpoint({ eventId: 'e-2', eventType: 'order_refunded', commerce: commerce('return'), loyalty: { couponCode: 'A', pointsDelta: null, programId: null } }),
      touchpoint({ eventId: 'e-3', channel: 'loyalty', eventType: 'coupon_redeemed', loyalty: { couponCode: 'B', pointsDelta: null, programId: 'club' } }),
      touchpoint({ eventId: 'e-4', channel: 'loyalty', eventType: 'points_redeemed', loyalty: { couponCode: null, pointsDelta: -500, programId: 'club' } }),
    ]);
    expect(state.computed.loyalty).toEqual({ couponsRedeemed: 2, pointsDelta: -500 });
    expect(state.computed.lifetimeValue).toEqual({ EUR: 0 });
    expect(state.computed.products).toEqual([]);
  });

  it('preferred channel: most events, then the most recently seen, then the name', () => {
    const at = (eventId: string, channel: string, eventTime: number) => touchpoint({ eventId, channel, eventTime });
    expect(snapshotOf(applyAll([at('e-1', 'web', T0 + 2), at('e-2', 'pos', T0 + 1), at('e-3', 'pos', T0)]).state).computed.preferredChannel).toBe('pos');
    expect(snapshotOf(applyAll([at('e-1', 'web', T0 + 2), at('e-2', 'pos', T0 + 1)]).state).computed.preferredChannel).toBe('web');
    expect(snapshotOf(applyAll([at('e-1', 'web', T0), at('e-2', 'pos', T0)]).state).computed.preferredChannel).toBe('pos');
  });

  it('content: keyed by contentId, else url, per channel; the latest time kept; bounded', () => {
    const view = (eventId: string, channel: string, eventTime: number, contentId: string | null, url: string | null) =>
      touchpoint({ eventId, channel, eventTime, content: { contentId, title: null, kind: 'page', url } });
    const { state } = applyAll(
      [
        view('e-1', 'web', T0, null, 'https://example/a'),
        view('e-2', 'web', T0 + 3, null, 'https://example/a'),
        view('e-3', 'content', T0 + 1, 'wp-1', 'https://example/wp'),
        view('e-4', 'web', T0 + 2, null, null),
        view('e-5', 'web', T0 - 1, 'old', null),
      ],
      { maxContent: 2 },
    );
    expect(state.computed.contentEvents).toBe(4);
    expect(state.computed.content).toEqual([
      { contentId: 'https://example/a', channel: 'web', lastAt: T0 + 3 },
      { contentId: 'wp-1', channel: 'content', lastAt: T0 + 1 },
    ]);
  });

  it('products: the most recently bought kept, each with its last purchase time', () => {
    const buy = (eventId: string, eventTime: number, ...products: string[]) =>
      touchpoint({
        eventId,
        eventType: 'order_completed',
        eventTime,
        commerce: { kind: 'purchase', orderId: eventId, returnId: null, currency: 'EUR', totalMinor: 1, lineItems: products.map((productId) => ({ productId, name: null, category: null, quantity: 1, unitPriceMinor: 1, currency: 'EUR' })) },
      });
    const { state, steps } = applyAll([buy('e-1', T0, 'a', 'b'), buy('e-2', T0 + 1, 'c'), buy('e-3', T0 + 2, 'a')], { maxProducts: 2 });
    expect(state.computed.products).toEqual([
      { productId: 'a', lastPurchasedAt: T0 + 2 },
      { productId: 'c', lastPurchasedAt: T0 + 1 },
    ]);
    expect(steps[1]?.filter((change) => change.path.startsWith('computed.products.'))).toEqual([
      { path: 'computed.products.b', before: String(T0), after: null },
      { path: 'computed.products.c', before: null, after: String(T0 + 1) },
    ]);
  });

  it('journey stage: the furthest stage any touchpoint reached; unknown stages ignored', () => {
    const { state } = applyAll([
      touchpoint({ eventId: 'e-1', journeyStage: 'retain' }),
      touchpoint({ eventId: 'e-2', journeyStage: 'aware' }),
      touchpoint({ eventId: 'e-3', journeyStage: 'delight' }),
    ]);
    expect(state.computed.journeyStage).toBe('retain');
  });

  it('regression (a partition stuck on one profile): sums of money and points stay safe integers, so the state encodes and reads back', () => {
    const big = MAX_AMOUNT;
    const purchase = (eventId: string, totalMinor: number) =>
      touchpoint({ eventId, eventType: 'order_completed', commerce: { kind: 'purchase', orderId: eventId, returnId: null, currency: 'USD', totalMinor, lineItems: [] }, loyalty: { couponCode: null, pointsDelta: -big, programId: 'club' } });
    const { state } = applyAll([purchase('e-1', big), purchase('e-2', big)]);
    expect(state.computed.lifetimeValue).toEqual({ USD: MAX_AMOUNT });
    expect(state.computed.loyalty.pointsDelta).toBe(-MAX_AMOUNT);
    expectEncodes(snapshotType, snapshotOf(state));
    expect(parseProfileState(JSON.parse(JSON.stringify(state)))).toEqual(state);
    // A refund brings it down from the bound, and a merge of two such profiles is bounded too.
    const refunded = applyAll([touchpoint({ eventId: 'e-3', eventType: 'order_refunded', commerce: { kind: 'return', orderId: 'e-1', returnId: 'r-1', currency: 'USD', totalMinor: 10, lineItems: [] } })], {}, state).state;
    expect(refunded.computed.lifetimeValue).toEqual({ USD: MAX_AMOUNT - 10 });
    const other = applyAll([purchase('e-9', big)], {}, emptyProfile('p-2', 'acme', T0)).state;
    const merged = foldMerge(state, [other]).state;
    expect(merged.computed.lifetimeValue).toEqual({ USD: MAX_AMOUNT });
    expectEncodes(snapshotType, snapshotOf(merged));
  });
});
