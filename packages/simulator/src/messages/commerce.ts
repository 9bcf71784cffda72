/**
 * Money: web orders and refunds (Segment Order Completed / Order Refunded), store purchases
 * and returns (POS JSON), and loyalty redemptions (loyalty JSON).
 */
import type { Identifier } from '@elephant/channels';
import { COUPONS, LOYALTY_PROGRAM, PRODUCTS, SHOP_URL, type Product, type Store } from '../catalog.ts';
import { DAY, id, JUNK_EMAILS, MINUTE, SECOND, seconds, type Device, type Order, type PersonContext } from '../context.ts';
import { decimal, isoLocal, isoSeconds } from '../format.ts';
import type { EventTag } from '../model.ts';
import { adConversion } from './ads.ts';
import { segmentBase, track } from './web.ts';

/** Tills set up with the house currency leave it out; the normalizer's DEFAULT_CURRENCY fills it in. */
function omitHouseCurrency(ctx: PersonContext, store: Store, payload: Record<string, unknown>): void {
  if (store.omitsHouseCurrency && ctx.world.options.defaultCurrency === store.currency) delete payload.currency;
}

export function webOrder(ctx: PersonContext, device: Device, time: number, options: { coupon: string | null; pool?: readonly Product[]; big?: boolean }): void {
  const person = ctx.person;
  if (time >= ctx.world.end) return;
  const lines = ctx.lines(options.pool ?? PRODUCTS, options.big === true);
  const subtotal = lines.reduce((sum, line) => sum + ctx.price(line.product) * line.quantity, 0);
  const discount = options.coupon === null ? 0 : Math.round(subtotal * 0.1);
  const revenue = subtotal - discount;
  const shipping = revenue >= 7500 ? 0 : 795;
  const tax = Math.round(revenue * 0.0825);
  const total = revenue + shipping + tax;
  const orderId = `W${String(1_000_000 + ctx.nextNumber('web-order'))}`;
  const properties: Record<string, unknown> = {
    checkout_id: `chk_${ctx.random.hex(12)}`,
    order_id: orderId,
    affiliation: 'Online Store',
    subtotal: decimal(subtotal),
    total: decimal(total),
    revenue: decimal(revenue),
    shipping: decimal(shipping),
    tax: decimal(tax),
    discount: decimal(discount),
    currency: person.currency,
    products: lines.map((line, index) => ({
      product_id: line.product.id,
      sku: line.product.sku,
      name: line.product.name,
      category: line.product.category,
      price: decimal(ctx.price(line.product)),
      quantity: line.quantity,
      position: index + 1,
      url: `${SHOP_URL}/products/${line.product.id}`,
    })),
  };
  if (options.coupon !== null) properties.coupon = options.coupon;
  // Guests check out with an e-mail address: the checkout states it in context.traits.
  const guest = person.userId === null;
  const [email] = person.emails;
  const tags: EventTag[] = [];
  const traits = guest && email !== undefined ? { email: ctx.email(email, tags) } : null;
  track(ctx, device, time, person.userId, 'Order Completed', properties, { identifiers: traits === null || email === undefined ? [] : [{ type: 'email', value: email }], tags, commerce: { kind: 'purchase', currency: person.currency, totalMinor: total, coupon: options.coupon !== null } }, traits);
  for (const line of lines) ctx.boughtCategories.add(line.product.category);
  ctx.webOrders.push({ id: orderId, lines, at: time, store: null, payment: null, withCard: false });
  // The ad platform reports the conversion of a recent click (value only; the order itself is counted from the web).
  const click = ctx.clicks.find((candidate) => time - candidate.at < 30 * DAY && time > candidate.at);
  if (click !== undefined && email !== undefined && ctx.random.chance(0.8)) adConversion(ctx, click, time + ctx.random.between(1, 30) * MINUTE, orderId, total, email);
}

export function webRefund(ctx: PersonContext, order: Order): void {
  const person = ctx.person;
  const time = order.at + ctx.random.between(3, 20) * DAY;
  if (time >= ctx.world.end) return;
  const returned = order.lines.length > 1 && ctx.random.chance(0.5) ? order.lines.slice(0, 1) : order.lines;
  const total = returned.reduce((sum, line) => sum + ctx.price(line.product) * line.quantity, 0);
  const properties = {
    order_id: order.id,
    total: decimal(total),
    currency: person.currency,
    reason: ctx.random.pick(['wrong size', 'changed mind', 'damaged']),
    products: returned.map((line) => ({ product_id: line.product.id, sku: line.product.sku, name: line.product.name, price: decimal(ctx.price(line.product)), quantity: line.quantity })),
  };
  // Refunds come from the shop's back end (analytics-node): the account id, no browser.
  const server: Device = { kind: 'browser', anonymousId: person.desktop };
  const base = segmentBase(ctx, 'track', server, time, person.userId);
  base.message.event = 'Order Refunded';
  base.message.properties = properties;
  base.message.context = { library: { name: 'analytics-node', version: '2.1.0' } };
  const tags: EventTag[] = [];
  const [email] = person.emails;
  const identifiers: (Identifier | null)[] = [];
  if (person.userId !== null) {
    if (ctx.junk()) {
      // The back end fills anonymousId with a placeholder when the order has no browser id.
      base.message.anonymousId = 'unknown';
      base.identifiers.splice(1, 1);
      tags.push('junk');
    } else {
      delete base.message.anonymousId;
      base.identifiers.splice(1, 1);
    }
  } else if (email !== undefined) {
    (base.message.context as Record<string, unknown>).traits = { email: ctx.email(email, tags) };
    identifiers.push({ type: 'email', value: email });
  }
  ctx.emit({
    channel: 'web',
    payload: base.message,
    time,
    sourceEventId: String(base.message.messageId),
    eventType: 'order_refunded',
    identifiers: [...base.identifiers, ...identifiers],
    lag: ctx.random.between(100, 3_000),
    tags,
    commerce: { kind: 'return', currency: person.currency, totalMinor: total, coupon: false },
  });
}

export function storePurchase(ctx: PersonContext, time: number, options: { store: Store; payment: string | null; card: boolean; pool?: readonly Product[]; big?: boolean }): void {
  const person = ctx.person;
  const random = ctx.random;
  const { store } = options;
  // Tills ring up sales while the store is open (10:00-21:00 local), a first sale right after enrolment.
  const opened = ctx.stage === 'acquire' ? time : ctx.localTime(time, store.offsetMinutes, 10, 21);
  const at = seconds(opened);
  if (at >= ctx.world.end) return;
  const lines = ctx.lines(options.pool ?? PRODUCTS, options.big === true);
  const subtotal = lines.reduce((sum, line) => sum + ctx.price(line.product) * line.quantity, 0);
  const coupon = random.chance(0.2) ? random.pick(COUPONS) : null;
  const discount = coupon === null ? 0 : Math.round(subtotal * 0.1);
  const tax = Math.round((subtotal - discount) * (store.country === 'CA' ? 0.13 : 0.08));
  const total = subtotal - discount + tax;
  const day = isoLocal(at, store.offsetMinutes).slice(0, 10).replaceAll('-', '');
  const txnId = `txn-${store.id}-${day}-${String(ctx.nextNumber('txn')).padStart(6, '0')}`;
  const tags: EventTag[] = [];
  const identifiers: (Identifier | null)[] = [];
  const payload: Record<string, unknown> = {
    type: 'purchase',
    id: txnId,
    occurredAt: isoLocal(at, store.offsetMinutes),
    storeId: store.id,
    terminalId: `till-${random.between(1, store.terminals)}`,
    cashierId: `c-${random.between(100, 199)}`,
    currency: store.currency,
    subtotal: decimal(subtotal),
    tax: decimal(tax),
    total: decimal(total),
    lineItems: lines.map((line) => (random.chance(0.5) ? { sku: line.product.sku, name: line.product.name, category: line.product.category, quantity: line.quantity, unitPrice: decimal(ctx.price(line.product)) } : { productId: line.product.id, sku: line.product.sku, name: line.product.name, category: line.product.category, quantity: line.quantity, unitPriceMinor: ctx.price(line.product) })),
  };
  omitHouseCurrency(ctx, store, payload);
  const junkOnly = random.chance(ctx.world.options.junkOnlyRate) && ctx.stage !== 'acquire';
  if (junkOnly) {
    // A cash sale the clerk rang up with placeholders: no identity rule can place it.
    payload.loyaltyCard = '0000 0000 0000 0000';
    payload.customer = { email: 'test@test.com' };
    payload.paymentMethod = 'cash';
    ctx.emit({ channel: 'pos', payload, time: at, sourceEventId: txnId, eventType: 'store_purchase', identifiers: [], lag: random.between(2, 60) * SECOND, tags: ['junk'], kind: 'junk_only', commerce: { kind: 'purchase', currency: store.currency, totalMinor: total, coupon: coupon !== null } });
    return;
  }
  const withCard = options.card && person.loyalty !== null;
  if (withCard && person.loyalty !== null) {
    payload.loyaltyCard = ctx.card(person.loyalty.card, tags);
    identifiers.push(id('loyalty_card', person.loyalty.card));
  }
  const [email0] = person.emails;
  // Without the loyalty card, the customer asks for an e-receipt: the address ties the sale (and the payment card) to them.
  if (!withCard) {
    if (email0 === undefined) return;
    payload.customer = { email: ctx.email(email0, tags) };
    identifiers.push(id('email', email0));
  } else if (ctx.junk()) {
    payload.customer = { email: random.pick(JUNK_EMAILS) };
    tags.push('junk');
  }
  if (options.payment !== null) {
    payload.paymentFingerprint = options.payment;
    payload.paymentMethod = 'card';
    identifiers.push(id('payment_fingerprint', options.payment));
  } else {
    payload.paymentMethod = 'cash';
  }
  if (coupon !== null) payload.couponCode = coupon;
  // Tills upload within a minute; the lateness model adds the ones that were offline.
  ctx.emit({ channel: 'pos', payload, time: at, sourceEventId: txnId, eventType: 'store_purchase', identifiers, lag: random.between(2, 60) * SECOND, tags, commerce: { kind: 'purchase', currency: store.currency, totalMinor: total, coupon: coupon !== null } });
  for (const line of lines) ctx.boughtCategories.add(line.product.category);
  ctx.storeOrders.push({ id: txnId, lines, at, store, payment: options.payment, withCard });
  // A coupon at the till is also a redemption in the loyalty programme.
  if (coupon !== null && withCard) loyalty(ctx, 'coupon', at + random.between(2, 20) * SECOND, coupon, null, store.id);
}

export function storeReturn(ctx: PersonContext, order: Order): void {
  const person = ctx.person;
  const random = ctx.random;
  const store = order.store ?? person.homeStore;
  const at = seconds(ctx.localTime(order.at + random.between(2, 25) * DAY, store.offsetMinutes, 10, 21));
  if (at >= ctx.world.end) return;
  const returned = order.lines.length > 1 && random.chance(0.5) ? order.lines.slice(-1) : order.lines;
  const total = returned.reduce((sum, line) => sum + ctx.price(line.product) * line.quantity, 0);
  // Some tills sign returns: negative quantities and totals (the adapter keeps magnitudes).
  const signed = random.chance(0.5);
  const tags: EventTag[] = [];
  const identifiers: (Identifier | null)[] = [];
  const returnId = `rtn-${store.id}-${String(ctx.nextNumber('return')).padStart(6, '0')}`;
  const payload: Record<string, unknown> = {
    type: 'return',
    id: returnId,
    originalOrderId: order.id,
    occurredAt: isoLocal(at, store.offsetMinutes),
    storeId: store.id,
    terminalId: `till-${random.between(1, store.terminals)}`,
    cashierId: `c-${random.between(100, 199)}`,
    currency: store.currency,
    total: decimal(signed ? -total : total),
    lineItems: returned.map((line) => ({ sku: line.product.sku, name: line.product.name, quantity: signed ? -line.quantity : line.quantity, unitPrice: decimal(ctx.price(line.product)) })),
    reason: random.pick(['wrong size', 'defective', 'changed mind']),
  };
  omitHouseCurrency(ctx, store, payload);
  if (order.withCard && person.loyalty !== null) {
    payload.loyaltyCard = ctx.card(person.loyalty.card, tags);
    identifiers.push(id('loyalty_card', person.loyalty.card));
  }
  if (order.payment !== null) {
    // Refunded to the card that paid.
    payload.paymentFingerprint = order.payment;
    identifiers.push(id('payment_fingerprint', order.payment));
  }
  if (identifiers.length === 0 || (order.payment !== null && !order.withCard)) {
    const [email0] = person.emails;
    if (email0 !== undefined) {
      payload.customer = { email: ctx.email(email0, tags) };
      identifiers.push(id('email', email0));
    }
  }
  if (identifiers.length === 0) return;
  ctx.emit({ channel: 'pos', payload, time: at, sourceEventId: returnId, eventType: 'store_return', identifiers, lag: random.between(2, 60) * SECOND, tags, commerce: { kind: 'return', currency: store.currency, totalMinor: total, coupon: false } });
}

export function loyalty(ctx: PersonContext, kind: 'coupon' | 'points', time: number, coupon: string | null, points: number | null, storeId?: string): void {
  const person = ctx.person;
  const loyalty = person.loyalty;
  if (loyalty === null) return;
  const at = seconds(time);
  if (at >= ctx.world.end) return;
  const tags: EventTag[] = [];
  const payload: Record<string, unknown> = {
    type: kind,
    id: `red-${String(ctx.nextNumber('redemption')).padStart(7, '0')}`,
    occurredAt: isoSeconds(at),
    programId: LOYALTY_PROGRAM,
    memberId: loyalty.memberId,
    loyaltyCard: ctx.card(loyalty.card, tags),
  };
  if (coupon !== null) payload.couponCode = coupon;
  if (points !== null) payload.points = points;
  if (storeId !== undefined) payload.storeId = storeId;
  payload.channel = storeId === undefined ? 'app' : 'store';
  if (ctx.junk()) {
    payload.customer = { email: ctx.random.pick(JUNK_EMAILS) };
    tags.push('junk');
  }
  ctx.emit({
    channel: 'loyalty',
    payload,
    time: at,
    sourceEventId: String(payload.id),
    eventType: kind === 'coupon' ? 'coupon_redeemed' : 'points_redeemed',
    identifiers: [id('loyalty_card', loyalty.card), id('loyalty_member_id', loyalty.memberId)],
    lag: ctx.random.between(2, 30) * SECOND,
    tags,
    points,
  });
}
