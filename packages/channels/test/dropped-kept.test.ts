/**
 * Identifiers normalization drops keep their raw value in properties, under their field path
 * (before 2026-12-07 the field was read and gone: only a drop record without the value was
 * counted and logged, and e.g. a national phone number without DEFAULT_REGION vanished).
 */
import { describe, expect, it } from 'vitest';
import { adaptMessage, MAX_REPORTED_DROPS, PROPERTY_LIMITS, type AdapterContext, type AdapterResult, type Channel } from '@elephant/channels';
import { context, failure, one } from './helpers.ts';

/** The normalizer's default: no DEFAULT_REGION. */
const noRegion: AdapterContext = { tenant: 'acme', ingestTime: 1_714_600_000_000 };
const adapt = (channel: Channel, raw: unknown, adapterContext: AdapterContext = context): AdapterResult => adaptMessage(channel, new TextEncoder().encode(JSON.stringify(raw)), adapterContext);
const drops = (result: AdapterResult): [string, string, string][] => (result.ok ? result.dropped.map((drop) => [drop.field, drop.type, drop.reason]) : []);

const segment = { type: 'track', event: 'Signed Up', messageId: 'm-1', timestamp: '2024-05-01T10:00:00Z' };
const crm = { type: 'contact.updated', id: 'chg-1', occurredAt: '2024-04-30T16:20:00Z' };
const pos = { type: 'purchase', id: 'txn-1', occurredAt: '2024-05-01T14:03:11+02:00', currency: 'EUR', total: 1 };

describe('dropped identifiers keep their value in properties', () => {
  it('regression (a national phone without DEFAULT_REGION vanished): POS customer.phone and CRM contact.phones[0] stay in properties', () => {
    const sale = adapt('pos', { ...pos, loyaltyCard: '6001 2345', customer: { phone: '030 1234567' } }, noRegion);
    const sold = one(sale);
    expect(sold.identifiers).toEqual([{ type: 'loyalty_card', value: '60012345' }]);
    expect(sold.properties).toEqual({ 'customer.phone': '030 1234567' });
    // Still a drop, reported (the normalizer counts and logs it without the value).
    expect(drops(sale)).toEqual([['customer.phone', 'phone', 'phone_needs_region']]);

    const change = adapt('crm', { ...crm, contact: { id: 'C-1', phones: ['030 1234567'], phone: '030 7654321' } }, noRegion);
    const changed = one(change);
    expect(changed.identifiers).toEqual([{ type: 'crm_id', value: 'C-1' }]);
    expect(changed.traits).toBeNull();
    expect(changed.properties).toEqual({ 'contact.phones[0]': '030 1234567', 'contact.phone': '030 7654321' });
    expect(drops(change)).toEqual([
      ['contact.phones[0]', 'phone', 'phone_needs_region'],
      ['contact.phone', 'phone', 'phone_needs_region'],
    ]);
  });

  it('keeps only the dropped items of a list, by index, and a CRM trait falls to the next valid value', () => {
    const change = adapt('crm', { ...crm, contact: { id: 'C-1', email: 'not-an-email', emails: ['ann@a.example', 'nope', 'ann@b.example'], phones: [{ value: 'n/a', primary: true, type: 'home' }, { value: '+49 30 1234567' }] } });
    const tp = one(change);
    expect(tp.traits).toMatchObject({ email: 'ann@a.example', phone: '+49301234567' });
    expect(tp.properties).toEqual({
      'contact.email': 'not-an-email',
      'contact.emails[1]': 'nope',
      // The primary flag stays with the value it marked; the type was never read.
      'contact.phones[0].value': 'n/a',
      'contact.phones[0].primary': 'true',
      'contact.phones[0].type': 'home',
    });
  });

  it('keeps a dropped Segment id, trait e-mail or device id under its path', () => {
    const tp = one(adapt('web', { ...segment, userId: 'u\u0000', anonymousId: 'anon-1', context: { device: { id: ' ' }, traits: { email: 'ann@', firstName: 'Ann' } } }));
    expect(tp.identifiers).toEqual([{ type: 'anonymous_id', value: 'anon-1' }]);
    expect(tp.traits).toMatchObject({ email: null, firstName: 'Ann' });
    expect(tp.properties).toMatchObject({ userId: 'u\u0000', 'context.device.id': ' ', 'context.traits.email': 'ann@' });
    const identify = one(adapt('web', { ...segment, type: 'identify', userId: 'u-1', traits: { email: 'ann at example' } }));
    expect(identify.properties).toMatchObject({ 'traits.email': 'ann at example' });
  });

  it('encodes a dropped value as any unread field: numbers and arrays JSON-encoded, objects flattened', () => {
    const tp = one(adapt('pos', { ...pos, loyaltyCard: '6001', customer: { email: 42, userId: ['u-1'], crmId: { id: 'C-1' }, deviceId: true } }));
    expect(tp.identifiers).toEqual([{ type: 'loyalty_card', value: '6001' }]);
    expect(tp.properties).toEqual({ 'customer.email': '42', 'customer.userId': '["u-1"]', 'customer.crmId.id': 'C-1', 'customer.deviceId': 'true' });
  });

  it('keeps an identifiers[] entry that yields no identifier whole, type and value', () => {
    const tp = one(adapt('pos', { ...pos, loyaltyCard: '6001', customer: { identifiers: [{ type: 'Bad Type', value: 'x' }, { type: 'erp', value: 'E-1' }, { type: 'erp', value: ' ' }] } }));
    expect(tp.identifiers).toEqual([{ type: 'loyalty_card', value: '6001' }, { type: 'erp', value: 'E-1' }]);
    expect(tp.properties).toEqual({ 'customer.identifiers[0].type': 'Bad Type', 'customer.identifiers[0].value': 'x', 'customer.identifiers[2].type': 'erp', 'customer.identifiers[2].value': ' ' });
  });

  it('does so on every channel', () => {
    const cases: [Channel, unknown, Record<string, string>][] = [
      ['ads', { type: 'click', platform: 'google_ads', clickId: 'c-1', occurredAt: '2024-05-01T09:58:00Z', landingAnonymousId: '\u200b', hashedEmail: 'abc' }, { landingAnonymousId: '\u200b', hashedEmail: 'abc' }],
      ['support', { type: 'call', id: 'call-1', occurredAt: '2024-05-03T08:15:00Z', callerPhone: 'anonymous', customer: { crmId: 'C-1' } }, { callerPhone: 'anonymous' }],
      ['loyalty', { type: 'points', id: 'red-1', occurredAt: '2024-05-01T12:00:00Z', loyaltyCard: '6001', memberId: '', points: 5 }, { memberId: '' }],
      ['content', { type: 'download', id: 'dl-1', occurredAt: '2024-05-01T11:00:00Z', anonymousId: 'a-1', userId: 'x'.repeat(600), email: 'x@' }, { userId: 'x'.repeat(600), email: 'x@' }],
    ];
    for (const [channel, raw, kept] of cases) expect(one(adapt(channel, raw)).properties).toMatchObject(kept);
    const sendgrid = adapt('email', [{ email: 'a@b.example', timestamp: 1513299569, event: 'open', sg_event_id: 'e-1', uid: '\u0000' }], { ...context, sendgridIdentifierArgs: { uid: 'user_id' } });
    expect(sendgrid.ok && sendgrid.touchpoints[0]?.properties).toMatchObject({ uid: '\u0000' });
  });

  it('still refuses an event with no surviving identifier as MISSING_IDENTIFIER (dead-lettered with its bytes)', () => {
    const result = adapt('pos', { ...pos, customer: { phone: '030 1234567', email: 'nope' } }, noRegion);
    expect(failure(result, 'MISSING_IDENTIFIER')).toContain('customer.phone (phone_needs_region)');
  });

  it('counts dropped values against the property limits: a message needing more is PROPERTIES_TOO_LARGE, never cut', () => {
    const emails = Array.from({ length: PROPERTY_LIMITS.keys + 1 }, () => 'junk');
    const result = adapt('crm', { ...crm, contact: { id: 'C-1', emails } });
    failure(result, 'PROPERTIES_TOO_LARGE');
    expect(!result.ok && result.error.details).toMatchObject({ reason: 'too_many_keys' });
    // Below the limits every one is kept; drops past MAX_REPORTED_DROPS are only counted.
    const fewer = adapt('crm', { ...crm, contact: { id: 'C-1', emails: emails.slice(0, 500) } });
    expect(Object.keys(one(fewer).properties)).toHaveLength(500);
    expect(fewer.ok && fewer.dropped).toHaveLength(MAX_REPORTED_DROPS);
    expect(fewer.ok && fewer.droppedOmitted).toEqual([{ type: 'email', reason: 'invalid_email', count: 500 - MAX_REPORTED_DROPS }]);
  });

  it('regression (a null in a CRM emails/phones list was read and gone without a drop): a drop with reason empty, kept as null', () => {
    const result = adapt('crm', { ...crm, contact: { id: 'C-1', emails: ['ann@a.example', null], phones: [null] } });
    expect(one(result).properties).toEqual({ 'contact.emails[1]': 'null', 'contact.phones[0]': 'null' });
    expect(drops(result)).toEqual([
      ['contact.emails[1]', 'email', 'empty'],
      ['contact.phones[0]', 'phone', 'empty'],
    ]);
  });

  it('regression (a list entry {value: null, primary: true} kept a primary flag marking nothing): its null value stays beside the flag', () => {
    const result = adapt('crm', { ...crm, contact: { id: 'C-1', emails: [{ value: null, primary: true }, { value: 'ann@a.example' }] } });
    expect(one(result).properties).toEqual({ 'contact.emails[0].value': 'null', 'contact.emails[0].primary': 'true' });
    expect(one(result).traits).toMatchObject({ email: 'ann@a.example' });
  });

  it.each([
    ['a key over the limit', PROPERTY_LIMITS.keyLength + 64],
    ['a key under the limit whose path is over it', PROPERTY_LIMITS.keyLength - 5],
  ])('regression (a null under %s failed the whole message): a null preference or consent purpose there is not kept', (_, length) => {
    const long = 'k'.repeat(length);
    const preference = adapt('crm', { ...crm, contact: { id: 'C-1', email: 'ann@a.example', preferences: { lang: 'de', [long]: null } } });
    expect(one(preference).properties).toEqual({});
    expect(one(preference).traits?.preferences).toEqual({ lang: 'de' });
    const consent = adapt('web', { ...segment, userId: 'u-1', context: { consent: { categoryPreferences: { Analytics: true, [long]: null } } } });
    expect(one(consent).traits?.consent?.map((given) => given.purpose)).toEqual(['Analytics']);
    expect(Object.keys(one(consent).properties).some((key) => key.length > PROPERTY_LIMITS.keyLength)).toBe(false);
  });

  it('keeps a valid identifier out of properties, and a typed field given as null reads as absent', () => {
    const result = adapt('pos', { ...pos, customer: { email: 'Ann@Example.com', phone: null } });
    expect(one(result).properties).toEqual({});
    expect(drops(result)).toEqual([]);
  });
});
