/**
 * Web and app: Segment Spec messages as analytics.js, the mobile SDKs and analytics-node
 * send them (page, screen, track, identify), with the cookie or app-install anonymousId, the
 * account's userId once logged in, and the app's device ids.
 */
import type { EventType, Identifier } from '@elephant/channels';
import { APP_SCREENS, MOBILE_USER_AGENTS, PAGES, PRODUCTS, SHOP_URL, USER_AGENTS } from '../catalog.ts';
import { id, JUNK_EMAILS, JUNK_PHONES, SECOND, type Device, type Draft, type PersonContext } from '../context.ts';
import { decimal, ipAddress, isoMillis, isoSeconds, uuid } from '../format.ts';
import type { EventTag } from '../model.ts';

export interface SegmentBase {
  readonly message: Record<string, unknown>;
  readonly identifiers: (Identifier | null)[];
  readonly tags: EventTag[];
}

/** The fields every Segment message from `device` has (ids, times, context), and the identifiers they carry. */
export function segmentBase(ctx: PersonContext, type: string, device: Device, time: number, userId: string | null): SegmentBase {
  const person = ctx.person;
  const random = ctx.random;
  const tags: EventTag[] = [];
  const identifiers: (Identifier | null)[] = [id('user_id', userId), id('anonymous_id', device.anonymousId)];
  const mobileSdk = device.kind === 'app' || device.kind === 'tablet';
  const messageId = mobileSdk ? uuid(random).toUpperCase() : `ajs-next-${time}-${random.hex(4)}${uuid(random).slice(4)}`;
  const message: Record<string, unknown> = { type, messageId, anonymousId: device.anonymousId };
  if (userId !== null) message.userId = userId;
  message.timestamp = isoMillis(time);
  message.sentAt = isoMillis(time + (mobileSdk ? random.int(30_000) : random.int(200)));
  let context: Record<string, unknown>;
  if (device.kind === 'app' && person.app !== null) {
    const app = person.app;
    context = {
      app: { name: 'Elephant Outfitters', version: '4.2.1', build: '421', namespace: 'example.elephant.shop' },
      device: { id: app.deviceId, advertisingId: app.advertisingId, adTrackingEnabled: !app.limitAdTracking, manufacturer: app.model.manufacturer, model: app.model.model, type: app.model.type },
      os: { name: app.model.os, version: app.model.osVersion },
      library: { name: app.model.type === 'ios' ? 'analytics-ios' : 'analytics-android', version: '4.1.8' },
      network: { wifi: random.chance(0.6), cellular: true },
      ip: person.ip,
      locale: person.country === 'CA' ? 'en-CA' : 'en-US',
      timezone: person.country === 'CA' ? 'America/Toronto' : 'America/New_York',
    };
    identifiers.push(id('device_id', app.deviceId));
    if (app.limitAdTracking) tags.push('junk');
    else identifiers.push(id('advertising_id', app.advertisingId));
  } else if (device.kind === 'tablet' && person.household !== null) {
    const { household } = person.household;
    context = {
      app: { name: 'Elephant Outfitters', version: '4.2.1', build: '421', namespace: 'example.elephant.shop' },
      device: { id: household.deviceId, manufacturer: household.model.manufacturer, model: household.model.model, type: household.model.type, adTrackingEnabled: false },
      os: { name: household.model.os, version: household.model.osVersion },
      library: { name: household.model.type === 'ios' ? 'analytics-ios' : 'analytics-android', version: '4.1.8' },
      network: { wifi: true },
      ip: person.ip,
      locale: 'en-US',
    };
    // The shared tablet's id is the household's, not the person's: left out of the person's identifiers.
    tags.push('shared_device');
  } else {
    context = {
      ip: device.kind === 'mobile' ? ipAddress(random) : person.ip,
      library: { name: 'analytics.js', version: 'npm:next-1.70.0' },
      locale: person.country === 'CA' ? 'en-CA' : 'en-US',
      userAgent: device.kind === 'mobile' ? random.pick(MOBILE_USER_AGENTS) : (USER_AGENTS[person.userAgent] ?? USER_AGENTS[0]),
    };
  }
  message.context = context;
  return { message, identifiers, tags };
}

function webLag(ctx: PersonContext, device: Device): number {
  // Mobile SDKs queue events and flush every 30 s or 20 events: the reason app events arrive out of order.
  return device.kind === 'app' || device.kind === 'tablet' ? ctx.random.between(1_000, 90_000) : ctx.random.between(80, 2_000);
}

/** Plans a Segment message built on `base`. */
function emitSegment(ctx: PersonContext, device: Device, base: SegmentBase, time: number, eventType: EventType, extra: Partial<Draft> = {}): void {
  ctx.emit({
    channel: 'web',
    payload: base.message,
    time,
    sourceEventId: String(base.message.messageId),
    eventType,
    identifiers: [...base.identifiers, ...(extra.identifiers ?? [])],
    lag: webLag(ctx, device),
    tags: [...base.tags, ...(extra.tags ?? [])],
    ...(extra.commerce === undefined ? {} : { commerce: extra.commerce }),
  });
}

export function page(ctx: PersonContext, device: Device, time: number, userId: string | null, shown: { path: string; name: string; title: string }, options: { campaign?: Record<string, string>; query?: string; referrer?: string }): void {
  const base = segmentBase(ctx, 'page', device, time, userId);
  const url = `${SHOP_URL}${shown.path}${options.query === undefined ? '' : `?${options.query}`}`;
  const referrer = options.referrer ?? (ctx.random.chance(0.5) ? 'https://www.google.com/' : '');
  base.message.name = shown.name;
  base.message.properties = { path: shown.path, referrer, search: options.query === undefined ? '' : `?${options.query}`, title: shown.title, url };
  const context = base.message.context as Record<string, unknown>;
  if (device.kind === 'browser' || device.kind === 'mobile') context.page = { path: shown.path, referrer, title: shown.title, url };
  if (options.campaign !== undefined) context.campaign = options.campaign;
  const extra: EventTag[] = [];
  if (userId === null && ctx.junk()) {
    // A visitor typed a placeholder into the newsletter box; the site put it in context.traits.
    context.traits = { email: ctx.random.pick(JUNK_EMAILS) };
    extra.push('junk');
  }
  emitSegment(ctx, device, base, time, 'page_viewed', { tags: extra });
}

export function screen(ctx: PersonContext, device: Device, time: number, userId: string | null, name: string): void {
  const base = segmentBase(ctx, 'screen', device, time, userId);
  base.message.name = name;
  base.message.properties = name === 'Product Detail' ? { product_id: ctx.random.pick(PRODUCTS).id } : {};
  emitSegment(ctx, device, base, time, 'screen_viewed');
}

export function track(ctx: PersonContext, device: Device, time: number, userId: string | null, event: string, properties: Record<string, unknown>, extra: Partial<Draft> = {}, traits: Record<string, unknown> | null = null): void {
  const base = segmentBase(ctx, 'track', device, time, userId);
  base.message.event = event;
  base.message.properties = properties;
  if (traits !== null) (base.message.context as Record<string, unknown>).traits = traits;
  const eventType: EventType = event === 'Order Completed' ? 'order_completed' : event === 'Order Refunded' ? 'order_refunded' : event === 'Product Viewed' ? 'product_viewed' : 'custom_event';
  emitSegment(ctx, device, base, time, eventType, extra);
}

/** An identify call on `device` for the person's account, optionally stating an address. */
export function identify(ctx: PersonContext, device: Device, time: number, stated: { email: string | null; phone?: string | null; firstName?: boolean; createdAt?: number; address?: boolean }): void {
  const person = ctx.person;
  const base = segmentBase(ctx, 'identify', device, time, person.userId);
  const traits: Record<string, unknown> = {};
  const identifiers: Identifier[] = [];
  const tags: EventTag[] = [];
  if (stated.email !== null) {
    traits.email = ctx.email(stated.email, tags);
    identifiers.push({ type: 'email', value: stated.email });
  }
  if (stated.firstName === true) {
    traits.firstName = person.firstName;
    traits.lastName = person.lastName;
  }
  if (stated.phone !== undefined && stated.phone !== null) {
    traits.phone = ctx.phone(stated.phone, tags);
    identifiers.push({ type: 'phone', value: stated.phone });
  } else if (ctx.junk()) {
    traits.phone = ctx.random.pick(JUNK_PHONES);
    tags.push('junk');
  }
  if (stated.address === true) {
    traits.address = { street: person.address.street, city: person.address.city, state: person.address.state, postalCode: person.address.postalCode, country: person.address.country };
    traits.birthday = person.birthDate;
  }
  if (stated.createdAt !== undefined) traits.createdAt = isoSeconds(stated.createdAt);
  base.message.traits = traits;
  emitSegment(ctx, device, base, time, 'identified', { identifiers, tags });
}

/** A browsing session: pages and product views, `pages` of them, a minute or so apart. */
export function browse(ctx: PersonContext, device: Device, start: number, userId: string | null, pages: number): void {
  let t = start;
  for (let count = 0; count < pages; count += 1) {
    if (ctx.random.chance(0.4)) {
      const product = ctx.random.pick(PRODUCTS);
      const price = ctx.person.currency === 'CAD' ? product.cad : product.usd;
      track(ctx, device, t, userId, 'Product Viewed', { product_id: product.id, sku: product.sku, name: product.name, category: product.category, price: decimal(price), currency: ctx.person.currency, url: `${SHOP_URL}/products/${product.id}` });
      if (ctx.random.chance(0.15)) track(ctx, device, t + ctx.random.between(5, 60) * SECOND, userId, 'Product Added', { product_id: product.id, sku: product.sku, quantity: 1, price: decimal(price) });
    } else {
      page(ctx, device, t, userId, ctx.random.pick(PAGES), {});
    }
    t += ctx.random.between(10, 180) * SECOND;
  }
}

export function appSession(ctx: PersonContext, device: Device, start: number, userId: string | null, screens: number): void {
  let t = start;
  for (let count = 0; count < screens; count += 1) {
    screen(ctx, device, t, userId, ctx.random.pick(APP_SCREENS));
    t += ctx.random.between(5, 90) * SECOND;
  }
}
