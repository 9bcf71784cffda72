#!/usr/bin/env node
/**
 * Composition root of the normalizer: the channels of NORMALIZER_CHANNELS (one per Deployment,
 * or several in one process).
 * Exit codes: 0 after a graceful stop, 1 on a fatal error, 78 on bad configuration.
 */
import { KAFKA_CONFIG_ERROR_CODES } from '@elephant/kafka';
import { runService } from '@elephant/runtime';
import { startNormalizer } from './app.ts';
import { loadConfig } from './config.ts';

await runService({ name: (config) => `normalizer-${config.channels.join('.')}`, loadConfig: (options) => loadConfig(undefined, options), start: startNormalizer, configErrorCodes: KAFKA_CONFIG_ERROR_CODES });
