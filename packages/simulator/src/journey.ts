/**
 * One person's journey through the stages aware → acquire → onboard → engage → retain →
 * expand, written as the raw messages each channel's system would emit (src/messages/).
 *
 * Linkability by construction: an identifier is only ever used after (in generation order)
 * an event has tied it to one the person already has: the cookie to the account by an
 * identify call, the phone to the contact by the CRM or a verified support call, the card to
 * the contact at enrolment, a payment card to the loyalty card or e-receipt address at a till.
 * Event times do not follow that order (anonymous browsing happens before the login that ties
 * the cookie), which is what makes fragments form and merge; but the union of a person's
 * events is always connected through merging identifiers, so a perfect resolver can rebuild
 * every person.
 */
import { COUPONS, FORMS, PRODUCTS, RETENTION_CAMPAIGNS, STORES, WELCOME_SERIES, WORK_DOMAINS } from './catalog.ts';
import { DAY, HOUR, MINUTE, PersonContext, SECOND, type Device, type World } from './context.ts';
import { adClick } from './messages/ads.ts';
import { loyalty, storePurchase, storeReturn, webOrder, webRefund } from './messages/commerce.ts';
import { download, form } from './messages/content.ts';
import { crmContact } from './messages/crm.ts';
import { send } from './messages/email.ts';
import { support } from './messages/support.ts';
import { appSession, browse, identify, page, screen, track } from './messages/web.ts';
import type { Persona } from './people.ts';

/** Generates one person's messages into `world.messages`. */
export class Journey {
  readonly #ctx: PersonContext;
  readonly #begin: number;
  readonly #acquiredAt: number;

  constructor(world: World, person: Persona) {
    const ctx = new PersonContext(world, person);
    this.#ctx = ctx;
    const span = world.options.spanDays * DAY;
    this.#begin = world.options.start + ctx.random.int(Math.floor(span * 0.55));
    const acquired = this.#begin + ctx.random.int(10 * DAY) + 2 * HOUR;
    // Store customers enrol while the store is open.
    this.#acquiredAt = person.path === 'store' ? ctx.localTime(acquired, person.homeStore.offsetMinutes, 10, 20) : ctx.localTime(acquired, person.offsetMinutes, 7, 23);
  }

  run(): void {
    const ctx = this.#ctx;
    const person = ctx.person;
    ctx.stage = 'aware';
    this.#aware();
    if (person.depth >= 1) {
      ctx.stage = 'acquire';
      this.#acquire();
    }
    if (person.depth >= 2) {
      ctx.stage = 'onboard';
      this.#onboard();
    }
    if (person.depth >= 3) {
      ctx.stage = 'engage';
      this.#engage();
    }
    if (person.depth >= 4) {
      ctx.stage = 'retain';
      this.#retain();
    }
    if (person.depth >= 5) {
      ctx.stage = 'expand';
      this.#expand();
    }
  }

  #aware(): void {
    const ctx = this.#ctx;
    const person = ctx.person;
    // A store customer who never logs in has no browser the shop could ever tie to them.
    if (!ctx.usesWeb()) return;
    const desktop = ctx.desktop();
    const sessions = 1 + ctx.random.weighted([0.5, 0.3, 0.2]);
    const end = Math.max(this.#begin + HOUR, this.#acquiredAt - HOUR);
    for (let session = 0; session < sessions; session += 1) {
      let t = ctx.within(this.#begin, end);
      if (session === 0 && ctx.random.chance(0.45)) t = adClick(ctx, desktop, t, null);
      browse(ctx, desktop, t, null, 1 + ctx.random.int(4));
    }
    if (ctx.random.chance(0.2)) download(ctx, desktop, ctx.within(this.#begin, end), null);
    if (person.path === 'anonymous' && ctx.random.chance(0.3)) {
      // Anonymous visitors come back after the first visit too.
      browse(ctx, desktop, ctx.within(this.#acquiredAt, ctx.world.end), null, 1 + ctx.random.int(3));
    }
  }

  #acquire(): void {
    const ctx = this.#ctx;
    const person = ctx.person;
    const t = this.#acquiredAt;
    const [email] = person.emails;
    if (email === undefined) return;
    if (person.path === 'online' && person.userId !== null) {
      const desktop = ctx.desktop();
      page(ctx, desktop, t - 2 * MINUTE, null, { path: '/account/register', name: 'Register', title: 'Create your account' }, {});
      identify(ctx, desktop, t, { email, firstName: true, createdAt: t });
      track(ctx, desktop, t + 3 * SECOND, person.userId, 'Signed Up', { method: 'email', plan: 'free' });
      if (person.crmId !== null) crmContact(ctx, 'contact.created', t + ctx.random.between(1, 5) * MINUTE, { emails: [email], userId: person.userId, owner: 'web-signup', lifecycle: 'customer' });
      if (ctx.random.chance(0.65)) webOrder(ctx, desktop, t + ctx.random.between(10 * MINUTE, 2 * DAY), { coupon: ctx.random.chance(0.3) ? 'WELCOME10' : null });
    } else if (person.path === 'store') {
      const [phone] = person.phones;
      crmContact(ctx, 'contact.created', t, { emails: [email], phones: phone === undefined ? [] : [phone], loyaltyCard: true, owner: `store-${person.homeStore.id}`, lifecycle: 'customer', address: ctx.random.chance(0.5) });
      storePurchase(ctx, t + ctx.random.between(2, 10) * MINUTE, { store: person.homeStore, payment: person.payments[0] ?? null, card: true });
    } else if (person.path === 'lead') {
      const [phone] = person.phones;
      const withPhone = phone !== undefined && ctx.random.chance(0.5);
      form(ctx, ctx.desktop(), t, FORMS[0], email, withPhone ? phone : null);
      crmContact(ctx, 'contact.created', t + ctx.random.between(5, 30) * MINUTE, { emails: [email], phones: withPhone ? [phone] : [], owner: 'marketing-automation', lifecycle: 'lead' });
    }
  }

  #onboard(): void {
    const ctx = this.#ctx;
    const person = ctx.person;
    const lo = this.#acquiredAt + HOUR;
    const hi = this.#acquiredAt + 14 * DAY;
    const [email0] = person.emails;
    if (email0 === undefined) return;

    // Welcome series to the first address.
    WELCOME_SERIES.forEach((campaign, index) => {
      send(ctx, campaign, email0, this.#acquiredAt + 10 * MINUTE + index * 2 * DAY + ctx.random.int(6 * HOUR), { openRate: 0.65, clickRate: 0.3 });
    });

    // Store and lead customers who open an account: the identify ties the browser used so far.
    if (person.userId !== null && person.path !== 'online') {
      const t = ctx.within(lo, hi);
      identify(ctx, ctx.desktop(), t, { email: email0, firstName: true, createdAt: t });
      if (person.crmId !== null) crmContact(ctx, 'contact.updated', t + ctx.random.between(1, 5) * MINUTE, { userId: person.userId, owner: 'web-signup' });
    }

    // More addresses and numbers, each stated next to something already tied to the person.
    for (const email of person.emails.slice(1)) this.#introduceEmail(email, ctx.within(lo, hi));
    person.phones.forEach((phone, index) => {
      if (!ctx.knows('phone', phone)) this.#introducePhone(phone, ctx.within(lo, hi), index === 0);
    });

    // Other browsers and the app log in.
    if (person.userId !== null) {
      if (person.mobileWeb !== null) {
        const mobile: Device = { kind: 'mobile', anonymousId: person.mobileWeb };
        const t = ctx.within(lo, hi);
        browse(ctx, mobile, t - 5 * MINUTE, null, 1 + ctx.random.int(2));
        identify(ctx, mobile, t, { email: null });
      }
      if (person.app !== null) {
        const app: Device = { kind: 'app', anonymousId: person.app.anonymousId };
        const t = ctx.within(lo, hi);
        screen(ctx, app, t - 30 * SECOND, null, 'Home');
        identify(ctx, app, t, { email: email0 });
        appSession(ctx, app, t + 10 * SECOND, person.userId, 2 + ctx.random.int(3));
      }
      if (person.household !== null) {
        const tablet: Device = { kind: 'tablet', anonymousId: person.household.anonymousId };
        const t = ctx.within(lo, hi);
        identify(ctx, tablet, t, { email: null });
        appSession(ctx, tablet, t + 20 * SECOND, person.userId, 1 + ctx.random.int(3));
      }
    }

    // Joining the loyalty programme online: the CRM record gets the digital card.
    if (person.loyalty !== null && person.path !== 'store' && person.crmId !== null) {
      crmContact(ctx, 'contact.updated', ctx.within(lo, hi), { loyaltyCard: true, owner: 'rewards-signup' });
    }

    // A mistyped address in a form: a different address, which bounces.
    if (person.typoEmail !== null && ctx.usesWeb()) {
      const t = ctx.within(lo, hi);
      form(ctx, ctx.desktop(), t, FORMS[1], person.typoEmail, null);
      send(ctx, { id: 'webinar-confirm', name: 'Webinar confirmation', category: 'transactional', asmGroupId: 105 }, person.typoEmail, t + 2 * MINUTE, { openRate: 0, clickRate: 0, bounce: true });
    }
  }

  #engage(): void {
    const ctx = this.#ctx;
    const person = ctx.person;
    const lo = this.#acquiredAt + 2 * DAY;
    const hi = ctx.world.end;
    // Newsletters: each to the addresses the person is known by at send time. A work address
    // may stop existing when the person changes jobs: the next newsletter to it bounces.
    const work = person.emails.slice(1).find((email) => WORK_DOMAINS.some((domain) => email.endsWith(`@${domain}`)));
    const leftJobAt = work !== undefined && ctx.random.chance(0.15) ? ctx.within(lo, hi) : null;
    for (const { campaign, at } of ctx.world.newsletters) {
      if (at < lo || at >= hi) continue;
      person.emails.forEach((email, index) => {
        const bounce = email === work && leftJobAt !== null && at > leftJobAt;
        if (bounce || ctx.random.chance(index === 0 ? 0.6 : 0.25)) send(ctx, campaign, email, at + ctx.random.int(40 * MINUTE), { openRate: 0.45, clickRate: 0.3, unsubscribeRate: 0.015, bounce });
      });
    }
    if (ctx.usesWeb()) {
      const devices = ctx.webDevices();
      const sessions = 2 + ctx.random.int(5);
      for (let session = 0; session < sessions; session += 1) {
        const device = ctx.random.pick(devices);
        let t = ctx.within(lo, hi);
        if (ctx.random.chance(0.15) && device.kind !== 'app' && device.kind !== 'tablet') t = adClick(ctx, device, t, person.userId);
        if (device.kind === 'app' || device.kind === 'tablet') appSession(ctx, device, t, device.kind === 'tablet' && ctx.random.chance(0.5) ? null : person.userId, 2 + ctx.random.int(4));
        else browse(ctx, device, t, person.userId, 2 + ctx.random.int(4));
      }
      if (ctx.random.chance(0.35)) download(ctx, ctx.desktop(), ctx.within(lo, hi), person.emails[0] ?? null);
      if (ctx.random.chance(0.15)) form(ctx, ctx.desktop(), ctx.within(lo, hi), ctx.random.pick(FORMS.slice(1)), person.emails[0] ?? null, null);
      if (person.household !== null) {
        const tablet: Device = { kind: 'tablet', anonymousId: person.household.anonymousId };
        appSession(ctx, tablet, ctx.within(lo, hi), null, 1 + ctx.random.int(3));
      }
    }
    if (ctx.random.chance(0.1)) support(ctx, 'chat', ctx.within(lo, hi));
  }

  #retain(): void {
    const ctx = this.#ctx;
    const person = ctx.person;
    const lo = this.#acquiredAt + 5 * DAY;
    const hi = ctx.world.end;
    const buysOnline = person.userId !== null || person.path === 'lead';
    const buysInStore = person.path === 'store' || person.loyalty !== null || ctx.random.chance(0.3);
    const webOrders = buysOnline ? ctx.random.weighted([0.25, 0.4, 0.25, 0.1]) : 0;
    const storeOrders = buysInStore ? (person.path === 'store' ? 1 + ctx.random.int(4) : ctx.random.int(3)) : 0;
    for (let count = 0; count < webOrders; count += 1) {
      webOrder(ctx, ctx.random.pick(ctx.webDevices().filter((device) => device.kind !== 'tablet')), ctx.within(lo, hi), { coupon: ctx.random.chance(0.15) ? ctx.random.pick(COUPONS) : null });
    }
    for (let count = 0; count < storeOrders; count += 1) {
      const store = ctx.random.chance(0.8) ? person.homeStore : ctx.random.pick(STORES.filter((candidate) => candidate.currency === person.currency));
      storePurchase(ctx, ctx.within(lo, hi), { store, payment: ctx.random.pick(person.payments.slice(0, 2)), card: person.loyalty !== null && ctx.random.chance(0.85) });
    }
    // Returns: some orders come back, in part or whole.
    for (const order of [...ctx.webOrders]) if (ctx.random.chance(0.15)) webRefund(ctx, order);
    for (const order of [...ctx.storeOrders]) if (ctx.random.chance(0.15)) storeReturn(ctx, order);

    const contacts = ctx.random.weighted([0.35, 0.4, 0.2, 0.05]);
    for (let count = 0; count < contacts; count += 1) support(ctx, person.phones.length > 0 && ctx.random.chance(0.5) ? 'call' : ctx.random.chance(0.6) ? 'chat' : 'ticket', ctx.within(lo, hi));

    if (person.loyalty !== null) {
      const coupons = ctx.random.int(3);
      for (let count = 0; count < coupons; count += 1) loyalty(ctx, 'coupon', ctx.within(lo, hi), ctx.random.pick(COUPONS), null);
      if (ctx.random.chance(0.5)) loyalty(ctx, 'points', ctx.within(lo, hi), null, ctx.random.pick([250, 500, 1000]));
    }
    const [email0] = person.emails;
    if (email0 !== undefined) {
      for (const campaign of RETENTION_CAMPAIGNS) {
        if (ctx.random.chance(0.5)) send(ctx, campaign, email0, ctx.within(lo, hi), { openRate: 0.35, clickRate: 0.2, unsubscribeRate: 0.03 });
      }
    }
    if (person.crmId !== null && ctx.random.chance(0.2)) crmContact(ctx, 'contact.updated', ctx.within(lo, hi), { address: true, owner: 'service' });
  }

  #expand(): void {
    const ctx = this.#ctx;
    const person = ctx.person;
    const lo = this.#acquiredAt + 20 * DAY;
    const hi = ctx.world.end;
    const unbought = PRODUCTS.filter((product) => !ctx.boughtCategories.has(product.category));
    const pool = unbought.length > 0 ? unbought : PRODUCTS;
    if (person.userId !== null) {
      const device = ctx.desktop();
      const t = ctx.within(lo, hi);
      webOrder(ctx, device, t, { coupon: null, pool, big: true });
      if (ctx.random.chance(0.4)) track(ctx, device, t + 5 * MINUTE, person.userId, 'Membership Upgraded', { tier: 'summit', previous_tier: 'base' });
    }
    if (person.loyalty !== null || person.path === 'store') {
      // A new payment card, first used at the till next to the loyalty card or e-receipt address.
      const payment = person.payments[person.payments.length - 1] ?? null;
      storePurchase(ctx, ctx.within(lo, hi), { store: person.homeStore, payment, card: person.loyalty !== null, pool, big: true });
      if (person.loyalty !== null && ctx.random.chance(0.5)) loyalty(ctx, 'points', ctx.within(lo, hi), null, 2500);
    }
  }

  /** States an additional address next to something the person already has (CRM, account or form). */
  #introduceEmail(email: string, time: number): void {
    const ctx = this.#ctx;
    const person = ctx.person;
    if (person.crmId !== null && ctx.random.chance(0.7)) crmContact(ctx, 'contact.updated', time, { emails: [person.emails[0] ?? email, email], owner: 'service' });
    else if (person.userId !== null) identify(ctx, ctx.desktop(), time, { email });
    else if (person.crmId !== null) crmContact(ctx, 'contact.updated', time, { emails: [person.emails[0] ?? email, email], owner: 'service' });
    else form(ctx, ctx.desktop(), time, FORMS[0], email, null);
  }

  /** States a phone number next to something the person already has. */
  #introducePhone(phone: string, time: number, first: boolean): void {
    const ctx = this.#ctx;
    const person = ctx.person;
    if (person.userId !== null && first && ctx.random.chance(0.6)) identify(ctx, ctx.desktop(), time, { email: null, phone, address: true });
    else if (person.crmId !== null && ctx.random.chance(0.6)) crmContact(ctx, 'contact.updated', time, { phones: [phone], owner: 'service' });
    else support(ctx, 'call', time, phone);
  }
}
