/**
 * The outbox, deterministically: a batch's Redis commit succeeds and its Kafka transaction
 * then fails (as if the builder died between the two), or the transaction commits and the
 * builder fails before it deletes the outbox entries. Either way each update must reach a
 * read_committed subscriber exactly once, in version order, and the counters stay exact.
 * With PROCESSING_GUARANTEE=at_least_once the same failures of the send: nothing is lost, and
 * an update published again is the same record (profile, version, bytes) as the first time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaError, consumerGroupLag, readToEnd, type KafkaMessage } from '@elephant/kafka';
import type { ProfileUpdate } from '@elephant/profiles';
import { topicsOf, type OutputCommits } from '@elephant/profile-builder';
import { connectRedis } from '@elephant/redis';
import { createTestContext, waitUntil } from '@elephant/testing';
import { decodeAll, startPipeline, touchpoint, type Pipeline } from './harness.ts';

const ctx = createTestContext('outbox');
const pipelines: Pipeline[] = [];

afterAll(async () => {
  await Promise.all(pipelines.map((pipeline) => pipeline.stop()));
  for (const pipeline of pipelines) expect(pipeline.fatal).toEqual([]);
  await ctx.cleanup();
});

/** Fails the first `times` commits of outputs: before committing (`lost`) or after (`unconfirmed`). */
function failing(mode: 'lost' | 'unconfirmed', times: number): { wrap: (group: OutputCommits) => OutputCommits; failures: () => number } {
  let failures = 0;
  return {
    failures: () => failures,
    wrap: (group) => ({
      commit: async (batches, offsets) => {
        if (failures < times && batches.some((batch) => batch.messages.length > 0)) {
          failures += 1;
          if (mode === 'unconfirmed') await group.commit(batches, offsets);
          throw new KafkaError('KAFKA_UNAVAILABLE', `injected: transaction ${mode === 'lost' ? 'lost' : 'committed, then the process failed'}`, { retryable: true });
        }
        return group.commit(batches, offsets);
      },
    }),
  };
}

const purchases = (count: number) =>
  Array.from({ length: count }, (_, index) =>
    touchpoint('pos', { type: 'purchase', id: `txn-${index}`, occurredAt: new Date(Date.UTC(2026, 9, 1 + index)).toISOString(), storeId: 's-1', loyaltyCard: 'LC-7', currency: 'USD', lineItems: [{ productId: `p-${index}`, name: 'Item', quantity: 1, unitPrice: 10 }], total: 10 }),
  );

/**
 * `duplicates`: whether updates may be published twice (at_least_once after a send that went
 * out and then reported a failure); each copy must then be the same record as the first.
 */
async function check(pipeline: Pipeline, scope: string, events: number, failures: () => number, duplicates: 'none' | 'expected' = 'none'): Promise<void> {
  const topics = topicsOf(pipeline.config);
  const prefix = pipeline.resolver.graph.tenantPrefix('acme');
  let profileId: string | undefined;
  let mine: ProfileUpdate[] = [];
  await waitUntil(
    async () => {
      profileId ??= await pipeline.resolver.graph.profileOf('acme', { type: 'loyalty_card', value: 'LC7' });
      if (profileId === undefined) return false;
      const updates = await decodeAll<ProfileUpdate>(pipeline.registry, await readToEnd(ctx.kafka, topics.updates));
      mine = updates.filter((update) => update.profileId === profileId);
      return mine.length >= events;
    },
    { timeoutMs: 60000, intervalMs: 500, message: `${scope}: the updates of the profile` },
  );
  // Settled: the injected failure happened, the builder caught up, and the batch that met it was
  // processed again (its outbox entries are deleted only after that attempt's transaction
  // committed, so a duplicate it published would be visible now).
  const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
  const outboxEntries = async (): Promise<number> => {
    let total = 0;
    for (const key of await redis.keys(`${prefix}ob:*`)) total += await redis.hlen(key);
    return total;
  };
  try {
    await waitUntil(async () => failures() >= 1 && (await outboxEntries()) === 0 && (await consumerGroupLag(ctx.kafka, pipeline.config.CONSUMER_GROUP, [topics.resolved, topics.merges])) === 0, {
      timeoutMs: 60000,
      intervalMs: 200,
      message: `${scope}: the builder to settle`,
    });
  } finally {
    redis.disconnect();
  }
  const records: KafkaMessage[] = (await readToEnd(ctx.kafka, topics.updates)).filter((record) => record.key?.toString() === profileId);
  mine = await decodeAll<ProfileUpdate>(pipeline.registry, records);
  const versions = mine.map((update) => update.version);
  const expected = Array.from({ length: events }, (_, index) => index + 1);
  if (duplicates === 'none') {
    expect(versions).toEqual(expected);
  } else {
    // In order, each version at least once, and at least one of them again (the injected
    // failure came after the records went out); a copy is the same bytes as the first.
    expect([...new Set(versions)]).toEqual(expected);
    expect(versions.length).toBeGreaterThan(events);
    const first = new Map<number, string>();
    records.forEach((record, index) => {
      const bytes = record.value?.toString('base64') ?? '';
      const version = versions[index] as number;
      expect(bytes, `version ${version}`).toBe(first.get(version) ?? bytes);
      first.set(version, bytes);
    });
  }
  const verify = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
  try {
    const state = JSON.parse((await verify.hget(`${prefix}ps:${profileId ?? ''}`, 's')) ?? '{}') as { computed: { ordersCount: number; lifetimeValue: Record<string, number> } };
    expect(state.computed.ordersCount).toBe(events);
    expect(state.computed.lifetimeValue['USD']).toBe(events * 1000);
    // Every outbox entry was deleted once published.
    const outboxes = await verify.keys(`${prefix}ob:*`);
    for (const key of outboxes) expect(await verify.hlen(key), key).toBe(0);
  } finally {
    verify.disconnect();
  }
}

describe.each([
  { guarantee: 'exactly_once', scope: '', output: 'a transaction', repeats: 'none', confirmed: 'does not publish again what a transaction committed when the builder failed before confirming it' },
  { guarantee: 'at_least_once', scope: 'alo-', output: 'a send', repeats: 'expected', confirmed: 'publishes again, as the same records, what went out before the builder failed, and loses nothing' },
] as const)('profile builder outbox, $guarantee', ({ guarantee, scope, output, repeats, confirmed }) => {
  const env = { PROCESSING_GUARANTEE: guarantee };

  it(`publishes the updates of ${output} that failed after Redis committed, once`, async () => {
    const fault = failing('lost', 2);
    const pipeline = await startPipeline(ctx, `${scope}lost`, { builder: { wrapCommits: fault.wrap }, builderEnv: env });
    pipelines.push(pipeline);
    await pipeline.publish(purchases(6));
    await check(pipeline, `${scope}lost`, 6, fault.failures);
    expect(fault.failures()).toBeGreaterThanOrEqual(1);
    // The consumer's retry of the failed batch finds its touchpoints applied in Redis: before,
    // they counted as duplicates and never as applied; their updates are the republished ones.
    const registry = pipeline.builders[0]?.metrics;
    const counted = async (name: string, outcome?: string): Promise<number> => {
      const metric = (await registry?.getMetricsAsJSON())?.find((entry) => entry.name === name);
      return (metric?.values ?? []).filter((value) => outcome === undefined || value.labels['outcome'] === outcome).reduce((sum, value) => sum + Number(value.value), 0);
    };
    expect(await counted('elephant_builder_touchpoints_total', 'applied')).toBe(6);
    expect(await counted('elephant_builder_touchpoints_total', 'duplicate')).toBe(0);
    expect(await counted('elephant_builder_republished_total')).toBeGreaterThanOrEqual(1);
    const delays = (await registry?.getMetricsAsJSON())?.find((entry) => entry.name === 'elephant_builder_update_delay_seconds');
    expect(delays?.values.find((value) => (value as { metricName?: string }).metricName === 'elephant_builder_update_delay_seconds_count')?.value).toBe(6);
  });

  it(confirmed, async () => {
    const fault = failing('unconfirmed', 2);
    const pipeline = await startPipeline(ctx, `${scope}unconfirmed`, { builder: { wrapCommits: fault.wrap }, builderEnv: env });
    pipelines.push(pipeline);
    await pipeline.publish(purchases(6));
    await check(pipeline, `${scope}unconfirmed`, 6, fault.failures, repeats);
    expect(fault.failures()).toBeGreaterThanOrEqual(1);
  });
});
