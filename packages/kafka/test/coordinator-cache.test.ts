import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { COORDINATOR_CACHE_MS, cachedCoordinatorLookup as cachedLookup } from '@elephant/kafka';

describe('coordinator lookups', () => {
  it('are cached for a moment per coordinator type and group, and forgotten when they fail', async () => {
    let now = 0;
    let calls = 0;
    let fail = false;
    const find = cachedLookup(async ({ groupId }) => {
      calls += 1;
      if (fail) throw new Error('NOT_COORDINATOR');
      return { groupId };
    }, () => now);
    const cluster = {};
    await expect(find.call(cluster, { groupId: 'g' })).resolves.toEqual({ groupId: 'g' });
    await find.call(cluster, { groupId: 'g' });
    expect(calls).toBe(1);
    await find.call(cluster, { groupId: 'g', coordinatorType: 1 });
    await find.call(cluster, { groupId: 'h' });
    expect(calls).toBe(3);
    await find.call({}, { groupId: 'g' });
    expect(calls).toBe(4); // one cache per client (cluster)
    now += COORDINATOR_CACHE_MS;
    await find.call(cluster, { groupId: 'g' });
    expect(calls).toBe(5);
    now += COORDINATOR_CACHE_MS;
    fail = true;
    await expect(find.call(cluster, { groupId: 'g' })).rejects.toThrow('NOT_COORDINATOR');
    fail = false;
    await find.call(cluster, { groupId: 'g' });
    expect(calls).toBe(7);
  });

  it('replace the lookup of the kafkajs version in use', async () => {
    await import('@elephant/kafka');
    const require = createRequire(import.meta.url);
    const Cluster = require('kafkajs/src/cluster/index.js') as { prototype: { findGroupCoordinatorMetadata: () => unknown } };
    expect(Cluster.prototype.findGroupCoordinatorMetadata.name).toBe('findGroupCoordinatorMetadata');
    expect(Cluster.prototype.findGroupCoordinatorMetadata.toString()).toContain('COORDINATOR_CACHE_MS');
  });
});
