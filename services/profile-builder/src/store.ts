import { readFileSync } from 'node:fs';
import type { Redis } from '@elephant/redis';
import { toRedisError } from '@elephant/redis';

const COMMIT = readFileSync(new URL('./commit.lua', import.meta.url), 'utf8');
const ERASE = readFileSync(new URL('./erase.lua', import.meta.url), 'utf8');

export interface StoredProfile {
  readonly version: number;
  /** The state JSON (parsed by the profiles package). */
  readonly state: string;
}

export interface LoadedProfile {
  readonly profileId: string;
  readonly stored: StoredProfile | undefined;
  /** The survivor, when this profile was merged into another. */
  readonly mergedInto: string | undefined;
  readonly erasedAt: number | undefined;
  /** The highest version known to be published (set after a transaction committed). */
  readonly publishedVersion: number;
}

export interface CommitRequest {
  readonly profileId: string;
  readonly expectedVersion: number | undefined;
  readonly version: number;
  readonly state: string;
  readonly appliedEventIds: readonly string[];
  /** event id → update JSON, kept for republishing if the Kafka transaction aborts. */
  readonly updates: Readonly<Record<string, string>>;
  readonly absorbed: readonly { readonly profileId: string; readonly expectedVersion: number | undefined }[];
}

export type CommitOutcome = 'ok' | 'erased' | 'conflict' | `merged:${string}`;

type Commands = {
  elephantCommitProfile(...args: (string | number)[]): void;
  elephantErase(...args: (string | number)[]): void;
};

/**
 * Profile state in Redis, next to the identity graph of the same tenant (same hash tag).
 * Reads are plain pipelined commands; writes are one atomic script per profile that
 * compares versions, so a zombie instance or a concurrent fold can never overwrite newer state.
 */
export class ProfileStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #updateTtlSeconds: number;

  constructor(redis: Redis, prefix: string, updateTtlSeconds: number) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#updateTtlSeconds = updateTtlSeconds;
    redis.defineCommand('elephantCommitProfile', { lua: COMMIT, numberOfKeys: 1 });
    redis.defineCommand('elephantErase', { lua: ERASE, numberOfKeys: 1 });
  }

  tenantPrefix(tenant: string): string {
    return `${this.#prefix}{${tenant}}:`;
  }

  /** Profiles and, per event, whether it was applied already and its kept update: one round trip. */
  async load(tenant: string, profileIds: readonly string[], events: readonly { profileId: string; eventId: string }[]): Promise<{ profiles: Map<string, LoadedProfile>; applied: Map<string, string | null> }> {
    const P = this.tenantPrefix(tenant);
    const pipeline = this.#redis.pipeline();
    for (const id of profileIds) {
      pipeline.hmget(`${P}ps:${id}`, 'v', 's');
      pipeline.get(`${P}pm:${id}`);
      pipeline.hget(`${P}px:${id}`, 'at');
      pipeline.get(`${P}pv:${id}`);
    }
    for (const { profileId, eventId } of events) {
      pipeline.sismember(`${P}applied`, eventId);
      pipeline.hget(`${P}pu:${profileId}`, eventId);
    }
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
    profileIds.forEach((profileId, index) => {
      const [v, s] = value(index * 4) as [string | null, string | null];
      const mergedInto = value(index * 4 + 1) as string | null;
      const erasedAt = value(index * 4 + 2) as string | null;
      const published = value(index * 4 + 3) as string | null;
      profiles.set(profileId, {
        profileId,
        stored: v !== null && s !== null ? { version: Number(v), state: s } : undefined,
        mergedInto: mergedInto ?? undefined,
        erasedAt: erasedAt === null ? undefined : Number(erasedAt),
        publishedVersion: published === null ? 0 : Number(published),
      });
    });
    const applied = new Map<string, string | null>();
    const base = profileIds.length * 4;
    events.forEach(({ eventId }, index) => {
      if (Number(value(base + index * 2)) === 1) applied.set(eventId, (value(base + index * 2 + 1) as string | null) ?? null);
    });
    return { profiles, applied };
  }

  /** One atomic compare-and-set per profile, pipelined: one round trip. */
  async commit(tenant: string, requests: readonly CommitRequest[]): Promise<CommitOutcome[]> {
    if (requests.length === 0) return [];
    const P = this.tenantPrefix(tenant);
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
        JSON.stringify(request.updates),
        JSON.stringify(request.absorbed.map((entry) => [entry.profileId, entry.expectedVersion === undefined ? '' : String(entry.expectedVersion)])),
        this.#updateTtlSeconds,
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

  /**
   * Forgets kept updates once the transaction that published them committed, and records the
   * highest published version: from then on a duplicate of those events is only a duplicate,
   * and an update kept from before (if this step was missed in a crash) is never published again.
   */
  async forgetUpdates(tenant: string, published: ReadonlyMap<string, { readonly eventIds: readonly string[]; readonly version: number }>): Promise<void> {
    if (published.size === 0) return;
    const P = this.tenantPrefix(tenant);
    const pipeline = this.#redis.pipeline();
    for (const [profileId, { eventIds, version }] of published) {
      if (eventIds.length > 0) pipeline.hdel(`${P}pu:${profileId}`, ...eventIds);
      pipeline.set(`${P}pv:${profileId}`, version);
    }
    try {
      await pipeline.exec();
    } catch (error) {
      throw toRedisError(error, 'forgetting published updates');
    }
  }

  /** Erases a profile and its identity graph; returns the erasure's version (stable on repeats), or where it was merged. */
  async erase(tenant: string, profileId: string, requestedAt: number): Promise<{ version: number } | { mergedInto: string }> {
    const P = this.tenantPrefix(tenant);
    const call = this.#redis as unknown as { elephantErase(...args: (string | number)[]): Promise<string> };
    let reply: string;
    try {
      reply = await call.elephantErase(`${P}ps:${profileId}`, P, profileId, requestedAt);
    } catch (error) {
      throw toRedisError(error, 'erasing a profile');
    }
    if (reply.startsWith('merged:')) return { mergedInto: reply.slice('merged:'.length) };
    return { version: Number(reply) };
  }
}
