/**
 * Records the builder cannot apply, through its batch handler on the real stack. The resolver
 * never writes them, but its output topics, and the erasures topic, are inputs like any other.
 * A merge that names its survivor among the profiles it absorbs (regression: foldMerge's
 * INVALID_MERGE, a non-retryable error, stopped the builder, and every builder that took the
 * partition after it); a record whose tenant cannot be its Redis keys' hash tag (the store's
 * scripts failed the same way). Each is dead-lettered with its original bytes, and the records
 * after it are applied.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { IdentityMerge, ResolvedTouchpoint } from '@elephant/identity';
import { DEAD_LETTER_HEADERS, headerText, readToEnd } from '@elephant/kafka';
import type { ProfileUpdate } from '@elephant/profiles';
import { createTestContext } from '@elephant/testing';
import { decodeAll, handlerOnStack, message, touchpoint } from './harness.ts';

const ctx = createTestContext('invalid-input');
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

describe('profile builder, records it cannot apply', () => {
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

  it('dead-letters a merge, an erasure request or a touchpoint whose tenant cannot be its Redis keys\' hash tag, and applies the rest', async () => {
    const stack = await handlerOnStack(ctx, 'tenant');
    closers.push(() => stack.close());
    const { registry, schemaIds, topics, metrics } = stack;
    const bad = '}acme';
    const touchpoint = (tenant: string, profileId: string): ResolvedTouchpoint => {
      const record = identify(profileId);
      return { ...record, touchpoint: { ...record.touchpoint, tenant } };
    };
    await stack.run([touchpoint(bad, 'p-x'), touchpoint('acme', 'p-y')].map((value, index) => message(index, registry.encode(schemaIds.resolved, value))), 2);
    await stack.run([message(0, registry.encode(schemaIds.merge, { mergeId: 'm-x', tenant: bad, survivorProfileId: 'p-x', mergedProfileIds: ['p-z'], linkingIdentifiers: [], rule: 'match', triggeringEventId: 'e-x', mergedAt: AT }))], 1, topics.merges);
    await stack.run([message(0, registry.encode(schemaIds.erasure, { requestId: 'gdpr-x', tenant: bad, profileId: 'p-x', requestedAt: AT, reason: null }))], 1, topics.erasures);

    const dead = await readToEnd(ctx.kafka, topics.deadLetters);
    expect(dead.map((record) => [headerText(record.headers, DEAD_LETTER_HEADERS.code), headerText(record.headers, DEAD_LETTER_HEADERS.message)])).toEqual([
      ['INVALID_TENANT', `Record at offset 0 of ${topics.resolved}/0: tenant "}acme" must not contain { or } (it is the hash tag {<tenant>} of its Redis keys)`],
      ['INVALID_TENANT', `Record at offset 0 of ${topics.merges}/0: tenant "}acme" must not contain { or } (it is the hash tag {<tenant>} of its Redis keys)`],
      ['INVALID_TENANT', `Record at offset 0 of ${topics.erasures}/0: tenant "}acme" must not contain { or } (it is the hash tag {<tenant>} of its Redis keys)`],
    ]);
    const updates = await decodeAll<ProfileUpdate>(registry, await readToEnd(ctx.kafka, topics.updates));
    expect(updates.map((update) => [update.profileId, update.kind])).toEqual([['p-y', 'touchpoint']]);
    expect((await metrics.getSingleMetric('elephant_builder_dead_lettered_total')?.get())?.values).toEqual([{ value: 3, labels: { reason: 'INVALID_TENANT' } }]);
  });
});
