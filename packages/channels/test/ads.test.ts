import { describe, expect, it } from 'vitest';
import { adaptAds, conversionScope, deriveEventId } from '@elephant/channels';
import { context, failure, one } from './helpers.ts';

const click = {
  type: 'click',
  platform: 'Google_Ads',
  clickId: 'Cj0KCQjw-gclid-1',
  occurredAt: '2024-05-01T09:58:00Z',
  campaignId: '1234567890',
  campaignName: 'Spring Sale',
  adGroupId: '555',
  adId: '987654',
  medium: 'cpc',
  source: 'google',
  landingAnonymousId: '507f191e810c19729de860ea',
  landingUrl: 'https://shop.example/?gclid=Cj0KCQjw-gclid-1',
};

const conversion = {
  type: 'conversion',
  platform: 'meta_ads',
  clickId: 'fb.1.1714557600.IwAR2',
  occurredAt: 1_714_560_000_000,
  campaignId: '238',
  adId: '239',
  conversion: { id: 'conv-77', name: 'Purchase', value: 49.9, currency: 'eur', orderId: 'o-1' },
  hashedEmail: 'B4C9A289323B21A01C3E940F150EB9B8C542587F1ABFD8F0E1CC1FFC5E475514',
};

describe('ads adapter', () => {
  it('maps a click: click id, campaign, landing anonymous id', () => {
    const tp = one(adaptAds(click, context));
    expect(tp).toMatchObject({
      eventType: 'ad_clicked',
      journeyStage: 'aware',
      source: { system: 'google_ads', eventId: 'Cj0KCQjw-gclid-1', trust: 30 },
      identifiers: [
        { type: 'click_id', value: 'Cj0KCQjw-gclid-1' },
        { type: 'anonymous_id', value: '507f191e810c19729de860ea' },
      ],
      campaign: { platform: 'google_ads', campaignId: '1234567890', adId: '987654', clickId: 'Cj0KCQjw-gclid-1', name: 'Spring Sale', medium: 'cpc', source: 'google', valueMinor: null, valueCurrency: null },
    });
    expect(tp.properties).toMatchObject({ adGroupId: '555', landingUrl: click.landingUrl });
  });

  it('regression (an empty value required a currency, and with one gave a conversion in it of no value): an empty string value counts as absent', () => {
    const { currency: _currency, ...withoutCurrency } = conversion.conversion;
    const tp = one(adaptAds({ ...conversion, conversion: { ...withoutCurrency, value: '' } }, context));
    expect(tp.campaign).toMatchObject({ valueMinor: null, valueCurrency: null });
  });

  it('maps a conversion with its value and hashed e-mail', () => {
    const tp = one(adaptAds(conversion, context));
    expect(tp).toMatchObject({
      eventType: 'ad_converted',
      journeyStage: 'acquire',
      eventTime: 1_714_560_000_000,
      source: { system: 'meta_ads', eventId: 'conv-77' },
      campaign: { platform: 'meta_ads', valueMinor: 4990, valueCurrency: 'EUR', clickId: 'fb.1.1714557600.IwAR2' },
      commerce: null,
    });
    expect(tp.identifiers).toContainEqual({ type: 'email_sha256', value: conversion.hashedEmail.toLowerCase() });
    expect(tp.properties).toMatchObject({ 'conversion.name': 'Purchase', 'conversion.orderId': 'o-1' });
  });

  it('regression (a conversion keyed by its click\'s gclid got the click\'s eventId and was dropped as a duplicate): without `id`, the event type enters a conversion\'s eventId, source.eventId stays as sent; a click\'s is as it was', () => {
    const gclid = 'Cj0KCQjw-gclid-1';
    const clicked = one(adaptAds(click, context));
    const converted = one(adaptAds({ ...conversion, platform: click.platform, clickId: gclid, conversion: { ...conversion.conversion, id: gclid } }, context));
    expect([clicked.source.eventId, converted.source.eventId]).toEqual([gclid, gclid]);
    expect(converted.eventId).not.toBe(clicked.eventId);
    expect(clicked.eventId).toBe(deriveEventId('acme', 'ads', 'google_ads', gclid));
    expect(converted.eventId).toBe(deriveEventId('acme', 'ads', 'google_ads', gclid, JSON.stringify(['ad_converted', 'Purchase', converted.eventTime])));
    // The source's own `id` names the event by itself, as in every other channel: its eventId is as it was.
    expect(one(adaptAds({ ...click, id: 'evt-1' }, context)).eventId).toBe(deriveEventId('acme', 'ads', 'google_ads', 'evt-1'));
  });

  it('regression (every conversion of one click had one eventId: a purchase after a lead was dropped as a duplicate): a conversion keyed by its gclid is told apart by its name and time, as Google keys them', () => {
    const gclid = 'Cj0KCQjw-gclid-2';
    const of = (name: unknown, occurredAt: string): string => one(adaptAds({ ...conversion, platform: 'google_ads', clickId: gclid, occurredAt, conversion: { id: gclid, ...(name === undefined ? {} : { name }), value: 1, currency: 'EUR' } }, context)).eventId;
    const lead = of('Lead', '2024-05-02T10:00:00Z');
    const purchase = of('Purchase', '2024-05-09T10:00:00Z');
    expect(new Set([lead, purchase, of('Purchase', '2024-05-10T10:00:00Z'), of(undefined, '2024-05-02T10:00:00Z')]).size).toBe(4);
    // The same conversion sent again is the same event.
    expect(of('Lead', '2024-05-02T10:00:00Z')).toBe(lead);
    expect(lead).toBe(deriveEventId('acme', 'ads', 'google_ads', gclid, conversionScope('Lead', Date.parse('2024-05-02T10:00:00Z'))));
  });

  it('rounds an occurredAt in epoch milliseconds with a fraction to the millisecond', () => {
    expect(one(adaptAds({ ...conversion, occurredAt: 1_714_560_000_000.123 }, context)).eventTime).toBe(1_714_560_000_000);
  });

  it('reads a conversion value of zero, -0 included, as 0', () => {
    expect(one(adaptAds({ ...conversion, conversion: { id: 'c', value: -0, currency: 'EUR' } }, context)).campaign?.valueMinor).toBe(0);
    expect(one(adaptAds({ ...conversion, conversion: { id: 'c', value: '-0.00', currency: 'EUR' } }, context)).campaign?.valueMinor).toBe(0);
  });

  it('uses the deployment source system when set, and its trust override', () => {
    const tp = one(adaptAds(click, { ...context, sourceSystem: 'adsync', trust: { adsync: 35 } }));
    expect(tp.source).toEqual({ system: 'adsync', eventId: 'Cj0KCQjw-gclid-1', trust: 35 });
  });

  it.each([
    ['an unknown type', { ...click, type: 'impression' }, 'UNKNOWN_EVENT_TYPE', 'type: "impression"'],
    ['no platform', { ...click, platform: undefined }, 'SCHEMA_VIOLATION', 'platform: is required'],
    ['a click without click id or id', { ...click, clickId: undefined }, 'SCHEMA_VIOLATION', 'clickId: is required'],
    ['a conversion without conversion', { ...conversion, conversion: undefined }, 'SCHEMA_VIOLATION', 'conversion: is required'],
    ['a conversion without id', { ...conversion, conversion: { value: 1, currency: 'EUR' } }, 'SCHEMA_VIOLATION', 'conversion.id: is required'],
    ['a value without currency', { ...conversion, conversion: { id: 'c', value: 1 } }, 'SCHEMA_VIOLATION', 'conversion.currency: is required'],
    ['a value that is no number', { ...conversion, conversion: { id: 'c', value: true, currency: 'EUR' } }, 'SCHEMA_VIOLATION', 'conversion.value'],
    ['a negative value (campaign has no direction: it became +49.90)', { ...conversion, conversion: { id: 'c', value: -49.9, currency: 'EUR' } }, 'SCHEMA_VIOLATION', 'conversion.value: must not be negative: -49.9'],
    ['a negative value as text', { ...conversion, conversion: { id: 'c', value: ' -0.01', currency: 'EUR' } }, 'SCHEMA_VIOLATION', 'conversion.value: must not be negative: " -0.01"'],
    ['a bad hashed e-mail only', { type: 'conversion', platform: 'x', occurredAt: 1_714_560_000_000, conversion: { id: 'c' }, hashedEmail: 'ann@example.com' }, 'MISSING_IDENTIFIER', 'hashedEmail (invalid_format)'],
    ['no time', { ...click, occurredAt: undefined }, 'SCHEMA_VIOLATION', 'occurredAt: is required'],
    ['a click id beyond 2^53 (it was rounded)', { ...click, clickId: 2 ** 60 }, 'SCHEMA_VIOLATION', 'clickId: expected a string or an integer between -(2^53-1) and 2^53-1'],
    ['a conversion click id beyond 2^53', { ...conversion, clickId: 2 ** 60 }, 'SCHEMA_VIOLATION', 'clickId: expected a string or an integer between -(2^53-1) and 2^53-1'],
    ['a click id with a lone surrogate standing for the event', { ...click, clickId: 'gclid-\ud800' }, 'SCHEMA_VIOLATION', 'clickId: contains a lone UTF-16 surrogate'],
  ])('rejects %s', (_name, raw, code, message) => {
    expect(failure(adaptAds(raw, context), code as 'SCHEMA_VIOLATION')).toContain(message);
  });

  it('normalizes the raw click id (a safe integer in decimal) and drops one with a lone surrogate when the event has its own id', () => {
    expect(one(adaptAds({ ...click, clickId: 12345 }, context)).identifiers).toContainEqual({ type: 'click_id', value: '12345' });
    const result = adaptAds({ ...click, id: 'evt-1', clickId: 'gclid-\ud800' }, context);
    const tp = one(result);
    expect(tp.identifiers).toEqual([{ type: 'anonymous_id', value: '507f191e810c19729de860ea' }]);
    expect(tp.campaign?.clickId).toBe('gclid-\ufffd');
    expect(result.ok && result.dropped.map((drop) => [drop.field, drop.reason])).toEqual([['clickId', 'invalid_characters']]);
  });
});
