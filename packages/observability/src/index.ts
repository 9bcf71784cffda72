export { createLogger, REDACTED_PATHS, type Logger, type LoggerConfig } from './logger.ts';
export { createMetricsRegistry, Counter, Gauge, Histogram, Registry } from './metrics.ts';
export { HEALTH_ERROR_CODES, startHealthServer, type HealthErrorCode, type HealthServer, type HealthServerOptions, type ReadinessCheck } from './health.ts';
