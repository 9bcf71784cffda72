#!/usr/bin/env node
/**
 * Composition root of the identity resolver. Exit codes: 0 after a graceful stop, 1 on a
 * fatal error, 78 on bad configuration (environment or rules file).
 */
import { KAFKA_CONFIG_ERROR_CODES } from '@elephant/kafka';
import { runService } from '@elephant/runtime';
import { startResolver } from './app.ts';
import { loadConfig } from './config.ts';

await runService({ name: () => 'identity-resolver', loadConfig: (options) => loadConfig(undefined, options), start: startResolver, configErrorCodes: ['RULES_INVALID', ...KAFKA_CONFIG_ERROR_CODES] });
