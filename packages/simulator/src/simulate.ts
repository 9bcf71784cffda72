/**
 * The simulation: people, their journeys, and the delivery of the raw messages — batched
 * (SendGrid), delayed (offline tills, ad reports, app flushes), late, duplicated, sometimes
 * malformed — with the ground truth beside them.
 *
 * EventIds: the truth is keyed by the eventId the normalizer will derive, computed here with
 * `touchpointEventId` (deriveEventId of tenant, channel, source system and source event id;
 * for an ads conversion keyed by its conversion id, also the event type) from the same inputs
 * the adapters use (the source event id the simulator wrote into the message, the source
 * system the deployment reports). That is fast (one SHA-1 per event) and exact as long as the
 * adapters keep their documented source-event-id fields; the package's tests run every
 * generated message through `adaptMessage` and check that the eventIds agree, so a change
 * in an adapter fails there rather than silently skewing the truth.
 */
import { defaultJourneyStage, isEventType, JOURNEY_STAGES, type Channel, type EventType, type Identifier, type JourneyStage } from '@elephant/channels';
import { SeededRandom } from '@elephant/identity';
import { computeCounters, type CounterEvent, type PersonExpectation } from './expectations.ts';
import { base64Chars, isoSeconds } from './format.ts';
import { createWorld } from './context.ts';
import { Journey } from './journey.ts';
import type { EventFacts, EventTag, PlannedMessage } from './model.ts';
import { resolveOptions, type ResolvedOptions, type SimulationOptions } from './options.ts';
import { createPeople, type Persona } from './people.ts';

/** One raw message: exactly one line of the file `elephant publish --file` reads. */
export interface SimRecord {
  readonly channel: Channel;
  /** The JSON the channel's system emits (for e-mail a SendGrid webhook batch: an array), parsed from `json` on each access. */
  readonly payload: unknown;
  /** The payload as JSON text: the bytes to publish (`Buffer.from(record.json)`). */
  readonly json: string;
}

class RawRecord implements SimRecord {
  readonly channel: Channel;
  readonly json: string;

  constructor(channel: Channel, json: string) {
    this.channel = channel;
    this.json = json;
  }

  get payload(): unknown {
    return JSON.parse(this.json) as unknown;
  }

  toJSON(): { channel: Channel; payload: unknown } {
    return { channel: this.channel, payload: this.payload };
  }
}

/** A record the simulator made malformed on purpose (`badRate`), and how the adapter answers. */
export interface MalformedRecord {
  /** Index into `records`. */
  readonly record: number;
  readonly channel: Channel;
  /** The ChannelError code expected: for the whole message, or for `batchIndex` of a SendGrid batch (the rest of it adapts). */
  readonly code: string;
  readonly batchIndex: number | null;
}

export interface Household {
  readonly id: string;
  /** The shared tablet's Segment context.device.id, as sent. */
  readonly deviceId: string;
  readonly members: readonly string[];
}

export interface SimulationStats {
  readonly people: number;
  readonly households: number;
  readonly records: number;
  /** Distinct resolvable touchpoints (= truth size). */
  readonly touchpoints: number;
  /** Records that repeat an earlier record byte for byte. */
  readonly duplicateRecords: number;
  readonly lateRecords: number;
  readonly malformedRecords: number;
  readonly unresolvableTouchpoints: number;
  readonly recordsPerChannel: Readonly<Partial<Record<Channel, number>>>;
  readonly touchpointsPerStage: Readonly<Record<JourneyStage, number>>;
  readonly touchpointsPerTag: Readonly<Partial<Record<EventTag, number>>>;
}

export interface Simulation {
  readonly options: ResolvedOptions;
  /** Raw messages in delivery order, duplicates included. */
  readonly records: readonly SimRecord[];
  /** eventId → personId for every distinct touchpoint that belongs to a person and can be resolved. */
  readonly truth: ReadonlyMap<string, string>;
  /** The facts of every truth touchpoint, in order of first delivery. */
  readonly events: readonly EventFacts[];
  /** Per person: identifiers, stages and the counters a correct profile shows. */
  readonly expectations: readonly PersonExpectation[];
  readonly households: readonly Household[];
  /** Touchpoints that only carry placeholders (`junkOnlyRate`): a person made them, no rule can tell who. Not in the truth. */
  readonly unresolvable: readonly EventFacts[];
  readonly malformed: readonly MalformedRecord[];
  readonly stats: SimulationStats;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A unit of delivery: one raw message (a SendGrid batch is one). */
interface Unit {
  readonly channel: Channel;
  /** JSON text of the message; for a SendGrid batch its items' texts (joined into an array at the end). */
  json: string | string[];
  deliveredAt: number;
  readonly seq: number;
  readonly facts: EventFacts[];
  readonly junkOnly: EventFacts[];
  malformed: { code: string; batchIndex: number | null } | null;
  duplicate: boolean;
}

function tag(facts: EventFacts, name: EventTag): void {
  // Tags start as a shared empty list (most events have none): replaced, never mutated.
  if (!facts.tags.includes(name)) facts.tags = [...facts.tags, name];
}

const byDelivery = (a: { deliveredAt: number; seq: number }, b: { deliveredAt: number; seq: number }): number => a.deliveredAt - b.deliveredAt || a.seq - b.seq;

/**
 * SendGrid posts the events it has every 30 seconds (or at 768 KB): events within 30 s of a
 * batch's first share its POST, up to 1000 (about 450 KB).
 */
function batchEmails(items: PlannedMessage[], nextSeq: () => number): Unit[] {
  items.sort(byDelivery);
  const units: Unit[] = [];
  let current: PlannedMessage[] = [];
  const flush = (): void => {
    const last = current[current.length - 1];
    if (last === undefined) return;
    units.push({
      channel: 'email',
      json: current.map((item) => item.json),
      deliveredAt: last.deliveredAt,
      seq: nextSeq(),
      facts: current.flatMap((item) => (item.facts === null ? [] : [item.facts])),
      junkOnly: [],
      malformed: null,
      duplicate: false,
    });
    current = [];
  };
  for (const item of items) {
    const first = current[0];
    if (first !== undefined && (item.deliveredAt - first.deliveredAt > 30_000 || current.length >= 1000)) flush();
    current.push(item);
  }
  flush();
  return units;
}

/** A message of `channel` that its adapter refuses, and the code it answers with. */
function malformedPayload(random: SeededRandom, channel: Channel, time: number): { payload: unknown; code: string } {
  const occurredAt = isoSeconds(time);
  const ref = random.hex(10);
  switch (channel) {
    case 'web':
      return { payload: { type: 'track', messageId: `ajs-bad-${ref}`, anonymousId: `bad-${ref}`, timestamp: occurredAt, properties: {} }, code: 'SCHEMA_VIOLATION' };
    case 'ads':
      return { payload: { type: 'impression', platform: 'google_ads', id: `imp-${ref}`, occurredAt }, code: 'UNKNOWN_EVENT_TYPE' };
    case 'pos':
      return { payload: { type: 'purchase', id: `txn-bad-${ref}`, occurredAt, storeId: 'nyc-soho', currency: 'USD', total: 'twelve dollars', loyaltyCard: `6001${random.hex(8).replace(/[a-f]/g, '7')}` }, code: 'SCHEMA_VIOLATION' };
    case 'support':
      return { payload: { type: 'call', id: `call-bad-${ref}`, occurredAt, callerPhone: 'anonymous', agent: 'agent-01' }, code: 'MISSING_IDENTIFIER' };
    case 'crm':
      return { payload: { type: 'contact.updated', id: `chg-bad-${ref}`, occurredAt, contact: { firstName: 'Nobody' } }, code: 'SCHEMA_VIOLATION' };
    case 'loyalty':
      return { payload: { type: 'coupon', id: `red-bad-${ref}`, occurredAt, memberId: `ER-bad-${ref}` }, code: 'SCHEMA_VIOLATION' };
    case 'content':
      return { payload: { type: 'download', id: `dl-bad-${ref}`, occurredAt: occurredAt.replace('T', ' ').replace('Z', ''), anonymousId: `bad-${ref}` }, code: 'SCHEMA_VIOLATION' };
    case 'email':
      // An account-status event in a batch: the adapter rejects that item and keeps the others.
      return { payload: { timestamp: Math.floor(time / 1000), event: 'account_status_change', type: 'compliance_suspend', sg_event_id: base64Chars(random, 22) }, code: 'UNKNOWN_EVENT_TYPE' };
  }
}

function compareIdentifiers(a: Identifier, b: Identifier): number {
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

const CONTENT_EVENT_TYPES: ReadonlySet<string> = new Set(['page_viewed', 'product_viewed', 'content_downloaded', 'form_submitted']);

/** What counting needs of a touchpoint: its EventFacts, or a line of truth.ndjson. */
export interface CounterFacts extends Pick<EventFacts, 'eventId' | 'eventTime' | 'commerce' | 'satisfactionScore' | 'points'> {
  readonly channel: string;
  readonly eventType: string;
}

/**
 * The CounterEvent of one truth touchpoint, as the normalizer's Touchpoint will read: the
 * person's expectations are computeCounters over these, and so are the counters the truth
 * implies for any set of eventIds (one profile's, when a person is split over several).
 */
export function counterEventOf(facts: CounterFacts): CounterEvent {
  return {
    eventId: facts.eventId,
    channel: facts.channel,
    eventType: facts.eventType,
    eventTime: facts.eventTime,
    // An event type the vocabulary does not know has no stage (the truth only holds known ones).
    journeyStage: isEventType(facts.eventType) ? defaultJourneyStage(facts.eventType) : '',
    commerce: facts.commerce,
    support: facts.satisfactionScore === null && !facts.eventType.startsWith('support_') ? null : { satisfactionScore: facts.satisfactionScore },
    loyalty: facts.commerce?.coupon === true ? { couponCode: 'coupon', pointsDelta: null } : facts.points !== null ? { couponCode: null, pointsDelta: -facts.points } : null,
    // Every page view names its url, every product view, download and form its id; screens name neither.
    content: CONTENT_EVENT_TYPES.has(facts.eventType) ? { contentId: null, url: 'named' } : null,
  };
}

function expectationsOf(personas: readonly Persona[], events: readonly EventFacts[]): PersonExpectation[] {
  const byPerson = new Map<string, EventFacts[]>();
  for (const facts of events) {
    const list = byPerson.get(facts.personId);
    if (list === undefined) byPerson.set(facts.personId, [facts]);
    else list.push(facts);
  }
  return personas.map((persona) => {
    const own = byPerson.get(persona.id) ?? [];
    const identifiers: Identifier[] = [];
    const seen = new Map<string, Set<string>>();
    const stages = new Set<JourneyStage>();
    for (const facts of own) {
      stages.add(facts.stage);
      for (const identifier of facts.identifiers) {
        let values = seen.get(identifier.type);
        if (values === undefined) seen.set(identifier.type, (values = new Set()));
        if (values.has(identifier.value)) continue;
        values.add(identifier.value);
        identifiers.push(identifier);
      }
    }
    const sharedDevice = persona.household !== null && own.some((facts) => facts.tags.includes('shared_device')) ? [persona.household.household.deviceId] : [];
    return {
      personId: persona.id,
      household: persona.household?.household.id ?? null,
      path: persona.path,
      stages: JOURNEY_STAGES.filter((stage) => stages.has(stage)),
      identifiers: identifiers.sort(compareIdentifiers),
      sharedDeviceIds: sharedDevice,
      counters: computeCounters(own.map(counterEventOf)),
    };
  });
}

/**
 * Simulates `options.people` customers over `options.spanDays` days. Deterministic: the same
 * options give the same records, byte for byte (`toNdjson`). 10,000 people take a few seconds.
 * @throws SimulatorError INVALID_OPTIONS naming every bad option
 */
export function simulate(options: SimulationOptions): Simulation {
  const resolved = resolveOptions(options);
  const random = new SeededRandom(resolved.seed);
  const { personas, households } = createPeople(random, resolved.people, resolved.householdShare);
  const world = createWorld(random, resolved);
  for (const persona of personas) new Journey(world, persona).run();

  // Delivery units: one per message, SendGrid items batched.
  let seq = world.messages.length;
  const nextSeq = (): number => (seq += 1);
  const units: Unit[] = [];
  const emailItems: PlannedMessage[] = [];
  for (const message of world.messages) {
    if (message.channel === 'email') {
      emailItems.push(message);
      continue;
    }
    const facts = message.facts === null ? [] : [message.facts];
    units.push({
      channel: message.channel,
      json: message.json,
      deliveredAt: message.deliveredAt,
      seq: message.seq,
      facts: message.kind === 'normal' ? facts : [],
      junkOnly: message.kind === 'junk_only' ? facts : [],
      malformed: null,
      duplicate: false,
    });
  }
  units.push(...batchEmails(emailItems, nextSeq));

  // Malformed messages (badRate): a broken message next to a good one of the same channel.
  if (resolved.badRate > 0) {
    for (const unit of [...units]) {
      if (!random.chance(resolved.badRate)) continue;
      const bad = malformedPayload(random, unit.channel, unit.deliveredAt - random.int(HOUR));
      if (Array.isArray(unit.json)) {
        const batch = [...unit.json];
        const index = random.int(batch.length + 1);
        batch.splice(index, 0, JSON.stringify(bad.payload));
        unit.json = batch;
        unit.malformed = { code: bad.code, batchIndex: index };
      } else {
        units.push({ channel: unit.channel, json: JSON.stringify(bad.payload), deliveredAt: unit.deliveredAt + random.int(5_000), seq: nextSeq(), facts: [], junkOnly: [], malformed: { code: bad.code, batchIndex: null }, duplicate: false });
      }
    }
  }

  // Late delivery: 1 hour to 3 days after the event (offline tills, phones without signal, webhook retries).
  const late = new Set<Unit>();
  for (const unit of units) {
    if (!random.chance(resolved.lateRate)) continue;
    unit.deliveredAt += random.between(HOUR, 72 * HOUR);
    late.add(unit);
    for (const facts of unit.facts) tag(facts, 'late');
  }
  // Duplicates: the same bytes again, a minute to two hours later (at-least-once producers, retried POSTs).
  const duplicates: Unit[] = [];
  for (const unit of units) {
    if (!random.chance(resolved.duplicateRate)) continue;
    duplicates.push({ ...unit, deliveredAt: unit.deliveredAt + random.between(MINUTE, 2 * HOUR), seq: nextSeq(), duplicate: true });
    for (const facts of unit.facts) tag(facts, 'duplicated');
  }
  units.push(...duplicates);
  units.sort(byDelivery);

  // Facts in order of first delivery; out-of-order: delivered after a later event of the same person.
  const truth = world.truth;
  const events: EventFacts[] = [];
  const unresolvable: EventFacts[] = [];
  const latestSeen = new Map<string, number>();
  const malformed: MalformedRecord[] = [];
  const recordsPerChannel: Partial<Record<Channel, number>> = {};
  units.forEach((unit, index) => {
    recordsPerChannel[unit.channel] = (recordsPerChannel[unit.channel] ?? 0) + 1;
    if (unit.malformed !== null) malformed.push({ record: index, channel: unit.channel, code: unit.malformed.code, batchIndex: unit.malformed.batchIndex });
    if (unit.duplicate) return;
    for (const facts of unit.facts) {
      events.push(facts);
      const latest = latestSeen.get(facts.personId);
      if (latest !== undefined && facts.eventTime < latest) tag(facts, 'out_of_order');
      latestSeen.set(facts.personId, Math.max(latest ?? facts.eventTime, facts.eventTime));
    }
    unresolvable.push(...unit.junkOnly);
  });
  if (truth.size !== events.length) throw new Error(`simulator bug: ${events.length - truth.size} eventIds generated twice`);

  const touchpointsPerStage = Object.fromEntries(JOURNEY_STAGES.map((stage) => [stage, 0])) as Record<JourneyStage, number>;
  const touchpointsPerTag: Partial<Record<EventTag, number>> = {};
  for (const facts of events) {
    touchpointsPerStage[facts.stage] += 1;
    for (const tag of facts.tags) touchpointsPerTag[tag] = (touchpointsPerTag[tag] ?? 0) + 1;
  }
  const records = units.map((unit): SimRecord => new RawRecord(unit.channel, Array.isArray(unit.json) ? `[${unit.json.join(',')}]` : unit.json));
  return {
    options: resolved,
    records,
    truth,
    events,
    expectations: expectationsOf(personas, events),
    households: households.map((household) => ({ id: household.id, deviceId: household.deviceId, members: household.members })),
    unresolvable,
    malformed,
    stats: {
      people: personas.length,
      households: households.length,
      records: records.length,
      touchpoints: truth.size,
      duplicateRecords: duplicates.length,
      lateRecords: late.size,
      malformedRecords: malformed.length,
      unresolvableTouchpoints: unresolvable.length,
      recordsPerChannel,
      touchpointsPerStage,
      touchpointsPerTag,
    },
  };
}

/** The event types the simulator generates, for documentation and tests. */
export const SIMULATED_EVENT_TYPES: readonly EventType[] = [
  'page_viewed',
  'screen_viewed',
  'product_viewed',
  'identified',
  'custom_event',
  'order_completed',
  'order_refunded',
  'email_delivered',
  'email_opened',
  'email_clicked',
  'email_bounced',
  'email_unsubscribed',
  'ad_clicked',
  'ad_converted',
  'store_purchase',
  'store_return',
  'support_call',
  'support_chat',
  'support_ticket',
  'contact_created',
  'contact_updated',
  'coupon_redeemed',
  'points_redeemed',
  'form_submitted',
  'content_downloaded',
];
