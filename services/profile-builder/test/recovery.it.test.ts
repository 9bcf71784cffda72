/**
 * Outbox recovery across input topics, deterministically, by driving the builder's batch
 * handler by hand: a touchpoint batch of two tenants has its transaction lost after Redis
 * committed; a merge batch of the same partition number, of one tenant, then republishes that
 * tenant's updates, and its transaction commits but reports a failure (the builder dying before
 * it deletes the outbox entries); the touchpoint batch comes again. Each update must be
 * published exactly once: the merge batch renames the entries it republishes after itself, so
 * the touchpoint batch sees them as published (not as unpublished: published twice), while the
 * other tenant's entries keep the touchpoint batch's name (not seen as published: lost).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { IdentityMerge, ResolvedTouchpoint } from '@elephant/identity';
import { KafkaError, TransactionGroup, readToEnd } from '@elephant/kafka';
import { createMetricsRegistry } from '@elephant/observability';
import type { ProfileUpdate } from '@elephant/profiles';
import { MembershipEndedError, ProfileStore, StateCache, createBuilderHandler, createBuilderMetrics, type OutputCommits } from '@elephant/profile-builder';
import { createTestContext } from '@elephant/testing';
import { attemptUnlessInjected, commitAgainOnConflict, decodeAll, message, touchpoint, transactionalOnStack, type TransactionalOnStack } from './harness.ts';

const ctx = createTestContext('recovery');
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  await ctx.cleanup();
});

/** A builder's topics (one partition each), schemas, Redis, transactional producer and committed offsets, closed after the tests. */
async function builderSetup(name: string) {
  const setup = await transactionalOnStack(ctx, name);
  closers.push(setup.close);
  return { ...setup, group: new TransactionGroup(setup.producer) };
}

/** The builder's batch handler over `setup`, its transactions committed by `commit`. */
function handlerOf(setup: TransactionalOnStack, commit: OutputCommits['commit'], metrics = createMetricsRegistry()) {
  return createBuilderHandler({
    topics: setup.topics,
    store: new ProfileStore(setup.redis, setup.config.REDIS_KEY_PREFIX, setup.config.OUTBOX_TTL_SECONDS),
    registry: setup.registry,
    schemaIds: setup.schemaIds,
    transactions: { commit },
    metrics: createBuilderMetrics(metrics),
    logger: ctx.logger,
    now: Date.now,
    states: new StateCache(100),
    committedOffset: (topic, partition) => setup.committed.get(topic, partition),
  });
}

describe('profile builder outbox recovery across input topics', () => {
  it('publishes a lost transaction’s updates once when a batch of another input topic recovers some of them and then fails before deleting them', async () => {
    const setup = await builderSetup('cross');
    const { config, topics, registry, schemaIds, redis, committed, group } = setup;
    // What each transaction does, in order: lost (nothing committed), committed then reported as failed, fine.
    const faults: ('lost' | 'unconfirmed')[] = ['lost', 'unconfirmed'];
    const handler = handlerOf(setup, async (batches, offsets) => {
      const fault = faults.shift();
      if (fault === 'lost') throw new KafkaError('KAFKA_UNAVAILABLE', 'injected: transaction lost', { retryable: true });
      await commitAgainOnConflict(group, batches, offsets);
      if (fault === 'unconfirmed') throw new KafkaError('KAFKA_UNAVAILABLE', 'injected: transaction unconfirmed', { retryable: true });
    });
    const context = (nextOffset: number) => ({ signal: new AbortController().signal, groupId: config.CONSUMER_GROUP, nextOffset: String(nextOffset) });

    const purchases = [1, 2, 3].map((day): ResolvedTouchpoint => ({
      profileId: 'profile-1',
      touchpoint: touchpoint('pos', { type: 'purchase', id: `txn-${day}`, occurredAt: new Date(Date.UTC(2026, 9, day)).toISOString(), storeId: 's-1', loyaltyCard: 'LC-7', currency: 'USD', lineItems: [{ productId: `p-${day}`, name: 'Item', quantity: 1, unitPrice: 10 }], total: 10 }),
      excludedIdentifiers: [],
      resolvedAt: Date.UTC(2026, 10, 2),
    }));
    // A second tenant in the same batch, whose outbox the merge batch never looks at.
    const [first] = purchases;
    if (!first) throw new Error('no purchase');
    const other: ResolvedTouchpoint = { ...first, profileId: 'profile-2', touchpoint: { ...first.touchpoint, tenant: 'beta', eventId: `${first.touchpoint.eventId}-beta` } };
    const touchpointBatch = { topic: topics.resolved, partition: 0, messages: [...purchases, other].map((value, index) => message(index, registry.encode(schemaIds.resolved, value))) };
    // A merge of profiles this builder never saw (it folds two empty profiles): its batch recovers the outbox of partition 0 first.
    const unrelated: IdentityMerge = { mergeId: 'merge-1', tenant: 'acme', survivorProfileId: 'profile-9', mergedProfileIds: ['profile-8'], linkingIdentifiers: [], rule: 'shared-identifier', triggeringEventId: 'event-9', mergedAt: Date.UTC(2026, 10, 2) };
    const mergeBatch = { topic: topics.merges, partition: 0, messages: [message(0, registry.encode(schemaIds.merge, unrelated))] };

    expect(await attemptUnlessInjected(() => handler(touchpointBatch, context(4)))).toMatch('transaction lost');
    expect(await attemptUnlessInjected(() => handler(mergeBatch, context(1)))).toMatch('transaction unconfirmed');
    // The acme entries now name the merge batch, whose offset its transaction committed; beta's
    // keep the touchpoint batch's, whose offset nothing committed.
    const store = new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS);
    const acme = [...(await store.outbox('acme', 0)).keys()];
    expect(acme).toContain(`${topics.merges}|1|${topics.resolved}|4|profile-1`);
    expect(acme.filter((field) => !field.startsWith(`${topics.merges}|1|`))).toEqual([]);
    expect([...(await store.outbox('beta', 0)).keys()]).toEqual([`${topics.resolved}|4|profile-2`]);
    expect(await committed.get(topics.resolved, 0)).toBe(-1n);
    expect(await attemptUnlessInjected(() => handler(touchpointBatch, context(4)))).toBe('ok');
    expect(await attemptUnlessInjected(() => handler(mergeBatch, context(1)))).toBe('ok');

    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.filter((entry) => entry.profileId === 'profile-1').map((entry) => entry.version)).toEqual([1, 2, 3]);
    expect(updates.filter((entry) => entry.profileId === 'profile-2').map((entry) => entry.version)).toEqual([1]);
    expect(updates.filter((entry) => entry.profileId === 'profile-9').map((entry) => entry.kind)).toEqual(['merge']);
    expect(faults).toEqual([]);
    expect((await store.outbox('acme', 0)).size + (await store.outbox('beta', 0)).size).toBe(0);
  });

  it('regression (a batch still running when the rejoin\'s wait timed out committed its transaction, offsets included, after the partition moved): a batch whose membership ended sends nothing, and its updates wait in the outbox for the partition\'s owner', async () => {
    const setup = await builderSetup('moved');
    const { config, topics, registry, schemaIds, redis, committed, group } = setup;
    const metricsRegistry = createMetricsRegistry();
    let commits = 0;
    const handler = handlerOf(
      setup,
      async (batches, offsets) => {
        commits += 1;
        await group.commit(batches, offsets);
      },
      metricsRegistry,
    );
    const purchase: ResolvedTouchpoint = {
      profileId: 'profile-1',
      touchpoint: touchpoint('pos', { type: 'purchase', id: 'txn-moved', occurredAt: new Date(Date.UTC(2026, 9, 1)).toISOString(), storeId: 's-1', loyaltyCard: 'LC-7', currency: 'USD', lineItems: [{ productId: 'p-1', name: 'Item', quantity: 1, unitPrice: 10 }], total: 10 }),
      excludedIdentifiers: [],
      resolvedAt: Date.UTC(2026, 10, 2),
    };
    const batch = { topic: topics.resolved, partition: 0, messages: [message(0, registry.encode(schemaIds.resolved, purchase))] };
    const ended = new AbortController();
    ended.abort();
    const moved = handler(batch, { signal: new AbortController().signal, groupId: config.CONSUMER_GROUP, nextOffset: '1', membership: ended.signal });
    await expect(moved).rejects.toBeInstanceOf(MembershipEndedError);
    await expect(moved).rejects.toMatchObject({ code: 'MEMBERSHIP_ENDED', retryable: true });
    expect(commits).toBe(0);
    const store = new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS);
    expect([...(await store.outbox('acme', 0)).keys()]).toEqual([`${topics.resolved}|1|profile-1`]);
    // The partition's owner gets the batch again: the update is published once, from the outbox.
    expect(await attemptUnlessInjected(() => handler(batch, { signal: new AbortController().signal, groupId: config.CONSUMER_GROUP, nextOffset: '1', membership: new AbortController().signal }))).toBe('ok');
    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.map((update) => [update.profileId, update.version])).toEqual([['profile-1', 1]]);
    expect(await committed.get(topics.resolved, 0)).toBe(1n);
    // Its own entries, published by its next attempt: not counted as a transaction's that did not commit.
    const republished = (await metricsRegistry.getMetricsAsJSON()).find((entry) => entry.name === 'elephant_builder_republished_total');
    expect((republished?.values ?? []).reduce((sum, value) => sum + Number(value.value), 0)).toBe(0);
  });

  it('commits a batch\'s offsets with the generation it was fetched under, which fences the transaction (KIP-447)', async () => {
    const setup = await builderSetup('generation');
    const { config, topics, registry, schemaIds } = setup;
    const sent: unknown[] = [];
    const handler = handlerOf(setup, (_batches, offsets) => {
      sent.push(...offsets);
      return Promise.resolve();
    });
    const purchase: ResolvedTouchpoint = {
      profileId: 'profile-1',
      touchpoint: touchpoint('pos', { type: 'purchase', id: 'txn-generation', occurredAt: new Date(Date.UTC(2026, 9, 1)).toISOString(), storeId: 's-1', loyaltyCard: 'LC-7', currency: 'USD', lineItems: [{ productId: 'p-1', name: 'Item', quantity: 1, unitPrice: 10 }], total: 10 }),
      excludedIdentifiers: [],
      resolvedAt: Date.UTC(2026, 10, 2),
    };
    const generation = { generationId: 4, memberId: 'member-4' };
    await handler({ topic: topics.resolved, partition: 0, messages: [message(0, registry.encode(schemaIds.resolved, purchase))] }, { signal: new AbortController().signal, groupId: config.CONSUMER_GROUP, nextOffset: '1', generation });
    expect(sent).toEqual([{ groupId: config.CONSUMER_GROUP, topic: topics.resolved, partition: 0, offset: '1', generation }]);
  });
});
