/**
 * A profile's size limit, through the builder's batch handler on the real stack. Regression:
 * nothing bounded a profile (trait values of any length, ever new preference keys): one that
 * grew past the broker's record limit failed its snapshot's send, again on every retry, and
 * blocked its partition. Now a touchpoint that would take the state or an update over MAX_PROFILE_BYTES
 * is dead-lettered with its original bytes, and the profile, the batch and the partition go on.
 * A merge, the one way past MAX_PROFILE_BYTES, is dead-lettered when its update or snapshot
 * would be over MAX_RECORD_BYTES (before: the broker refused the record on every retry, and
 * every builder that took the partition exited). The profiles such a merge leaves apart are
 * still erased with the survivor.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { IdentityMerge, ResolvedTouchpoint } from '@elephant/identity';
import { DEAD_LETTER_HEADERS, headerText, readToEnd, replayRecordOf, type KafkaMessage } from '@elephant/kafka';
import type { ProfileSnapshot, ProfileUpdate } from '@elephant/profiles';
import { ProfileStore } from '@elephant/profile-builder';
import { createTestContext } from '@elephant/testing';
import { decodeAll, handlerOnStack, message, touchpoint, type HandlerOnStack } from './harness.ts';

const ctx = createTestContext('profile-size');
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  await ctx.cleanup();
});

const AT = Date.UTC(2026, 9, 1);

/** A profile's identify with about 2.5 KB of preferences of its own: two such profiles fit one record of 6,000 bytes, three do not. */
function identify(profileId: string, index: number): ResolvedTouchpoint {
  return {
    profileId,
    touchpoint: touchpoint('web', {
      type: 'identify',
      messageId: `w-${profileId}`,
      userId: `u-${profileId}`,
      timestamp: new Date(AT + index * 60_000).toISOString(),
      traits: { preferences: { [`${profileId}-1`]: 'a'.repeat(1200), [`${profileId}-2`]: 'b'.repeat(1200) } },
    }),
    excludedIdentifiers: [],
    resolvedAt: AT,
  };
}

describe('profile builder size limit', () => {
  it('dead-letters a touchpoint that would take a profile or its update over MAX_PROFILE_BYTES, and applies the rest of the batch', async () => {
    const stack = await handlerOnStack(ctx, 'limit', { MAX_PROFILE_BYTES: '4000' });
    closers.push(() => stack.close());
    const { config, registry, schemaIds, topics, redis, metrics } = stack;
    const at = (day: number): string => new Date(Date.UTC(2026, 9, day)).toISOString();
    const identify = (profileId: string, id: string, day: number, firstName: string): ResolvedTouchpoint => ({
      profileId,
      touchpoint: touchpoint('web', { type: 'identify', messageId: id, userId: `u-${profileId}`, timestamp: at(day), traits: { firstName } }),
      excludedIdentifiers: [],
      resolvedAt: Date.UTC(2026, 10, 2),
    });
    const values = [identify('p-big', 'w-1', 1, 'Ada'), identify('p-big', 'w-2', 2, 'x'.repeat(5000)), identify('p-small', 'w-3', 3, 'Bo'), identify('p-big', 'w-4', 4, 'Ada Lovelace')];
    const messages: KafkaMessage[] = values.map((value, index) => message(index, registry.encode(schemaIds.resolved, value)));
    await stack.run(messages, messages.length);

    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.map((update) => [update.profileId, update.version, update.causeEventId])).toEqual([
      ['p-big', 1, values[0]?.touchpoint.eventId],
      ['p-big', 2, values[3]?.touchpoint.eventId],
      ['p-small', 1, values[2]?.touchpoint.eventId],
    ]);
    const [dead, ...others] = await readToEnd(ctx.kafka, topics.deadLetters);
    expect(others).toEqual([]);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.code)).toBe('PROFILE_TOO_LARGE');
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.message)).toContain('over the limit of 4000 (MAX_PROFILE_BYTES)');
    expect(dead?.value).toEqual(messages[1]?.value);
    const store = new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS);
    const { profiles } = await store.load(values[0]?.touchpoint.tenant ?? '', ['p-big'], []);
    expect(profiles.get('p-big')?.stored?.version).toBe(2);
    expect((await metrics.getSingleMetric('elephant_builder_dead_lettered_total')?.get())?.values).toEqual([{ value: 1, labels: { reason: 'PROFILE_TOO_LARGE' } }]);
  });

  it('regression (the erased person\'s touchpoint stayed in the dead letters): a touchpoint over MAX_PROFILE_BYTES is dead-lettered only once its profile\'s commit went through, not when the commit finds the profile erased since its load', async () => {
    let eraseFirst: (() => Promise<void>) | undefined;
    const stack = await handlerOnStack(ctx, 'limit-erased', { MAX_PROFILE_BYTES: '4000' }, {
      // The erasure lands between the batch's load and its commit (handled on another partition).
      wrapStore: (store) => {
        const commit = store.commit.bind(store);
        store.commit = async (...args) => {
          const erase = eraseFirst;
          eraseFirst = undefined;
          await erase?.();
          return commit(...args);
        };
        return store;
      },
    });
    closers.push(() => stack.close());
    const { config, registry, schemaIds, topics, redis, metrics } = stack;
    const at = (day: number): string => new Date(Date.UTC(2026, 9, day)).toISOString();
    const identify = (id: string, day: number, firstName: string): ResolvedTouchpoint => ({
      profileId: 'p-gone',
      touchpoint: touchpoint('web', { type: 'identify', messageId: id, userId: 'u-gone', timestamp: at(day), traits: { firstName } }),
      excludedIdentifiers: [],
      resolvedAt: Date.UTC(2026, 10, 2),
    });
    await stack.run([message(0, registry.encode(schemaIds.resolved, identify('w-1', 1, 'Ada')))], 1);
    const store = new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS);
    eraseFirst = async () => void (await store.erase('acme', 'p-gone', Date.UTC(2026, 10, 3), Date.UTC(2026, 10, 3)));
    await stack.run([identify('w-2', 2, 'Bo'), identify('w-3', 3, 'x'.repeat(5000))].map((value, index) => message(1 + index, registry.encode(schemaIds.resolved, value))), 3);
    expect(eraseFirst).toBeUndefined();
    expect(await readToEnd(ctx.kafka, topics.deadLetters)).toEqual([]);
    expect((await metrics.getSingleMetric('elephant_builder_touchpoints_total')?.get())?.values).toContainEqual({ value: 2, labels: { outcome: 'erased' } });
  });

  it('dead-letters a merge whose update or snapshot would be over MAX_RECORD_BYTES, folds the others of the batch, and folds it once replayed with a higher limit', async () => {
    const stack = await handlerOnStack(ctx, 'merge', { MAX_PROFILE_BYTES: '4000', MAX_RECORD_BYTES: '6000' });
    closers.push(() => stack.close());
    const { config, registry, schemaIds, topics, redis, metrics } = stack;
    const at = AT;
    const profiles = ['p-a', 'p-b', 'p-c', 'p-d', 'p-e'];
    const touchpoints = profiles.map((profileId, index) => message(index, registry.encode(schemaIds.resolved, identify(profileId, index))));
    await stack.run(touchpoints, touchpoints.length);
    const merge = (mergeId: string, survivorProfileId: string, mergedProfileIds: string[]): IdentityMerge => ({ mergeId, tenant: 'acme', survivorProfileId, mergedProfileIds, linkingIdentifiers: [], rule: 'match', triggeringEventId: `e-${mergeId}`, mergedAt: at + 3_600_000 });
    const merges = [merge('m-1', 'p-a', ['p-b']), merge('m-2', 'p-a', ['p-c']), merge('m-3', 'p-d', ['p-e'])].map((value, index) => message(index, registry.encode(schemaIds.merge, value)));
    await stack.run(merges, merges.length, topics.merges);

    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.filter((update) => update.kind === 'merge').map((update) => [update.profileId, update.causeEventId, update.mergedProfileIds])).toEqual([
      ['p-a', 'm-1', ['p-b']],
      ['p-d', 'm-3', ['p-e']],
    ]);
    const snapshots = await decodeAll<ProfileSnapshot>(registry, (await readToEnd(ctx.kafka, topics.snapshots)).filter((record) => record.value !== null));
    const folded = snapshots.filter((snapshot) => snapshot.profileId === 'p-a').at(-1);
    // Past MAX_PROFILE_BYTES (the union of two profiles), within MAX_RECORD_BYTES.
    expect(Object.keys(folded?.traits.preferences ?? {}).sort()).toEqual(['p-a-1', 'p-a-2', 'p-b-1', 'p-b-2']);
    const [dead, ...others] = await readToEnd(ctx.kafka, topics.deadLetters);
    expect(others).toEqual([]);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.code)).toBe('MERGE_TOO_LARGE');
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.message)).toMatch(/^Merge m-2 would publish a snapshot of \d+ bytes for profile p-a, over the limit of 6000 \(MAX_RECORD_BYTES\)$/);
    expect(dead?.value).toEqual(merges[1]?.value);
    // Nothing of the refused merge was written: p-c lives on, p-a is at the first merge's version.
    const store = new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS);
    const { profiles: loaded } = await store.load('acme', ['p-a', 'p-b', 'p-c'], []);
    expect(loaded.get('p-a')?.stored?.version).toBe(2);
    expect(loaded.get('p-b')?.mergedInto).toBe('p-a');
    expect(loaded.get('p-c')?.mergedInto).toBeUndefined();
    expect(loaded.get('p-c')?.stored?.version).toBe(1);
    expect((await metrics.getSingleMetric('elephant_builder_dead_lettered_total')?.get())?.values).toEqual([{ value: 1, labels: { reason: 'MERGE_TOO_LARGE' } }]);

    // Replayed with a higher limit (docs/profiles.md, "Size"), the merge folds.
    const replay = replayRecordOf(dead as KafkaMessage);
    expect(replay?.topic).toBe(topics.merges);
    const raised = await handlerOnStack(ctx, 'merge', { MAX_PROFILE_BYTES: '4000', MAX_RECORD_BYTES: '20000' });
    closers.push(() => raised.close());
    await raised.run([message(3, replay?.message.value as Buffer)], 4, topics.merges);
    const after = await store.load('acme', ['p-a', 'p-c'], []);
    expect(after.profiles.get('p-a')?.stored?.version).toBe(3);
    expect(after.profiles.get('p-c')?.mergedInto).toBe('p-a');
    const folds = (await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates))).filter((update) => update.kind === 'merge');
    expect(folds.map((update) => update.causeEventId)).toEqual(['m-1', 'm-3', 'm-2']);
  });
  /** Profiles p-a, p-b and p-c of about 2.5 KB each; merges m-1 (p-b into p-a, folded) and m-2 (p-c into p-a, dead-lettered: p-c held apart). */
  async function heldApart(scope: string): Promise<{ stack: HandlerOnStack; at: number; erasure: (profileId: string) => KafkaMessage }> {
    const stack = await handlerOnStack(ctx, scope, { MAX_PROFILE_BYTES: '4000', MAX_RECORD_BYTES: '6000' });
    closers.push(() => stack.close());
    const { registry, schemaIds, topics } = stack;
    const at = AT;
    const touchpoints = ['p-a', 'p-b', 'p-c'].map((profileId, index) => message(index, registry.encode(schemaIds.resolved, identify(profileId, index))));
    await stack.run(touchpoints, touchpoints.length);
    const merges = [merge(at, 'm-1', 'p-a', ['p-b']), merge(at, 'm-2', 'p-a', ['p-c'])].map((value, index) => message(index, registry.encode(schemaIds.merge, value)));
    await stack.run(merges, merges.length, topics.merges);
    expect((await readToEnd(ctx.kafka, topics.deadLetters)).map((record) => headerText(record.headers, DEAD_LETTER_HEADERS.code))).toEqual(['MERGE_TOO_LARGE']);
    const erasure = (profileId: string): KafkaMessage => message(0, registry.encode(schemaIds.erasure, { requestId: `gdpr-${profileId}`, tenant: 'acme', profileId, requestedAt: at + 7_200_000, reason: null }));
    return { stack, at, erasure };
  }

  const merge = (at: number, mergeId: string, survivorProfileId: string, mergedProfileIds: string[]): IdentityMerge => ({ mergeId, tenant: 'acme', survivorProfileId, mergedProfileIds, linkingIdentifiers: [], rule: 'match', triggeringEventId: `e-${mergeId}`, mergedAt: at + 3_600_000 });

  it('erases the profiles a dead-lettered merge left apart when the survivor is erased: each by a request of its own, sent until it is erased (regression: they lived on)', async () => {
    const { stack, at, erasure } = await heldApart('apart');
    const { config, registry, topics, redis } = stack;
    // The survivor's erasure, twice before the held-apart profile's request is handled: sent each time.
    const request = erasure('p-a');
    await stack.run([request], 1, topics.erasures);
    await stack.run([request], 1, topics.erasures);
    const forwarded = await readToEnd(ctx.kafka, topics.erasures);
    expect(forwarded.map((record) => record.key?.toString())).toEqual(['p-c', 'p-c']);
    expect(await registry.decode(forwarded[0]?.value as Buffer)).toMatchObject({ requestId: 'gdpr-p-a', profileId: 'p-c', requestedAt: at + 7_200_000 });
    await stack.run(forwarded.map((record, index) => message(2 + index, record.value as Buffer)), 4, topics.erasures);

    const store = new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS);
    const { profiles } = await store.load('acme', ['p-a', 'p-b', 'p-c'], []);
    for (const profileId of ['p-a', 'p-c']) {
      expect(profiles.get(profileId)?.erasedAt, profileId).toBeDefined();
      expect(profiles.get(profileId)?.stored, profileId).toBeUndefined();
    }
    const erasures = (await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates))).filter((update) => update.kind === 'erasure');
    // p-a announced once per request (the same version), p-c once per forwarded request (the same version).
    expect(erasures.map((update) => [update.profileId, update.version])).toEqual([
      ['p-a', 3],
      ['p-a', 3],
      ['p-c', 2],
      ['p-c', 2],
    ]);
    const tombstones = (await readToEnd(ctx.kafka, topics.snapshots)).filter((record) => record.value === null).map((record) => record.key?.toString());
    expect(tombstones).toEqual(expect.arrayContaining(['p-a', 'p-c']));
    // Erased: the survivor's request sends nothing more.
    await stack.run([request], 5, topics.erasures);
    expect(await readToEnd(ctx.kafka, topics.erasures)).toHaveLength(2);
  });
  it('erases the survivor when a request names the profile held apart from it', async () => {
    const { stack, erasure } = await heldApart('apart-back');
    const { topics, registry } = stack;
    await stack.run([erasure('p-c')], 1, topics.erasures);
    const forwarded = await readToEnd(ctx.kafka, topics.erasures);
    expect(forwarded.map((record) => record.key?.toString())).toEqual(['p-a']);
    await stack.run([message(1, forwarded[0]?.value as Buffer)], 2, topics.erasures);
    const erased = (await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates))).filter((update) => update.kind === 'erasure').map((update) => update.profileId);
    expect(erased).toEqual(['p-c', 'p-a']);
    // p-a's erasure finds p-c erased: nothing more is sent.
    expect(await readToEnd(ctx.kafka, topics.erasures)).toHaveLength(1);
  });

  it('erases what a profile held apart when a merge absorbs it into an erased survivor, and again when that merge is read again', async () => {
    const { stack, at, erasure } = await heldApart('apart-merge');
    const { topics, registry, schemaIds } = stack;
    // p-z is erased first; then the resolver's merge of p-a into p-z arrives (the erasure overtook it).
    await stack.run([message(3, registry.encode(schemaIds.resolved, { profileId: 'p-z', touchpoint: touchpoint('web', { type: 'page', messageId: 'w-p-z', anonymousId: 'cookie-z', timestamp: new Date(at).toISOString(), properties: {} }), excludedIdentifiers: [], resolvedAt: at }))], 4);
    await stack.run([erasure('p-z')], 1, topics.erasures);
    const late = message(2, registry.encode(schemaIds.merge, merge(at, 'm-3', 'p-z', ['p-a'])));
    await stack.run([late], 3, topics.merges);
    await stack.run([late], 3, topics.merges);
    const forwarded = await readToEnd(ctx.kafka, topics.erasures);
    expect(forwarded.map((record) => record.key?.toString())).toEqual(['p-c', 'p-c']);
    expect(await registry.decode(forwarded[0]?.value as Buffer)).toMatchObject({ requestId: 'm-3', profileId: 'p-c' });
    await stack.run([message(1, forwarded[0]?.value as Buffer)], 2, topics.erasures);
    const erased = (await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates))).filter((update) => update.kind === 'erasure').map((update) => update.profileId);
    expect(erased).toEqual(['p-z', 'p-a', 'p-c']);
    // Read again once p-c is erased: nothing more is sent.
    await stack.run([late], 3, topics.merges);
    expect(await readToEnd(ctx.kafka, topics.erasures)).toHaveLength(2);
  });
});
