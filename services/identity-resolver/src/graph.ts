import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { IdentityError, profileIdNamespace } from '@elephant/identity';
import type { Redis } from '@elephant/redis';
import { toRedisError } from '@elephant/redis';

/** An identifier after normalization and screening. */
export interface Identifier {
  readonly type: string;
  readonly value: string;
}

/** The part of a tenant's rules the graph script enforces (screening happens before). */
export interface GraphRules {
  /** Max identifiers of a type per profile. */
  readonly limits: Readonly<Record<string, number>>;
  /** Position of each listed type in the priority order (for reporting violated types). */
  readonly rank: Readonly<Record<string, number>>;
  /** Types that never link two profiles (hardware ids a household shares). */
  readonly nonMerging: readonly string[];
  readonly maxProfilesPerValue: number;
  readonly maxMergesPerWindow: number;
  readonly windowMs: number;
  /** How long an event's result is kept for redelivery. */
  readonly eventTtlSeconds: number;
}

export interface ResolveInput {
  readonly eventId: string;
  /** Epoch ms: provenance and the merge-rate window use event time. */
  readonly eventTime: number;
  /** Epoch ms the raw message was ingested: compared with erasure times. */
  readonly ingestTime: number;
  readonly channel: string;
  readonly source: string;
  /** Screened (screenIdentifiers), strongest first. */
  readonly identifiers: readonly Identifier[];
}

export interface GraphMerge {
  readonly survivor: string;
  /** Oldest first; each resolves to the survivor from now on. */
  readonly absorbed: readonly string[];
  readonly linkedBy: readonly Identifier[];
  readonly rule: string;
}

export interface DroppedByLimit extends Identifier {
  readonly reason: 'limit';
  /** The limited types the merge would have exceeded, strongest first. */
  readonly violated: readonly string[];
}

export interface Ignored extends Identifier {
  readonly reason: 'quarantined' | 'owned_elsewhere';
}

export interface Quarantined extends Identifier {
  readonly reason: 'too_many_profiles' | 'too_many_merges';
  readonly observed: number;
  readonly threshold: number;
}

/**
 * `erased`: an identifier of the event was erased after the event was ingested, or it carries a
 * quarantined value whose profile was erased after it was ingested and routing sends it to no
 * existing profile (a leftover).
 * `rejected`: the script refused the event with a typed error (`error`); nothing was resolved.
 */
export type ResolveOutcome = 'created' | 'matched' | 'merged' | 'weak_match' | 'unresolved' | 'erased' | 'rejected';

export interface ResolveResult {
  readonly eventId: string;
  /** Null when nothing could link (every identifier quarantined or held elsewhere). */
  readonly profileId: string | null;
  readonly outcome: ResolveOutcome;
  /** True when the event had been resolved before (redelivery): nothing changed now. */
  readonly replay: boolean;
  readonly attached: readonly Identifier[];
  readonly dropped: readonly DroppedByLimit[];
  readonly ignored: readonly Ignored[];
  readonly merge: GraphMerge | null;
  /** Values this event pushed into quarantine. */
  readonly quarantined: readonly Quarantined[];
  /** Why the script refused the event (outcome `rejected`); null otherwise. Never retryable. */
  readonly error: IdentityError | null;
}

export interface LinkedIdentifier extends Identifier {
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** The event that attached it. */
  readonly eventId: string;
  readonly lastEventId: string;
  readonly channel: string;
  readonly source: string;
  readonly rule: string;
  /**
   * The profile the identifier was first attached to (absent on links written before the
   * field existed). Its merge chain to today's owner: `mergeChainOf(tenant, attachedTo)`.
   */
  readonly attachedTo?: string;
  /** The latest merge event that moved it (earlier ones: the merge chain of `attachedTo`). */
  readonly mergedBy?: string;
}

/** One hop of a merged profile's chain to its survivor, as `p:<id>` records it. */
export interface MergeHop {
  readonly profileId: string;
  readonly mergedInto: string;
  /** The triggering event of the merge. */
  readonly mergedBy: string;
  /** Event time of that event (epoch ms). */
  readonly mergedAt: number;
}

const SCRIPT = readFileSync(new URL('./resolve.lua', import.meta.url), 'utf8');

type JsonList<T> = T[] | Record<string, never>;
interface RawResult {
  /** Set instead of the rest when the event raised an error in the script. */
  scriptError?: string;
  eventId: string;
  profileId: string;
  outcome: ResolveOutcome;
  replay: boolean;
  attached: JsonList<Identifier>;
  dropped: JsonList<DroppedByLimit>;
  ignored: JsonList<Ignored>;
  quarantined: JsonList<Quarantined>;
  merge: false | { survivor: string; absorbed: JsonList<string>; linkedBy: JsonList<Identifier>; rule: string };
}

// Redis' cjson encodes an empty table as {}.
function list<T>(value: JsonList<T>): T[] {
  return Array.isArray(value) ? value : [];
}

function parse(result: RawResult): ResolveResult {
  return {
    eventId: result.eventId,
    profileId: result.profileId === '' ? null : result.profileId,
    outcome: result.outcome,
    replay: result.replay,
    attached: list(result.attached),
    dropped: list(result.dropped).map((drop) => ({ ...drop, violated: list(drop.violated as JsonList<string>) })),
    ignored: list(result.ignored),
    quarantined: list(result.quarantined),
    merge: result.merge === false ? null : { survivor: result.merge.survivor, absorbed: list(result.merge.absorbed), linkedBy: list(result.merge.linkedBy), rule: result.merge.rule },
    error: null,
  };
}

/** The script's answer "=<profileId>": matched, every identifier held already, nothing else to report. */
function plainMatch(eventId: string, profileId: string): ResolveResult {
  return { eventId, profileId, outcome: 'matched', replay: false, attached: [], dropped: [], ignored: [], merge: null, quarantined: [], error: null };
}

/** Error codes the script raises on purpose (the first word of its error reply). */
const SCRIPT_REJECTIONS = /\bLIMITS_UNSATISFIABLE\b/;

/**
 * A refusal the script raised on purpose becomes one event's typed result, so the caller can
 * dead-letter that event and go on with the batch (the other calls of the pipeline ran, each
 * atomic). Anything else is a failed call: connection trouble (retryable) or a script bug.
 */
function rejected(input: ResolveInput, error: Error): ResolveResult | undefined {
  if (!SCRIPT_REJECTIONS.test(error.message)) return undefined;
  return {
    eventId: input.eventId,
    profileId: null,
    outcome: 'rejected',
    replay: false,
    attached: [],
    dropped: [],
    ignored: [],
    merge: null,
    quarantined: [],
    error: new IdentityError('LIMITS_UNSATISFIABLE', `Event ${input.eventId}: ${error.message}`, { cause: error }),
  };
}

function throwRedis(error: Error): never {
  throw toRedisError(error, 'resolving identities');
}

/**
 * Events per script call. A call runs alone in Redis (nothing else is served meanwhile), so
 * a large batch goes as several calls, in one pipeline: at about 45 µs of Redis time per
 * typical event, 100 events hold Redis for about 5 ms.
 */
const EVENTS_PER_CALL = 100;

/**
 * Redis time a script call may take before it stops after the event at hand (ARGV[5] of
 * resolve.lua); the rest of the batch is sent again. Events of 100 identifiers, or merging
 * profiles of thousands, cost milliseconds each: 100 of them held Redis (every client of it)
 * for 0.4-8.5 s in one call (2026-12-07, docs/identity.md). A single event is not cut short.
 */
export const CALL_BUDGET_MS = 20;

/** The script calls (EVALSHA) resolveBatch sends for a batch of `events` events. */
export function scriptCallsFor(events: number): number {
  return Math.ceil(events / EVENTS_PER_CALL);
}

function failedReading(error: unknown): never {
  throw toRedisError(error, 'reading profile events');
}

/**
 * What `IdentityGraph.eventsOf` reads, for callers that hold a tenant's key prefix: each
 * profile's `pe:` sorted set, or the plain set it was before 2026-12-06, sorted. A key of the
 * other type than tried (the resolver converts a plain set when it writes to it, which may
 * happen between two reads) is read again the other way.
 */
export async function profileEvents(redis: Redis, tenantPrefix: string, profileIds: readonly string[]): Promise<Map<string, string[]>> {
  const events = new Map<string, string[]>();
  let pending: readonly string[] = profileIds;
  let sorted = true;
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    if (attempt >= 3) failedReading(new Error(`WRONGTYPE persisted for the events of ${pending.join(', ')}`));
    const pipeline = redis.pipeline();
    for (const profileId of pending) {
      if (sorted) pipeline.zrange(`${tenantPrefix}pe:${profileId}`, '0', '-1');
      else pipeline.smembers(`${tenantPrefix}pe:${profileId}`);
    }
    const replies = (await pipeline.exec().catch(failedReading)) ?? [];
    const otherType: string[] = [];
    pending.forEach((profileId, index) => {
      const [error, reply] = replies[index] ?? [null, []];
      if (error === null) events.set(profileId, (reply as string[]).sort());
      else if (error.message.includes('WRONGTYPE')) otherType.push(profileId);
      else failedReading(error);
    });
    pending = otherType;
    sorted = !sorted;
  }
  return new Map(profileIds.map((profileId) => [profileId, events.get(profileId) ?? []]));
}

/**
 * The Redis identity graph of all tenants under one key prefix. Every key of a tenant
 * carries the hash tag `{<tenant>}`, so one tenant's graph lives in one Redis Cluster slot
 * and the resolve script can touch any of its keys atomically.
 */
export class IdentityGraph {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #budgetMs: number;
  readonly #onStopped: ((eventsLeft: number) => void) | undefined;

  /**
   * `callBudgetMs`: CALL_BUDGET_MS unless given (tests). `onBudgetSpent`: told, with the events
   * left, each time a pipeline of calls stopped on a call's budget and the rest goes again.
   */
  constructor(redis: Redis, prefix: string, options: { readonly callBudgetMs?: number; readonly onBudgetSpent?: (eventsLeft: number) => void } = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#budgetMs = options.callBudgetMs ?? CALL_BUDGET_MS;
    this.#onStopped = options.onBudgetSpent;
    redis.defineCommand('elephantResolve', { lua: SCRIPT, numberOfKeys: 1 });
  }

  /** The key prefix of one tenant's graph. */
  tenantPrefix(tenant: string): string {
    return `${this.#prefix}{${tenant}}:`;
  }

  /**
   * Resolves a batch of one tenant's events, in order: up to EVENTS_PER_CALL events per script
   * call, the calls sent as one pipeline (one network round trip for the whole batch). Each
   * event is resolved atomically (a call is); the rules are decoded once per call, not per
   * event. A call that spends its CALL_BUDGET_MS stops after the event at hand, and the calls
   * after it in the pipeline resolve nothing (each runs only after its predecessor resolved all
   * its events, as also when Redis refused the predecessor for being over maxmemory): the
   * events not resolved go again, in a pipeline of their own. An event the script refused on purpose (LIMITS_UNSATISFIABLE)
   * gets a `rejected` result and the others are resolved; any other script error fails the
   * batch.
   */
  async resolveBatch(tenant: string, inputs: readonly ResolveInput[], rules: GraphRules): Promise<ResolveResult[]> {
    if (inputs.length === 0) return [];
    const prefix = this.tenantPrefix(tenant);
    const rulesJson = JSON.stringify({
      limits: rules.limits,
      rank: rules.rank,
      nonMerging: Object.fromEntries(rules.nonMerging.map((type) => [type, true])),
      maxProfilesPerValue: rules.maxProfilesPerValue,
      maxMergesPerWindow: rules.maxMergesPerWindow,
      windowMs: rules.windowMs,
      eventTtlSeconds: rules.eventTtlSeconds,
    });
    // New profiles are `p<seq>-<namespace>`: unique across tenants, whose ids share the topics.
    const namespace = profileIdNamespace(tenant);
    const results: ResolveResult[] = [];
    while (results.length < inputs.length) {
      const from = results.length;
      // Unique to this pipeline: each call runs only after its predecessor resolved all its events (resolve.lua ARGV[6..8]).
      const token = randomUUID();
      const pipeline = this.#redis.pipeline();
      const call = pipeline as unknown as { elephantResolve(...args: string[]): void };
      for (let start = from, index = 0; start < inputs.length; start += EVENTS_PER_CALL, index += 1) {
        const events = inputs.slice(start, start + EVENTS_PER_CALL).map((input) => [input.eventId, input.eventTime, input.channel, input.source, input.identifiers.map((id) => [id.type, id.value]), input.ingestTime]);
        const more = start + EVENTS_PER_CALL < inputs.length ? '1' : '0';
        call.elephantResolve(`${prefix}seq`, prefix, rulesJson, JSON.stringify(events), namespace, String(this.#budgetMs), token, String(index), more);
      }
      let replies: [Error | null, unknown][] | null;
      try {
        replies = await pipeline.exec();
      } catch (error) {
        throw toRedisError(error, 'resolving identities');
      }
      let expected = from;
      for (const [error, reply] of replies ?? []) {
        if (error) throwRedis(error);
        const answered = reply as string[];
        for (const raw of answered) {
          const input = inputs[results.length] as ResolveInput;
          if (raw.startsWith('=')) {
            results.push(plainMatch(input.eventId, raw.slice(1)));
            continue;
          }
          const result = JSON.parse(raw) as RawResult;
          if (result.scriptError === undefined) results.push(parse(result));
          else {
            // Raised inside the script for this event: a refusal on purpose, or a script failure.
            const failure = new Error(`ERR Error running script for event ${input.eventId}: ${result.scriptError}`);
            results.push(rejected(input, failure) ?? throwRedis(failure));
          }
        }
        // A call that answered for fewer events than it was given stopped on its budget: the
        // calls after it answered for none, and the rest goes again.
        const given = Math.min(EVENTS_PER_CALL, inputs.length - expected);
        if (answered.length < given) break;
        expected += given;
      }
      if (results.length === from) throw toRedisError(new Error(`the resolve script answered none of ${inputs.length - from} events`), 'resolving identities');
      if (results.length < inputs.length) this.#onStopped?.(inputs.length - results.length);
    }
    if (results.length !== inputs.length) throw toRedisError(new Error(`the resolve script answered ${results.length} of ${inputs.length} events`), 'resolving identities');
    return results;
  }

  /** The live profile owning an identifier, if any. */
  async profileOf(tenant: string, id: Identifier): Promise<string | undefined> {
    const prefix = this.tenantPrefix(tenant);
    let pid = await this.#redis.hget(`${prefix}i:${id.type}:${id.value}`, 'p');
    for (let hops = 0; pid && hops < 64; hops += 1) {
      const next = await this.#redis.hget(`${prefix}p:${pid}`, 'mergedInto');
      if (!next) return pid;
      pid = next;
    }
    return pid ?? undefined;
  }

  /** What a merged (or live) profile id resolves to now. */
  async survivorOf(tenant: string, profileId: string): Promise<string> {
    const prefix = this.tenantPrefix(tenant);
    let pid = profileId;
    for (let hops = 0; hops < 64; hops += 1) {
      const next = await this.#redis.hget(`${prefix}p:${pid}`, 'mergedInto');
      if (!next) return pid;
      pid = next;
    }
    return pid;
  }

  /** Every live profile of a tenant at once (SMEMBERS: O(profiles) in one command; for tests and demos; see scanLiveProfiles). */
  async liveProfiles(tenant: string): Promise<string[]> {
    return this.#redis.smembers(`${this.tenantPrefix(tenant)}live`);
  }

  /**
   * The live profiles of a tenant, a page at a time, each listed once: SSCAN, so that listing
   * millions of profiles never blocks Redis (and the pipeline behind it) for the whole set, as
   * one SMEMBERS would. In no particular order; a profile created or merged away during the
   * scan may or may not be listed. `count` is SSCAN's hint (Redis returns a small set whole).
   */
  async *scanLiveProfiles(tenant: string, count = 500): AsyncGenerator<string[]> {
    const key = `${this.tenantPrefix(tenant)}live`;
    // SSCAN may return an element more than once (when the set is resized during the scan).
    const listed = new Set<string>();
    let cursor = '0';
    do {
      const [next, members] = await this.#redis.sscan(key, cursor, 'COUNT', count);
      cursor = next;
      const page = members.filter((member) => !listed.has(member));
      for (const member of page) listed.add(member);
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }

  /**
   * The event ids resolved to each profile (merged profiles' included) whose results the graph
   * still keeps: those of the last EVENT_TTL_SECONDS (docs/identity.md). One round trip, two
   * for profiles whose events are still a plain set from before 2026-12-06.
   */
  async eventsOf(tenant: string, profileIds: readonly string[]): Promise<Map<string, string[]>> {
    return profileEvents(this.#redis, this.tenantPrefix(tenant), profileIds);
  }

  /** A profile's identifiers with the provenance of each link. */
  async identifiersOf(tenant: string, profileId: string): Promise<LinkedIdentifier[]> {
    const prefix = this.tenantPrefix(tenant);
    const members = await this.#redis.smembers(`${prefix}p:${profileId}:ids`);
    const pipeline = this.#redis.pipeline();
    for (const member of members) pipeline.hgetall(`${prefix}i:${member}`);
    const replies = (await pipeline.exec()) ?? [];
    return members.map((member, index) => {
      const separator = member.indexOf(':');
      const link = (replies[index]?.[1] ?? {}) as Record<string, string>;
      return {
        type: member.slice(0, separator),
        value: member.slice(separator + 1),
        firstSeen: Number(link['fs']),
        lastSeen: Number(link['ls']),
        eventId: link['ev'] ?? '',
        lastEventId: link['lev'] ?? '',
        channel: link['ch'] ?? '',
        source: link['src'] ?? '',
        rule: link['rule'] ?? '',
        ...(link['to'] ? { attachedTo: link['to'] } : {}),
        ...(link['via'] ? { mergedBy: link['via'] } : {}),
      };
    });
  }

  /**
   * Every merge from a profile to its survivor, oldest first: with an identifier's
   * `attachedTo`, why it ended up where it is (each hop names the event that merged).
   */
  async mergeChainOf(tenant: string, profileId: string): Promise<MergeHop[]> {
    const prefix = this.tenantPrefix(tenant);
    const hops: MergeHop[] = [];
    let pid = profileId;
    for (let hop = 0; hop < 64; hop += 1) {
      const [mergedInto, mergedBy, mergedAt] = await this.#redis.hmget(`${prefix}p:${pid}`, 'mergedInto', 'mergedBy', 'mergedAt');
      if (!mergedInto) break;
      hops.push({ profileId: pid, mergedInto, mergedBy: mergedBy ?? '', mergedAt: Number(mergedAt) });
      pid = mergedInto;
    }
    return hops;
  }

  /** Whether a value is quarantined, and why. */
  async quarantineOf(tenant: string, id: Identifier): Promise<Record<string, string> | undefined> {
    const entry = await this.#redis.hgetall(`${this.tenantPrefix(tenant)}q:${id.type}:${id.value}`);
    return Object.keys(entry).length > 0 ? entry : undefined;
  }
}
