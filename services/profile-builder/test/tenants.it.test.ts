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
import { readToEnd } from '@elephant/kafka';
import type { ProfileSnapshot, ProfileUpdate } from '@elephant/profiles';
import { createTestContext } from '@elephant/testing';
import { decodeAll, handlerOnStack, message, touchpoint } from './harness.ts';

const ctx = createTestContext('tenants');
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  await ctx.cleanup();
});

describe('profile builder with two tenants', () => {
  it('keeps two tenants’ profiles of the same id apart (decoded states cached per tenant)', async () => {
    const stack = await handlerOnStack(ctx, 'same-id');
    closers.push(() => stack.close());
    const { registry, schemaIds, topics } = stack;
    const purchase = (tenant: string, day: number, store: string): ResolvedTouchpoint => {
      const made = touchpoint('pos', { type: 'purchase', id: `txn-${tenant}-${day}`, occurredAt: new Date(Date.UTC(2026, 9, day)).toISOString(), storeId: store, loyaltyCard: `LC-${tenant}`, currency: 'USD', lineItems: [{ productId: `sku-${tenant}`, name: 'Item', quantity: 1, unitPrice: 10 }], total: 10 });
      return { profileId: 'p1', touchpoint: { ...made, tenant, eventId: `${made.eventId}-${tenant}` }, excludedIdentifiers: [], resolvedAt: Date.UTC(2026, 10, 2) };
    };
    let offset = 0;
    const runOne = (value: ResolvedTouchpoint): Promise<void> => {
      offset += 1;
      return stack.run([message(offset - 1, registry.encode(schemaIds.resolved, value))], offset);
    };
    // globex p1 at version 1, then acme p1 at version 1 (the last state this process decoded
    // for id p1), then globex p1 again: its stored version 1 is globex's, not acme's.
    await runOne(purchase('globex', 1, 'g-1'));
    await runOne(purchase('acme', 2, 'a-1'));
    await runOne(purchase('globex', 3, 'g-2'));

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
