/**
 * Profile ids. Every tenant's graph issues its own sequence numbers, but all tenants share the
 * Kafka topics, and the profile builder's compacted snapshot topic is keyed by the profile id
 * alone: `p1` of one tenant and `p1` of another would overwrite each other under compaction
 * (and erasing one would tombstone both). A new id therefore carries a namespace derived from
 * the tenant: `p<seq>-<namespace>`. Ids issued before the namespace existed (`p<seq>`) stay
 * valid; nothing parses an id (the survivor rule reads the `seq` field of the profile).
 */
import { createHash } from 'node:crypto';

/**
 * The tenant's profile-id namespace: the first 12 hex characters (48 bits) of the SHA-1 of the
 * tenant name in UTF-8. Deterministic, so the Redis graph and the reference resolver issue the
 * same ids; 48 bits keep two tenants apart unless there are millions of them.
 * @example profileIdNamespace('acme') // '293abb6b76d7'
 */
export function profileIdNamespace(tenant: string): string {
  return createHash('sha1').update(tenant, 'utf8').digest('hex').slice(0, 12);
}

/** The id of the `seq`-th profile a tenant creates, given its `profileIdNamespace`. The Lua script builds the same string. */
export function profileIdOf(seq: number, namespace: string): string {
  return `p${seq}-${namespace}`;
}
