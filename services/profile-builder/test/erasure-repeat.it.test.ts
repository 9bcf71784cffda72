/**
 * An erasure request read again (at_least_once: the builder stopped between its send and the
 * offset commit; or a request sent twice) announces the erasure with the same record, byte for
 * byte, through the builder's batch handler on the real stack. Regression: the repeat's update
 * said when the repeat was applied (`updatedAt`), so the bytes differed from the first's.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedTouchpoint } from '@elephant/identity';
import { readToEnd } from '@elephant/kafka';
import type { ProfileUpdate } from '@elephant/profiles';
import { createTestContext } from '@elephant/testing';
import { decodeAll, handlerOnStack, message, touchpoint } from './harness.ts';

const ctx = createTestContext('erasure-repeat');
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  await ctx.cleanup();
});

const AT = Date.UTC(2026, 9, 1);

describe('profile builder, a repeated erasure request', () => {
  it('publishes the same erasure update, byte for byte, each time the request is read', async () => {
    let clock = AT + 3_600_000;
    const stack = await handlerOnStack(ctx, 'repeat', {}, { now: () => clock });
    closers.push(() => stack.close());
    const { registry, schemaIds, topics } = stack;
    const identify: ResolvedTouchpoint = {
      profileId: 'p-a',
      touchpoint: touchpoint('web', { type: 'identify', messageId: 'w-a', userId: 'u-a', timestamp: new Date(AT).toISOString(), traits: { firstName: 'Ann' } }),
      excludedIdentifiers: [],
      resolvedAt: AT,
    };
    await stack.run([message(0, registry.encode(schemaIds.resolved, identify))], 1);
    const request = message(0, registry.encode(schemaIds.erasure, { requestId: 'gdpr-1', tenant: 'acme', profileId: 'p-a', requestedAt: AT + 60_000, reason: null }));
    await stack.run([request], 1, topics.erasures);
    clock += 5_000;
    await stack.run([request], 1, topics.erasures);

    const records = await readToEnd(ctx.kafka, topics.updates);
    const updates = await decodeAll<ProfileUpdate>(registry, records);
    const erasures = records.filter((_, index) => updates[index]?.kind === 'erasure');
    expect(erasures).toHaveLength(2);
    expect(erasures[1]?.value).toEqual(erasures[0]?.value);
    expect(updates.filter((update) => update.kind === 'erasure').map((update) => [update.version, update.causeEventId, update.updatedAt])).toEqual([
      [2, 'gdpr-1', AT + 3_600_000],
      [2, 'gdpr-1', AT + 3_600_000],
    ]);
  });
});
