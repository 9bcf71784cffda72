import { describe, expect, it } from 'vitest';
import { emptyProfile, type ProfileState } from '@elephant/profiles';
import { StateCache } from '@elephant/profile-builder';

const state = (profileId: string, version = 1): ProfileState => ({ ...emptyProfile(profileId, 't', 0), version });

describe('StateCache: decoded profile states, bounded by count and by their JSON\'s size', () => {
  it('drops the least recently used once the states\' JSON together exceeds the byte bound', () => {
    const cache = new StateCache(100, 1000);
    cache.set(state('a'), 400);
    cache.set(state('b'), 400);
    expect(cache.get('t', 'a', 1)).toBeDefined(); // a is now the most recent
    cache.set(state('c'), 400);
    expect(cache.peek('t', 'b')).toBeUndefined();
    expect(cache.peek('t', 'a')).toBeDefined();
    expect(cache.peek('t', 'c')).toBeDefined();
    expect(cache.size).toEqual({ states: 2, bytes: 800 });
  });

  it('holds no state larger than the bound alone, and forgets the older version it replaces', () => {
    const cache = new StateCache(100, 1000);
    cache.set(state('a', 1), 300);
    cache.set(state('a', 2), 5000);
    expect(cache.peek('t', 'a')).toBeUndefined();
    expect(cache.size).toEqual({ states: 0, bytes: 0 });
  });

  it('counts a new version in place of the old one', () => {
    const cache = new StateCache(100, 1000);
    cache.set(state('a', 1), 600);
    cache.set(state('a', 2), 700);
    expect(cache.size).toEqual({ states: 1, bytes: 700 });
    expect(cache.get('t', 'a', 1)).toBeUndefined();
    expect(cache.get('t', 'a', 2)?.version).toBe(2);
  });

  it('keeps its count bound', () => {
    const cache = new StateCache(2);
    for (const id of ['a', 'b', 'c']) cache.set(state(id), 10);
    expect(cache.peek('t', 'a')).toBeUndefined();
    expect(cache.size).toEqual({ states: 2, bytes: 20 });
  });
});
