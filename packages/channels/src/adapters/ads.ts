/**
 * Ads: clicks and conversions in Elephant's documented JSON (docs/channels.md), modelled on
 * what ad platforms' click reports and offline-conversion exports carry: the platform's click
 * id (gclid, fbclid, msclkid, ttclid, ...), campaign and ad ids, the landing page's anonymous
 * id, and for conversions a value with currency and SHA-256-hashed contact details.
 */
import { ChannelError, schemaViolation } from '../errors.ts';
import { Fields, refuseTooDeep } from '../fields.ts';
import { collectorFor, finish, single, systemFor, type Built } from '../build.ts';
import { lookup, readAmount, readCurrency, readCustomer, readKind, readTime } from './common.ts';
import { isNegativeAmount } from '../values.ts';
import { conversionScope } from '../event-id.ts';
import type { AdapterContext, AdapterResult } from '../context.ts';
import type { EventType } from '../vocabulary.ts';
import type { Campaign } from '../generated/touchpoint.ts';

const KINDS: Readonly<Record<string, EventType>> = { click: 'ad_clicked', conversion: 'ad_converted' };

function adaptAd(raw: unknown, context: AdapterContext): Built {
  const ad = Fields.of(raw, '');
  const kind = readKind(ad);
  const eventType = lookup(KINDS, kind);
  if (eventType === undefined) {
    throw new ChannelError('UNKNOWN_EVENT_TYPE', `type: ${JSON.stringify(kind)} is not an ads event type (click, conversion)`, { details: { path: 'type', eventType: kind } });
  }
  const platform = ad.string('platform').toLowerCase();
  const conversion = eventType === 'ad_converted' ? ad.object('conversion') : null;
  const id = ad.optId('id');
  // The raw value for the identifier (normalization decides about numbers), the text for campaign.clickId.
  const rawClickId = ad.peek('clickId');
  const clickId = id === null && conversion === null ? ad.optId('clickId') : ad.optString('clickId');
  // A click id names its click uniquely; a conversion needs its own id (the platform's or the order's).
  const sourceEventId = id ?? (conversion ? conversion.optId('id') : clickId);
  if (sourceEventId === null) throw schemaViolation(conversion ? 'conversion.id' : 'clickId', 'is required (or id)');
  const eventTime = readTime(ad, 'occurredAt');
  // Without `id`, a conversion's id can be its click's gclid (Google keys offline conversions
  // by the gclid, the conversion action and its time): its eventId takes the event type, the
  // conversion's name and its time too (conversionScope; before 2026-12-07 it got its click's
  // eventId, and every conversion of a click one eventId, the later ones dropped as
  // duplicates). Clicks keep theirs; `id` is the source's own event id.
  // The name is JSON-encoded into it: nested too deep, it is refused as properties would refuse
  // it (before 2026-12-07 the encoding overflowed the stack, ADAPTER_FAILED).
  if (id === null && conversion !== null) refuseTooDeep(conversion.peek('name'), conversion.at('name'));
  const sourceEventScope = id === null && conversion !== null ? conversionScope(conversion.peek('name'), eventTime) : undefined;

  const ids = collectorFor(context);
  // A dropped click id is not lost: campaign.clickId holds its text.
  ids.add('click_id', rawClickId, ad.at('clickId'));
  ids.read('anonymous_id', ad, 'landingAnonymousId');
  ids.read('email_sha256', ad, 'hashedEmail');
  ids.read('phone_sha256', ad, 'hashedPhone');
  readCustomer(ad.optObject('customer'), ids);

  let valueMinor: number | null = null;
  let valueCurrency: string | null = null;
  // A blank value counts as absent, as a blank amount does everywhere (before 2026-12-07 it
  // required a currency and gave a conversion in it with no value).
  if (conversion?.hasValue('value')) {
    // campaign has no direction field (commerce has its kind): a negative value would become
    // its magnitude, a retraction read as a conversion worth as much. Refused (before
    // 2026-12-07 it was turned positive silently).
    const value = conversion.peek('value');
    if (isNegativeAmount(value)) throw schemaViolation(conversion.at('value'), `must not be negative: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
    valueCurrency = readCurrency(conversion, 'currency', context);
    valueMinor = readAmount(conversion, 'value', null, valueCurrency);
  }
  const campaign: Campaign = {
    platform,
    campaignId: ad.optString('campaignId'),
    adId: ad.optString('adId'),
    clickId,
    name: ad.optString('campaignName'),
    medium: ad.optString('medium'),
    source: ad.optString('source'),
    valueMinor,
    valueCurrency,
  };
  return finish('ads', systemFor('ads', context, platform), { sourceEventId, ...(sourceEventScope === undefined ? {} : { sourceEventScope }), eventType, eventTime, campaign }, ids, ad, context);
}

/** Ad click or conversion → touchpoint. Never throws. */
export function adaptAds(raw: unknown, context: AdapterContext): AdapterResult {
  return single(raw, (value) => adaptAd(value, context));
}
