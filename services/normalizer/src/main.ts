#!/usr/bin/env node
/**
 * Composition root of the normalizer: one channel per process (one Deployment per channel).
 * Exit codes: 0 after a graceful stop, 1 on a fatal error, 78 on bad configuration.
 */
import { runService } from '@elephant/runtime';
import { startNormalizer } from './app.ts';
import { loadConfig } from './config.ts';

await runService({ name: (config) => `normalizer-${config.NORMALIZER_CHANNEL}`, loadConfig: () => loadConfig(), start: startNormalizer });
