#!/usr/bin/env node
/** Composition root of the profile builder. Exit codes: 0 after a graceful stop, 1 fatal, 78 bad configuration. */
import { ConfigError } from '@elephant/config';
import { describeError } from '@elephant/errors';
import { createLogger } from '@elephant/observability';
import { createLifecycle } from '@elephant/runtime';
import { startBuilder } from './app.ts';
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
  const logger = createLogger({ name: 'profile-builder', level: config.LOG_LEVEL });
  const lifecycle = createLifecycle({ logger });
  try {
    const builder = await startBuilder(config, logger, (error) => void lifecycle.shutdown(`fatal: ${error.message}`, 1));
    lifecycle.onShutdown('profile-builder', () => builder.stop());
  } catch (error) {
    logger.fatal({ err: error }, `profile builder failed to start: ${describeError(error)}`);
    await lifecycle.shutdown('start-up failed', 1);
  }
  await lifecycle.done;
}
