import { readFileSync } from 'node:fs';
import type { Redis } from '@elephant/redis';
import { toRedisError } from '@elephant/redis';
import { ElephantError } from '@elephant/errors';
import type { ProfileState, ProfileUpdate } from '@elephant/profiles';

const script = (name: string): string => readFileSync(new URL(name, import.meta.url), 'utf8');
/** Both scripts that write the applied sets start with their functions (applied.lua). */
const APPLIED = script('./applied.lua');
const COMMIT = APPLIED + script('./commit.lua');
const ERASE = APPLIED + script('./erase.lua');
/** Event results an erase.lua 'purge' call deletes at most: about 10 ms of Redis. */
const PURGE_PER_CALL = 2000;

export interface StoredProfile {
  readonly version: number;
  /**
   * The state JSON (parsed by the profiles package); null when it was not read: the caller
   * holds this very version decoded (then in `decoded`), or asked for no states.
   */
  readonly state: string | null;
  /** The caller's decoded state (LoadOptions.held), when Redis still holds that version. */
  readonly decoded?: ProfileState;
}

export interface LoadOptions {
  /** Also read this input partition's outbox. */
  readonly partition?: number;
  /**
   * Decoded states the caller holds, by profile id. A profile still at the held version comes
   * back with that state instead of its JSON, which is then not read (a version names one
   * state for good: every write increments it). @default none
   */
  readonly held?: ReadonlyMap<string, ProfileState>;
  /** false: versions, merge and erasure marks only, no state JSON. @default true */
  readonly states?: boolean;
}

export interface LoadedProfile {
  readonly profileId: string;
  readonly stored: StoredProfile | undefined;
  /** The survivor, when this profile was merged into another. */
  readonly mergedInto: string | undefined;
  readonly erasedAt: number | undefined;
}

/** What one commit writes to the outbox of the batch's input partition. */
export interface OutboxEntry {
  readonly partition: number;
  /** `<input topic>|<batch's next offset>|<profile id, merge id, or an adopted entry's earlier field>` (see outboxField). */
  readonly field: string;
  /**
   * The updates the batch publishes for this profile, in version order, as encoded for Kafka
   * (Confluent-framed Avro): the outbox keeps the very bytes the transaction sends.
   */
  readonly updates: readonly Buffer[];
}

/**
 * An outbox entry's value: each update's record prefixed by its length (4 bytes, big-endian).
 * Its first byte is 0 for any record under 16 MiB, so it never reads as the JSON array ('[')
 * that entries written before 2026-12-05 hold.
 */
export function packOutbox(records: readonly Buffer[]): Buffer {
  let size = 0;
  for (const record of records) size += 4 + record.length;
  const packed = Buffer.allocUnsafe(size);
  let at = 0;
  for (const record of records) {
    packed.writeUInt32BE(record.length, at);
    record.copy(packed, at + 4);
    at += 4 + record.length;
  }
  return packed;
}

/** An outbox entry's value: the encoded updates, or the JSON updates of an entry written before 2026-12-05. */
export function unpackOutbox(value: Buffer): { readonly records: Buffer[] } | { readonly legacy: ProfileUpdate[] } {
  if (value[0] === 0x5b) return { legacy: JSON.parse(value.toString('utf8')) as ProfileUpdate[] };
  const records: Buffer[] = [];
  let at = 0;
  while (at < value.length) {
    if (at + 4 > value.length) throw new ElephantError('OUTBOX_ENTRY_MALFORMED', `Outbox entry of ${value.length} bytes is cut short at byte ${at}`, { retryable: false });
    const length = value.readUInt32BE(at);
    if (at + 4 + length > value.length) throw new ElephantError('OUTBOX_ENTRY_MALFORMED', `Outbox entry of ${value.length} bytes names a record of ${length} bytes at byte ${at}`, { retryable: false });
    records.push(value.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return { records };
}

export interface CommitRequest {
  readonly profileId: string;
  readonly expectedVersion: number | undefined;
  readonly version: number;
  readonly state: string;
  readonly appliedEventIds: readonly string[];
  readonly outbox: OutboxEntry;
  readonly absorbed: readonly { readonly profileId: string; readonly expectedVersion: number | undefined }[];
}

export type CommitOutcome = 'ok' | 'erased' | 'conflict' | 'duplicate' | `merged:${string}`;

export interface LoadedBatch {
  readonly profiles: Map<string, LoadedProfile>;
  /** The events among those asked for that some profile of the tenant has applied. */
  readonly applied: Set<string>;
  /** The outbox of the partition asked for: field → the entry's value (unpackOutbox). */
  readonly outbox: Map<string, Buffer>;
}

/**
 * An outbox field names the batch (input topic, next offset) whose transaction publishes the
 * entry: the batch whose commit wrote it, or the batch that adopted it to publish it again
 * (then `key` is the entry's earlier field, which keeps adopted entries apart).
 */
export function outboxField(topic: string, nextOffset: string, key: string): string {
  return `${topic}|${nextOffset}|${key}`;
}

export function parseOutboxField(field: string): { topic: string; nextOffset: bigint } {
  const [topic, nextOffset] = field.split('|');
  if (topic === undefined || nextOffset === undefined || !/^\d+$/.test(nextOffset)) {
    throw new ElephantError('OUTBOX_FIELD_MALFORMED', `Outbox field "${field}" is not <topic>|<next offset>|<key>: the outbox hash was written by something else`, { retryable: false });
  }
  return { topic, nextOffset: BigInt(nextOffset) };
}

/**
 * Deletes published outbox entries, except those of a profile merged or erased by now, and
 * returns such profiles (each once), among the entries' and the others given.
 * KEYS[1] P ob:<partition>; ARGV[1] P; ARGV[2] n; then n pairs (field, profile id or '');
 * then profile ids without an entry.
 */
const CONFIRM = `local P, n = ARGV[1], tonumber(ARGV[2])
local gone, known, del = {}, {}, {}
local function isGone(id)
  if known[id] == nil then
    known[id] = redis.call('EXISTS', P .. 'pm:' .. id, P .. 'px:' .. id) > 0
    if known[id] then table.insert(gone, id) end
  end
  return known[id]
end
for i = 0, n - 1 do
  local field, profile = ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  if profile == '' or not isGone(profile) then table.insert(del, field) end
end
for i = 3 + 2 * n, #ARGV do isGone(ARGV[i]) end
for first = 1, #del, 1000 do redis.call('HDEL', KEYS[1], unpack(del, first, math.min(first + 999, #del))) end
return gone`;

/** A published outbox entry to delete, and the profile whose snapshot it published, if one. */
export interface PublishedEntry {
  readonly field: string;
  readonly profile?: string | undefined;
}

type Commands = {
  elephantCommitProfile(...args: (string | number | Buffer)[]): void;
  elephantErase(...args: (string | number | Buffer)[]): void;
};

/** KEYS[1] the outbox; ARGV old field, new field, ...: each entry still there moves, value kept. */
const ADOPT = `for i = 1, #ARGV, 2 do
  local value = redis.call('HGET', KEYS[1], ARGV[i])
  if value then
    redis.call('HSET', KEYS[1], ARGV[i + 1], value)
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return 0`;

/** How long applied event ids are remembered, and the clock that places them in generations. */
export interface AppliedOptions {
  /**
   * An event id is remembered at least this long after it was applied and at most twice
   * that: the ids are kept in generations of this length (`P applied:<n>`, n = the clock's
   * time divided by it), each deleted by Redis once the generation after it has ended, and
   * an id is looked up in the current generation and the one before. @default 604800 (7 days)
   */
  readonly appliedTtlSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Profile state in Redis, next to the identity graph of the same tenant (same hash tag).
 * Reads are plain pipelined commands; writes are one atomic script per profile that
 * compares versions, so a zombie instance or a concurrent fold can never overwrite newer state.
 *
 * The outbox (`P ob:<input partition>`) bridges Redis and Kafka, which share no transaction:
 * a profile's commit writes the updates it will publish into the outbox of the input partition,
 * atomically with the state; the Kafka transaction then publishes them with the input offsets;
 * then the entries are deleted. Whoever next processes that partition finds any entry left
 * behind and, from the group's committed offsets, knows whether its transaction committed.
 */
export class ProfileStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #outboxTtlSeconds: number;
  readonly #generationMs: number;
  readonly #now: () => number;

  constructor(redis: Redis, prefix: string, outboxTtlSeconds: number, applied: AppliedOptions = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#outboxTtlSeconds = outboxTtlSeconds;
    this.#generationMs = (applied.appliedTtlSeconds ?? 604800) * 1000;
    this.#now = applied.now ?? Date.now;
    redis.defineCommand('elephantCommitProfile', { lua: COMMIT, numberOfKeys: 1 });
    redis.defineCommand('elephantErase', { lua: ERASE, numberOfKeys: 1 });
    redis.defineCommand('elephantAdoptOutbox', { lua: ADOPT, numberOfKeys: 1 });
    redis.defineCommand('elephantConfirmOutbox', { lua: CONFIRM, numberOfKeys: 1 });
  }

  tenantPrefix(tenant: string): string {
    return `${this.#prefix}{${tenant}}:`;
  }

  /** The applied-set generation the clock is in (AppliedOptions). */
  #generation(): number {
    return Math.floor(this.#now() / this.#generationMs);
  }

  /** The sets an id is looked up in: the current generation's, the previous one's, the set from before generations. */
  #appliedSets(P: string, generation = this.#generation()): [string, string, string] {
    return [`${P}applied:${generation}`, `${P}applied:${generation - 1}`, `${P}applied`];
  }

  /** The scripts' applied-set arguments (applied.lua): both generations' sets, the current one's expiry, the old set's TTL. */
  #appliedArgs(P: string): [string, string, string, string] {
    const generation = this.#generation();
    const [current, previous] = this.#appliedSets(P, generation);
    return [current, previous, String((generation + 2) * this.#generationMs), String(this.#generationMs)];
  }

  /**
   * Profiles, which of `eventIds` were applied, and (with `partition`) that partition's outbox:
   * one round trip, and a second only for held states another writer moved meanwhile.
   */
  async load(tenant: string, profileIds: readonly string[], eventIds: readonly string[], options: LoadOptions = {}): Promise<LoadedBatch> {
    const { partition, held, states = true } = options;
    const P = this.tenantPrefix(tenant);
    const pipeline = this.#redis.pipeline();
    /** Profiles whose state JSON is asked for in this round trip. */
    const reading = new Set<string>();
    for (const id of profileIds) {
      if (states && !held?.has(id)) {
        reading.add(id);
        pipeline.hmget(`${P}ps:${id}`, 'v', 's');
      } else pipeline.hget(`${P}ps:${id}`, 'v');
      pipeline.get(`${P}pm:${id}`);
      pipeline.hget(`${P}px:${id}`, 'at');
    }
    const appliedSets = this.#appliedSets(P);
    if (eventIds.length > 0) for (const set of appliedSets) pipeline.smismember(set, ...eventIds);
    if (partition !== undefined) pipeline.hgetallBuffer(`${P}ob:${partition}`);
    let replies: [Error | null, unknown][];
    try {
      replies = (await pipeline.exec()) ?? [];
    } catch (error) {
      throw toRedisError(error, 'loading profiles');
    }
    const value = (index: number): unknown => {
      const [error, reply] = replies[index] ?? [null, null];
      if (error) throw toRedisError(error, 'loading profiles');
      return reply;
    };
    const profiles = new Map<string, LoadedProfile>();
    /** Held states another writer moved: their JSON is read in a second round trip. */
    const stale: string[] = [];
    profileIds.forEach((profileId, index) => {
      let stored: StoredProfile | undefined;
      if (reading.has(profileId)) {
        const [v, s] = value(index * 3) as [string | null, string | null];
        stored = v !== null && s !== null ? { version: Number(v), state: s } : undefined;
      } else {
        const v = value(index * 3) as string | null;
        const decoded = held?.get(profileId);
        if (v !== null) {
          stored = { version: Number(v), state: null };
          if (decoded?.version === stored.version) stored = { ...stored, decoded };
          else if (states) stale.push(profileId);
        }
      }
      const mergedInto = value(index * 3 + 1) as string | null;
      const erasedAt = value(index * 3 + 2) as string | null;
      profiles.set(profileId, { profileId, stored, mergedInto: mergedInto ?? undefined, erasedAt: erasedAt === null ? undefined : Number(erasedAt) });
    });
    let next = profileIds.length * 3;
    const applied = new Set<string>();
    if (eventIds.length > 0) {
      // Applied in any of the sets looked up.
      for (let set = 0; set < appliedSets.length; set += 1) {
        const flags = value(next) as number[];
        next += 1;
        eventIds.forEach((eventId, index) => {
          if (flags[index] === 1) applied.add(eventId);
        });
      }
    }
    const outbox = new Map<string, Buffer>(partition === undefined ? [] : Object.entries((value(next) as Record<string, Buffer> | null) ?? {}));
    if (stale.length > 0) {
      const again = await this.load(tenant, stale, []);
      for (const [profileId, loaded] of again.profiles) profiles.set(profileId, loaded);
    }
    return { profiles, applied, outbox };
  }

  /** One atomic compare-and-set per profile, pipelined: one round trip. */
  async commit(tenant: string, requests: readonly CommitRequest[]): Promise<CommitOutcome[]> {
    if (requests.length === 0) return [];
    const P = this.tenantPrefix(tenant);
    const appliedArgs = this.#appliedArgs(P);
    const pipeline = this.#redis.pipeline();
    const call = pipeline as unknown as Commands;
    for (const request of requests) {
      call.elephantCommitProfile(
        `${P}ps:${request.profileId}`,
        P,
        request.profileId,
        request.expectedVersion === undefined ? '' : String(request.expectedVersion),
        request.version,
        request.state,
        JSON.stringify(request.appliedEventIds),
        `${P}ob:${request.outbox.partition}`,
        request.outbox.field,
        packOutbox(request.outbox.updates),
        JSON.stringify(request.absorbed.map((entry) => [entry.profileId, entry.expectedVersion === undefined ? '' : String(entry.expectedVersion)])),
        this.#outboxTtlSeconds,
        ...appliedArgs,
      );
    }
    try {
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([error, reply]) => {
        if (error) throw toRedisError(error, 'committing profiles');
        return String(reply) as CommitOutcome;
      });
    } catch (error) {
      throw toRedisError(error, 'committing profiles');
    }
  }

  /** The outbox of one input partition: field → the entry's value (unpackOutbox). */
  async outbox(tenant: string, partition: number): Promise<Map<string, Buffer>> {
    try {
      return new Map(Object.entries(await this.#redis.hgetallBuffer(`${this.tenantPrefix(tenant)}ob:${partition}`)));
    } catch (error) {
      throw toRedisError(error, 'reading the outbox');
    }
  }

  /**
   * Renames outbox entries (old field → new field, atomically, each only if still there), so
   * that they name the batch whose transaction now publishes them.
   */
  async adoptOutbox(tenant: string, partition: number, renames: readonly (readonly [string, string])[]): Promise<void> {
    if (renames.length === 0) return;
    try {
      await (this.#redis as unknown as { elephantAdoptOutbox(...args: string[]): Promise<unknown> }).elephantAdoptOutbox(`${this.tenantPrefix(tenant)}ob:${partition}`, ...renames.flat());
    } catch (error) {
      throw toRedisError(error, 'adopting outbox entries');
    }
  }

  /**
   * Deletes outbox entries once the transaction that published them (or an earlier one)
   * committed, and returns the profiles, among the entries' and `live` (others whose snapshots
   * were just published), that are merged into another profile or erased by now: one round
   * trip. The entries of those profiles stay (their tombstones are to be published again first;
   * a later batch's recovery finds them if that fails).
   */
  async confirm(tenant: string, partition: number, entries: readonly PublishedEntry[], live: readonly string[] = []): Promise<string[]> {
    if (entries.length === 0 && live.length === 0) return [];
    const P = this.tenantPrefix(tenant);
    try {
      const gone = await (this.#redis as unknown as { elephantConfirmOutbox(...args: string[]): Promise<string[]> }).elephantConfirmOutbox(`${P}ob:${partition}`, P, String(entries.length), ...entries.flatMap((entry) => [entry.field, entry.profile ?? '']), ...live);
      return gone;
    } catch (error) {
      throw toRedisError(error, 'confirming published updates');
    }
  }

  /** Which of `profileIds` are merged into another profile or erased (one round trip). */
  async gone(tenant: string, profileIds: readonly string[]): Promise<string[]> {
    if (profileIds.length === 0) return [];
    const P = this.tenantPrefix(tenant);
    const pipeline = this.#redis.pipeline();
    for (const profileId of profileIds) pipeline.exists(`${P}pm:${profileId}`, `${P}px:${profileId}`);
    let replies: [Error | null, unknown][];
    try {
      replies = (await pipeline.exec()) ?? [];
    } catch (error) {
      throw toRedisError(error, 'reading merge and erasure marks');
    }
    for (const [error] of replies) if (error) throw toRedisError(error, 'reading merge and erasure marks');
    return profileIds.filter((_, index) => Number(replies[index]?.[1] ?? 0) > 0);
  }

  /** Calls erase.lua (KEYS[1] routes it; then its ARGV), a failure named by `doing`. */
  async #eraseScript(doing: string, route: string, ...args: (string | number | Buffer)[]): Promise<string> {
    const call = this.#redis as unknown as { elephantErase(...args: (string | number | Buffer)[]): Promise<string> };
    try {
      return await call.elephantErase(route, ...args);
    } catch (error) {
      throw toRedisError(error, doing);
    }
  }

  /**
   * Deletes the event results erasures of the tenant queued (erase.lua mode 'purge': a profile
   * with more than 2,000 events has them deleted in calls of PURGE_PER_CALL, each a few
   * milliseconds of Redis, not in the erasure's own call), until none is left. Also what an
   * erasure of a process that stopped before the end left: the request is read again.
   */
  async purgeErased(tenant: string): Promise<void> {
    const P = this.tenantPrefix(tenant);
    for (;;) {
      const left = Number(await this.#eraseScript('deleting the event results of erased profiles', `${P}purging`, P, 0, 'purge', PURGE_PER_CALL));
      if (left === 0) return;
    }
  }

  /**
   * Erases a profile and its identity graph, as of `at` (the request's time); returns the
   * erasure's version and when it was applied first (`appliedAt`: `now` unless a repeat; both
   * stable on repeats, so that the erasure's update is the same record each time) with the
   * profiles held apart from it (`holdApart`) and not erased yet, which the caller erases each
   * with a request of its own; where it was merged; or `absorbed` when it was erased earlier with
   * the profile it had been folded into (whose erasure was the announcement).
   */
  async erase(tenant: string, profileId: string, at: number, now: number): Promise<{ version: number; appliedAt: number; heldApart: string[] } | { mergedInto: string } | { absorbed: true }> {
    const P = this.tenantPrefix(tenant);
    const reply = await this.#eraseScript('erasing a profile', `${P}ps:${profileId}`, P, at, 'request', profileId, now);
    await this.purgeErased(tenant);
    if (reply.startsWith('merged:')) return { mergedInto: reply.slice('merged:'.length) };
    if (reply === 'absorbed') return { absorbed: true };
    const [first = '', ...heldApart] = reply.split('\n');
    const [version, appliedAt] = first.split(' ');
    return { version: Number(version), appliedAt: Number(appliedAt), heldApart };
  }

  /**
   * Remembers that a merge into `survivor` named `absorbed` while the builder left them apart (a
   * merge dead-lettered as MERGE_TOO_LARGE): an erasure of the survivor then reaches them, and
   * an erasure of one of them the survivor (`P pd:<survivor>`, `P pa:<absorbed>`; erase.lua).
   * When one of them was erased since the merge was loaded (that erasure could not follow the
   * link), returns its time and the profiles still to erase.
   */
  async holdApart(tenant: string, survivor: string, absorbed: readonly string[]): Promise<{ erasedAt: number; toErase: string[] } | undefined> {
    if (absorbed.length === 0) return undefined;
    const P = this.tenantPrefix(tenant);
    const reply = await this.#eraseScript('holding merged profiles apart', `${P}ps:${survivor}`, P, 0, 'hold', survivor, JSON.stringify(absorbed));
    if (reply === '') return undefined;
    const [erasedAt, ...toErase] = reply.split('\n');
    return { erasedAt: Number(erasedAt), toErase };
  }

  /** The profiles held apart from an erased one that are not erased yet (what its erasure still has to send). */
  async heldApartOf(tenant: string, profileId: string): Promise<string[]> {
    const P = this.tenantPrefix(tenant);
    return (await this.#eraseScript('reading the profiles held apart', `${P}ps:${profileId}`, P, 0, 'held', profileId)).split('\n').slice(1);
  }

  /**
   * Erases the profiles a merge would have folded into an already erased survivor, atomically
   * and once per merge id (it joins `applied`), writing their erasure updates to the outbox like
   * a commit. Each absorbed profile's version must still be the one given (its writer may be
   * another instance). Returns the outcome with, for `ok` and `duplicate`, the profiles held
   * apart from the survivor or from those it erased that are not erased yet (`holdApart`).
   * `appliedAt` is the `updatedAt` of the erasure updates in `outbox`: kept on each erasure mark,
   * so that a later request for one of them publishes the same record again, not one of the same
   * version with another time (until 2026-12-07 the mark had none, and the request's time went out).
   */
  async eraseAbsorbed(
    tenant: string,
    mergeId: string,
    survivor: string,
    absorbed: readonly { readonly profileId: string; readonly expectedVersion: number | undefined }[],
    at: number,
    appliedAt: number,
    outbox: OutboxEntry,
  ): Promise<{ outcome: 'ok' | 'duplicate' | 'conflict'; heldApart: string[] }> {
    const P = this.tenantPrefix(tenant);
    const reply = await this.#eraseScript(
      'erasing the profiles merged into an erased one',
      `${P}ps:${absorbed[0]?.profileId ?? mergeId}`,
      P,
      at,
      'merge',
      mergeId,
      JSON.stringify(absorbed.map((entry) => [entry.profileId, entry.expectedVersion === undefined ? '' : String(entry.expectedVersion)])),
      `${P}ob:${outbox.partition}`,
      outbox.field,
      packOutbox(outbox.updates),
      this.#outboxTtlSeconds,
      ...this.#appliedArgs(P),
      survivor,
      appliedAt,
    );
    await this.purgeErased(tenant);
    const [outcome, ...heldApart] = reply.split('\n');
    if (outcome === 'ok' || outcome === 'duplicate' || outcome === 'conflict') return { outcome, heldApart };
    throw new ElephantError('ERASE_REPLY_UNEXPECTED', `The erase script replied "${reply}"`, { retryable: false });
  }
}
