import { describe, expect, it } from 'vitest';
import { adaptMessage, adaptWeb } from '@elephant/channels';
import { context, failure, one } from './helpers.ts';

const common = {
  messageId: 'ajs-msg-1',
  anonymousId: '507f191e810c19729de860ea',
  timestamp: '2024-05-01T10:00:00.000Z',
  sentAt: '2024-05-01T10:00:01.000Z',
  context: {
    ip: '203.0.113.9',
    library: { name: 'analytics.js', version: '5.2.0' },
    page: { url: 'https://shop.example/hats?utm_source=news', path: '/hats', title: 'Hats' },
    campaign: { name: 'spring_sale', source: 'newsletter', medium: 'email', term: 'hats' },
    userAgent: 'Mozilla/5.0',
  },
};

describe('web adapter (Segment Spec)', () => {
  it('maps a page call to page_viewed with its content and UTM campaign', () => {
    const tp = one(adaptWeb({ ...common, type: 'page', name: 'Hats', properties: { title: 'Hats | Shop', url: 'https://shop.example/hats', referrer: 'https://news.example' } }, context));
    expect(tp).toMatchObject({
      channel: 'web',
      eventType: 'page_viewed',
      journeyStage: 'aware',
      eventTime: Date.parse('2024-05-01T10:00:00.000Z'),
      ingestTime: context.ingestTime,
      source: { system: 'segment', eventId: 'ajs-msg-1', trust: 70 },
      identifiers: [{ type: 'anonymous_id', value: '507f191e810c19729de860ea' }],
      content: { contentId: null, title: 'Hats | Shop', kind: 'page', url: 'https://shop.example/hats' },
      campaign: { name: 'spring_sale', source: 'newsletter', medium: 'email', platform: null },
    });
    expect(tp.properties).toMatchObject({
      name: 'Hats',
      sentAt: '2024-05-01T10:00:01.000Z',
      'context.ip': '203.0.113.9',
      'context.library.name': 'analytics.js',
      'context.campaign.term': 'hats',
      'context.page.path': '/hats',
      'properties.referrer': 'https://news.example',
    });
  });

  it('maps a screen call to screen_viewed', () => {
    const tp = one(adaptWeb({ ...common, type: 'screen', name: 'Cart', context: { device: { id: 'B5372DB0-C21E', advertisingId: '7A3CBEA0-BDF5' } } }, context));
    expect(tp.eventType).toBe('screen_viewed');
    expect(tp.content).toEqual({ contentId: null, title: 'Cart', kind: 'screen', url: null });
    expect(tp.identifiers).toEqual([
      { type: 'anonymous_id', value: '507f191e810c19729de860ea' },
      { type: 'device_id', value: 'B5372DB0-C21E' },
      { type: 'advertising_id', value: '7A3CBEA0-BDF5' },
    ]);
  });

  it('maps identify traits to traits and identifiers, keeping unknown traits in properties', () => {
    const tp = one(
      adaptWeb(
        {
          ...common,
          type: 'identify',
          userId: 'u-97980cfea0067',
          traits: {
            email: ' Peter@Example.com',
            phone: '030 1234567',
            first_name: 'Peter',
            lastName: 'Gibbons',
            company: { name: 'Initech', industry: 'Technology' },
            address: { street: '6th St', city: 'San Francisco', postal_code: '94103', state: 'CA', country: 'us' },
            birthday: '1997-01-18T00:00:00.000Z',
            gender: 'male',
            plan: 'premium',
            logins: 5,
          },
        },
        context,
      ),
    );
    expect(tp.eventType).toBe('identified');
    expect(tp.identifiers).toEqual([
      { type: 'user_id', value: 'u-97980cfea0067' },
      { type: 'anonymous_id', value: '507f191e810c19729de860ea' },
      { type: 'email', value: 'peter@example.com' },
      { type: 'phone', value: '+49301234567' },
    ]);
    expect(tp.traits).toEqual({
      email: 'peter@example.com',
      phone: '+49301234567',
      firstName: 'Peter',
      lastName: 'Gibbons',
      company: 'Initech',
      address: { street: '6th St', city: 'San Francisco', postalCode: '94103', region: 'CA', country: 'US' },
      birthDate: '1997-01-18',
      gender: 'male',
      preferences: {},
      consent: [],
    });
    expect(tp.properties).toMatchObject({ 'traits.plan': 'premium', 'traits.logins': '5', 'traits.company.industry': 'Technology' });
  });

  it('keeps a birthday that is no date in properties instead of failing the event', () => {
    const tp = one(adaptWeb({ ...common, type: 'identify', userId: 'u1', traits: { birthday: 'sometime in May' } }, context));
    expect(tp.traits).toBeNull();
    expect(tp.properties['traits.birthday']).toBe('sometime in May');
  });

  it('maps Segment consent preferences to consent statements', () => {
    const tp = one(adaptWeb({ ...common, type: 'track', event: 'Consent Updated', context: { consent: { categoryPreferences: { Advertising: true, Analytics: false } } } }, context));
    expect(tp.traits?.consent).toEqual([
      { purpose: 'Advertising', granted: true, statedAt: tp.eventTime },
      { purpose: 'Analytics', granted: false, statedAt: tp.eventTime },
    ]);
  });

  it('regression (a consent purpose given as a number dead-lettered the event): keeps purposes that are no boolean in properties', () => {
    const tp = one(adaptWeb({ ...common, type: 'track', event: 'Consent Updated', context: { consent: { categoryPreferences: { Ads: 1, Analytics: false, Functional: 'yes', DataSharing: 'true', Other: { v: true }, Unset: null } } } }, context));
    expect(tp.traits?.consent).toEqual([
      { purpose: 'Analytics', granted: false, statedAt: tp.eventTime },
      { purpose: 'DataSharing', granted: true, statedAt: tp.eventTime },
    ]);
    expect(tp.properties).toMatchObject({
      'context.consent.categoryPreferences.Ads': '1',
      'context.consent.categoryPreferences.Functional': 'yes',
      'context.consent.categoryPreferences.Other.v': 'true',
      // A null states no consent: kept as the text null (before 2026-12-07 it was read and discarded).
      'context.consent.categoryPreferences.Unset': 'null',
    });
    expect(Object.keys(tp.properties).filter((key) => /Analytics|DataSharing/.test(key))).toEqual([]);
    // A consent object or categoryPreferences that is no object is kept too.
    for (const consent of [true, { categoryPreferences: ['Ads'] }]) {
      const kept = one(adaptWeb({ ...common, type: 'page', context: { consent } }, context));
      expect(kept.traits).toBeNull();
      expect(Object.keys(kept.properties).filter((key) => key.startsWith('context.consent'))).toHaveLength(1);
    }
  });

  it('maps alias: previousId is an anonymous id by default, a user id when configured', () => {
    const raw = { type: 'alias', messageId: 'alias-1', timestamp: '2024-05-01T10:00:00Z', previousId: 'anon-9', userId: 'u-1' };
    expect(one(adaptWeb(raw, context)).identifiers).toEqual([
      { type: 'user_id', value: 'u-1' },
      { type: 'anonymous_id', value: 'anon-9' },
    ]);
    const asUser = one(adaptWeb(raw, { ...context, segmentPreviousIdType: 'user_id' }));
    expect(asUser.eventType).toBe('aliased');
    expect(asUser.identifiers).toEqual([
      { type: 'user_id', value: 'u-1' },
      { type: 'user_id', value: 'anon-9' },
    ]);
  });

  it('maps group without treating account traits as person traits', () => {
    const tp = one(adaptWeb({ ...common, type: 'group', userId: 'u-1', groupId: 'g-0e8c78ea', traits: { name: 'Initech', employees: 329, email: 'billing@initech.example' } }, context));
    expect(tp.eventType).toBe('grouped');
    expect(tp.traits).toBeNull();
    expect(tp.identifiers.map((id) => id.type)).toEqual(['user_id', 'anonymous_id']);
    expect(tp.properties).toMatchObject({ groupId: 'g-0e8c78ea', 'traits.name': 'Initech', 'traits.employees': '329', 'traits.email': 'billing@initech.example' });
  });

  it('maps Product Viewed to product content', () => {
    const tp = one(adaptWeb({ ...common, type: 'track', event: 'Product Viewed', properties: { product_id: '507f1f77bcf86cd799439011', sku: 'G-32', name: 'Monopoly', price: 18.99, url: 'https://shop.example/p/monopoly' } }, context));
    expect(tp.eventType).toBe('product_viewed');
    expect(tp.content).toEqual({ contentId: '507f1f77bcf86cd799439011', title: 'Monopoly', kind: 'product', url: 'https://shop.example/p/monopoly' });
    expect(tp.properties).toMatchObject({ event: 'Product Viewed', 'properties.sku': 'G-32', 'properties.price': '18.99' });
  });

  it('maps Order Completed to a purchase in minor units', () => {
    const tp = one(
      adaptWeb(
        {
          ...common,
          type: 'track',
          event: 'Order Completed',
          userId: 'u-1',
          properties: {
            order_id: '50314b8e9bcf000000000000',
            total: 27.5,
            revenue: 25,
            shipping: 3,
            tax: 2,
            discount: 2.5,
            coupon: 'hasbros',
            currency: 'usd',
            products: [
              { product_id: '507f1f77bcf86cd799439011', sku: '45790-32', name: 'Monopoly: 3rd Edition', price: 19, quantity: 1, category: 'Games' },
              { product_id: '505bd76785ebb509fc183733', name: 'Uno Card Game', price: '3.00', quantity: 2, category: 'Games' },
            ],
          },
        },
        context,
      ),
    );
    expect(tp.eventType).toBe('order_completed');
    expect(tp.commerce).toEqual({
      kind: 'purchase',
      orderId: '50314b8e9bcf000000000000',
      returnId: null,
      currency: 'USD',
      totalMinor: 2750,
      lineItems: [
        { productId: '507f1f77bcf86cd799439011', name: 'Monopoly: 3rd Edition', category: 'Games', quantity: 1, unitPriceMinor: 1900, currency: 'USD' },
        { productId: '505bd76785ebb509fc183733', name: 'Uno Card Game', category: 'Games', quantity: 2, unitPriceMinor: 300, currency: 'USD' },
      ],
    });
    expect(tp.loyalty).toEqual({ couponCode: 'hasbros', pointsDelta: null, programId: null });
    expect(tp.properties).toMatchObject({ 'properties.revenue': '25', 'properties.shipping': '3', 'properties.products[0].sku': '45790-32' });
  });

  it('maps Order Refunded to a return, using revenue or the line items when there is no total', () => {
    const refunded = one(adaptWeb({ ...common, type: 'track', event: 'order_refunded', properties: { order_id: 'o-1', revenue: '10.50', currency: 'EUR' } }, context));
    expect(refunded.commerce).toMatchObject({ kind: 'return', orderId: 'o-1', totalMinor: 1050, lineItems: [] });
    const partial = one(adaptWeb({ ...common, type: 'track', event: 'Order Refunded', properties: { order_id: 'o-2', products: [{ sku: 'S-1', price: 4.99, quantity: -2 }] } }, { ...context, defaultCurrency: 'JPY' }));
    expect(partial.commerce).toMatchObject({ currency: 'JPY', totalMinor: 10, lineItems: [{ productId: 'S-1', quantity: 2, unitPriceMinor: 5 }] });
  });

  it('regression (an order with no amount became an order of 0): takes subtotal after total and revenue, sums products, else refuses naming properties.total', () => {
    const order = (properties: Record<string, unknown>, event = 'Order Completed') => adaptWeb({ ...common, type: 'track', event, properties: { order_id: 'o-1', currency: 'USD', ...properties } }, context);
    expect(one(order({ subtotal: 25 })).commerce).toMatchObject({ kind: 'purchase', totalMinor: 2500, lineItems: [] });
    expect(one(order({ subtotal: 25 })).properties).not.toHaveProperty('properties.subtotal');
    // total, then revenue, then subtotal; the ones not taken stay in properties.
    const all = one(order({ total: 30, revenue: 27, subtotal: 25 }));
    expect(all.commerce?.totalMinor).toBe(3000);
    expect(all.properties).toMatchObject({ 'properties.revenue': '27', 'properties.subtotal': '25' });
    expect(one(order({ revenue: 27, subtotal: 25 })).commerce?.totalMinor).toBe(2700);
    expect(one(order({ products: [{ sku: 's', price: 2, quantity: 3 }] })).commerce?.totalMinor).toBe(600);
    // A product without product_id, id or sku (Segment's spec requires none of them) stays in
    // properties, its price in a summed total (regression: the order was dead-lettered).
    const unnamed = one(order({ total: 25, products: [{ name: 'Monopoly', price: 19 }] }));
    expect(unnamed.commerce).toMatchObject({ totalMinor: 2500, lineItems: [] });
    expect(unnamed.properties).toMatchObject({ 'properties.products[0].name': 'Monopoly', 'properties.products[0].price': '19' });
    expect(one(order({ products: [{ name: 'Monopoly', price: 19 }, { sku: 's', price: 1 }] })).commerce).toMatchObject({ totalMinor: 2000, lineItems: [{ productId: 's' }] });
    // An empty total is no total (regression: it failed the event): revenue is taken.
    expect(one(order({ total: '', revenue: 25 })).commerce?.totalMinor).toBe(2500);
    // A product line with a negative price (a discount) nets in the sum (regression: its magnitude was added).
    expect(one(order({ products: [{ sku: 's', price: 20 }, { sku: 'promo', price: -5 }] })).commerce?.totalMinor).toBe(1500);
    for (const event of ['Order Completed', 'Order Refunded']) {
      for (const properties of [{}, { products: [] }, { total: null }, { total: ' ' }]) {
        const result = order(properties, event);
        expect(failure(result, 'SCHEMA_VIOLATION')).toBe('properties.total: is required (or revenue, subtotal, or products to sum)');
        expect(!result.ok && result.error.details).toEqual({ path: 'properties.total' });
      }
    }
  });

  it('regression (products in other currencies were summed as the order\'s: 100 JPY + 1 KWD made 11.00 USD): refuses the sum naming the product\'s currency, keeps them under a stated total', () => {
    const properties = { order_id: 'o', currency: 'USD', products: [{ product_id: 'p', price: 1 }, { product_id: 'q', price: 1, currency: 'KWD' }] };
    const message = failure(adaptWeb({ ...common, type: 'track', event: 'Order Completed', properties }, context), 'SCHEMA_VIOLATION');
    expect(message).toMatch(/^properties\.products\[1\]\.currency: is KWD, not the order's USD/);
    const stated = one(adaptWeb({ ...common, type: 'track', event: 'Order Completed', properties: { ...properties, revenue: 4.25 } }, context));
    expect(stated.commerce).toMatchObject({ currency: 'USD', totalMinor: 425, lineItems: [{ unitPriceMinor: 100, currency: 'USD' }, { unitPriceMinor: 1000, currency: 'KWD' }] });
  });

  it('keeps any other track call as custom_event with its name', () => {
    const tp = one(adaptWeb({ ...common, type: 'track', event: 'Signed Up', properties: { plan: 'pro', seats: 3, tags: ['a', 'b'] } }, context));
    expect(tp.eventType).toBe('custom_event');
    expect(tp.properties).toMatchObject({ event: 'Signed Up', 'properties.plan': 'pro', 'properties.seats': '3', 'properties.tags': '["a","b"]' });
  });

  it('never passes the Segment write key on', () => {
    const tp = one(adaptWeb({ ...common, type: 'page', writeKey: 'secret-key' }, context));
    expect(Object.values(tp.properties)).not.toContain('secret-key');
  });

  it('falls back to originalTimestamp when there is no timestamp', () => {
    const tp = one(adaptWeb({ type: 'page', messageId: 'm', anonymousId: 'a', originalTimestamp: '2024-05-01T12:00:00+02:00' }, context));
    expect(tp.eventTime).toBe(Date.parse('2024-05-01T10:00:00Z'));
    // An empty timestamp is no timestamp (regression: it failed the event).
    const empty = one(adaptWeb({ type: 'page', messageId: 'm', anonymousId: 'a', timestamp: '', originalTimestamp: '2024-05-01T12:00:00+02:00' }, context));
    expect(empty.eventTime).toBe(Date.parse('2024-05-01T10:00:00Z'));
  });

  describe('malformed messages', () => {
    it.each([
      ['not an object', 'hello', 'SCHEMA_VIOLATION', '(message): expected an object'],
      ['an array', [{ type: 'page' }], 'SCHEMA_VIOLATION', 'expected an object, got an array'],
      ['a batch envelope', { batch: [{ ...common, type: 'page' }] }, 'SCHEMA_VIOLATION', 'batch:'],
      ['no type', { ...common }, 'SCHEMA_VIOLATION', 'type: is required'],
      ['an unknown type', { ...common, type: 'purchase' }, 'UNKNOWN_EVENT_TYPE', 'type: "purchase"'],
      ['no messageId', { ...common, messageId: undefined, type: 'page' }, 'SCHEMA_VIOLATION', 'messageId: is required'],
      ['a messageId of the wrong type', { ...common, messageId: { id: 1 }, type: 'page' }, 'SCHEMA_VIOLATION', 'messageId: expected a string'],
      ['no time at all', { type: 'page', messageId: 'm', anonymousId: 'a' }, 'SCHEMA_VIOLATION', 'timestamp: is required'],
      ['a time without offset', { ...common, type: 'page', timestamp: '2024-05-01 10:00:00' }, 'SCHEMA_VIOLATION', 'timestamp: expected an ISO 8601'],
      ['a time in seconds', { ...common, type: 'page', timestamp: 1714557600 }, 'SCHEMA_VIOLATION', 'seconds by mistake'],
      ['an impossible date', { ...common, type: 'page', timestamp: '2024-02-30T10:00:00Z' }, 'SCHEMA_VIOLATION', 'timestamp:'],
      ['a track call without event', { ...common, type: 'track' }, 'SCHEMA_VIOLATION', 'event: is required'],
      ['context that is a string', { ...common, type: 'page', context: 'web' }, 'SCHEMA_VIOLATION', 'context: expected an object'],
      ['Order Completed without order_id', { ...common, type: 'track', event: 'Order Completed', properties: { total: 1, currency: 'EUR' } }, 'SCHEMA_VIOLATION', 'properties.order_id: is required'],
      ['Order Completed without currency or default', { ...common, type: 'track', event: 'Order Completed', properties: { order_id: 'o' } }, 'SCHEMA_VIOLATION', 'properties.currency: is required'],
      ['a product without price', { ...common, type: 'track', event: 'Order Completed', properties: { order_id: 'o', currency: 'EUR', products: [{ product_id: 'p' }] } }, 'SCHEMA_VIOLATION', 'properties.products[0].price: is required'],
      ['a total that is no amount', { ...common, type: 'track', event: 'Order Completed', properties: { order_id: 'o', currency: 'EUR', total: '12,50' } }, 'SCHEMA_VIOLATION', 'properties.total: expected a decimal amount'],
      ['a bad currency', { ...common, type: 'track', event: 'Order Completed', properties: { order_id: 'o', currency: 'euro', total: 1 } }, 'SCHEMA_VIOLATION', 'properties.currency: expected an ISO 4217'],
      ['products that are not a list', { ...common, type: 'track', event: 'Order Completed', properties: { order_id: 'o', currency: 'EUR', products: 'p1' } }, 'SCHEMA_VIOLATION', 'properties.products: expected an array'],
      ['no identifier', { type: 'page', messageId: 'm', timestamp: '2024-05-01T10:00:00Z' }, 'MISSING_IDENTIFIER', 'No usable identifier'],
      ['only invalid identifiers', { type: 'page', messageId: 'm', timestamp: '2024-05-01T10:00:00Z', anonymousId: '  ', context: { traits: { email: 'nope' } } }, 'MISSING_IDENTIFIER', 'context.traits.email (invalid_email)'],
      ['an event named like an Object method', { ...common, type: 'constructor' }, 'UNKNOWN_EVENT_TYPE', 'type:'],
    ])('rejects %s', (_name, raw, code, message) => {
      expect(failure(adaptWeb(raw, context), code as 'SCHEMA_VIOLATION')).toContain(message);
    });

    it('names the identifiers an event without any lost, without their values (personal data), in MISSING_IDENTIFIER\'s details', () => {
      const result = adaptWeb({ type: 'page', messageId: 'm', timestamp: '2024-05-01T10:00:00Z', context: { traits: { email: 'ann@', phone: '12' } } }, context);
      expect(result.ok ? undefined : result.error.details).toEqual({
        path: '(message)',
        dropped: [
          { field: 'context.traits.email', type: 'email', reason: 'invalid_email' },
          { field: 'context.traits.phone', type: 'phone', reason: 'invalid_phone' },
        ],
      });
    });

    it('reports invalid identifiers it dropped next to the touchpoint', () => {
      const result = adaptWeb({ ...common, type: 'identify', traits: { email: 'ann@', phone: '12' } }, context);
      const eventId = result.ok ? result.touchpoints[0]?.eventId : undefined;
      expect(eventId).toBeDefined();
      expect(result.ok && result.dropped).toEqual([
        { field: 'traits.email', type: 'email', value: 'ann@', reason: 'invalid_email', eventId },
        { field: 'traits.phone', type: 'phone', value: '12', reason: 'invalid_phone', eventId },
      ]);
    });

    it('treats a track event named like an Object method as a custom event', () => {
      expect(one(adaptWeb({ ...common, type: 'track', event: 'constructor' }, context)).eventType).toBe('custom_event');
    });
  });

  describe('review fixes (2026-12-06)', () => {
    it('regression (microseconds read as milliseconds, year ~56000): refuses epoch times from 10^14 on', () => {
      expect(failure(adaptWeb({ ...common, type: 'page', timestamp: 1_714_557_600_000_000 }, context), 'SCHEMA_VIOLATION')).toBe('timestamp: 1714557600000000 is not epoch milliseconds (microseconds by mistake?)');
      expect(failure(adaptWeb({ ...common, type: 'page', timestamp: 1e14 }, context), 'SCHEMA_VIOLATION')).toContain('microseconds by mistake?');
      expect(one(adaptWeb({ ...common, type: 'page', timestamp: 1e14 - 1 }, context)).eventTime).toBe(1e14 - 1);
      expect(one(adaptWeb({ ...common, type: 'page', timestamp: 1_714_557_600_000 }, context)).eventTime).toBe(1_714_557_600_000);
    });

    it('regression (epoch milliseconds with a fraction, Python\'s time.time() * 1000, were refused while SendGrid\'s fractional seconds were rounded): rounds them to the millisecond', () => {
      expect(one(adaptWeb({ ...common, type: 'page', timestamp: 1_714_560_000_000.123 }, context)).eventTime).toBe(1_714_560_000_000);
      expect(one(adaptWeb({ ...common, type: 'page', timestamp: 1_714_560_000_000.5 }, context)).eventTime).toBe(1_714_560_000_001);
      // The range holds for the rounded time.
      expect(failure(adaptWeb({ ...common, type: 'page', timestamp: 1e14 - 0.4 }, context), 'SCHEMA_VIOLATION')).toContain('microseconds by mistake?');
      expect(failure(adaptWeb({ ...common, type: 'page', timestamp: 1_714_560_000.123 }, context), 'SCHEMA_VIOLATION')).toContain('seconds by mistake?');
    });

    it('regression (a trait of the wrong type dead-lettered the event): keeps names and address fields that are no text in properties', () => {
      const tp = one(adaptWeb({ ...common, type: 'identify', traits: { firstName: ['Ann'], last_name: { given: 'Lee' }, lastName: 'Lee', company: { name: { legal: 'Initech' } }, address: { country: {}, city: 'Berlin', street: ['Main 1', 'Apt 2'], postalCode: 10117 } } }, context));
      expect(tp.traits).toMatchObject({ firstName: null, lastName: 'Lee', company: null, address: { street: null, city: 'Berlin', postalCode: '10117', region: null, country: null } });
      expect(tp.properties).toMatchObject({
        'traits.firstName': '["Ann"]',
        'traits.last_name.given': 'Lee',
        'traits.company.name.legal': 'Initech',
        'traits.address.country': '{}',
        'traits.address.street': '["Main 1","Apt 2"]',
      });
      // An unsafe integer is no text (JSON parsing rounded it): kept, not failed; a fraction reads as text.
      const numbers = one(adaptWeb({ ...common, type: 'identify', traits: { firstName: 1.5, address: { city: 2 ** 60 } } }, context));
      expect(numbers.traits).toMatchObject({ firstName: '1.5', address: null });
      expect(numbers.properties).toMatchObject({ 'traits.address.city': String(2 ** 60) });
    });

    it('regression (a nested userId overflowed the stack and lost the message): drops it as wrong_type, and refuses the message as too deep to keep', () => {
      let deep: unknown = 'u-1';
      for (let i = 0; i < 300_000; i += 1) deep = [deep];
      const shallow = adaptWeb({ ...common, type: 'page', userId: [[['u-1']]] }, context);
      const tp = one(shallow);
      expect(tp.identifiers).toEqual([{ type: 'anonymous_id', value: '507f191e810c19729de860ea' }]);
      expect(shallow.ok && shallow.dropped.map((drop) => [drop.field, drop.reason])).toEqual([['userId', 'wrong_type']]);
      expect(tp.properties).toMatchObject({ userId: '[[["u-1"]]]' });
      // Since 2026-12-07 a dropped value stays in properties, where one nested past PROPERTY_LIMITS.depth
      // is refused whole (dead-lettered with its bytes), not cut.
      const result = adaptWeb({ ...common, type: 'page', userId: deep }, context);
      failure(result, 'PROPERTIES_TOO_LARGE');
      expect(!result.ok && result.error.details).toMatchObject({ reason: 'too_deep' });
    });

    it('regression (lone surrogates were corrupted by Avro, three users became one): drops such ids, repairs other text, refuses such a message id', () => {
      const results = ['u\ud800', 'u\udbff', 'u\udc00'].map((userId) => adaptWeb({ ...common, type: 'identify', userId, traits: { firstName: `Ann${userId.slice(1)}` } }, context));
      for (const result of results) {
        const tp = one(result);
        expect(tp.identifiers).toEqual([{ type: 'anonymous_id', value: '507f191e810c19729de860ea' }]);
        expect(tp.traits?.firstName).toBe('Ann\ufffd');
        expect(result.ok && result.dropped.map((drop) => [drop.field, drop.reason])).toEqual([['userId', 'invalid_characters']]);
      }
      // The message id makes the eventId: repairing it could give two messages one id.
      expect(failure(adaptWeb({ ...common, type: 'page', messageId: 'm-\ud800' }, context), 'SCHEMA_VIOLATION')).toBe('messageId: contains a lone UTF-16 surrogate (not valid Unicode text)');
      const consent = one(adaptWeb({ ...common, type: 'page', context: { consent: { categoryPreferences: { 'Ads\udc00': true } } } }, context));
      expect(consent.traits?.consent.map((entry) => entry.purpose)).toEqual(['Ads\ufffd']);
    });

    it('regression (ids beyond 2^53 were rounded, two message ids became one eventId): refuses them naming the field', () => {
      const raw = (id: string) => new TextEncoder().encode(`{"type":"page","messageId":${id},"anonymousId":"a","timestamp":"2024-05-01T10:00:00Z"}`);
      expect(failure(adaptMessage('web', raw('9007199254740993'), context), 'SCHEMA_VIOLATION')).toMatch(/^messageId: expected a string or an integer between -\(2\^53-1\) and 2\^53-1, got 9007199254740992, beyond 2\^53-1/);
      expect(failure(adaptMessage('web', raw('1e21'), context), 'SCHEMA_VIOLATION')).toMatch(/^messageId: /);
      expect(one(adaptMessage('web', raw('9007199254740991'), context)).source.eventId).toBe('9007199254740991');
    });
  });
});
