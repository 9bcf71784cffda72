#!/usr/bin/env node
/**
 * `elephant`: drive Elephant from a terminal. See docs/cli.md; `elephant <command> --help`.
 * Exit codes: 0 done, 1 failed, 2 usage, 3 drain timeout, 4 not found, 5 demo quality below
 * its thresholds, 65 invalid input, 66 missing input file, 69 unavailable, 73 output file
 * cannot be written, 78 bad configuration.
 */
import { describeError, isElephantError } from '@elephant/errors';
import { main } from './cli.ts';
import { processEnv } from './config.ts';
import { exitCodeOf } from './errors.ts';

// `elephant profiles | head`: the reader went away; stop quietly, as other Unix tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

try {
  process.exitCode = await main(process.argv.slice(2), processEnv());
} catch (error) {
  process.stderr.write(`elephant: ${isElephantError(error) ? error.message : describeError(error)}\n`);
  process.exitCode = exitCodeOf(error);
}
