/**
 * A batch whose profile another writer moved between its load and its checked write to Redis
 * (PROFILE_CONFLICT: routinely a merge on one partition racing the absorbed profile's
 * touchpoints on another) is processed again at once by the handler, from a fresh load, instead
 * of failing back to the consumer, which would retry it only after its backoff (200 ms, during
 * which the partition waits). Driven by hand against real Redis, Kafka and registry: the
 * other writer commits to the profile just before the batch's first write.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { IdentityMerge, ResolvedTouchpoint } from '@elephant/identity';
import { KafkaError, TransactionGroup, readToEnd } from '@elephant/kafka';
import { createMetricsRegistry } from '@elephant/observability';
import type { ProfileUpdate } from '@elephant/profiles';
import { ProfileStore, StateCache, type ErasureRequest, createBuilderHandler, createBuilderMetrics, type topicsOf, type CommitOutcome, type CommitRequest, type OutputCommits } from '@elephant/profile-builder';
import type { Redis } from '@elephant/redis';
import { createTestContext, waitUntil } from '@elephant/testing';
import { decodeAll, message, touchpoint, transactionalOnStack } from './harness.ts';

const ctx = createTestContext('conflict');
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  await ctx.cleanup();
});

/**
 * Runs a batch as the consumer would: again after a failure that is not a conflict (the broker
 * of a freshly started stack can refuse a first request). A conflict fails the test.
 */
async function run(call: () => Promise<void>): Promise<void> {
  let conflict: Error | undefined;
  await waitUntil(
    async () => {
      try {
        await call();
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'PROFILE_CONFLICT') throw error;
        conflict = error as Error;
      }
      return true;
    },
    { message: 'the batch to be processed' },
  );
  if (conflict !== undefined) throw conflict;
}

/**
 * A builder handler on topics of its own whose store's commit runs `before` first (once, when
 * armed): what another writer does between the batch's load and its checked write.
 */
async function setUp(name: string, before: (store: ProfileStore, topics: ReturnType<typeof topicsOf>, redis: Redis) => Promise<void>, options: { partitions?: number; wrap?: (commits: OutputCommits) => OutputCommits } = {}) {
  const { config, topics, registry, schemaIds, redis, producer, committed, close } = await transactionalOnStack(ctx, name, options.partitions ?? 1);
  closers.push(close);
  const store = new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS);
  /** `times`: how many commits it interferes with; `only`: the commits of that profile only. */
  const armed: { interfere: boolean; times: number; only: string | undefined; commits: number; outboxReads: number } = { interfere: false, times: 1, only: undefined, commits: 0, outboxReads: 0 };
  const commit = async (tenant: string, requests: readonly CommitRequest[]): Promise<CommitOutcome[]> => {
    armed.commits += 1;
    if (armed.interfere && (armed.only === undefined || requests.some((request) => request.profileId === armed.only))) {
      armed.times -= 1;
      if (armed.times <= 0) armed.interfere = false;
      await before(store, topics, redis);
    }
    return store.commit(tenant, requests);
  };
  const interfering = new Proxy(store, {
    get: (target, property) => {
      if (property === 'commit') return commit;
      if (property === 'outbox') armed.outboxReads += 1;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const metrics = createBuilderMetrics(createMetricsRegistry());
  const handler = createBuilderHandler({
    topics,
    store: interfering,
    registry,
    schemaIds,
    transactions: options.wrap ? options.wrap(new TransactionGroup(producer)) : new TransactionGroup(producer),
    metrics,
    logger: ctx.logger,
    now: Date.now,
    states: new StateCache(100),
    committedOffset: (topic, partition) => committed.get(topic, partition),
  });
  const context = (nextOffset: number) => ({ signal: new AbortController().signal, groupId: config.CONSUMER_GROUP, nextOffset: String(nextOffset) });
  return { config, topics, registry, schemaIds, redis, store, committed, metrics, handler, context, armed };
}

const purchase = (day: number, profileId = 'profile-1'): ResolvedTouchpoint => ({
  profileId,
  touchpoint: touchpoint('pos', { type: 'purchase', id: `txn-${profileId}-${day}`, occurredAt: new Date(Date.UTC(2026, 9, day)).toISOString(), storeId: 's-1', loyaltyCard: `LC-${profileId}`, currency: 'USD', lineItems: [{ productId: `p-${day}`, name: 'Item', quantity: 1, unitPrice: 10 }], total: 10 }),
  excludedIdentifiers: [],
  resolvedAt: Date.UTC(2026, 10, 2),
});

/**
 * The other writer of the first two tests: before the batch's first write, it commits a new
 * version of profile-1 (the same state, one version on), as a builder of another partition would.
 */
async function moveProfileOne(store: ProfileStore, topics: ReturnType<typeof topicsOf>, redis: Redis): Promise<void> {
  const [version, json] = await redis.hmget(`${store.tenantPrefix('acme')}ps:profile-1`, 'v', 's');
  const moved = { ...(JSON.parse(json ?? '{}') as Record<string, unknown>), version: Number(version) + 1 };
  expect(await store.commit('acme', [{ profileId: 'profile-1', expectedVersion: Number(version), version: Number(version) + 1, state: JSON.stringify(moved), appliedEventIds: [`other-writer-event-${String(version)}`], outbox: { partition: 0, field: `${topics.resolved}|99|profile-1`, updates: [] }, absorbed: [] }])).toEqual(['ok']);
}

/** Resolves `opened` once `release` is called. */
function gate(): { readonly opened: Promise<void>; readonly release: () => void } {
  let release = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { opened, release };
}

/** How often the builder tries a fold (and a batch) before it gives up: CONFLICT_ATTEMPTS in handler.ts. */
const CONFLICTS = 3;

describe('profile builder conflicts', () => {
  it('processes a batch again at once when another writer moved its profile, and publishes each update once', async () => {
    const { topics, registry, schemaIds, committed, metrics, handler, context, armed } = await setUp('conflict', moveProfileOne);

    await run(() => handler({ topic: topics.resolved, partition: 0, messages: [message(0, registry.encode(schemaIds.resolved, purchase(1)))] }, context(1)));
    armed.interfere = true;
    // Without processing it again at once, this call fails with PROFILE_CONFLICT.
    await run(() => handler({ topic: topics.resolved, partition: 0, messages: [message(1, registry.encode(schemaIds.resolved, purchase(2)))] }, context(2)));
    expect(armed.interfere).toBe(false);
    expect((await metrics.conflicts.get()).values[0]?.value).toBe(1);
    // Version 2 is the other writer's (it published nothing here); the batch's update is version 3.
    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.map((update) => [update.version, update.causeEventId])).toEqual([
      [1, purchase(1).touchpoint.eventId],
      [3, purchase(2).touchpoint.eventId],
    ]);
    expect(await committed.get(topics.resolved, 0)).toBe(2n);
  });

  it('counts the touchpoints an attempt ended by a conflict had committed once, as applied, in the update delay when the next attempt publishes their updates, and not as republished', async () => {
    const { topics, registry, schemaIds, metrics, handler, context, armed } = await setUp('conflict-delay', moveProfileOne);
    await run(() => handler({ topic: topics.resolved, partition: 0, messages: [message(0, registry.encode(schemaIds.resolved, purchase(1)))] }, context(1)));
    armed.interfere = true;
    // profile-2 commits in the first attempt, profile-1 conflicts; the second attempt applies
    // profile-1's touchpoint and republishes profile-2's update from the outbox.
    await run(() => handler({ topic: topics.resolved, partition: 0, messages: [message(1, registry.encode(schemaIds.resolved, purchase(2, 'profile-2'))), message(2, registry.encode(schemaIds.resolved, purchase(2)))] }, context(3)));
    expect((await metrics.conflicts.get()).values[0]?.value).toBe(1);
    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.map((update) => update.causeEventId).sort()).toEqual([purchase(1), purchase(2, 'profile-2'), purchase(2)].map((record) => record.touchpoint.eventId).sort());
    const count = (await metrics.updateDelay.get()).values.find((entry) => entry.metricName === 'elephant_builder_update_delay_seconds_count')?.value;
    expect(count).toBe(3);
    // The second attempt's republish is this batch's own, not a transaction that did not
    // commit: before, profile-2's touchpoint counted as a duplicate (applied 2, duplicate 1)
    // and its update as republished.
    const touchpoints = (await metrics.touchpoints.get()).values;
    expect(touchpoints.find((value) => value.labels['outcome'] === 'applied')?.value).toBe(3);
    expect(touchpoints.find((value) => value.labels['outcome'] === 'duplicate')?.value ?? 0).toBe(0);
    expect((await metrics.republished.get()).values[0]?.value ?? 0).toBe(0);
  });

  it('forwards the touchpoints of a profile merged between the load and the write to its survivor without processing the batch again; the batch\'s other profiles publish once', async () => {
    // The other writer folds profile-1 into profile-9 (a merge batch of another partition).
    const { topics, registry, schemaIds, redis, metrics, handler, context, armed } = await setUp('merged-meanwhile', async (store) => {
      const version = await redis.hget(`${store.tenantPrefix('acme')}ps:profile-1`, 'v');
      expect(await store.commit('acme', [{ profileId: 'profile-9', expectedVersion: undefined, version: 1, state: JSON.stringify({}), appliedEventIds: ['merge-of-1'], outbox: { partition: 0, field: 'merges|1|merge-of-1', updates: [] }, absorbed: [{ profileId: 'profile-1', expectedVersion: Number(version) }] }])).toEqual(['ok']);
    });

    await run(() => handler({ topic: topics.resolved, partition: 0, messages: [message(0, registry.encode(schemaIds.resolved, purchase(1)))] }, context(1)));
    armed.interfere = true;
    armed.commits = 0;
    await run(() => handler({ topic: topics.resolved, partition: 0, messages: [purchase(2), purchase(2, 'profile-2')].map((value, index) => message(1 + index, registry.encode(schemaIds.resolved, value))) }, context(3)));
    expect(armed.interfere).toBe(false);
    // One write for the batch: nothing was processed a second time, and no conflict counted.
    expect(armed.commits).toBe(1);
    expect((await metrics.conflicts.get()).values[0]?.value ?? 0).toBe(0);
    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.map((update) => [update.profileId, update.version, update.causeEventId])).toEqual([
      ['profile-1', 1, purchase(1).touchpoint.eventId],
      ['profile-2', 1, purchase(2, 'profile-2').touchpoint.eventId],
    ]);
    const forwarded = await decodeAll<ResolvedTouchpoint>(registry, await readToEnd(ctx.kafka, topics.resolved));
    expect(forwarded.map((record) => [record.profileId, record.touchpoint.eventId])).toEqual([['profile-9', purchase(2).touchpoint.eventId]]);
    const touchpoints = (await metrics.touchpoints.get()).values;
    expect(touchpoints.find((value) => value.labels['outcome'] === 'forwarded')?.value).toBe(1);
    expect(touchpoints.find((value) => value.labels['outcome'] === 'applied')?.value).toBe(2);
  });

  it('folds a merge again at once, alone, when its absorbed profile moved between the load and the write; the batch is not processed again', async () => {
    // The absorbed profile's own partition commits a touchpoint of it just before the fold's write.
    const { topics, registry, schemaIds, redis, metrics, handler, context, armed } = await setUp('merge-moved', async (store, topics) => {
      const [version, json] = await redis.hmget(`${store.tenantPrefix('acme')}ps:profile-1`, 'v', 's');
      const moved = { ...(JSON.parse(json ?? '{}') as Record<string, unknown>), version: Number(version) + 1 };
      expect(await store.commit('acme', [{ profileId: 'profile-1', expectedVersion: Number(version), version: Number(version) + 1, state: JSON.stringify(moved), appliedEventIds: ['absorbed-partition-event'], outbox: { partition: 1, field: `${topics.resolved}|9|profile-1`, updates: [] }, absorbed: [] }])).toEqual(['ok']);
    });
    await run(() => handler({ topic: topics.resolved, partition: 0, messages: [purchase(1), purchase(1, 'profile-9')].map((value, index) => message(index, registry.encode(schemaIds.resolved, value))) }, context(2)));
    const merge: IdentityMerge = { mergeId: 'merge-9-1', tenant: 'acme', survivorProfileId: 'profile-9', mergedProfileIds: ['profile-1'], linkingIdentifiers: [], rule: 'match', triggeringEventId: 'event-9', mergedAt: Date.UTC(2026, 10, 2) };
    armed.interfere = true;
    armed.commits = 0;
    armed.outboxReads = 0;
    await run(() => handler({ topic: topics.merges, partition: 0, messages: [message(0, registry.encode(schemaIds.merge, merge))] }, context(1)));
    expect(armed.interfere).toBe(false);
    // The refused fold and the one after a fresh load; the batch's outbox was read once.
    expect(armed.commits).toBe(2);
    expect(armed.outboxReads).toBe(1);
    expect((await metrics.conflicts.get()).values[0]?.value).toBe(1);
    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.filter((update) => update.kind === 'merge').map((update) => [update.profileId, update.causeEventId, update.mergedProfileIds])).toEqual([['profile-9', 'merge-9-1', ['profile-1']]]);
  });

  it('erases the survivor instead of folding when the absorbed profile, which had no state yet, was erased between the load and the write', async () => {
    // The absorbed profile's erasure request is applied on its own partition just before the
    // fold's write. Its state was never written, so its version ('' before and after) does not
    // show the erasure: the commit checks the erasure mark, and the fresh load finds the erasure.
    const { topics, registry, schemaIds, redis, store, handler, context, armed } = await setUp('merge-erased', async (store) => {
      expect(await store.erase('acme', 'profile-1', Date.UTC(2026, 10, 3), Date.now())).toMatchObject({ version: expect.any(Number) as number });
    });
    await run(() => handler({ topic: topics.resolved, partition: 0, messages: [message(0, registry.encode(schemaIds.resolved, purchase(1, 'profile-9')))] }, context(1)));
    const merge: IdentityMerge = { mergeId: 'merge-9-1', tenant: 'acme', survivorProfileId: 'profile-9', mergedProfileIds: ['profile-1'], linkingIdentifiers: [], rule: 'match', triggeringEventId: 'event-9', mergedAt: Date.UTC(2026, 10, 2) };
    armed.interfere = true;
    await run(() => handler({ topic: topics.merges, partition: 0, messages: [message(0, registry.encode(schemaIds.merge, merge))] }, context(1)));
    expect(armed.interfere).toBe(false);
    expect(await redis.get(`${store.tenantPrefix('acme')}pm:profile-1`)).toBeNull();
    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.filter((update) => update.kind === 'merge')).toEqual([]);
    const requests = await decodeAll<ErasureRequest>(registry, await readToEnd(ctx.kafka, topics.erasures));
    expect(requests.map((request) => [request.profileId, request.requestId])).toEqual([['profile-9', 'merge-9-1']]);
  });

  it('counts a merge once when a later merge of its batch keeps conflicting and the batch is processed again (the next attempt finds it applied)', async () => {
    // Another partition keeps committing touchpoints of profile-2, the profile merge-8-2 absorbs.
    const { topics, registry, schemaIds, redis, metrics, handler, context, armed } = await setUp('merges-counted', async (store) => {
      const [version, json] = await redis.hmget(`${store.tenantPrefix('acme')}ps:profile-2`, 'v', 's');
      const moved = { ...(JSON.parse(json ?? '{}') as Record<string, unknown>), version: Number(version) + 1 };
      expect(await store.commit('acme', [{ profileId: 'profile-2', expectedVersion: Number(version), version: Number(version) + 1, state: JSON.stringify(moved), appliedEventIds: [`absorbed-partition-event-${String(version)}`], outbox: { partition: 1, field: `x|${String(version)}|profile-2`, updates: [] }, absorbed: [] }])).toEqual(['ok']);
    });
    await run(() => handler({ topic: topics.resolved, partition: 0, messages: ['profile-1', 'profile-2', 'profile-8', 'profile-9'].map((profileId, index) => message(index, registry.encode(schemaIds.resolved, purchase(1, profileId)))) }, context(4)));
    const mergeOf = (survivor: string, absorbed: string): IdentityMerge => ({ mergeId: `merge-${survivor}-${absorbed}`, tenant: 'acme', survivorProfileId: survivor, mergedProfileIds: [absorbed], linkingIdentifiers: [], rule: 'match', triggeringEventId: `event-${survivor}`, mergedAt: Date.UTC(2026, 10, 2) });
    armed.interfere = true;
    armed.times = CONFLICTS;
    armed.only = 'profile-8';
    // merge-profile-9-profile-1 folds; merge-profile-8-profile-2 is refused three times, which
    // fails the attempt; the next attempt finds the first applied and folds the second.
    await run(() => handler({ topic: topics.merges, partition: 0, messages: [mergeOf('profile-9', 'profile-1'), mergeOf('profile-8', 'profile-2')].map((merge, index) => message(index, registry.encode(schemaIds.merge, merge))) }, context(2)));
    expect(armed.interfere).toBe(false);
    expect((await metrics.conflicts.get()).values[0]?.value).toBe(CONFLICTS);
    // Before: 1 (the first merge's count went with the attempt that failed).
    expect((await metrics.merges.get()).values[0]?.value).toBe(2);
    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.filter((update) => update.kind === 'merge').map((update) => update.causeEventId).sort()).toEqual(['merge-profile-8-profile-2', 'merge-profile-9-profile-1']);
  });

  /**
   * profile-1's touchpoint batch (partition 0) commits to Redis and is held before its
   * transaction; meanwhile the merge on partition 1 folds profile-1 into profile-9 and
   * tombstones it; then profile-1's snapshot goes out, after the tombstone. With
   * `failRetombstone`, the first tombstone of profile-1 sent outside a batch (no offsets) fails.
   * Returns once the held batch is done, with profile-1's snapshot records read back when
   * `settled` holds for them.
   */
  async function foldWhileSnapshotInFlight(name: string, failRetombstone: boolean) {
    const held = gate();
    const reached = gate();
    let hold = false;
    let failing = failRetombstone;
    let snapshotsTopic = '';
    const built = await setUp(name, () => Promise.resolve(), {
      partitions: 2,
      wrap: (group) => ({
        commit: async (batches, offsets) => {
          const snapshots = batches.find((batch) => batch.topic === snapshotsTopic)?.messages ?? [];
          if (hold && snapshots.some((record) => record.key === 'profile-1' && record.value !== null)) {
            hold = false;
            reached.release();
            await held.opened;
          }
          if (failing && offsets.length === 0 && snapshots.some((record) => record.key === 'profile-1' && record.value === null)) {
            failing = false;
            throw new KafkaError('KAFKA_UNAVAILABLE', 'injected: the tombstone could not be sent', { retryable: true });
          }
          return group.commit(batches, offsets);
        },
      }),
    });
    const { topics, registry, schemaIds, handler, context } = built;
    snapshotsTopic = topics.snapshots;
    await run(() => handler({ topic: topics.resolved, partition: 0, messages: [message(0, registry.encode(schemaIds.resolved, purchase(1)))] }, context(1)));
    await run(() => handler({ topic: topics.resolved, partition: 1, messages: [message(0, registry.encode(schemaIds.resolved, purchase(1, 'profile-9')))] }, context(1)));
    hold = true;
    const touchpointBatch = handler({ topic: topics.resolved, partition: 0, messages: [message(1, registry.encode(schemaIds.resolved, purchase(2)))] }, context(2));
    await reached.opened;
    const merge: IdentityMerge = { mergeId: 'merge-9-1', tenant: 'acme', survivorProfileId: 'profile-9', mergedProfileIds: ['profile-1'], linkingIdentifiers: [], rule: 'match', triggeringEventId: 'event-9', mergedAt: Date.UTC(2026, 10, 2) };
    await run(() => handler({ topic: topics.merges, partition: 1, messages: [message(0, registry.encode(schemaIds.merge, merge))] }, context(1)));
    held.release();
    await touchpointBatch;
    if (failRetombstone) await waitUntil(() => !failing, { message: 'the tombstone sent again, and failed' });
    /** profile-1's snapshot records as snapshot/tombstone, once its last is a tombstone following `count` records in all. */
    const profileOneRecords = async (count: number, what: string): Promise<string[]> => {
      const mine = await waitUntil(
        async () => {
          const records = (await readToEnd(ctx.kafka, topics.snapshots)).filter((record) => record.key?.toString() === 'profile-1');
          return records.length >= count && records.at(-1)?.value === null ? records : undefined;
        },
        { message: what },
      );
      return mine.map((record) => (record.value === null ? 'tombstone' : 'snapshot'));
    };
    return { ...built, profileOneRecords };
  }

  it('tombstones again, after its snapshot, a profile folded into another while its snapshot was on its way to the broker (compaction kept the snapshot: a merged profile back for good)', async () => {
    const { profileOneRecords } = await foldWhileSnapshotInFlight('resurrected', false);
    // v1, the fold's tombstone, v2 (held), the tombstone again. Before: the last was v2's snapshot.
    expect(await profileOneRecords(4, 'profile-1 tombstoned after its last snapshot')).toEqual(['snapshot', 'tombstone', 'snapshot', 'tombstone']);
  });

  it('tombstones such a profile in the next batch of its partition when sending the tombstone again failed (its outbox entry stays until then)', async () => {
    const { topics, registry, schemaIds, handler, context, profileOneRecords } = await foldWhileSnapshotInFlight('resurrected-retried', true);
    // The next batch of partition 0 (another profile) finds profile-1's entry published and the profile gone.
    await run(() => handler({ topic: topics.resolved, partition: 0, messages: [message(2, registry.encode(schemaIds.resolved, purchase(3, 'profile-2')))] }, context(3)));
    expect(await profileOneRecords(4, 'profile-1 tombstoned by the next batch')).toEqual(['snapshot', 'tombstone', 'snapshot', 'tombstone']);
  });

  it('counts, when the consumer retries a batch that kept conflicting, what its attempts committed as applied and their updates as its own, not republished', async () => {
    const { topics, registry, schemaIds, metrics, handler, context, armed } = await setUp('conflict-retried', moveProfileOne);
    await run(() => handler({ topic: topics.resolved, partition: 0, messages: [message(0, registry.encode(schemaIds.resolved, purchase(1)))] }, context(1)));
    armed.interfere = true;
    armed.times = CONFLICTS;
    armed.only = 'profile-1';
    const batch = { topic: topics.resolved, partition: 0, messages: [message(1, registry.encode(schemaIds.resolved, purchase(2, 'profile-2'))), message(2, registry.encode(schemaIds.resolved, purchase(2)))] };
    // profile-2 commits in the first attempt; profile-1 conflicts in all three: the error reaches the consumer.
    await expect(handler(batch, context(3))).rejects.toMatchObject({ code: 'PROFILE_CONFLICT' });
    await run(() => handler(batch, context(3)));
    const touchpoints = (await metrics.touchpoints.get()).values;
    expect(touchpoints.find((value) => value.labels['outcome'] === 'applied')?.value).toBe(3);
    expect(touchpoints.find((value) => value.labels['outcome'] === 'duplicate')?.value ?? 0).toBe(0);
    // Before: 1 (profile-2's update, published from the outbox by the retry).
    expect((await metrics.republished.get()).values[0]?.value ?? 0).toBe(0);
  });
});
