/**
 * What a batch leaves running after it returns (deleting its published outbox entries,
 * tombstoning profiles merged meanwhile) is tracked, so that the builder's stop waits for it
 * before the producer and Redis close. Regression: it ran detached, and a stop disconnected
 * them under it (the deletion failed with a warning; the next owner of the partition published
 * the entries again, as duplicates).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedTouchpoint } from '@elephant/identity';
import { createTestContext } from '@elephant/testing';
import { handlerOnStack, message, touchpoint } from './harness.ts';

const ctx = createTestContext('background');
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  await ctx.cleanup();
});

describe('profile builder: the work a batch leaves running', () => {
  it('is tracked when the batch returns, and once drained the batch\'s outbox entries are gone', async () => {
    const stack = await handlerOnStack(ctx, 'settle');
    closers.push(() => stack.close());
    const { registry, schemaIds, config } = stack;
    const made = touchpoint('pos', { type: 'purchase', id: 'txn-1', occurredAt: new Date(Date.UTC(2026, 9, 1)).toISOString(), storeId: 's-1', loyaltyCard: 'LC-1', currency: 'USD', lineItems: [{ productId: 'sku-1', name: 'Item', quantity: 1, unitPrice: 10 }], total: 10 });
    const resolved: ResolvedTouchpoint = { profileId: 'p1-settle', touchpoint: made, excludedIdentifiers: [], resolvedAt: Date.UTC(2026, 10, 2) };
    await stack.run([message(0, registry.encode(schemaIds.resolved, resolved))], 1);
    // Right after the batch returned, the deletion of its outbox entries is under way, and tracked.
    expect(stack.background.pending).toBeGreaterThan(0);
    await stack.background.drained();
    expect(stack.background.pending).toBe(0);
    // The tenant's keys are where the pattern below looks (the profile's state is there).
    expect((await stack.redis.keys(`${config.REDIS_KEY_PREFIX}{${made.tenant}}:*`)).length).toBeGreaterThan(0);
    const outbox = await stack.redis.keys(`${config.REDIS_KEY_PREFIX}{${made.tenant}}:ob:*`);
    let entries = 0;
    for (const key of outbox) entries += await stack.redis.hlen(key);
    expect(entries).toBe(0);
  });
});
