/**
 * ProfileStore.load on a real Redis: a state the builder holds decoded is not read again while
 * Redis still has its version, and is read when another writer moved it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '@elephant/identity';
import { IdentityGraph, graphRulesOf } from '@elephant/identity-resolver';
import { emptyProfile, type ProfileState } from '@elephant/profiles';
import { ProfileStore, type CommitRequest } from '@elephant/profile-builder';
import { connectRedis, type Redis } from '@elephant/redis';
import { createTestContext } from '@elephant/testing';
import { keyContents } from './harness.ts';

const ctx = createTestContext('store');
let redis: Redis;
let store: ProfileStore;

beforeAll(async () => {
  redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
  store = new ProfileStore(redis, ctx.keyPrefix, 3600);
});

afterAll(async () => {
  redis.disconnect();
  await ctx.cleanup();
});

function commitOf(state: ProfileState, expectedVersion: number | undefined, eventId: string): CommitRequest {
  return { profileId: state.profileId, expectedVersion, version: state.version, state: JSON.stringify(state), appliedEventIds: [eventId], outbox: { partition: 0, field: `t|${state.version}|${state.profileId}`, updates: [] }, absorbed: [] };
}

describe('ProfileStore.load with held states', () => {
  it('returns the held state without its JSON while Redis has that version, reads the JSON once another writer moved it, and reads no state when asked for none', async () => {
    const v1: ProfileState = { ...emptyProfile('p1', 'acme', 1000), version: 1 };
    expect(await store.commit('acme', [commitOf(v1, undefined, 'e1')])).toEqual(['ok']);

    const held = await store.load('acme', ['p1', 'p-none'], [], { held: new Map([['p1', v1]]) });
    expect(held.profiles.get('p1')?.stored).toEqual({ version: 1, state: null, decoded: v1 });
    expect(held.profiles.get('p-none')?.stored).toBeUndefined();

    // Another writer (a rebalance, a fold by another instance) commits version 2.
    const v2: ProfileState = { ...v1, version: 2, updatedAt: 2000 };
    expect(await store.commit('acme', [commitOf(v2, 1, 'e2')])).toEqual(['ok']);
    const moved = await store.load('acme', ['p1'], [], { held: new Map([['p1', v1]]) });
    expect(moved.profiles.get('p1')?.stored).toEqual({ version: 2, state: JSON.stringify(v2) });

    const bare = await store.load('acme', ['p1'], [], { states: false });
    expect(bare.profiles.get('p1')?.stored).toEqual({ version: 2, state: null });
  });
});

describe('the applied set in generations', () => {
  const HOUR_MS = 3_600_000;

  it('remembers an event id for its generation and the next, then forgets it; the keys expire on their own; the set from before generations is read until it expires', async () => {
    let now = Date.now();
    const generations = new ProfileStore(redis, ctx.keyPrefix, 3600, { appliedTtlSeconds: 3600, now: () => now });
    const P = generations.tenantPrefix('gen');
    const generation = Math.floor(now / HOUR_MS);
    // Written by a builder from before generations: read, and given a TTL by the first write.
    await redis.sadd(`${P}applied`, 'e-old');

    const v1: ProfileState = { ...emptyProfile('g1', 'gen', now), version: 1 };
    expect(await generations.commit('gen', [commitOf(v1, undefined, 'e1')])).toEqual(['ok']);
    expect([...(await generations.load('gen', [], ['e1', 'e-old', 'e-new'])).applied].sort()).toEqual(['e-old', 'e1']);
    expect(await redis.smembers(`${P}applied:${generation}`)).toEqual(['e1']);
    // Until the end of the next generation, in Redis' own time; the old set an hour from now.
    expect(await redis.pexpiretime(`${P}applied:${generation}`)).toBe((generation + 2) * HOUR_MS);
    const legacyTtl = await redis.pttl(`${P}applied`);
    expect(legacyTtl).toBeGreaterThan(HOUR_MS - 60_000);
    expect(legacyTtl).toBeLessThanOrEqual(HOUR_MS);
    // A second commit does not move either expiry (NX).
    const v2: ProfileState = { ...v1, version: 2 };
    expect(await generations.commit('gen', [commitOf(v2, 1, 'e2')])).toEqual(['ok']);
    expect(await redis.pexpiretime(`${P}applied:${generation}`)).toBe((generation + 2) * HOUR_MS);

    // The next generation: e1 still known (a redelivery within the TTL), and still refused by a commit.
    now += HOUR_MS;
    expect((await generations.load('gen', [], ['e1'])).applied.has('e1')).toBe(true);
    const v3: ProfileState = { ...v2, version: 3 };
    expect(await generations.commit('gen', [commitOf(v3, 2, 'e1')])).toEqual(['duplicate']);
    expect(await generations.commit('gen', [commitOf(v3, 2, 'e3')])).toEqual(['ok']);
    expect(await redis.smembers(`${P}applied:${generation + 1}`)).toEqual(['e3']);

    // Two generations on, e1 is forgotten (e3, applied a generation later, is not); the old set
    // is no longer asked once it has expired.
    now += HOUR_MS;
    await redis.del(`${P}applied`);
    const later = await generations.load('gen', [], ['e1', 'e3', 'e-old']);
    expect([...later.applied]).toEqual(['e3']);
  });

  it('asks and adds the ids of a commit in chunks: a profile with thousands of events in one batch', async () => {
    const P = store.tenantPrefix('chunks');
    const ids = Array.from({ length: 2500 }, (_, index) => `c${index}`);
    const v1: ProfileState = { ...emptyProfile('c1', 'chunks', 1000), version: 2500 };
    expect(await store.commit('chunks', [{ ...commitOf(v1, undefined, 'unused'), appliedEventIds: ids }])).toEqual(['ok']);
    const keys = await redis.keys(`${P}applied:*`);
    expect(keys).toHaveLength(1);
    expect(await redis.scard(keys[0] as string)).toBe(2500);
    // Any one of them, in any chunk, makes a later commit a duplicate.
    const v2: ProfileState = { ...v1, version: 2501 };
    expect(await store.commit('chunks', [{ ...commitOf(v2, 2500, 'unused'), appliedEventIds: ['new-1', 'c2499'] }])).toEqual(['duplicate']);
    expect(await store.commit('chunks', [{ ...commitOf(v2, 2500, 'unused'), appliedEventIds: ['new-1', 'c1200'] }])).toEqual(['duplicate']);
    expect(await store.commit('chunks', [{ ...commitOf(v2, 2500, 'unused'), appliedEventIds: ['new-1'] }])).toEqual(['ok']);
  });

  it('keeps a merge id in the current generation as erase.lua writes it', async () => {
    const now = Date.now();
    const generations = new ProfileStore(redis, ctx.keyPrefix, 3600, { appliedTtlSeconds: 3600, now: () => now });
    const P = generations.tenantPrefix('gen-merge');
    const generation = Math.floor(now / HOUR_MS);
    const outbox = { partition: 0, field: 't|1|m1', updates: [] };
    expect(await generations.eraseAbsorbed('gen-merge', 'm1', 'survivor-1', [{ profileId: 'absorbed-1', expectedVersion: undefined }], now, now, outbox)).toEqual({ outcome: 'ok', heldApart: [] });
    expect(await generations.eraseAbsorbed('gen-merge', 'm1', 'survivor-1', [{ profileId: 'absorbed-1', expectedVersion: undefined }], now, now, outbox)).toEqual({ outcome: 'duplicate', heldApart: [] });
    expect(await redis.smembers(`${P}applied:${generation}`)).toEqual(['m1']);
    expect(await redis.pexpiretime(`${P}applied:${generation}`)).toBe((generation + 2) * HOUR_MS);
    expect((await generations.load('gen-merge', [], ['m1'])).applied.has('m1')).toBe(true);
  });
});

describe('ProfileStore.erase and the profile\'s events', () => {
  it('deletes the results of the events listed in pe:<id>, a sorted set or a plain set from before 2026-12-06', async () => {
    for (const [tenant, write] of [
      ['erase-sorted', (key: string, ids: string[]) => redis.zadd(key, ...ids.flatMap((eventId) => [Date.now() + 3_600_000, eventId]))],
      ['erase-plain', (key: string, ids: string[]) => redis.sadd(key, ...ids)],
    ] as const) {
      const P = store.tenantPrefix(tenant);
      const ids = ['ev-1', 'ev-2', 'ev-3'];
      for (const eventId of ids) await redis.set(`${P}e:${eventId}`, '{"attached":[{"type":"email","value":"gone@x.io"}]}');
      await redis.set(`${P}e:other`, '=p9');
      await write(`${P}pe:p1`, ids);
      await redis.sadd(`${P}live`, 'p1');
      expect(await store.erase(tenant, 'p1', Date.now(), Date.now())).toMatchObject({ version: 1, heldApart: [] });
      expect(await redis.exists(...ids.map((eventId) => `${P}e:${eventId}`), `${P}pe:p1`), tenant).toBe(0);
      expect(await redis.get(`${P}e:other`)).toBe('=p9');
    }
  });
  it('regression (erasing a profile with a million events held Redis, every client of it, for 7.9 s in one call): the erasure\'s call queues more than 2,000 event results, and calls of their own delete them, also after a process that stopped in between', async () => {
    for (const [tenant, write] of [
      ['purge-sorted', (key: string, ids: string[]) => redis.zadd(key, ...ids.flatMap((eventId) => [Date.now() + 3_600_000, eventId]))],
      ['purge-plain', (key: string, ids: string[]) => redis.sadd(key, ...ids)],
    ] as const) {
      const P = store.tenantPrefix(tenant);
      const ids = Array.from({ length: 5000 }, (_, index) => `ev-${index}`);
      for (let first = 0; first < ids.length; first += 1000) {
        const pipeline = redis.pipeline();
        for (const eventId of ids.slice(first, first + 1000)) pipeline.set(`${P}e:${eventId}`, '{"attached":[{"type":"email","value":"gone@x.io"}]}');
        await pipeline.exec();
      }
      await write(`${P}pe:big`, ids);
      await redis.sadd(`${P}live`, 'big');
      // The erasure's own call, as a process that stops right after it leaves things: the
      // profile is erased, its events' results queued, not deleted.
      const erase = redis as unknown as { elephantErase(...args: (string | number)[]): Promise<string> };
      expect(await erase.elephantErase(`${P}ps:big`, P, 5000, 'request', 'big', 6000)).toBe('1 6000');
      expect(await redis.exists(`${P}pe:big`)).toBe(0);
      expect(await redis.smembers(`${P}purging`)).toEqual(['big']);
      expect(await redis.exists(...ids.map((eventId) => `${P}e:${eventId}`))).toBe(ids.length);
      // The request read again: nothing more erased, the same version, and the queue deleted
      // (for the sorted set; the plain one by purgeErased alone, as a merge read again does).
      if (tenant === 'purge-sorted') expect(await store.erase(tenant, 'big', Date.now(), Date.now())).toMatchObject({ version: 1, heldApart: [] });
      else await store.purgeErased(tenant);
      expect(await redis.exists(...ids.map((eventId) => `${P}e:${eventId}`), `${P}pq:big`, `${P}purging`), tenant).toBe(0);
    }
  });

  it('reaches the profiles held apart from a profile folded into the erased one, and stops naming them once they are erased', async () => {
    const tenant = 'erase-apart';
    const survivor: ProfileState = { ...emptyProfile('t1', tenant, 1000), version: 4, mergedFrom: ['s1'] };
    const apart: ProfileState = { ...emptyProfile('x1', tenant, 1000), version: 1 };
    expect(await store.commit(tenant, [commitOf(survivor, undefined, 'ea-1'), commitOf(apart, undefined, 'ea-2')])).toEqual(['ok', 'ok']);
    // A merge into s1 held x1 apart; s1 was folded into t1 later.
    await store.holdApart(tenant, 's1', ['x1']);
    expect(await store.erase(tenant, 't1', 2000, 2100)).toEqual({ version: 5, appliedAt: 2100, heldApart: ['x1'] });
    // Repeated before x1's own request: named again; the version and the time applied are the first's.
    expect(await store.erase(tenant, 't1', 2000, 2500)).toEqual({ version: 5, appliedAt: 2100, heldApart: ['x1'] });
    expect(await store.erase(tenant, 'x1', 2000, 2600)).toEqual({ version: 2, appliedAt: 2600, heldApart: [] });
    expect(await store.erase(tenant, 't1', 2000, 2700)).toEqual({ version: 5, appliedAt: 2100, heldApart: [] });
  });

  it('reaches the survivor from a profile held apart from it, and through a merge into an erased survivor, whose redelivery names them again', async () => {
    const tenant = 'erase-apart-2';
    const [s1, x1, a1] = ['s1', 'x1', 'a1'].map((profileId): ProfileState => ({ ...emptyProfile(profileId, tenant, 1000), version: 1 }));
    expect(await store.commit(tenant, [s1, x1, a1].map((state, index) => commitOf(state as ProfileState, undefined, `eb-${index}`)))).toEqual(['ok', 'ok', 'ok']);
    await store.holdApart(tenant, 's1', ['x1']);
    // A request naming the profile held apart reaches the survivor it was held apart from.
    expect(await store.erase(tenant, 'x1', 2000, 2000)).toMatchObject({ version: 2, heldApart: ['s1'] });
    expect(await store.erase(tenant, 's1', 2000, 2000)).toMatchObject({ version: 2, heldApart: [] });

    // a1 was held apart from e1; e1 is absorbed by a merge into the erased s1.
    const e1: ProfileState = { ...emptyProfile('e1', tenant, 1000), version: 3 };
    expect(await store.commit(tenant, [commitOf(e1, undefined, 'eb-e1')])).toEqual(['ok']);
    await store.holdApart(tenant, 'e1', ['a1']);
    const outbox = { partition: 0, field: 't|4|m-e', updates: [] };
    expect(await store.eraseAbsorbed(tenant, 'm-e', 's1', [{ profileId: 'e1', expectedVersion: 3 }], 2000, 2000, outbox)).toEqual({ outcome: 'ok', heldApart: ['a1'] });
    expect(await store.eraseAbsorbed(tenant, 'm-e', 's1', [{ profileId: 'e1', expectedVersion: 3 }], 2000, 2000, outbox)).toEqual({ outcome: 'duplicate', heldApart: ['a1'] });
    expect(await store.heldApartOf(tenant, 's1')).toEqual(['a1']);
    expect(await store.erase(tenant, 'a1', 2000, 2000)).toMatchObject({ version: 2, heldApart: [] });
    expect(await store.heldApartOf(tenant, 's1')).toEqual([]);
  });
  it('regression (a request for a profile a merge had erased published its version again with the request\'s time): it answers with the merge\'s erasure time, the same record', async () => {
    const tenant = 'erase-absorbed-time';
    const absorbed: ProfileState = { ...emptyProfile('ab1', tenant, 1000), version: 4 };
    expect(await store.commit(tenant, [commitOf(absorbed, undefined, 'eat-1')])).toEqual(['ok']);
    const outbox = { partition: 0, field: 't|5|m-t', updates: [] };
    expect(await store.eraseAbsorbed(tenant, 'm-t', 'sv1', [{ profileId: 'ab1', expectedVersion: 4 }], 3000, 3500, outbox)).toEqual({ outcome: 'ok', heldApart: [] });
    expect(await store.erase(tenant, 'ab1', 9000, 9900)).toMatchObject({ version: 5, appliedAt: 3500 });
  });
  it('follows an erasure applied between a merge\'s load and its dead letter, both ways, and keeps every survivor a profile was held apart from', async () => {
    const tenant = 'erase-apart-3';
    const states = ['s1', 'x1', 's2', 'x2', 's3', 's4', 'x4'].map((profileId): ProfileState => ({ ...emptyProfile(profileId, tenant, 1000), version: 1 }));
    expect(await store.commit(tenant, states.map((state, index) => commitOf(state, undefined, `ec-${index}`)))).toEqual(states.map(() => 'ok'));
    // The absorbed profile erased first: the survivor is still to go.
    expect(await store.erase(tenant, 'x1', 5000, 5000)).toMatchObject({ version: 2, heldApart: [] });
    expect(await store.holdApart(tenant, 's1', ['x1'])).toEqual({ erasedAt: 5000, toErase: ['s1'] });
    // ...and a repeated request for it now finds the link too.
    expect(await store.erase(tenant, 'x1', 5000, 5000)).toMatchObject({ version: 2, heldApart: ['s1'] });
    // The survivor erased first: the absorbed ones are still to go.
    expect(await store.erase(tenant, 's2', 6000, 6000)).toMatchObject({ version: 2, heldApart: [] });
    expect(await store.holdApart(tenant, 's2', ['x2'])).toEqual({ erasedAt: 6000, toErase: ['x2'] });
    // Nobody erased: nothing to send.
    expect(await store.holdApart(tenant, 's3', ['x4'])).toBeUndefined();
    // Held apart from two survivors (two dead-lettered merges): its erasure reaches both.
    expect(await store.holdApart(tenant, 's4', ['x4'])).toBeUndefined();
    expect(await store.erase(tenant, 'x4', 7000, 7000)).toMatchObject({ version: 2, heldApart: ['s3', 's4'] });
  });
});

describe('ProfileStore.erase and the identity graph', () => {
  it('takes the erased person\'s identifier out of the partner sets of values it was seen with while a limit kept it out of every profile (regression: kept there for good, by its value)', async () => {
    const tenant = 'erase-partners';
    const P = store.tenantPrefix(tenant);
    const graph = new IdentityGraph(redis, ctx.keyPrefix);
    const rules = graphRulesOf(DEFAULT_RULES, 3600);
    let at = Date.UTC(2026, 10, 1);
    const event = (eventId: string, identifiers: [string, string][]) => {
      at += 1000;
      return { eventId, eventTime: at, ingestTime: at, channel: 'web', source: 'test', identifiers: identifiers.map(([type, value]) => ({ type, value })) };
    };
    const [alice] = await graph.resolveBatch(tenant, [event('e-1', [['user_id', 'alice']])], rules);
    // Bob's user id arrives with Alice's: one user id per profile, so the limit keeps it out of
    // every profile, and Alice's user id remembers it as a partner, by its value.
    const [shared] = await graph.resolveBatch(tenant, [event('e-2', [['user_id', 'alice'], ['user_id', 'bob@private']])], rules);
    expect(shared?.profileId).toBe(alice?.profileId);
    expect(shared?.dropped.map((dropped) => dropped.value)).toEqual(['bob@private']);
    expect(await redis.smembers(`${P}sw:user_id:alice`)).toEqual(['#user_id:bob@private']);
    // Bob's own profile, then his erasure.
    const [bob] = await graph.resolveBatch(tenant, [event('e-3', [['user_id', 'bob@private'], ['email', 'bob@example.org']])], rules);
    expect(bob?.profileId).not.toBe(alice?.profileId);
    expect(await store.erase(tenant, bob?.profileId ?? '', at, at)).toMatchObject({ version: 1 });
    expect(await redis.smembers(`${P}sw:user_id:alice`)).toEqual([]);
    expect(await redis.exists(`${P}sr:user_id:bob@private`)).toBe(0);
  });

  it('leaves none of an erased person\'s identifiers in the records of where others\' identifiers were seen (sr:), which stay exact as partner sets are rewritten', async () => {
    const tenant = 'erase-partners-2';
    const P = store.tenantPrefix(tenant);
    const graph = new IdentityGraph(redis, ctx.keyPrefix);
    const rules = graphRulesOf(DEFAULT_RULES, 3600);
    let at = Date.UTC(2026, 10, 1);
    const resolve = async (eventId: string, identifiers: [string, string][]) => {
      at += 1000;
      const [result] = await graph.resolveBatch(tenant, [{ eventId, eventTime: at, ingestTime: at, channel: 'web', source: 'test', identifiers: identifiers.map(([type, value]) => ({ type, value })) }], rules);
      return result;
    };
    const alice = await resolve('e-1', [['user_id', 'alice']]);
    await resolve('e-2', [['user_id', 'alice'], ['user_id', 'bob']]);
    expect(await redis.smembers(`${P}sr:user_id:bob`)).toEqual(['user_id:alice']);
    // Bob gets a profile of his own; Alice's partner set is rewritten at her next such event,
    // naming Bob's profile instead of his value, and Carol's value.
    await resolve('e-3', [['user_id', 'bob'], ['email', 'bob@example.org']]);
    await resolve('e-4', [['user_id', 'alice'], ['user_id', 'carol']]);
    expect(await redis.exists(`${P}sr:user_id:bob`)).toBe(0);
    expect(await redis.smembers(`${P}sr:user_id:carol`)).toEqual(['user_id:alice']);
    // Alice is erased: nothing names her any more.
    expect(await store.erase(tenant, alice?.profileId ?? '', at, at)).toMatchObject({ version: 1 });
    const leaks: string[] = [];
    for (const key of await redis.keys(`${P}*`)) {
      const content = await keyContents(redis, key);
      if (key.includes('alice') || content.some((item) => item?.includes('alice'))) leaks.push(`${key.slice(P.length)}: ${JSON.stringify(content)}`);
    }
    // Her events' results (e:) went with her profile: all three resolved to it.
    expect(leaks).toEqual([]);
  });
});
