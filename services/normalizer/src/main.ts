#!/usr/bin/env node
/**
 * Composition root of the normalizer: one channel per process (one Deployment per channel).
 * Exit codes: 0 after a graceful stop, 1 on a fatal error, 78 on bad configuration.
 */
import { ConfigError } from '@elephant/config';
import { describeError } from '@elephant/errors';
import { createLogger } from '@elephant/observability';
import { createLifecycle } from '@elephant/runtime';
import { startNormalizer } from './app.ts';
import { loadConfig } from './config.ts';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 78;
}
if (config) {
  const logger = createLogger({ name: `normalizer-${config.NORMALIZER_CHANNEL}`, level: config.LOG_LEVEL });
  const lifecycle = createLifecycle({ logger });
  try {
    const normalizer = await startNormalizer(config, logger, (error) => void lifecycle.shutdown(`fatal: ${error.message}`, 1));
    lifecycle.onShutdown('normalizer', () => normalizer.stop());
  } catch (error) {
    logger.fatal({ err: error }, `normalizer failed to start: ${describeError(error)}`);
    await lifecycle.shutdown('start-up failed', 1);
  }
  await lifecycle.done;
}
