/**
 * Web and mobile: one Segment Spec message per raw record (track, page, screen, identify,
 * alias, group), as Segment's webhook and Kafka destinations deliver them. E-commerce v2
 * events Product Viewed, Order Completed and Order Refunded get typed mappings; every other
 * track call is a `custom_event` whose name stays in properties.event.
 */
import { ChannelError, schemaViolation } from '../errors.ts';
import { booleanOf, Fields, isRecord } from '../fields.ts';
import { collectorFor, finish, single, systemFor, type Built } from '../build.ts';
import { lineItemsTotal, lookup, readAmount, readCurrency, readLineItems, readTraits, readTime } from './common.ts';
import type { AdapterContext, AdapterResult } from '../context.ts';
import type { IdentifierCollector } from '../identifiers.ts';
import type { EventType } from '../vocabulary.ts';
import type { Campaign, Commerce, Consent, Content, Loyalty } from '../generated/touchpoint.ts';

const TRACK_EVENTS: Readonly<Record<string, EventType>> = {
  'product viewed': 'product_viewed',
  'order completed': 'order_completed',
  'order refunded': 'order_refunded',
};

// Segment's own precedence: `timestamp` is the corrected event time; the others are fallbacks.
const TIME_KEYS = ['timestamp', 'originalTimestamp', 'receivedAt', 'sentAt'] as const;

function eventTimeOf(message: Fields): number {
  const key = TIME_KEYS.find((candidate) => message.hasValue(candidate));
  if (key === undefined) throw schemaViolation(message.at('timestamp'), 'is required (or originalTimestamp, receivedAt, sentAt)');
  return readTime(message, key);
}

/** An object field, read only when it is one: anything else is left unread, for properties. */
function recordField(fields: Fields | null | undefined, key: string): Fields | null {
  return fields && isRecord(fields.peek(key)) ? fields.optObject(key) : null;
}

/**
 * Segment consent: context.consent.categoryPreferences `{ Advertising: true, ... }`. Segment's
 * consent object holds booleans; a purpose of another type (`{ Ads: 1 }`, or null: no consent
 * stated), or a consent object or categoryPreferences that is no object, is left unread and
 * stays in properties, as person traits of another type do, instead of failing the event (a
 * null one was read and discarded before 2026-12-07). `"true"`/`"false"` read as booleans.
 */
function consentOf(segmentContext: Fields | null, eventTime: number): Consent[] {
  const preferences = recordField(recordField(segmentContext, 'consent'), 'categoryPreferences');
  if (!preferences) return [];
  const consent: Consent[] = [];
  for (const purpose of preferences.keys()) {
    const granted = booleanOf(preferences.peek(purpose));
    if (granted === undefined) continue;
    preferences.take(purpose);
    // The purpose is a key of the raw message: lone surrogates become U+FFFD, as in every text field.
    consent.push({ purpose: purpose.toWellFormed(), granted, statedAt: eventTime });
  }
  return consent;
}

function campaignOf(segmentContext: Fields | null): Campaign | null {
  const utm = segmentContext?.optObject('campaign');
  if (!utm) return null;
  const name = utm.optString('name');
  const medium = utm.optString('medium');
  const source = utm.optString('source');
  if (name === null && medium === null && source === null) return null;
  return { platform: null, campaignId: null, adId: null, clickId: null, name, medium, source, valueMinor: null, valueCurrency: null };
}

/** userId, anonymousId and the device's ids; a value normalization drops stays in properties. */
function addCommonIdentifiers(message: Fields, segmentContext: Fields | null, ids: IdentifierCollector): void {
  ids.read('user_id', message, 'userId');
  ids.read('anonymous_id', message, 'anonymousId');
  const device = segmentContext?.optObject('device');
  if (device) {
    ids.read('device_id', device, 'id');
    ids.read('advertising_id', device, 'advertisingId');
  }
}

/**
 * Order Completed / Order Refunded. The amount is `total`, else `revenue`, else `subtotal`
 * (Segment's spec: after discounts, before tax and shipping), else the sum of `products`. With
 * none of them the event is refused (SCHEMA_VIOLATION naming properties.total): before
 * 2026-12-07 it became an order of 0.
 */
function commerceOf(properties: Fields, kind: 'purchase' | 'return', context: AdapterContext): { commerce: Commerce; loyalty: Loyalty | null } {
  const orderId = properties.string('order_id');
  const currency = readCurrency(properties, 'currency', context);
  const lines = readLineItems(properties, 'products', currency, { productId: ['product_id', 'id', 'sku'], price: 'price', priceMinor: null });
  const total =
    readAmount(properties, 'total', null, currency) ??
    readAmount(properties, 'revenue', null, currency) ??
    readAmount(properties, 'subtotal', null, currency) ??
    lineItemsTotal(lines, currency, properties.at('products'));
  if (total === null) throw schemaViolation(properties.at('total'), 'is required (or revenue, subtotal, or products to sum)');
  const coupon = properties.optString('coupon');
  return {
    commerce: { kind, orderId, returnId: null, currency, lineItems: lines.items, totalMinor: total },
    loyalty: coupon === null ? null : { couponCode: coupon, pointsDelta: null, programId: null },
  };
}

function adaptSegment(raw: unknown, context: AdapterContext): Built {
  if (isRecord(raw) && Array.isArray(raw.batch)) {
    throw schemaViolation('batch', 'Segment batch envelopes are not accepted; produce one message per record');
  }
  const message = Fields.of(raw, '');
  // The write key authenticates a Segment source; it must not travel on to subscribers.
  message.skip('writeKey');
  const type = message.string('type').toLowerCase();
  const sourceEventId = message.id('messageId');
  const eventTime = eventTimeOf(message);
  const segmentContext = message.optObject('context');
  const ids = collectorFor(context);
  addCommonIdentifiers(message, segmentContext, ids);
  const consent = consentOf(segmentContext, eventTime);
  const campaign = campaignOf(segmentContext);
  const page = segmentContext?.optObject('page') ?? null;
  const traitFields = type === 'identify' ? message.optObject('traits') : (segmentContext?.optObject('traits') ?? null);
  const traits = traitFields ? readTraits(traitFields, ids, eventTime, { consent }) : consent.length > 0 ? readTraits(new Fields({}, ''), ids, eventTime, { consent }) : null;

  let eventType: EventType;
  let content: Content | null = null;
  let commerce: Commerce | null = null;
  let loyalty: Loyalty | null = null;
  switch (type) {
    case 'page': {
      eventType = 'page_viewed';
      const properties = message.optObject('properties');
      const title = properties?.optString('title') ?? message.optString('name');
      content = { contentId: null, title, kind: 'page', url: properties?.optString('url') ?? page?.optString('url') ?? null };
      break;
    }
    case 'screen':
      eventType = 'screen_viewed';
      content = { contentId: null, title: message.optString('name'), kind: 'screen', url: null };
      break;
    case 'identify':
      eventType = 'identified';
      break;
    case 'alias':
      eventType = 'aliased';
      ids.read(context.segmentPreviousIdType ?? 'anonymous_id', message, 'previousId');
      break;
    case 'group':
      // Group traits describe the account, not the person: they stay in properties.
      eventType = 'grouped';
      break;
    case 'track': {
      const name = message.peek('event');
      if (typeof name !== 'string' || name.trim() === '') throw schemaViolation('event', name === undefined ? 'is required for a track call' : 'must be a non-empty string');
      eventType = lookup(TRACK_EVENTS, name.trim().toLowerCase().replace(/[\s_-]+/g, ' ')) ?? 'custom_event';
      if (eventType === 'product_viewed') {
        const properties = message.object('properties');
        content = {
          contentId: properties.firstString('product_id', 'id', 'sku'),
          title: properties.optString('name'),
          kind: 'product',
          url: properties.optString('url') ?? page?.optString('url') ?? null,
        };
      } else if (eventType === 'order_completed' || eventType === 'order_refunded') {
        ({ commerce, loyalty } = commerceOf(message.object('properties'), eventType === 'order_completed' ? 'purchase' : 'return', context));
      }
      break;
    }
    default:
      throw new ChannelError('UNKNOWN_EVENT_TYPE', `type: ${JSON.stringify(type)} is not a Segment call type (track, page, screen, identify, alias, group)`, {
        details: { path: 'type', eventType: type },
      });
  }
  return finish('web', systemFor('web', context), { sourceEventId, eventType, eventTime, traits, campaign, content, commerce, loyalty }, ids, message, context);
}

/** Segment Spec message → touchpoint. Never throws. */
export function adaptWeb(raw: unknown, context: AdapterContext): AdapterResult {
  return single(raw, (value) => adaptSegment(value, context));
}
