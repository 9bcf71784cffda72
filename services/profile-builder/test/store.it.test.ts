/**
 * ProfileStore.load on a real Redis: a state the builder holds decoded is not read again while
 * Redis still has its version, and is read when another writer moved it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyProfile, type ProfileState } from '@elephant/profiles';
import { ProfileStore, type CommitRequest } from '@elephant/profile-builder';
import { connectRedis, type Redis } from '@elephant/redis';
import { createTestContext } from '@elephant/testing';

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
