/**
 * Store point of sale: purchases and returns in Elephant's documented JSON (docs/channels.md),
 * the fields a till's transaction log carries. Amounts may be decimals (`total`, `unitPrice`)
 * or minor units (`totalMinor`, `unitPriceMinor`); negative amounts (tills that sign returns)
 * are stored as magnitudes, the kind says the direction.
 */
import { ChannelError, schemaViolation } from '../errors.ts';
import { Fields } from '../fields.ts';
import { collectorFor, finish, single, systemFor, type Built } from '../build.ts';
import { lineItemsTotal, lookup, readAmount, readCurrency, readCustomer, readKind, readLineItems, readTime } from './common.ts';
import type { AdapterContext, AdapterResult } from '../context.ts';
import type { EventType } from '../vocabulary.ts';
import type { Store } from '../generated/touchpoint.ts';

const KINDS: Readonly<Record<string, EventType>> = { purchase: 'store_purchase', return: 'store_return' };

function adaptTransaction(raw: unknown, context: AdapterContext): Built {
  const txn = Fields.of(raw, '');
  const kind = readKind(txn);
  const eventType = lookup(KINDS, kind);
  if (eventType === undefined) {
    throw new ChannelError('UNKNOWN_EVENT_TYPE', `type: ${JSON.stringify(kind)} is not a POS transaction type (purchase, return)`, { details: { path: 'type', eventType: kind } });
  }
  const sourceEventId = txn.id('id');
  const eventTime = readTime(txn, 'occurredAt');
  const ids = collectorFor(context);
  ids.read('loyalty_card', txn, 'loyaltyCard');
  ids.read('payment_fingerprint', txn, 'paymentFingerprint');
  readCustomer(txn.optObject('customer'), ids);

  const currency = readCurrency(txn, 'currency', context);
  const lines = readLineItems(txn, 'lineItems', currency, { productId: ['productId', 'sku'], price: 'unitPrice', priceMinor: 'unitPriceMinor' });
  // No amount and no line items to sum is no amount at all: refused (before 2026-12-07, a sale of 0).
  const totalMinor = readAmount(txn, 'total', 'totalMinor', currency) ?? lineItemsTotal(lines, currency, txn.at('lineItems'));
  if (totalMinor === null) throw schemaViolation(txn.at('total'), 'is required (or totalMinor, or lineItems to sum)');
  // A return without a receipt has no original order: it stands for itself.
  const orderId = (kind === 'return' ? txn.optString('originalOrderId') : txn.optString('orderId')) ?? sourceEventId;
  const couponCode = txn.optString('couponCode');
  return finish(
    'pos',
    systemFor('pos', context),
    {
      sourceEventId,
      eventType,
      eventTime,
      commerce: { kind, orderId, returnId: kind === 'return' ? sourceEventId : null, currency, lineItems: lines.items, totalMinor },
      store: storeOf(txn),
      loyalty: couponCode === null ? null : { couponCode, pointsDelta: null, programId: null },
    },
    ids,
    txn,
    context,
  );
}

/** Where the sale happened; null when the event names none (as every typed record; before 2026-12-07 three nulls). */
function storeOf(txn: Fields): Store | null {
  const store: Store = { storeId: txn.optString('storeId'), cashierId: txn.optString('cashierId'), terminalId: txn.optString('terminalId') };
  return store.storeId === null && store.cashierId === null && store.terminalId === null ? null : store;
}

/** POS purchase or return → touchpoint. Never throws. */
export function adaptPos(raw: unknown, context: AdapterContext): AdapterResult {
  return single(raw, (value) => adaptTransaction(value, context));
}
