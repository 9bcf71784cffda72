/**
 * Synthetic populations for identity tests and benchmarks: people with cookies that later log
 * in, several e-mails and phones, loyalty cards, payment fingerprints, phones with apps, and
 * the things that make identity resolution hard: household computers several people use,
 * a store's own phone number typed in for walk-in customers, placeholder values, and events
 * delivered twice. Deterministic per seed; every event says whose it is (`truth`).
 *
 * Each person's identifiers are connected by construction: every identifier first appears in
 * a "link" event next to one already connected to the person's strongest identifier, so a
 * perfect resolver can put all of a person's events together. Link and activity events are
 * spread over the person's active period in random order, so fragments (an anonymous cookie,
 * an e-mail known only to the ESP) form first and merge when the link arrives.
 */
import type { Channel, EventType, Identifier } from '@elephant/channels';
import { IdentityError } from './errors.ts';
import { SeededRandom } from './prng.ts';
import type { IdentityEvent } from './reference.ts';

export const EVENT_TAGS = [
  /** Carries a device id several people of a household use. */
  'shared_device',
  /** Carries the store's own phone number, typed in for a walk-in customer. */
  'store_phone',
  /** Carries a placeholder value next to real identifiers. */
  'junk',
  /** Carries nothing but placeholder values: unresolvable by design. */
  'junk_only',
] as const;
export type EventTag = (typeof EVENT_TAGS)[number];

/** A touchpoint-shaped identity event with what the generator knows about it. */
export interface TestEvent extends IdentityEvent {
  readonly channel: Channel;
  readonly eventType: EventType;
  readonly tags: readonly EventTag[];
}

export interface PopulationOptions {
  readonly seed: number;
  readonly people: number;
  /** @default 'acme' */
  readonly tenant?: string | undefined;
  /** Average events per person; link events are always generated, so people with many identifiers get more. @default 10 */
  readonly eventsPerPerson?: number | undefined;
  /** Epoch ms of the first possible event. @default Date.UTC(2024, 0, 1) */
  readonly start?: number | undefined;
  /** Days over which events spread; each person is active for 30 days up to all of it. @default 180 */
  readonly spanDays?: number | undefined;
  /** Share of people living in households of 2-4 that share a computer (one device id, a cookie each). @default 0.3 */
  readonly householdShare?: number | undefined;
  /** Number of stores whose phone number clerks may type in (see storePhoneRate). @default 3 */
  readonly stores?: number | undefined;
  /**
   * Share of store purchases where the clerk typed the store's own phone number for a walk-in
   * customer: the super-node case. Off by default because no rule can tell such a number from
   * a person's own phone before it has done some damage (docs/identity.md, "What the defaults
   * cannot catch"); quarantine bounds that damage, tests measure it with this switched on.
   * @default 0
   */
  readonly storePhoneRate?: number | undefined;
  /** Share of events that carry a placeholder value (a tenth of those carry nothing else). @default 0.03 */
  readonly junkRate?: number | undefined;
  /** Share of events delivered a second time, later, with the same eventId. @default 0.02 */
  readonly duplicateRate?: number | undefined;
}

export interface Person {
  readonly id: string;
  /** The person's own identifiers (not the shared device or a store's phone). */
  readonly identifiers: readonly Identifier[];
  /** Household id when the person shares a computer, else null. */
  readonly household: string | null;
}

export interface Population {
  /** In delivery order (event time plus a small lag; redeliveries later), duplicates included. */
  readonly events: TestEvent[];
  /** eventId → person id, for every distinct event. */
  readonly truth: Map<string, string>;
  readonly people: readonly Person[];
  readonly sharedDevices: readonly { readonly value: string; readonly people: readonly string[] }[];
  readonly storePhones: readonly string[];
  /** The placeholder values the generator uses; the default blocked rules catch every one. */
  readonly junk: readonly Identifier[];
}

/** Placeholders as sources send them (already normalized); each matches a default blocked rule. */
export const JUNK_IDENTIFIERS: readonly Identifier[] = [
  { type: 'email', value: 'test@test.com' },
  { type: 'email', value: 'noreply@shop.example.org' },
  { type: 'email', value: 'no-reply@newsletter.acme.com' },
  { type: 'phone', value: '+10000000000' },
  { type: 'phone', value: '+491111111111' },
  { type: 'anonymous_id', value: 'unknown' },
  { type: 'user_id', value: 'null' },
  { type: 'user_id', value: 'undefined' },
  { type: 'loyalty_card', value: '0000000000' },
  { type: 'crm_id', value: 'N/A' },
  { type: 'device_id', value: '0' },
  { type: 'advertising_id', value: '00000000-0000-0000-0000-000000000000' },
];

const FIRST_NAMES = ['anna', 'ben', 'clara', 'david', 'emma', 'felix', 'greta', 'hugo', 'ida', 'jonas', 'karla', 'leon', 'mia', 'noah', 'olga', 'paul', 'rosa', 'sami', 'tara', 'uwe', 'vera', 'wim', 'yara', 'zoe'];
const LAST_NAMES = ['meyer', 'schmidt', 'garcia', 'rossi', 'dubois', 'nowak', 'jensen', 'silva', 'novak', 'kowalski', 'smith', 'berg', 'costa', 'weber', 'fischer', 'lopez'];
const DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'web.de', 'gmx.net', 'icloud.com', 'proton.me', 'orange.fr'];
const DAY = 86_400_000;

interface Draft {
  readonly person: string;
  readonly channel: Channel;
  readonly eventType: EventType;
  readonly identifiers: Identifier[];
  readonly tags: EventTag[];
}

interface Profile {
  readonly id: string;
  readonly tag: string;
  readonly userId: Identifier | null;
  readonly crmId: Identifier | null;
  readonly emails: Identifier[];
  readonly phones: Identifier[];
  readonly loyaltyCard: Identifier | null;
  readonly loyaltyMember: Identifier | null;
  readonly payments: Identifier[];
  readonly cookies: Identifier[];
  readonly app: { readonly device: Identifier; readonly anonymous: Identifier } | null;
  family: { readonly device: Identifier; readonly cookie: Identifier; readonly household: string } | null;
}

function checkOptions(options: PopulationOptions): void {
  const problems: string[] = [];
  const integer = (name: string, value: number | undefined, min: number): void => {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min)) problems.push(`${name} must be an integer >= ${min} (got ${value})`);
  };
  const share = (name: string, value: number | undefined): void => {
    if (value !== undefined && !(value >= 0 && value <= 1)) problems.push(`${name} must be between 0 and 1 (got ${value})`);
  };
  integer('seed', options.seed, -(2 ** 31));
  integer('people', options.people, 0);
  integer('eventsPerPerson', options.eventsPerPerson, 1);
  integer('spanDays', options.spanDays, 30);
  integer('stores', options.stores, 1);
  share('householdShare', options.householdShare);
  share('storePhoneRate', options.storePhoneRate);
  share('junkRate', options.junkRate);
  share('duplicateRate', options.duplicateRate);
  if (options.tenant !== undefined && options.tenant === '') problems.push('tenant must not be empty');
  if (problems.length > 0) throw new IdentityError('INVALID_OPTIONS', `Invalid population options: ${problems.join('; ')}`, { details: { problems } });
}

/** Generates a population (see the module comment). 5,000 people × 10 events take well under a second. */
export function generatePopulation(options: PopulationOptions): Population {
  checkOptions(options);
  const random = new SeededRandom(options.seed);
  const tenant = options.tenant ?? 'acme';
  const eventsPerPerson = options.eventsPerPerson ?? 10;
  const start = options.start ?? Date.UTC(2024, 0, 1);
  const spanDays = options.spanDays ?? 180;
  const householdShare = options.householdShare ?? 0.3;
  const storePhones = Array.from({ length: options.stores ?? 3 }, (_, index) => `+44207946${String(index).padStart(4, '0')}`);
  const storePhoneRate = options.storePhoneRate ?? 0;
  const junkRate = options.junkRate ?? 0.03;
  const duplicateRate = options.duplicateRate ?? 0.02;

  // People and their identifiers. Values embed the person's index, so no two people collide by accident.
  const profiles: Profile[] = [];
  for (let index = 0; index < options.people; index += 1) {
    const tag = `${index.toString(36)}${random.hex(4)}`;
    const first = random.pick(FIRST_NAMES);
    const last = random.pick(LAST_NAMES);
    const emailCount = random.weighted([0.05, 0.65, 0.25, 0.05]);
    const phoneCount = random.weighted([0.3, 0.55, 0.15]);
    const paymentCount = random.weighted([0.3, 0.5, 0.2]);
    const cookieCount = 1 + (random.chance(0.5) ? 1 : 0) + (random.chance(0.2) ? 1 : 0);
    const hasLoyalty = random.chance(0.35);
    profiles.push({
      id: `person-${index}`,
      tag,
      userId: random.chance(0.75) ? { type: 'user_id', value: `u-${tag}` } : null,
      crmId: random.chance(0.4) ? { type: 'crm_id', value: `C${1_000_000 + index}` } : null,
      emails: Array.from({ length: emailCount }, (_, k) => ({ type: 'email', value: `${first}.${last}.${tag}${k === 0 ? '' : `.${k}`}@${random.pick(DOMAINS)}` })),
      phones: Array.from({ length: phoneCount }, (_, k) => ({ type: 'phone', value: `+447${String(index).padStart(6, '0')}${k + 1}${random.between(10, 99)}` })),
      loyaltyCard: hasLoyalty ? { type: 'loyalty_card', value: `6${String(index).padStart(9, '0')}${random.between(100, 999)}` } : null,
      loyaltyMember: hasLoyalty ? { type: 'loyalty_member_id', value: `M-${tag}` } : null,
      payments: Array.from({ length: paymentCount }, (_, k) => ({ type: 'payment_fingerprint', value: `pf_${tag}_${k}${random.hex(6)}` })),
      cookies: Array.from({ length: cookieCount }, (_, k) => ({ type: 'anonymous_id', value: `a-${tag}-${k}-${random.hex(8)}` })),
      app: random.chance(0.4) ? { device: { type: 'device_id', value: `d-${tag}-${random.hex(8)}` }, anonymous: { type: 'anonymous_id', value: `app-${tag}-${random.hex(8)}` } } : null,
      family: null,
    });
  }

  // Households that share a computer: one device id, a cookie per member.
  const sharedDevices: { value: string; people: string[] }[] = [];
  for (let index = 0; index < profiles.length; ) {
    // Households average three people: starting one with probability s/(3-2s) puts a share s of people in one.
    if (!random.chance(householdShare / (3 - 2 * householdShare))) {
      index += 1;
      continue;
    }
    const size = Math.min(random.between(2, 4), profiles.length - index);
    if (size < 2) break;
    const household = `hh-${sharedDevices.length}`;
    const device: Identifier = { type: 'device_id', value: `shared-${household}-${random.hex(8)}` };
    const members: string[] = [];
    for (let member = index; member < index + size; member += 1) {
      const profile = profiles[member];
      if (profile === undefined) continue;
      profile.family = { device, cookie: { type: 'anonymous_id', value: `fam-${profile.tag}-${random.hex(8)}` }, household };
      members.push(profile.id);
    }
    sharedDevices.push({ value: device.value, people: members });
    index += size;
  }

  // Events per person: links first (connectivity), then activity, all at random times in the person's active period.
  const drafts: { draft: Draft; time: number }[] = [];
  for (const profile of profiles) {
    const links = linkEvents(profile, random);
    const activityCount = Math.max(1, Math.round(eventsPerPerson * (0.4 + 1.2 * random.next())) - links.length);
    const activity = Array.from({ length: activityCount }, () => activityEvent(profile, random, storePhones, storePhoneRate)).flat();
    const activeDays = random.between(30, spanDays);
    const personStart = start + random.int(Math.max(1, spanDays - activeDays + 1)) * DAY;
    for (const draft of [...links, ...activity]) {
      if (random.chance(junkRate)) {
        const junk = random.pick(JUNK_IDENTIFIERS);
        // Only a lone activity identifier is ever replaced: a link event's pair must stay, or the person would fall apart.
        if (draft.identifiers.length === 1 && !links.includes(draft) && random.chance(0.1)) {
          draft.identifiers.splice(0, 1, junk);
          draft.tags.push('junk_only');
        } else {
          draft.identifiers.push(junk);
          draft.tags.push('junk');
        }
      }
      drafts.push({ draft, time: personStart + random.int(activeDays * DAY) });
    }
  }

  // Delivery order: event time plus a few seconds of lag; redeliveries minutes to an hour later.
  const events: { event: TestEvent; deliveredAt: number; order: number }[] = [];
  const truth = new Map<string, string>();
  const seedTag = (options.seed >>> 0).toString(36);
  drafts.sort((a, b) => a.time - b.time);
  drafts.forEach(({ draft, time }, index) => {
    const event: TestEvent = {
      eventId: `e${seedTag}-${index.toString(36)}`,
      tenant,
      channel: draft.channel,
      eventType: draft.eventType,
      eventTime: time,
      identifiers: draft.identifiers,
      tags: draft.tags,
    };
    truth.set(event.eventId, draft.person);
    events.push({ event, deliveredAt: time + random.int(5_000), order: events.length });
    if (random.chance(duplicateRate)) events.push({ event, deliveredAt: time + 60_000 + random.int(3_600_000), order: events.length });
  });
  events.sort((a, b) => a.deliveredAt - b.deliveredAt || a.order - b.order);

  const people: Person[] = profiles.map((profile) => ({
    id: profile.id,
    identifiers: [
      profile.userId,
      profile.crmId,
      ...profile.emails,
      ...profile.phones,
      profile.loyaltyCard,
      profile.loyaltyMember,
      ...profile.payments,
      ...profile.cookies,
      profile.app?.device ?? null,
      profile.app?.anonymous ?? null,
      profile.family?.cookie ?? null,
    ].filter((identifier) => identifier !== null),
    household: profile.family?.household ?? null,
  }));
  return { events: events.map((entry) => entry.event), truth, people, sharedDevices, storePhones, junk: JUNK_IDENTIFIERS };
}

function draft(person: Profile, channel: Channel, eventType: EventType, identifiers: readonly (Identifier | null | undefined)[], tags: EventTag[] = []): Draft {
  return { person: person.id, channel, eventType, identifiers: identifiers.filter((identifier) => identifier !== null && identifier !== undefined), tags };
}

/**
 * One event per identifier that is not the person's hub, each next to an identifier already
 * connected to the hub, through the channel that would carry that pair in real life.
 */
function linkEvents(person: Profile, random: SeededRandom): Draft[] {
  const [email0, ...otherEmails] = person.emails;
  const [phone0, ...otherPhones] = person.phones;
  // The strongest identifier the person has; everything else is linked to it, directly or through one already linked.
  const hub = person.userId ?? email0 ?? phone0 ?? person.loyaltyCard ?? person.cookies[0];
  if (hub === undefined) return [];
  const account = person.userId;
  const out: Draft[] = [];
  // E-mails: the account's identify call states them; without an account, a contact form links them.
  if (email0 !== undefined && email0 !== hub) out.push(draft(person, 'web', 'identified', [person.cookies[0], hub, email0]));
  for (const email of otherEmails) out.push(account === null ? draft(person, 'crm', 'contact_updated', [email0, email]) : draft(person, 'web', 'identified', [account, email]));
  const contact = email0 ?? hub;
  if (person.crmId !== null) out.push(draft(person, 'crm', 'contact_created', [person.crmId, contact, phone0]));
  if (phone0 !== undefined && phone0 !== hub) out.push(draft(person, 'support', 'support_call', [phone0, contact]));
  for (const phone of otherPhones) out.push(draft(person, 'support', 'support_call', [phone, contact]));
  if (person.loyaltyCard !== null && person.loyaltyCard !== hub) out.push(draft(person, 'loyalty', 'points_redeemed', [person.loyaltyMember, person.loyaltyCard, phone0 ?? contact]));
  else if (person.loyaltyMember !== null) out.push(draft(person, 'loyalty', 'points_redeemed', [person.loyaltyMember, person.loyaltyCard]));
  for (const payment of person.payments) {
    out.push(person.loyaltyCard !== null && random.chance(0.6) ? draft(person, 'pos', 'store_purchase', [person.loyaltyCard, payment]) : draft(person, 'web', 'order_completed', [account ?? contact, payment, random.pick(person.cookies)]));
  }
  for (const cookie of person.cookies) {
    if (cookie !== hub && !(cookie === person.cookies[0] && email0 !== undefined && email0 !== hub)) out.push(draft(person, 'web', 'identified', [cookie, account ?? contact]));
  }
  if (person.app !== null) out.push(draft(person, 'web', 'screen_viewed', [person.app.anonymous, person.app.device, account ?? contact]));
  if (person.family !== null) out.push(draft(person, 'web', 'identified', [person.family.cookie, person.family.device, account ?? contact], ['shared_device']));
  return out;
}

/** One activity (two events for an ad click and its landing page) through a channel the person uses. */
function activityEvent(person: Profile, random: SeededRandom, storePhones: readonly string[], storePhoneRate: number): Draft[] {
  const options: { weight: number; make: () => Draft[] }[] = [
    { weight: 4, make: () => [draft(person, 'web', 'page_viewed', [random.pick(person.cookies)])] },
  ];
  const { app, family, loyaltyCard, loyaltyMember, crmId } = person;
  // A push-notification open carries only the device id: attributed through the device, never linking.
  if (app !== null) options.push({ weight: 2, make: () => [draft(person, 'web', 'screen_viewed', random.chance(0.2) ? [app.device] : [app.anonymous, app.device])] });
  if (family !== null) options.push({ weight: 2, make: () => [draft(person, 'web', 'page_viewed', [family.cookie, family.device], ['shared_device'])] });
  if (person.emails.length > 0) options.push({ weight: 3, make: () => [draft(person, 'email', random.chance(0.7) ? 'email_opened' : 'email_clicked', [random.pick(person.emails)])] });
  if (person.phones.length > 0) options.push({ weight: 1, make: () => [draft(person, 'support', 'support_call', [random.pick(person.phones)])] });
  if (person.payments.length > 0 || loyaltyCard !== null) {
    options.push({
      weight: 2,
      make: () => {
        const payment = person.payments.length > 0 ? random.pick(person.payments) : null;
        const known = [loyaltyCard, payment].filter((identifier) => identifier !== null);
        if (random.chance(storePhoneRate)) {
          // The clerk typed the store's own number for a customer who gave none.
          return [draft(person, 'pos', 'store_purchase', [random.pick(known), { type: 'phone', value: random.pick(storePhones) }], ['store_phone'])];
        }
        return [draft(person, 'pos', 'store_purchase', known)];
      },
    });
  }
  if (loyaltyMember !== null) options.push({ weight: 1, make: () => [draft(person, 'loyalty', 'coupon_redeemed', [loyaltyMember])] });
  if (crmId !== null) options.push({ weight: 1, make: () => [draft(person, 'crm', 'contact_updated', [crmId])] });
  options.push({
    weight: 1,
    make: () => {
      const click: Identifier = { type: 'click_id', value: `gclid-${person.tag}-${random.hex(10)}` };
      return [draft(person, 'ads', 'ad_clicked', [click]), draft(person, 'web', 'page_viewed', [random.pick(person.cookies), click])];
    },
  });
  const chosen = options[random.weighted(options.map((option) => option.weight))];
  return chosen === undefined ? [] : chosen.make();
}
