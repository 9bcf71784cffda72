import './read-committed.ts';
/**
 * Caches kafkajs 2.2.4's coordinator lookups for a moment.
 *
 * kafkajs sends a FindCoordinator request before every request to a group or transaction
 * coordinator: each offset commit, and three times per transaction (adding partitions, adding
 * offsets, ending it) plus once for the offsets' group. On the builder's hot path that was
 * four of a transaction's nine round trips. The Java client keeps the coordinator until a
 * request to it fails; kafkajs gives no hook for that, so this module keeps a lookup for
 * COORDINATOR_CACHE_MS and forgets it when it fails. A coordinator that moved (a broker
 * restart) is then found again after at most that long, within kafkajs' own retries of the
 * request that met the old one (NOT_COORDINATOR is retriable).
 * packages/kafka/test/coordinator-cache.test.ts guards the kafkajs internals this depends on.
 */
import { kafkajsModule } from './internals.ts';

export const COORDINATOR_CACHE_MS = 1000;

interface Lookup {
  readonly groupId: string;
  readonly coordinatorType?: number;
}

type FindMetadata = (this: ClusterLike, lookup: Lookup) => Promise<unknown>;

interface CachedLookup {
  readonly at: number;
  readonly result: Promise<unknown>;
}

interface ClusterLike {
  elephantCoordinators?: Map<string, CachedLookup>;
}

/** Wraps a findGroupCoordinatorMetadata implementation with the cache (exported for the test). */
export function cachedLookup(find: FindMetadata, now: () => number = Date.now): FindMetadata {
  return function findGroupCoordinatorMetadata(this: ClusterLike, lookup: Lookup): Promise<unknown> {
    const cache = (this.elephantCoordinators ??= new Map<string, CachedLookup>());
    const key = `${lookup.coordinatorType ?? 0}:${lookup.groupId}`;
    const hit = cache.get(key);
    if (hit && now() - hit.at < COORDINATOR_CACHE_MS) return hit.result;
    const result = find.call(this, lookup);
    cache.set(key, { at: now(), result });
    result.catch(() => {
      if (cache.get(key)?.result === result) cache.delete(key);
    });
    return result;
  };
}

interface ClusterClass {
  prototype: { findGroupCoordinatorMetadata: FindMetadata };
}

const Cluster = kafkajsModule<ClusterClass>('cluster/index.js');
if (typeof Cluster.prototype.findGroupCoordinatorMetadata !== 'function') throw new Error('kafkajs Cluster#findGroupCoordinatorMetadata not found: the coordinator cache needs kafkajs 2.2.x');
Cluster.prototype.findGroupCoordinatorMetadata = cachedLookup(Cluster.prototype.findGroupCoordinatorMetadata);
