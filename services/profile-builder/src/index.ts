export { startBuilder, type BuilderOptions, type RunningBuilder } from './app.ts';
export { loadConfig, topicsOf, type BuilderConfig, type BuilderTopics } from './config.ts';
export { ProfileStore } from './store.ts';
export { erasureRequestSchema, type ErasureRequest } from './generated/erasure-request.ts';
