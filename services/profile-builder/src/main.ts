#!/usr/bin/env node
/** Composition root of the profile builder. Exit codes: 0 after a graceful stop, 1 fatal, 78 bad configuration. */
import { KAFKA_CONFIG_ERROR_CODES } from '@elephant/kafka';
import { runService } from '@elephant/runtime';
import { startBuilder } from './app.ts';
import { loadConfig } from './config.ts';

await runService({ name: () => 'profile-builder', loadConfig: (options) => loadConfig(undefined, options), start: startBuilder, configErrorCodes: KAFKA_CONFIG_ERROR_CODES });
