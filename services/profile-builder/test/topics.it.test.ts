/** The builder's start-up checks of its input topics, on the real broker. */
import { afterAll, describe, expect, it } from 'vitest';
import { isElephantError } from '@elephant/errors';
import { loadConfig, startBuilder, topicsOf } from '@elephant/profile-builder';
import { createTestContext } from '@elephant/testing';
import { envOf } from './harness.ts';

const ctx = createTestContext('builder-topics');
afterAll(() => ctx.cleanup());

describe('profile builder start-up', () => {
  it('refuses to start when its co-partitioned inputs differ in partition count (one profile would have two writers)', async () => {
    const config = loadConfig({ ...envOf(ctx, 'mismatch'), CONSUMER_GROUP: ctx.group('mismatch') });
    const topics = topicsOf(config);
    // The merges topic grown to 8 partitions, the others left at 4 (PARTITIONS).
    await ctx.createTopics([
      { topic: topics.resolved, partitions: 4 },
      { topic: topics.merges, partitions: 8 },
    ]);
    const fatal: Error[] = [];
    let error: unknown;
    try {
      const running = await startBuilder(config, ctx.logger, (failure) => fatal.push(failure));
      await running.stop();
    } catch (caught) {
      error = caught;
    }
    expect(isElephantError(error, 'KAFKA_TOPIC_MISMATCH')).toBe(true);
    expect((error as Error).message).toContain(`${topics.merges} (8 partitions)`);
    expect(fatal).toEqual([]);
  });
});
