import { describe, expect, it } from 'vitest';
import { adaptLoyalty } from '@elephant/channels';
import { context, failure, one } from './helpers.ts';

describe('loyalty adapter', () => {
  it('maps a coupon redemption', () => {
    const tp = one(adaptLoyalty({ type: 'coupon', id: 'red-1', occurredAt: '2024-05-01T12:00:00Z', programId: 'club', loyaltyCard: '6001-2345', couponCode: 'WELCOME5', storeId: 's-1', orderId: 'txn-9' }, context));
    expect(tp).toMatchObject({
      eventType: 'coupon_redeemed',
      journeyStage: 'retain',
      source: { system: 'loyalty', trust: 85 },
      identifiers: [{ type: 'loyalty_card', value: '60012345' }],
      loyalty: { couponCode: 'WELCOME5', pointsDelta: null, programId: 'club' },
      store: { storeId: 's-1', cashierId: null, terminalId: null },
    });
    expect(tp.properties).toEqual({ orderId: 'txn-9' });
  });

  it('maps a points redemption as a negative balance change', () => {
    const tp = one(adaptLoyalty({ type: 'points_redeemed', id: 'red-2', occurredAt: '2024-05-01T12:00:00Z', memberId: 'M-1', points: 500, customer: { email: 'ann@example.com' } }, context));
    expect(tp.eventType).toBe('points_redeemed');
    expect(tp.loyalty).toEqual({ couponCode: null, pointsDelta: -500, programId: null });
    expect(tp.identifiers).toEqual([
      { type: 'loyalty_member_id', value: 'M-1' },
      { type: 'email', value: 'ann@example.com' },
    ]);
    expect(tp.store).toBeNull();
  });

  it.each([
    ['an unknown type', { type: 'stamp', id: 'r', occurredAt: '2024-05-01T12:00:00Z', memberId: 'M' }, 'UNKNOWN_EVENT_TYPE', 'type: "stamp"'],
    ['a coupon event without code', { type: 'coupon', id: 'r', occurredAt: '2024-05-01T12:00:00Z', memberId: 'M' }, 'SCHEMA_VIOLATION', 'couponCode: is required'],
    ['a points event without points', { type: 'points', id: 'r', occurredAt: '2024-05-01T12:00:00Z', memberId: 'M' }, 'SCHEMA_VIOLATION', 'points: is required'],
    ['fractional points', { type: 'points', id: 'r', occurredAt: '2024-05-01T12:00:00Z', memberId: 'M', points: 1.5 }, 'SCHEMA_VIOLATION', 'points: expected an integer'],
    ['points over 2^52', { type: 'points', id: 'r', occurredAt: '2024-05-01T12:00:00Z', memberId: 'M', points: 2 ** 52 + 1 }, 'SCHEMA_VIOLATION', 'points: must be between'],
    ['no member', { type: 'points', id: 'r', occurredAt: '2024-05-01T12:00:00Z', points: 5, loyaltyCard: ' - ' }, 'MISSING_IDENTIFIER', 'loyaltyCard (empty)'],
  ])('rejects %s', (_name, raw, code, message) => {
    expect(failure(adaptLoyalty(raw, context), code as 'SCHEMA_VIOLATION')).toContain(message);
  });
});
