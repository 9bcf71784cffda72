export { registerSchemas, startBuilder, type BuilderOptions, type OutputCommits, type RunningBuilder } from './app.ts';
export { DEFAULT_MAX_PROFILE_BYTES, DEFAULT_MAX_RECORD_BYTES, loadConfig, processingGuarantee, profileOptionsOf, topicsOf, type BuilderConfig, type BuilderTopics } from './config.ts';
export { ProfileStore, packOutbox, unpackOutbox, type CommitOutcome, type CommitRequest, type LoadOptions, type LoadedProfile, type StoredProfile } from './store.ts';
export { erasureRequestSchema, type ErasureRequest } from './generated/erasure-request.ts';
/** The batch handler and what it needs, for tests that drive batches by hand (see test/recovery.it.test.ts). */
export { BackgroundWork, createBuilderHandler, MembershipEndedError, StateCache, type BuilderDeps, type SchemaIds } from './handler.ts';
export { createBuilderMetrics } from './metrics.ts';
