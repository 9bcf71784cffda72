/**
 * Loyalty: coupon and points redemptions in Elephant's documented JSON (docs/channels.md).
 * `points` is the number redeemed (positive, as programmes report it); the touchpoint's
 * pointsDelta is its negative, the change of the balance.
 */
import { ChannelError, schemaViolation } from '../errors.ts';
import { Fields } from '../fields.ts';
import { MAX_AMOUNT_MINOR } from '../values.ts';
import { collectorFor, finish, single, systemFor, type Built } from '../build.ts';
import { lookup, readCustomer, readKind, readTime } from './common.ts';
import type { AdapterContext, AdapterResult } from '../context.ts';
import type { EventType } from '../vocabulary.ts';

const KINDS: Readonly<Record<string, EventType>> = {
  coupon: 'coupon_redeemed',
  coupon_redeemed: 'coupon_redeemed',
  points: 'points_redeemed',
  points_redeemed: 'points_redeemed',
};

function adaptRedemption(raw: unknown, context: AdapterContext): Built {
  const redemption = Fields.of(raw, '');
  const kind = readKind(redemption);
  const eventType = lookup(KINDS, kind);
  if (eventType === undefined) {
    throw new ChannelError('UNKNOWN_EVENT_TYPE', `type: ${JSON.stringify(kind)} is not a loyalty event type (coupon, points)`, { details: { path: 'type', eventType: kind } });
  }
  const sourceEventId = redemption.id('id');
  const eventTime = readTime(redemption, 'occurredAt');
  const ids = collectorFor(context);
  ids.read('loyalty_card', redemption, 'loyaltyCard');
  ids.read('loyalty_member_id', redemption, 'memberId');
  readCustomer(redemption.optObject('customer'), ids);

  const couponCode = eventType === 'coupon_redeemed' ? redemption.string('couponCode') : redemption.optString('couponCode');
  const points = redemption.optInt('points', -MAX_AMOUNT_MINOR, MAX_AMOUNT_MINOR);
  if (eventType === 'points_redeemed' && points === null) throw schemaViolation('points', 'is required');
  const storeId = redemption.optString('storeId');
  return finish(
    'loyalty',
    systemFor('loyalty', context),
    {
      sourceEventId,
      eventType,
      eventTime,
      loyalty: { couponCode, pointsDelta: points === null ? null : -Math.abs(points), programId: redemption.optString('programId') },
      store: storeId === null ? null : { storeId, cashierId: null, terminalId: null },
    },
    ids,
    redemption,
    context,
  );
}

/** Coupon or points redemption → touchpoint. Never throws. */
export function adaptLoyalty(raw: unknown, context: AdapterContext): AdapterResult {
  return single(raw, (value) => adaptRedemption(value, context));
}
