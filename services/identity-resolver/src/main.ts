#!/usr/bin/env node
/**
 * Composition root of the identity resolver. Exit codes: 0 after a graceful stop, 1 on a
 * fatal error, 78 on bad configuration (environment or rules file).
 */
import { ConfigError } from '@elephant/config';
import { describeError, isElephantError } from '@elephant/errors';
import { createLogger } from '@elephant/observability';
import { createLifecycle } from '@elephant/runtime';
import { startResolver } from './app.ts';
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
  const logger = createLogger({ name: 'identity-resolver', level: config.LOG_LEVEL });
  const lifecycle = createLifecycle({ logger });
  try {
    const resolver = await startResolver(config, logger, (error) => void lifecycle.shutdown(`fatal: ${error.message}`, 1));
    lifecycle.onShutdown('identity-resolver', () => resolver.stop());
  } catch (error) {
    logger.fatal({ err: error }, `identity resolver failed to start: ${describeError(error)}`);
    // A rules file that does not parse is configuration, not an outage.
    await lifecycle.shutdown('start-up failed', isElephantError(error, 'RULES_INVALID') || error instanceof SyntaxError ? 78 : 1);
  }
  await lifecycle.done;
}
