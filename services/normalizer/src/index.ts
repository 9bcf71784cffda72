export { startNormalizer, type RunningNormalizer } from './app.ts';
export { loadConfig, topicsOf, type NormalizerConfig, type NormalizerTopics } from './config.ts';
export { normalizeBatch, createNormalizerHandler, type NormalizerDeps, type NormalizedBatch } from './handler.ts';
