/**
 * A merge record the builder cannot fold, through its batch handler on the real stack: one
 * that names its survivor among the profiles it absorbs. The resolver never writes one, but the
 * merges topic is an input like any other. Regression: foldMerge's INVALID_MERGE, a
 * non-retryable error, stopped the builder, and every builder that took the partition after it.
 * Now it is dead-lettered with its original bytes, and the merges after it are folded.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { IdentityMerge, ResolvedTouchpoint } from '@elephant/identity';
import { DEAD_LETTER_HEADERS, headerText, readToEnd } from '@elephant/kafka';
import type { ProfileUpdate } from '@elephant/profiles';
import { createTestContext } from '@elephant/testing';
import { decodeAll, handlerOnStack, message, touchpoint } from './harness.ts';

const ctx = createTestContext('invalid-merge');
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  await ctx.cleanup();
});

const AT = Date.UTC(2026, 9, 1);

function identify(profileId: string): ResolvedTouchpoint {
  return {
    profileId,
    touchpoint: touchpoint('web', { type: 'identify', messageId: `w-${profileId}`, userId: `u-${profileId}`, timestamp: new Date(AT).toISOString(), traits: { firstName: profileId } }),
    excludedIdentifiers: [],
    resolvedAt: AT,
  };
}

describe('profile builder, invalid merges', () => {
  it('dead-letters a merge that names its survivor among the merged profiles, and folds the next merge of the batch', async () => {
    const stack = await handlerOnStack(ctx, 'self');
    closers.push(() => stack.close());
    const { registry, schemaIds, topics, metrics } = stack;
    const touchpoints = ['p-a', 'p-b'].map((profileId, index) => message(index, registry.encode(schemaIds.resolved, identify(profileId))));
    await stack.run(touchpoints, touchpoints.length);
    const merge = (mergeId: string, survivorProfileId: string, mergedProfileIds: string[]): IdentityMerge => ({ mergeId, tenant: 'acme', survivorProfileId, mergedProfileIds, linkingIdentifiers: [], rule: 'match', triggeringEventId: `e-${mergeId}`, mergedAt: AT + 60_000 });
    const merges = [merge('m-self', 'p-a', ['p-a']), merge('m-1', 'p-a', ['p-b'])].map((value, index) => message(index, registry.encode(schemaIds.merge, value)));
    await stack.run(merges, merges.length, topics.merges);

    const [dead, ...others] = await readToEnd(ctx.kafka, topics.deadLetters);
    expect(others).toEqual([]);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.code)).toBe('INVALID_MERGE');
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.message)).toBe('Merge m-self: mergedProfileIds names the survivor p-a');
    expect(dead?.value).toEqual(merges[0]?.value);
    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.filter((update) => update.kind === 'merge').map((update) => [update.profileId, update.causeEventId, update.mergedProfileIds])).toEqual([['p-a', 'm-1', ['p-b']]]);
    expect((await metrics.getSingleMetric('elephant_builder_dead_lettered_total')?.get())?.values).toEqual([{ value: 1, labels: { reason: 'INVALID_MERGE' } }]);
  });
});
