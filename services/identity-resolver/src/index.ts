export { CALL_BUDGET_MS, IdentityGraph, profileEvents, type GraphRules, type Identifier, type LinkedIdentifier, type ResolveInput, type ResolveResult, type GraphMerge, type Quarantined, type DroppedByLimit, type MergeHop } from './graph.ts';
export { startResolver, loadRules, type RunningResolver } from './app.ts';
export { loadConfig, topicsOf, type ResolverConfig, type ResolverTopics } from './config.ts';
export { createResolverHandler, graphRulesOf, mergeIdOf, OUTPUT_REJECTED, type ResolverDeps, type SchemaIds } from './handler.ts';
export { createResolverMetrics, type ResolverMetrics } from './metrics.ts';
export { resolvedTouchpointAvroSchema, identityMergeSchema, identityAlertSchema, type ResolvedTouchpoint, type IdentityMerge, type IdentityAlert } from './schemas.ts';
