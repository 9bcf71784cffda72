import { describe, expect, it } from 'vitest';
import { adaptPos } from '@elephant/channels';
import { context, failure, one } from './helpers.ts';

const purchase = {
  type: 'purchase',
  id: 'txn-2024-0501-0042',
  occurredAt: '2024-05-01T14:03:11+02:00',
  storeId: 'berlin-mitte',
  terminalId: 'till-3',
  cashierId: 'c-117',
  currency: 'EUR',
  total: 42.97,
  lineItems: [
    { sku: '4006381333931', name: 'Pencil', category: 'Office', quantity: 3, unitPrice: 0.99 },
    { productId: 'hat-1', name: 'Hat', quantity: 1, unitPriceMinor: 3999, barcode: '123' },
  ],
  loyaltyCard: '6001 2345 6789',
  paymentFingerprint: 'pf_3MtwBwLkdIwHu7ix',
  couponCode: 'SPRING10',
  customer: { phone: '0151 23456789' },
};

describe('pos adapter', () => {
  it('maps a purchase: commerce, store, identifiers', () => {
    const tp = one(adaptPos(purchase, context));
    expect(tp).toMatchObject({
      eventType: 'store_purchase',
      journeyStage: 'acquire',
      eventTime: Date.parse('2024-05-01T12:03:11Z'),
      source: { system: 'pos', eventId: 'txn-2024-0501-0042', trust: 90 },
      identifiers: [
        { type: 'loyalty_card', value: '600123456789' },
        { type: 'payment_fingerprint', value: 'pf_3MtwBwLkdIwHu7ix' },
        { type: 'phone', value: '+4915123456789' },
      ],
      commerce: {
        kind: 'purchase',
        orderId: 'txn-2024-0501-0042',
        returnId: null,
        currency: 'EUR',
        totalMinor: 4297,
        lineItems: [
          { productId: '4006381333931', name: 'Pencil', category: 'Office', quantity: 3, unitPriceMinor: 99, currency: 'EUR' },
          { productId: 'hat-1', name: 'Hat', category: null, quantity: 1, unitPriceMinor: 3999, currency: 'EUR' },
        ],
      },
      store: { storeId: 'berlin-mitte', cashierId: 'c-117', terminalId: 'till-3' },
      loyalty: { couponCode: 'SPRING10', pointsDelta: null, programId: null },
    });
    expect(tp.properties).toEqual({ 'lineItems[1].barcode': '123' });
  });

  it('maps a return against its receipt, with negative amounts as magnitudes', () => {
    const tp = one(
      adaptPos(
        { type: 'RETURN', id: 'ret-9', originalOrderId: 'txn-1', occurredAt: '2024-05-02T10:00:00Z', currency: 'EUR', totalMinor: -3999, lineItems: [{ productId: 'hat-1', quantity: -1, unitPrice: '-39.99' }], customer: { email: 'ann@example.com' } },
        context,
      ),
    );
    expect(tp.eventType).toBe('store_return');
    expect(tp.commerce).toMatchObject({ kind: 'return', orderId: 'txn-1', returnId: 'ret-9', totalMinor: 3999, lineItems: [{ quantity: 1, unitPriceMinor: 3999 }] });
    // No store named: no store record, as every typed record (regression: three nulls).
    expect(tp.store).toBeNull();
  });

  it('lets a return without receipt stand for itself, and sums line items when there is no total', () => {
    const tp = one(adaptPos({ type: 'return', id: 'ret-10', occurredAt: '2024-05-02T10:00:00Z', lineItems: [{ sku: 's', quantity: 2, unitPrice: 5 }], loyaltyCard: '42' }, { ...context, defaultCurrency: 'EUR' }));
    expect(tp.commerce).toMatchObject({ orderId: 'ret-10', returnId: 'ret-10', totalMinor: 1000 });
  });

  it('regression (the magnitudes of signed lines were added: a €20 item and a −€5 coupon line made €25): a total summed from line items nets their signs', () => {
    const at = { type: 'purchase', id: 'txn-signs', occurredAt: '2024-05-02T10:00:00Z', currency: 'EUR', loyaltyCard: '42' };
    const coupon = one(adaptPos({ ...at, lineItems: [{ sku: 'shirt', unitPrice: 20 }, { sku: 'COUPON', unitPrice: -5 }] }, context));
    // The lines stay magnitudes (the touchpoint's contract); the total is what was paid.
    expect(coupon.commerce).toMatchObject({ totalMinor: 1500, lineItems: [{ unitPriceMinor: 2000 }, { productId: 'COUPON', unitPriceMinor: 500 }] });
    // An exchange: one item bought, one taken back (a negative quantity, or a negative minor price).
    expect(one(adaptPos({ ...at, lineItems: [{ sku: 'a', unitPrice: '20.00' }, { sku: 'b', quantity: -1, unitPrice: '15.00' }] }, context)).commerce?.totalMinor).toBe(500);
    expect(one(adaptPos({ ...at, lineItems: [{ sku: 'a', unitPriceMinor: 2000 }, { sku: 'b', unitPriceMinor: '-1500' }] }, context)).commerce?.totalMinor).toBe(500);
    // Both signs negative is a positive line; a return's all-negative lines are its magnitude.
    expect(one(adaptPos({ ...at, lineItems: [{ sku: 'a', quantity: -2, unitPrice: -5 }] }, context)).commerce?.totalMinor).toBe(1000);
    expect(one(adaptPos({ ...at, type: 'return', lineItems: [{ sku: 'a', quantity: -1, unitPrice: 20 }, { sku: 'b', quantity: -2, unitPrice: 5 }] }, context)).commerce?.totalMinor).toBe(3000);
    // A stated total is taken as stated.
    expect(one(adaptPos({ ...at, total: 15, lineItems: [{ sku: 'shirt', unitPrice: 20 }, { sku: 'COUPON', unitPrice: -5 }] }, context)).commerce?.totalMinor).toBe(1500);
  });

  it('regression (a line without a product id failed the event): keeps it whole in properties, out of the line items, and counts it in a summed total', () => {
    const tp = one(adaptPos({ type: 'purchase', id: 'txn-open', occurredAt: '2024-05-02T10:00:00Z', loyaltyCard: '42', currency: 'EUR', lineItems: [{ sku: 'a', unitPrice: 2, quantity: 2 }, { name: 'open price', unitPrice: '1.50', sku: ' ' }] }, context));
    expect(tp.commerce).toMatchObject({ totalMinor: 550, lineItems: [{ productId: 'a', quantity: 2, unitPriceMinor: 200 }] });
    expect(tp.commerce?.lineItems).toHaveLength(1);
    expect(tp.properties).toMatchObject({ 'lineItems[1].name': 'open price', 'lineItems[1].unitPrice': '1.50', 'lineItems[1].sku': ' ' });
  });

  it('regression (an empty total failed the event): an empty string amount counts as absent, as in text fields', () => {
    const tp = one(adaptPos({ type: 'purchase', id: 'txn-empty', occurredAt: '2024-05-02T10:00:00Z', loyaltyCard: '42', currency: 'EUR', total: '', totalMinor: ' ', lineItems: [{ sku: 'a', unitPriceMinor: '', unitPrice: '2.50' }] }, context));
    expect(tp.commerce?.totalMinor).toBe(250);
    expect(tp.properties).toMatchObject({ total: '', totalMinor: ' ', 'lineItems[0].unitPriceMinor': '' });
  });

  it('regression (an empty quantity failed the event): an empty string count counts as absent too (a line of one)', () => {
    const tp = one(adaptPos({ type: 'purchase', id: 'txn-empty-qty', occurredAt: '2024-05-02T10:00:00Z', loyaltyCard: '42', currency: 'EUR', lineItems: [{ sku: 'a', quantity: ' ', unitPrice: '2.50' }] }, context));
    expect(tp.commerce?.lineItems[0]?.quantity).toBe(1);
    expect(tp.commerce?.totalMinor).toBe(250);
    expect(tp.properties).toMatchObject({ 'lineItems[0].quantity': ' ' });
  });

  it('regression (a sale with no amount became a sale of 0): without total, totalMinor or line items it is refused, naming total', () => {
    for (const type of ['purchase', 'return']) {
      for (const lineItems of [undefined, []]) {
        const result = adaptPos({ ...purchase, type, total: undefined, lineItems }, context);
        expect(failure(result, 'SCHEMA_VIOLATION')).toBe('total: is required (or totalMinor, or lineItems to sum)');
        expect(!result.ok && result.error.details).toEqual({ path: 'total' });
      }
    }
    expect(one(adaptPos({ ...purchase, total: undefined, totalMinor: 0, lineItems: [] }, context)).commerce?.totalMinor).toBe(0);
  });

  it('regression (line items in another currency were summed as the order\'s: 1000 JPY + 1.50 EUR made 11.50 EUR): refuses the sum naming the item\'s currency', () => {
    const raw = { ...purchase, total: undefined, lineItems: [{ sku: 'a', unitPrice: 1000, currency: 'JPY' }, { sku: 'b', unitPrice: 1.5 }] };
    const message = failure(adaptPos(raw, context), 'SCHEMA_VIOLATION');
    expect(message).toMatch(/^lineItems\[0\]\.currency: is JPY, not the order's EUR/);
    // The same currency in any case sums as before; a stated total keeps items in another currency.
    expect(one(adaptPos({ ...raw, lineItems: [{ sku: 'a', unitPrice: 1, currency: 'eur' }, { sku: 'b', unitPrice: 1.5 }] }, context)).commerce?.totalMinor).toBe(250);
    const stated = one(adaptPos({ ...raw, totalMinor: 1150 }, context));
    expect(stated.commerce).toMatchObject({ currency: 'EUR', totalMinor: 1150, lineItems: [{ unitPriceMinor: 1000, currency: 'JPY' }, { unitPriceMinor: 150, currency: 'EUR' }] });
  });

  it.each([
    ['an unknown type', { ...purchase, type: 'void' }, 'UNKNOWN_EVENT_TYPE', 'type: "void"'],
    ['no id', { ...purchase, id: undefined }, 'SCHEMA_VIOLATION', 'id: is required'],
    ['an empty id', { ...purchase, id: '  ' }, 'SCHEMA_VIOLATION', 'id: must not be empty'],
    ['no currency', { ...purchase, currency: undefined }, 'SCHEMA_VIOLATION', 'currency: is required'],
    // Upper-cased before the check, `ßa` was read as `SSA`.
    ['a currency that upper-cases into three letters (ßa)', { ...purchase, currency: 'ßa' }, 'SCHEMA_VIOLATION', 'currency: expected an ISO 4217 currency code, got "ßa"'],
    ['a line item currency with a non-ASCII letter (ſ folds to s)', { ...purchase, lineItems: [{ sku: 's', unitPrice: 1, currency: 'uſd' }] }, 'SCHEMA_VIOLATION', 'lineItems[0].currency: expected an ISO 4217 currency code'],
    ['a line item without product nor price', { ...purchase, lineItems: [{ quantity: 1 }] }, 'SCHEMA_VIOLATION', 'lineItems[0].unitPrice: is required'],
    ['a fractional quantity', { ...purchase, lineItems: [{ sku: 's', quantity: 1.5, unitPrice: 1 }] }, 'SCHEMA_VIOLATION', 'lineItems[0].quantity: expected an integer'],
    ['a line item that is no object', { ...purchase, lineItems: ['pencil'] }, 'SCHEMA_VIOLATION', 'lineItems[0]: expected an object'],
    ['a fractional minor amount', { ...purchase, total: undefined, totalMinor: 12.5 }, 'SCHEMA_VIOLATION', 'totalMinor'],
    // Over 2^52 minor units an Avro long of avsc may come back with its sign flipped: refused.
    ['a minor amount over 2^52', { ...purchase, total: undefined, totalMinor: -(2 ** 52 + 1) }, 'SCHEMA_VIOLATION', 'totalMinor: amount is too large'],
    ['a decimal amount over 2^52 minor units', { ...purchase, total: '45035996273705.0000' }, 'SCHEMA_VIOLATION', 'total: amount is too large'],
    ['an anonymous cash sale', { ...purchase, loyaltyCard: undefined, paymentFingerprint: undefined, customer: undefined }, 'MISSING_IDENTIFIER', 'No usable identifier'],
    ['a customer that is a string', { ...purchase, customer: 'ann' }, 'SCHEMA_VIOLATION', 'customer: expected an object'],
    ['an id of 1e21 (it read as "1e+21")', { ...purchase, id: 1e21 }, 'SCHEMA_VIOLATION', 'id: expected a string or an integer between -(2^53-1) and 2^53-1, got 1e+21'],
    ['a fractional id', { ...purchase, id: 1.5 }, 'SCHEMA_VIOLATION', 'id: expected a string or an integer, got the fractional number 1.5'],
  ])('rejects %s', (_name, raw, code, message) => {
    expect(failure(adaptPos(raw, context), code as 'SCHEMA_VIOLATION')).toContain(message);
  });
});
