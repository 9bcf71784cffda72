/**
 * @elephant/identity — identity rules and the pure part of identity resolution: screening
 * identifiers, the reference (in-memory) resolver that the Redis graph is tested against,
 * synthetic populations and clustering quality. Pure: no I/O.
 */
export { IDENTITY_ERROR_CODES, IdentityError, IdentityRulesError, type IdentityErrorCode, type RulesIssue } from './errors.ts';
export {
  ANY_TYPE,
  applyOverrides,
  compareTypes,
  compileRules,
  DEFAULT_MAX_IDENTIFIERS_PER_EVENT,
  MAX_IDENTIFIERS_PER_EVENT_LIMIT,
  normalizeBlockedValue,
  parseRulesDocument,
  parseTenantRules,
  resolveRules,
  RULES_VERSION,
  type BlockedRules,
  type BlockMatch,
  type CompiledRules,
  type QuarantineRules,
  type RulesDocument,
  type TenantRules,
  type TenantRulesOverride,
} from './rules.ts';
export { DEFAULT_RULES, DEFAULT_RULES_DOCUMENT } from './defaults.ts';
export { profileIdNamespace, profileIdOf } from './profile-id.ts';
export { identifierKey, screenIdentifiers, type BlockedIdentifier, type ScreenedOutReason, type ScreenResult } from './filter.ts';
export {
  QUARANTINE_REASONS,
  ReferenceResolver,
  RESOLUTION_OUTCOMES,
  unionFindClusters,
  type IdentityEvent,
  type IgnoredIdentifier,
  type LimitDrop,
  type Link,
  type MergeRecord,
  type QuarantineAlert,
  type QuarantineReason,
  type Resolution,
  type ResolutionOutcome,
  type ResolverStats,
} from './reference.ts';
export { EVENT_TAGS, generatePopulation, JUNK_IDENTIFIERS, type EventTag, type Person, type Population, type PopulationOptions, type TestEvent } from './population.ts';
export { pairwiseQuality, type PairwiseQuality } from './quality.ts';
export { SeededRandom } from './prng.ts';
export { identityMergeSchema, resolvedTouchpointSchema, type ExcludedIdentifier, type IdentityMerge, type LinkingIdentifier, type ResolvedTouchpoint } from './contracts.ts';
