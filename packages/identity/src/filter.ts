/**
 * Screening: the first step for every event. Blocked values (placeholders, junk) are removed
 * so they never reach the graph, identical identifiers are collapsed, the rest is put in
 * priority order, strongest first, and cut after `maxIdentifiersPerEvent`. That order is what "lowest priority" means everywhere else
 * (limits drop from the end of it), so the Redis scripts take the list exactly as screened
 * here and never sort themselves.
 */
import type { Identifier } from '@elephant/channels';
import { compileRules, type BlockMatch, type TenantRules } from './rules.ts';

/** Why screening left an identifier out: a blocked value or pattern, or one beyond `maxIdentifiersPerEvent`. */
export type ScreenedOutReason = BlockMatch['reason'] | 'too_many_identifiers';

export interface BlockedIdentifier {
  readonly type: string;
  readonly value: string;
  readonly reason: ScreenedOutReason;
  /** The rule that matched, e.g. `email "test@test.com"`, `phone /^\+?(\d)\1{6,}$/`, `maxIdentifiersPerEvent 100`. */
  readonly rule: string;
}

export interface ScreenResult {
  /** Distinct, unblocked identifiers, strongest type first; equal types keep the event's order. */
  readonly kept: readonly Identifier[];
  /**
   * Each identifier left out once, with the rule: blocked values and patterns (event order),
   * then those beyond `maxIdentifiersPerEvent` (the weakest, in priority order).
   */
  readonly blocked: readonly BlockedIdentifier[];
}

/** The key an identifier is known by in clusters and in the graph: `type:value`. */
export function identifierKey(identifier: Identifier): string {
  return `${identifier.type}:${identifier.value}`;
}

/**
 * Screens one event's identifiers: drops blocked values, de-duplicates, orders by priority,
 * keeps the first `maxIdentifiersPerEvent` (default 100) and reports the rest as
 * `too_many_identifiers`. Ordering: by the type's position in `rules.priority`; unlisted types
 * after all listed ones, ordered by type name; identifiers of the same type keep the order
 * the event gave them.
 */
export function screenIdentifiers(identifiers: readonly Identifier[], rules: TenantRules): ScreenResult {
  const compiled = compileRules(rules);
  const seen = new Set<string>();
  const kept: { identifier: Identifier; rank: number; index: number }[] = [];
  const blocked: BlockedIdentifier[] = [];
  for (const identifier of identifiers) {
    const key = identifierKey(identifier);
    if (seen.has(key)) continue;
    seen.add(key);
    const match = compiled.blocked(identifier.type, identifier.value);
    if (match !== undefined) blocked.push({ type: identifier.type, value: identifier.value, ...match });
    else kept.push({ identifier: { type: identifier.type, value: identifier.value }, rank: compiled.rank(identifier.type), index: kept.length });
  }
  kept.sort((a, b) => {
    if (a.rank !== b.rank) return a.rank - b.rank;
    const typeA = a.identifier.type;
    const typeB = b.identifier.type;
    if (typeA !== typeB) return typeA < typeB ? -1 : 1;
    return a.index - b.index;
  });
  const max = compiled.maxIdentifiers;
  if (kept.length > max) {
    const rule = `maxIdentifiersPerEvent ${max}`;
    for (const { identifier } of kept.splice(max)) blocked.push({ type: identifier.type, value: identifier.value, reason: 'too_many_identifiers', rule });
  }
  return { kept: kept.map((entry) => entry.identifier), blocked };
}
