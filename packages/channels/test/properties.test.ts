import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADAPTERS, adaptMessage, CHANNELS, ChannelError, EVENT_TYPES, JOURNEY_STAGES, type AdapterResult, type Channel } from '@elephant/channels';
import { avroProblems, context } from './helpers.ts';

const RUNS = { numRuns: 300 };

/** Either a plausible value or any JSON at all, so both the happy and the hostile paths run. */
const either = (good: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: fc.jsonValue() });
const shaped = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> =>
  fc.record(Object.fromEntries(Object.entries(fields).map(([key, arbitrary]) => [key, either(arbitrary)])), { requiredKeys: [] });

const iso = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString());
const time = fc.oneof(iso, fc.integer({ min: 1e11, max: 4e12 }));
const id = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 1e9 }));
const email = fc.oneof(fc.emailAddress(), fc.constantFrom('Ann@Example.com', 'not-an-email', ''));
const phone = fc.constantFrom('+49 30 1234567', '030 1234567', '+1 415 555 2671', '12', 'anonymous', '');
const amount = fc.oneof(fc.double({ min: -1e7, max: 1e7, noNaN: true }), fc.integer({ min: -1e7, max: 1e7 }), fc.constantFrom('19.99', '-5', '1e3', '0.005'));
const currency = fc.constantFrom('EUR', 'usd', 'JPY', 'KWD', 'xx');
const lineItem = shaped({ productId: id, product_id: id, sku: id, name: fc.string(), quantity: fc.integer({ min: -5, max: 5 }), price: amount, unitPrice: amount, unitPriceMinor: fc.integer() });
const customer = shaped({ userId: id, crmId: id, email, phone, loyaltyCard: id, anonymousId: id, identifiers: fc.array(shaped({ type: fc.constantFrom('erp_id', 'Bad Type', 'email'), value: id }), { maxLength: 2 }) });
const traits = shaped({ email, phone, firstName: fc.string(), first_name: fc.string(), birthday: fc.oneof(iso, fc.string()), address: shaped({ city: fc.string(), country: fc.string() }), company: fc.oneof(fc.string(), shaped({ name: fc.string() })) });
const consents = fc.array(shaped({ purpose: fc.string(), granted: fc.boolean(), statedAt: time }), { maxLength: 3 });

const SHAPES: Record<Channel, fc.Arbitrary<unknown>> = {
  web: shaped({
    type: fc.constantFrom('track', 'page', 'screen', 'identify', 'alias', 'group', 'purchase'),
    event: fc.constantFrom('Order Completed', 'Order Refunded', 'Product Viewed', 'Signed Up', 'constructor', '__proto__'),
    messageId: id,
    timestamp: time,
    anonymousId: id,
    userId: id,
    previousId: id,
    traits,
    context: shaped({ traits, device: shaped({ id, advertisingId: id }), consent: shaped({ categoryPreferences: fc.dictionary(fc.string(), fc.boolean()) }) }),
    properties: shaped({ order_id: id, total: amount, revenue: amount, currency, coupon: fc.string(), products: fc.array(lineItem, { maxLength: 3 }), __proto__: fc.string() }),
  }),
  email: fc.array(
    shaped({
      event: fc.constantFrom('processed', 'delivered', 'open', 'click', 'bounce', 'dropped', 'deferred', 'spamreport', 'unsubscribe', 'group_unsubscribe', 'group_resubscribe', 'account_status_change'),
      email,
      timestamp: fc.integer({ min: 1, max: 4e9 }),
      sg_event_id: id,
      sg_message_id: id,
      url: fc.webUrl(),
      reason: fc.string(),
      category: fc.oneof(fc.string(), fc.array(fc.string())),
    }),
    { maxLength: 4 },
  ),
  ads: shaped({
    type: fc.constantFrom('click', 'conversion', 'impression'),
    platform: fc.constantFrom('google_ads', 'meta_ads', ''),
    id,
    clickId: id,
    occurredAt: time,
    landingAnonymousId: id,
    hashedEmail: fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), fc.string()),
    conversion: shaped({ id, value: amount, currency }),
    customer,
  }),
  pos: shaped({
    type: fc.constantFrom('purchase', 'return', 'void'),
    id,
    occurredAt: time,
    currency,
    total: amount,
    totalMinor: fc.integer(),
    lineItems: fc.array(lineItem, { maxLength: 3 }),
    loyaltyCard: id,
    paymentFingerprint: id,
    customer,
  }),
  support: shaped({ type: fc.constantFrom('call', 'chat', 'ticket', 'fax'), id, occurredAt: time, callerPhone: phone, customer, satisfactionScore: fc.integer({ min: -10, max: 10 }), agent: fc.string() }),
  crm: shaped({
    type: fc.constantFrom('created', 'updated', 'deleted', 'contact.created', 'merged'),
    id,
    occurredAt: time,
    contact: shaped({ id, emails: fc.oneof(fc.array(email), fc.array(shaped({ value: email, primary: fc.boolean() })), fc.array(fc.oneof(email, fc.constant(null), shaped({ value: email, primary: fc.oneof(fc.boolean(), fc.constantFrom(1, 'Y', 'true')) })), { maxLength: 4 })), phones: fc.array(phone), email, firstName: fc.string(), consents, preferences: fc.dictionary(fc.string(), fc.jsonValue()) }),
  }),
  loyalty: shaped({ type: fc.constantFrom('coupon', 'points', 'stamp'), id, occurredAt: time, memberId: id, loyaltyCard: id, couponCode: fc.string(), points: fc.integer(), customer }),
  content: shaped({ type: fc.constantFrom('form', 'download', 'webinar'), id, occurredAt: time, anonymousId: id, email, phone, firstName: fc.string(), consents, fields: fc.dictionary(fc.string(), fc.jsonValue()) }),
};

function checkResult(channel: Channel, result: AdapterResult): void {
  if (!result.ok) {
    expect(result.error).toBeInstanceOf(ChannelError);
    expect(result.error.retryable).toBe(false);
    return;
  }
  for (const touchpoint of result.touchpoints) {
    expect(avroProblems(touchpoint)).toEqual([]);
    expect(touchpoint.channel).toBe(channel);
    expect(EVENT_TYPES).toContain(touchpoint.eventType);
    expect(JOURNEY_STAGES).toContain(touchpoint.journeyStage);
    expect(touchpoint.identifiers.length).toBeGreaterThan(0);
    expect(new Set(touchpoint.identifiers.map((identifier) => `${identifier.type}:${identifier.value}`)).size).toBe(touchpoint.identifiers.length);
  }
  for (const rejected of result.rejected) expect(rejected.error).toBeInstanceOf(ChannelError);
}

describe.each(CHANNELS)('%s adapter on arbitrary input', (channel) => {
  const adapter = ADAPTERS[channel];

  it('never throws on any JSON value, and returns only encodable touchpoints', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => checkResult(channel, adapter(value, context))),
      RUNS,
    );
  });

  it('never throws on objects shaped like its messages, and returns only encodable touchpoints', () => {
    fc.assert(
      fc.property(SHAPES[channel], (value) => checkResult(channel, adapter(value, context))),
      RUNS,
    );
  });

  it('is deterministic: the same message gives the same result', () => {
    fc.assert(
      fc.property(SHAPES[channel], (value) => {
        expect(JSON.stringify(adapter(structuredClone(value), context))).toBe(JSON.stringify(adapter(value, context)));
      }),
      { numRuns: 100 },
    );
  });

  it('produces touchpoints for some shaped messages (the generators reach the happy path)', () => {
    const successes = fc.sample(SHAPES[channel], { numRuns: 400, seed: 42 }).filter((value) => {
      const result = adapter(value, context);
      return result.ok && result.touchpoints.length > 0;
    });
    expect(successes.length).toBeGreaterThan(0);
  });
});

describe('adaptMessage on arbitrary bytes', () => {
  it('never throws', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CHANNELS), fc.uint8Array({ maxLength: 200 }), (channel, bytes) => checkResult(channel, adaptMessage(channel, bytes, context))),
      RUNS,
    );
  });
});
