/**
 * The builder's profile options from its environment (profileOptionsOf), through its batch
 * handler on the real stack: consent purpose aliases and the list bounds reach every touchpoint
 * it applies. Without them a deployment could not use either (the library had the options, the
 * service passed none).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedTouchpoint } from '@elephant/identity';
import { readToEnd } from '@elephant/kafka';
import type { ProfileSnapshot } from '@elephant/profiles';
import { createTestContext } from '@elephant/testing';
import { decodeAll, handlerOnStack, message, touchpoint } from './harness.ts';

const ctx = createTestContext('options');
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  await ctx.cleanup();
});

describe('profile builder options', () => {
  it('applies CONSENT_PURPOSE_ALIASES and PROFILE_MAX_PRODUCTS to the profiles it builds', async () => {
    const stack = await handlerOnStack(ctx, 'aliases', { CONSENT_PURPOSE_ALIASES: '{"Marketing Email":"email_marketing"}', PROFILE_MAX_PRODUCTS: '1' });
    closers.push(() => stack.close());
    const { registry, schemaIds, topics } = stack;
    const at = (day: number): string => new Date(Date.UTC(2026, 9, day, 10)).toISOString();
    const resolved = (made: ResolvedTouchpoint['touchpoint']): ResolvedTouchpoint => ({ profileId: 'p-options', touchpoint: made, excludedIdentifiers: [], resolvedAt: Date.UTC(2026, 10, 2) });
    const identify = touchpoint('web', { type: 'identify', messageId: 'm-1', userId: 'u-1', timestamp: at(1), context: { consent: { categoryPreferences: { 'Marketing Email': true, Advertising: false } } } });
    const purchase = touchpoint('pos', { type: 'purchase', id: 'txn-1', occurredAt: at(2), storeId: 's-1', loyaltyCard: 'LC-1', currency: 'USD', lineItems: [{ productId: 'sku-1', name: 'One', quantity: 1, unitPrice: 10 }, { productId: 'sku-2', name: 'Two', quantity: 1, unitPrice: 10 }], total: 20 });
    await stack.run([message(0, registry.encode(schemaIds.resolved, resolved(identify))), message(1, registry.encode(schemaIds.resolved, resolved(purchase)))], 2);

    const snapshots = await decodeAll<ProfileSnapshot>(registry, await readToEnd(ctx.kafka, topics.snapshots));
    const last = snapshots.at(-1);
    expect(last?.consent.map((entry) => [entry.purpose, entry.granted])).toEqual([
      ['advertising', false],
      ['email_marketing', true],
    ]);
    expect(last?.computed.products).toHaveLength(1);
    expect(last?.computed.ordersCount).toBe(1);
  });
});
