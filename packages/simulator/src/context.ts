/**
 * What the message builders share: the simulation's world (clock, sequences, output), and
 * one person's context while their journey is generated (what the person has already told
 * the company, their orders, the stage being generated). `emit` turns a built message into a
 * planned one with its facts and the eventId the normalizer will derive.
 */
import { createHash } from 'node:crypto';
import { touchpointEventId, type Channel, type EventType, type Identifier, type JourneyStage } from '@elephant/channels';
import type { SeededRandom } from '@elephant/identity';
import { PRODUCTS, type AD_CAMPAIGNS, type EmailCampaign, type Product, type Store } from './catalog.ts';
import { cardVariant, emailVariant, phoneVariant } from './format.ts';
import type { CommerceFacts, EventFacts, EventTag, PlannedMessage } from './model.ts';
import { sourceSystemOf, type ResolvedOptions } from './options.ts';
import type { Persona } from './people.ts';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** State shared by every journey of one simulation. */
export interface World {
  readonly random: SeededRandom;
  readonly options: ResolvedOptions;
  /** Epoch ms after which nothing happens. */
  readonly end: number;
  readonly messages: PlannedMessage[];
  /** eventId → personId of every resolvable event, filled as events are generated. */
  readonly truth: Map<string, string>;
  /** Send times of the weekly newsletter. */
  readonly newsletters: readonly { readonly campaign: EmailCampaign; readonly at: number }[];
  /** Per-kind sequence numbers for source ids (orders, transactions, calls, ...). */
  readonly sequences: Map<string, number>;
}

export function createWorld(random: SeededRandom, options: ResolvedOptions): World {
  const end = options.start + options.spanDays * DAY;
  const newsletters: { campaign: EmailCampaign; at: number }[] = [];
  for (let week = 0; options.start + (week * 7 + 2) * DAY + 15 * HOUR < end; week += 1) {
    newsletters.push({
      campaign: { id: `nl-${String(week + 1).padStart(3, '0')}`, name: `Weekly Picks #${week + 1}`, category: 'newsletter', asmGroupId: 102 },
      at: options.start + (week * 7 + 2) * DAY + 15 * HOUR,
    });
  }
  return { random, options, end, messages: [], truth: new Map(), newsletters, sequences: new Map() };
}

/** Where a Segment message comes from. */
export interface Device {
  readonly kind: 'browser' | 'mobile' | 'app' | 'tablet';
  readonly anonymousId: string;
}

export interface Line {
  readonly product: Product;
  readonly quantity: number;
}

export interface Order {
  readonly id: string;
  readonly lines: readonly Line[];
  readonly at: number;
  readonly store: Store | null;
  readonly payment: string | null;
  readonly withCard: boolean;
}

export interface AdClick {
  readonly clickId: string;
  readonly platform: string;
  readonly campaign: (typeof AD_CAMPAIGNS)[number];
  readonly at: number;
}

/** A message before it is planned: the payload and what the adapter will make of it. */
export interface Draft {
  readonly channel: Channel;
  readonly payload: unknown;
  /** Event time exactly as the adapter will read it. */
  readonly time: number;
  readonly sourceEventId: string;
  /**
   * The source event id is an ads conversion id (the message has no `id`): the adapter then
   * scopes the eventId (conversionScope, touchpointEventId), and so does `emit`.
   */
  readonly sourceEventScope?: string;
  readonly eventType: EventType;
  readonly identifiers: readonly (Identifier | null)[];
  /** Normal delivery lag in ms (before lateness). */
  readonly lag: number;
  readonly platform?: string;
  readonly commerce?: CommerceFacts;
  readonly satisfactionScore?: number | null;
  readonly points?: number | null;
  readonly tags?: readonly EventTag[];
  readonly kind?: 'normal' | 'junk_only';
}

/** Epoch ms truncated to the second (sources that write seconds). */
export const seconds = (ms: number): number => Math.floor(ms / SECOND) * SECOND;
export const id = (type: string, value: string | null | undefined): Identifier | null => (value === null || value === undefined ? null : { type, value });
export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export const JUNK_EMAILS = ['test@test.com', 'noemail@noemail.com', 'unknown@unknown.com', 'none@none.com', 'no@email.com'] as const;
export const JUNK_PHONES = ['0000000000', '000-000-0000', 'n/a', 'unknown'] as const;

const NO_TAGS: readonly EventTag[] = Object.freeze([]);

/** One person's context while their journey is generated. */
export class PersonContext {
  readonly world: World;
  readonly random: SeededRandom;
  readonly person: Persona;
  /** The journey stage being generated: every emitted event is labelled with it. */
  stage: JourneyStage = 'aware';
  /** Identifier key (email/phone) → earliest event time at which the person has tied it to themselves. */
  readonly known = new Map<string, number>();
  /** Addresses the person stopped receiving mail at (unsubscribed or bounced), with the time. */
  readonly stopped = new Map<string, number>();
  readonly webOrders: Order[] = [];
  readonly storeOrders: Order[] = [];
  readonly boughtCategories = new Set<string>();
  readonly clicks: AdClick[] = [];
  readonly #variantRate: number;
  readonly #national: boolean;

  constructor(world: World, person: Persona) {
    this.world = world;
    this.random = world.random;
    this.person = person;
    this.#variantRate = world.options.variantRate;
    this.#national = world.options.nationalPhones;
  }

  nextNumber(kind: string): number {
    const next = (this.world.sequences.get(kind) ?? 0) + 1;
    this.world.sequences.set(kind, next);
    return next;
  }

  /** Whether the person ever browses in a way the shop can tie to them (an account, a form, or one cookie only). */
  usesWeb(): boolean {
    const person = this.person;
    return person.path === 'anonymous' || person.path === 'lead' || person.userId !== null;
  }

  desktop(): Device {
    return { kind: 'browser', anonymousId: this.person.desktop };
  }

  /** Browsers and apps the person is logged in on (the desktop always). */
  webDevices(): Device[] {
    const person = this.person;
    const devices: Device[] = [this.desktop()];
    if (person.userId === null) return devices;
    if (person.mobileWeb !== null) devices.push({ kind: 'mobile', anonymousId: person.mobileWeb });
    if (person.app !== null) devices.push({ kind: 'app', anonymousId: person.app.anonymousId });
    if (person.household !== null) devices.push({ kind: 'tablet', anonymousId: person.household.anonymousId });
    return devices;
  }

  /**
   * A time in [lo, hi), clamped to the simulation's end, in the person's waking hours
   * (7:00-23:00 local) when that day's waking hours overlap the range.
   */
  within(lo: number, hi: number): number {
    const top = Math.min(hi, this.world.end);
    const bottom = Math.min(lo, top - HOUR);
    const time = bottom + this.random.int(Math.max(1, top - bottom));
    const local = this.localTime(time, this.person.offsetMinutes, 7, 23);
    return local >= bottom && local < top ? local : time;
  }

  /** `time` moved to a random moment between `fromHour` and `toHour` local time of the same local day. */
  localTime(time: number, offsetMinutes: number, fromHour: number, toHour: number): number {
    const offset = offsetMinutes * MINUTE;
    const dayStart = Math.floor((time + offset) / DAY) * DAY - offset;
    return dayStart + fromHour * HOUR + this.random.int((toHour - fromHour) * HOUR);
  }

  knows(type: string, value: string): boolean {
    return this.known.has(`${type}:${value}`);
  }

  /** Whether this message gets a placeholder next to its real identifiers (junkRate). */
  junk(): boolean {
    return this.random.chance(this.world.options.junkRate);
  }

  /** `email` as this message writes it (maybe a variant; tagged). */
  email(email: string, tags: EventTag[]): string {
    const written = emailVariant(this.random, email, this.#variantRate);
    if (written !== email) tags.push('variant');
    return written;
  }

  phone(phone: string, tags: EventTag[]): string {
    const written = phoneVariant(this.random, phone, this.#variantRate, this.#national);
    if (written !== phone) tags.push('variant');
    return written;
  }

  card(card: string, tags: EventTag[]): string {
    const written = cardVariant(this.random, card, this.#variantRate);
    if (written !== card) tags.push('variant');
    return written;
  }

  /** 1-3 distinct products (2-4 for a big order) from `pool`; cheap ones sometimes several times. */
  lines(pool: readonly Product[] = PRODUCTS, big = false): Line[] {
    const count = big ? 2 + this.random.int(3) : 1 + this.random.weighted([0.6, 0.3, 0.1]);
    const lines: Line[] = [];
    for (let index = 0; index < count; index += 1) {
      const product = this.random.pick(pool);
      if (lines.some((line) => line.product === product)) continue;
      lines.push({ product, quantity: product.usd < 5000 ? 1 + this.random.int(3) : 1 });
    }
    return lines;
  }

  /** The product's price in the person's currency, in minor units. */
  price(product: Product): number {
    return this.person.currency === 'CAD' ? product.cad : product.usd;
  }

  /** Plans a built message: derives its eventId, records its facts and the truth. */
  emit(draft: Draft): void {
    const world = this.world;
    const options = world.options;
    const sourceSystem = sourceSystemOf(options, draft.channel, draft.platform);
    const identifiers = draft.identifiers.filter((identifier) => identifier !== null);
    const kind = draft.kind ?? 'normal';
    const eventId = touchpointEventId(options.tenant, draft.channel, sourceSystem, draft);
    if (kind === 'normal') {
      this.#learn(identifiers, draft.time);
      if (world.truth.has(eventId)) throw new Error(`simulator bug: eventId ${eventId} (${draft.channel} ${draft.sourceEventId}) generated twice`);
      world.truth.set(eventId, this.person.id);
    }
    const facts: EventFacts = {
      eventId,
      personId: this.person.id,
      channel: draft.channel,
      sourceSystem,
      sourceEventId: draft.sourceEventId,
      eventType: draft.eventType,
      stage: this.stage,
      eventTime: draft.time,
      identifiers,
      commerce: draft.commerce ?? null,
      satisfactionScore: draft.satisfactionScore ?? null,
      points: draft.points ?? null,
      tags: draft.tags === undefined || draft.tags.length === 0 ? NO_TAGS : [...new Set(draft.tags)],
    };
    world.messages.push({
      channel: draft.channel,
      // Kept as text: a few hundred compact bytes instead of a tree of objects per message,
      // which is what lets 10,000 people (300,000 messages) fit and generate in seconds.
      json: JSON.stringify(draft.payload),
      eventTime: draft.time,
      deliveredAt: draft.time + draft.lag,
      seq: world.messages.length,
      personIndex: this.person.index,
      facts,
      kind,
    });
  }

  #learn(identifiers: readonly Identifier[], time: number): void {
    for (const identifier of identifiers) {
      // Only addresses and numbers are ever asked about (who may be mailed, which numbers are new).
      if (identifier.type !== 'email' && identifier.type !== 'phone') continue;
      const key = `${identifier.type}:${identifier.value}`;
      const known = this.known.get(key);
      if (known === undefined || time < known) this.known.set(key, time);
    }
  }
}
