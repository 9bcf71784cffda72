/**
 * Two tenants' profiles with the same id, through the builder's batch handler on the real
 * stack. Profile ids are only unique within a tenant (profiles made before ids carried their
 * tenant's namespace are `p<seq>` in every tenant), and the same id is the same Kafka key: both
 * land on one partition and one builder. Regression: the decoded-state cache was keyed by
 * profile id and version only, so the second tenant's profile at version 1 was loaded as the
 * first tenant's state (TENANT_MISMATCH, not retryable: the builder exited, again on restart).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedTouchpoint } from '@elephant/identity';
import { BatchProducer, readToEnd, type KafkaMessage } from '@elephant/kafka';
import { createMetricsRegistry } from '@elephant/observability';
import type { ProfileSnapshot, ProfileUpdate } from '@elephant/profiles';
import { ProfileStore, StateCache, createBuilderHandler, createBuilderMetrics, loadConfig, registerSchemas, topicsOf } from '@elephant/profile-builder';
import { connectRedis } from '@elephant/redis';
import { AvroRegistry } from '@elephant/registry';
import { createTestContext } from '@elephant/testing';
import { decodeAll, envOf, message, touchpoint } from './harness.ts';

const ctx = createTestContext('tenants');
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  await ctx.cleanup();
});

describe('profile builder with two tenants', () => {
  it('keeps two tenants’ profiles of the same id apart (decoded states cached per tenant)', async () => {
    const config = loadConfig({ ...envOf(ctx, 'same-id'), CONSUMER_GROUP: ctx.group('same-id') });
    const topics = topicsOf(config);
    await ctx.createTopics([topics.resolved, topics.merges, topics.erasures, topics.updates, topics.snapshots, topics.deadLetters].map((topic) => ({ topic, partitions: 1 })));
    const registry = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
    const schemaIds = await registerSchemas(registry, topics);
    const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
    const producer = await BatchProducer.connect(ctx.kafka);
    closers.push(async () => {
      await producer.disconnect();
      redis.disconnect();
    });
    const handler = createBuilderHandler({
      topics,
      store: new ProfileStore(redis, config.REDIS_KEY_PREFIX, config.OUTBOX_TTL_SECONDS),
      registry,
      schemaIds,
      // at_least_once: the batch's outputs sent and acknowledged; offsets are not this test's concern.
      transactions: { commit: async (batches) => void (await producer.send(batches)) },
      metrics: createBuilderMetrics(createMetricsRegistry()),
      logger: ctx.logger,
      now: Date.now,
      states: new StateCache(100),
      committedOffset: () => Promise.resolve(-1n),
    });
    const context = (nextOffset: number) => ({ signal: new AbortController().signal, groupId: config.CONSUMER_GROUP, nextOffset: String(nextOffset) });
    const purchase = (tenant: string, day: number, store: string): ResolvedTouchpoint => {
      const made = touchpoint('pos', { type: 'purchase', id: `txn-${tenant}-${day}`, occurredAt: new Date(Date.UTC(2026, 9, day)).toISOString(), storeId: store, loyaltyCard: `LC-${tenant}`, currency: 'USD', lineItems: [{ productId: `sku-${tenant}`, name: 'Item', quantity: 1, unitPrice: 10 }], total: 10 });
      return { profileId: 'p1', touchpoint: { ...made, tenant, eventId: `${made.eventId}-${tenant}` }, excludedIdentifiers: [], resolvedAt: Date.UTC(2026, 10, 2) };
    };
    let offset = 0;
    const batchOf = (value: ResolvedTouchpoint): { topic: string; partition: number; messages: KafkaMessage[] } => {
      offset += 1;
      return { topic: topics.resolved, partition: 0, messages: [message(offset - 1, registry.encode(schemaIds.resolved, value))] };
    };
    // globex p1 at version 1, then acme p1 at version 1 (the last state this process decoded
    // for id p1), then globex p1 again: its stored version 1 is globex's, not acme's.
    await handler(batchOf(purchase('globex', 1, 'g-1')), context(1));
    await handler(batchOf(purchase('acme', 2, 'a-1')), context(2));
    await handler(batchOf(purchase('globex', 3, 'g-2')), context(3));

    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.map((update) => [update.tenant, update.profileId, update.version])).toEqual([
      ['globex', 'p1', 1],
      ['acme', 'p1', 1],
      ['globex', 'p1', 2],
    ]);
    const snapshots = await decodeAll<ProfileSnapshot>(registry, await readToEnd(ctx.kafka, topics.snapshots));
    const last = snapshots.at(-1);
    expect(last?.tenant).toBe('globex');
    expect(last?.computed.ordersCount).toBe(2);
    expect(last?.identities.map((identity) => identity.value)).toEqual(['LCglobex']);
  });
});
