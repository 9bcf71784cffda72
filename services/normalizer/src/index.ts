export { startNormalizer, type RunningNormalizer } from './app.ts';
export { adapterContextOf, loadConfig, normalizerGroupOf, topicsOf, DEFAULT_TOUCHPOINT_MAX_BYTES, type NormalizerConfig, type NormalizerTopics } from './config.ts';
export { normalizeBatch, createNormalizerHandler, type NormalizerDeps, type NormalizedBatch, type SourceTouchpoints, type TouchpointProducer } from './handler.ts';
export { createNormalizerMetrics, type NormalizerMetrics } from './metrics.ts';
