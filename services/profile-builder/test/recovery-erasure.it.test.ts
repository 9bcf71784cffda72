/**
 * Outbox recovery must not leave an erased or merged-away person's profile as the latest
 * record of the compacted snapshots topic (docs/profiles.md, "profiles.snapshots.v1" and
 * "Erasure"). Driven by hand on the real stack: the builder's batch handler, its transactions
 * failing where the test says, batches of other partitions run where a race would put them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { IdentityMerge, ResolvedTouchpoint } from '@elephant/identity';
import { KafkaError, TransactionGroup, readToEnd, type ConsumedOffset, type KafkaMessage, type OutboundBatch } from '@elephant/kafka';
import { createMetricsRegistry } from '@elephant/observability';
import type { ProfileSnapshot } from '@elephant/profiles';
import { BackgroundWork, ProfileStore, StateCache, createBuilderHandler, createBuilderMetrics, type BuilderTopics } from '@elephant/profile-builder';
import { createTestContext } from '@elephant/testing';
import { attemptUnlessInjected, commitAgainOnConflict, message, touchpoint, transactionalOnStack, type TransactionalOnStack } from './harness.ts';

const ctx = createTestContext('recovery-erasure');
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  await ctx.cleanup();
});

/** What happens to a transaction: sent, or lost (nothing of it committed, the batch fails). */
type Fate = 'send' | 'lose';
/** Decides each transaction's fate when it is about to be sent; may run other batches first. */
type Policy = (batches: readonly OutboundBatch[], offsets: readonly ConsumedOffset[]) => Promise<Fate>;

const AT = Date.UTC(2026, 9, 1);

/** A CRM contact's touchpoint (e-mail and first name: the personal data a snapshot must not keep after an erasure) for `profileId`. */
function contact(profileId: string, name: string): ResolvedTouchpoint {
  return {
    profileId,
    touchpoint: touchpoint('crm', { type: 'created', id: `crm-event-${name}`, occurredAt: new Date(AT).toISOString(), contact: { id: `crm-${name}`, firstName: name, emails: [`${name.toLowerCase()}@recovery-erasure.dev`] } }),
    excludedIdentifiers: [],
    resolvedAt: AT,
  };
}

function mergeOf(mergeId: string, survivorProfileId: string, mergedProfileIds: string[]): IdentityMerge {
  return { mergeId, tenant: 'acme', survivorProfileId, mergedProfileIds, linkingIdentifiers: [], rule: 'shared-identifier', triggeringEventId: `${mergeId}-event`, mergedAt: AT + 60_000 };
}

/** The builder's handler over `scope`'s topics (`partitions` each), every transaction's fate decided by `policy` (set by the test). */
async function builderOf(scope: string, partitions: number) {
  const setup: TransactionalOnStack = await transactionalOnStack(ctx, scope, partitions);
  closers.push(setup.close);
  const { config, topics, registry, schemaIds, redis, committed } = setup;
  const group = new TransactionGroup(setup.producer);
  const background = new BackgroundWork();
  const state: { policy: Policy } = { policy: () => Promise.resolve('send') };
  const handler = createBuilderHandler({
    topics,
    store: new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS),
    registry,
    schemaIds,
    transactions: {
      commit: async (batches, offsets) => {
        if ((await state.policy(batches, offsets)) === 'lose') throw new KafkaError('KAFKA_UNAVAILABLE', 'injected: transaction lost', { retryable: true });
        await commitAgainOnConflict(group, batches, offsets);
      },
    },
    metrics: createBuilderMetrics(createMetricsRegistry()),
    logger: ctx.logger,
    now: () => AT + 3_600_000,
    states: new StateCache(100),
    committedOffset: (topic, partition) => committed.get(topic, partition),
    background,
  });
  const store = new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS);
  /**
   * Runs one batch of `topic`'s `partition` (its records from `firstOffset`) as the consumer
   * would (attemptUnlessInjected), each attempt followed by what it left running (outbox
   * deletions, tombstones sent again).
   */
  const run = (topic: string, partition: number, firstOffset: number, values: readonly Buffer[]): Promise<string> => {
    const messages: KafkaMessage[] = values.map((value, index) => message(firstOffset + index, value));
    const nextOffset = String(firstOffset + values.length);
    return attemptUnlessInjected(async () => {
      try {
        await handler({ topic, partition, messages }, { signal: new AbortController().signal, groupId: config.CONSUMER_GROUP, nextOffset });
      } finally {
        await background.drained();
      }
    });
  };
  const feed = {
    touchpoints: (partition: number, firstOffset: number, records: readonly ResolvedTouchpoint[]) => run(topics.resolved, partition, firstOffset, records.map((record) => registry.encode(schemaIds.resolved, record))),
    merges: (partition: number, firstOffset: number, merges: readonly IdentityMerge[]) => run(topics.merges, partition, firstOffset, merges.map((merge) => registry.encode(schemaIds.merge, merge))),
    erasures: (partition: number, firstOffset: number, profileIds: readonly string[]) =>
      run(topics.erasures, partition, firstOffset, profileIds.map((profileId) => registry.encode(schemaIds.erasure, { requestId: `gdpr-${profileId}`, tenant: 'acme', profileId, requestedAt: AT + 30_000, reason: null }))),
  };
  /** Every record of the snapshots topic, by key, in order: the decoded snapshot or null (a tombstone). */
  const snapshots = async (): Promise<Map<string, (ProfileSnapshot | null)[]>> => {
    const byKey = new Map<string, (ProfileSnapshot | null)[]>();
    for (const record of await readToEnd(ctx.kafka, topics.snapshots)) {
      const key = record.key?.toString() ?? '';
      const list = byKey.get(key) ?? [];
      byKey.set(key, list);
      list.push(record.value ? await registry.decode<ProfileSnapshot>(record.value) : null);
    }
    return byKey;
  };
  return { topics, store, state, feed, snapshots };
}

/** Whether a transaction commits the offset of an input topic's partition. */
const commitsOffsetOf = (offsets: readonly ConsumedOffset[], topic: string, partition: number): boolean => offsets.some((offset) => offset.topic === topic && offset.partition === partition);

/** Fails the first transaction of each input topic named, once. */
function loseFirstOf(topics: BuilderTopics, names: readonly ('merges' | 'erasures')[]): Policy {
  const left = new Set(names.map((name) => topics[name]));
  return (_batches, offsets) => {
    const hit = [...left].find((topic) => offsets.some((offset) => offset.topic === topic));
    if (hit === undefined) return Promise.resolve('send');
    left.delete(hit);
    return Promise.resolve('lose');
  };
}

describe('profile builder outbox recovery and erasure', () => {
  it('regression (recovery skipped a merge of a survivor erased since, and with it the tombstones of the merged profiles): the absorbed profile\'s snapshot ends tombstoned when the merge\'s and the erasure\'s transactions failed on the same partition', async () => {
    const { topics, state, feed, snapshots } = await builderOf('same-partition', 1);
    expect(await feed.touchpoints(0, 0, [contact('p-a', 'Ann'), contact('p-s', 'Sam')])).toBe('ok');
    state.policy = loseFirstOf(topics, ['merges', 'erasures']);
    // The merge A → S commits to Redis; its transaction is lost (its update waits in the outbox).
    expect(await feed.merges(0, 0, [mergeOf('m-1', 'p-s', ['p-a'])])).toMatch('injected');
    // The erasure of S: recovery republishes the merge, S (and A, folded into it) are erased in
    // Redis; this transaction is lost too.
    expect(await feed.erasures(0, 0, ['p-s'])).toMatch('injected');
    // Retried: recovery finds S erased and the merge update still in the outbox.
    expect(await feed.erasures(0, 0, ['p-s'])).toBe('ok');
    // The merge batch retried finds the merge applied: nothing more from it.
    expect(await feed.merges(0, 0, [mergeOf('m-1', 'p-s', ['p-a'])])).toBe('ok');

    const byKey = await snapshots();
    expect(byKey.get('p-a')?.[0]?.traits.email).toBe('ann@recovery-erasure.dev');
    expect(byKey.get('p-a')?.at(-1)).toBeNull();
    expect(byKey.get('p-s')?.at(-1)).toBeNull();
  });

  it('regression (recovery skipped a merge of a survivor erased since): the absorbed profile\'s snapshot ends tombstoned when the survivor was absorbed into an erased profile on another partition while its merge\'s transaction was failing', async () => {
    const { topics, state, feed, snapshots } = await builderOf('other-partition', 3);
    expect(await feed.touchpoints(2, 0, [contact('p-a', 'Ann')])).toBe('ok');
    expect(await feed.touchpoints(0, 0, [contact('p-s', 'Sam')])).toBe('ok');
    expect(await feed.touchpoints(1, 0, [contact('p-t', 'Tom')])).toBe('ok');
    state.policy = loseFirstOf(topics, ['merges']);
    expect(await feed.merges(0, 0, [mergeOf('m-1', 'p-s', ['p-a'])])).toMatch('injected');
    // Before S's partition runs again: T is erased, and the merge S → T finds T erased and erases S.
    expect(await feed.erasures(1, 0, ['p-t'])).toBe('ok');
    expect(await feed.merges(1, 0, [mergeOf('m-2', 'p-t', ['p-s'])])).toBe('ok');
    expect(await feed.merges(0, 0, [mergeOf('m-1', 'p-s', ['p-a'])])).toBe('ok');

    const byKey = await snapshots();
    expect(byKey.get('p-a')?.[0]?.traits.email).toBe('ann@recovery-erasure.dev');
    expect(byKey.get('p-a')?.at(-1)).toBeNull();
    expect(byKey.get('p-s')?.at(-1)).toBeNull();
    expect(byKey.get('p-t')?.at(-1)).toBeNull();
  });

  it.each([
    { recoveredBy: 'the failed batch itself, retried', scope: 'confirm-own', via: 'resolved', entry: (topics: BuilderTopics) => `${topics.resolved}|1|p-a`, nextFrom: 1 },
    { recoveredBy: 'an erasure batch of the partition, which adopts the entry', scope: 'confirm-adopted', via: 'erasures', entry: (topics: BuilderTopics) => `${topics.erasures}|1|${topics.resolved}|1|p-a`, nextFrom: 0 },
  ] as const)('regression (a recovered outbox entry was deleted whether or not its profile was gone): the snapshot that $recoveredBy republished after its profile was erased elsewhere is tombstoned by the next batch when the tombstone sent after it fails', async ({ scope, via, entry, nextFrom }) => {
    const { topics, store, state, feed, snapshots } = await builderOf(scope, 3);
    // S lives on partition 1 and is erased there.
    expect(await feed.touchpoints(1, 0, [contact('p-s', 'Sam')])).toBe('ok');
    expect(await feed.erasures(1, 0, ['p-s'])).toBe('ok');
    // A's batch on partition 2 commits to Redis; its transaction is lost.
    let lost = false;
    state.policy = (_batches, offsets) => {
      if (lost || !commitsOffsetOf(offsets, topics.resolved, 2)) return Promise.resolve('send');
      lost = true;
      return Promise.resolve('lose');
    };
    expect(await feed.touchpoints(2, 0, [contact('p-a', 'Ann')])).toMatch('injected');
    // Recovery loads A (live) and republishes its update and snapshot. Between that load and its
    // transaction, the merge A → S is applied on partition 1: S was erased, so A is erased and
    // tombstoned there, before A's snapshot reaches the broker. The tombstone A's partition then
    // sends again, after its snapshot, fails.
    let raced: string | undefined;
    let tombstoneLost = false;
    state.policy = async (batches, offsets) => {
      if (raced === undefined && commitsOffsetOf(offsets, topics[via], 2)) {
        raced = await feed.merges(1, 0, [mergeOf('m-1', 'p-s', ['p-a'])]);
        return 'send';
      }
      const tombstones = offsets.length === 0 && batches.every((batch) => batch.topic === topics.snapshots && batch.messages.every((sent) => sent.value === null));
      if (raced !== undefined && !tombstoneLost && tombstones) {
        tombstoneLost = true;
        return 'lose';
      }
      return 'send';
    };
    expect(await (via === 'resolved' ? feed.touchpoints(2, 0, [contact('p-a', 'Ann')]) : feed.erasures(2, 0, ['p-x']))).toBe('ok');
    expect(raced).toBe('ok');
    expect(tombstoneLost).toBe(true);
    // The entry that republished A's snapshot stays: its profile is gone and no tombstone followed.
    expect([...(await store.outbox('acme', 2)).keys()]).toEqual([entry(topics)]);
    expect((await snapshots()).get('p-a')?.at(-1)?.traits.email).toBe('ann@recovery-erasure.dev');

    // The partition's next touchpoint batch (the lost one again, if nothing committed its offset
    // yet, and a new record) finds the entry published, its profile gone: the tombstone goes in its transaction.
    state.policy = () => Promise.resolve('send');
    expect(await feed.touchpoints(2, nextFrom, [contact('p-a', 'Ann'), contact('p-b', 'Bea')].slice(nextFrom))).toBe('ok');
    const byKey = await snapshots();
    expect(byKey.get('p-a')?.at(-1)).toBeNull();
    expect(byKey.get('p-b')?.at(-1)?.traits.email).toBe('bea@recovery-erasure.dev');
    expect((await store.outbox('acme', 2)).size).toBe(0);
  });
});
