/**
 * Regression (2026-12-07): a builder whose output topics take smaller records than the broker's
 * default (max.message.bytes lowered, MAX_RECORD_BYTES under it as docs/operations.md asks)
 * sent a backlog's updates of one partition in one record batch of up to 900 KiB, which the
 * broker refused whole (MESSAGE_TOO_LARGE) though every record fitted: a non-retryable
 * KAFKA_RECORD_REJECTED, and the builder exited, again after every restart. Its produce
 * requests are now cut at MAX_RECORD_BYTES too.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { topicsOf } from '@elephant/profile-builder';
import { readToEnd } from '@elephant/kafka';
import { createTestContext, waitUntil } from '@elephant/testing';
import { envOf, startPipeline, touchpoint, type Pipeline } from './harness.ts';

const ctx = createTestContext('builder-request-size');
const pipelines: Pipeline[] = [];

afterAll(async () => {
  await Promise.all(pipelines.map((pipeline) => pipeline.stop()));
  await ctx.cleanup();
});

describe('profile builder produce requests', () => {
  it.each(['at_least_once', 'exactly_once'])('sends a backlog to output topics with a small max.message.bytes in record batches under it (%s)', async (guarantee) => {
    const scope = `small-records-${guarantee}`;
    const prefix = envOf(ctx, scope)['TOPIC_PREFIX'] ?? '';
    const limit = { 'max.message.bytes': '20000' };
    await ctx.createTopics([
      { topic: `${prefix}profiles.updates.v1`, partitions: 4, configs: limit },
      { topic: `${prefix}profiles.snapshots.v1`, partitions: 4, cleanupPolicy: 'compact', configs: limit },
    ]);
    const pipeline = await startPipeline(ctx, scope, { builderEnv: { MAX_RECORD_BYTES: '16000', MAX_PROFILE_BYTES: '12000', PROCESSING_GUARANTEE: guarantee } });
    pipelines.push(pipeline);
    const topics = topicsOf(pipeline.config);
    expect(topics.updates).toBe(`${prefix}profiles.updates.v1`);
    // A backlog: the builder stopped while the resolver resolves 400 people's touchpoints.
    await Promise.all(pipeline.builders.splice(0).map((builder) => builder.stop()));
    const people = 400;
    const at = Date.UTC(2026, 9, 1);
    await pipeline.publish(Array.from({ length: people }, (_, index) => touchpoint('web', { type: 'identify', messageId: `w-${index}`, userId: `u-${index}`, timestamp: new Date(at + index * 1000).toISOString(), traits: { firstName: `First-${index}`, lastName: 'x'.repeat(200) } })));
    await waitUntil(async () => (await readToEnd(ctx.kafka, topics.resolved)).length === people, { timeoutMs: 60000, message: 'the resolved touchpoints' });
    await pipeline.startBuilder();
    await waitUntil(async () => pipeline.fatal.length > 0 || (await readToEnd(ctx.kafka, topics.updates)).length === people, { timeoutMs: 60000, message: 'every update, or the builder stopped' });
    expect(pipeline.fatal).toEqual([]);
  }, 120000);
});
