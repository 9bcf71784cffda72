/**
 * A profile's size limit, through the builder's batch handler on the real stack. Regression:
 * nothing bounded a profile (trait values of any length, ever new preference keys): one that
 * grew past the broker's record limit failed its snapshot's send, again on every retry, and
 * blocked its partition. Now a touchpoint that would take the state or an update over MAX_PROFILE_BYTES
 * is dead-lettered with its original bytes, and the profile, the batch and the partition go on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedTouchpoint } from '@elephant/identity';
import { DEAD_LETTER_HEADERS, headerText, readToEnd, type KafkaMessage } from '@elephant/kafka';
import type { ProfileUpdate } from '@elephant/profiles';
import { ProfileStore } from '@elephant/profile-builder';
import { createTestContext } from '@elephant/testing';
import { decodeAll, handlerOnStack, message, touchpoint } from './harness.ts';

const ctx = createTestContext('profile-size');
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  await ctx.cleanup();
});

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
});
