import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { expectationLines, simulate as runSimulation, toNdjson, truthLines, type Simulation } from '@elephant/simulator';
import type { CliConfig } from '../config.ts';
import { progress } from '../progress.ts';

export interface SimulateOptions {
  readonly seed: number;
  readonly people: number;
  /** NDJSON of `{"channel", "payload"}` lines. */
  readonly out: string;
  /** `{"eventId", "personId"}` lines: which touchpoint belongs to which person. */
  readonly truth: string;
  /** Per person: identifiers and the counters a correct profile shows. */
  readonly expectations: string;
}

/** Simulates a population and writes the raw traffic with its ground truth beside it. */
export async function simulateToFiles(config: CliConfig, options: SimulateOptions): Promise<Simulation> {
  const bar = progress('simulate', undefined);
  // The simulator writes US phone numbers; with another DEFAULT_REGION it writes them all with +1.
  const simulation = runSimulation({ seed: options.seed, people: options.people, tenant: config.TENANT, defaultRegion: config.DEFAULT_REGION === 'US' ? 'US' : null });
  bar.update(simulation.records.length, undefined, 'messages generated');
  await writeLines(options.out, (function* () {
    for (const record of simulation.records) yield toNdjson(record);
  })());
  await writeLines(options.truth, truthLines(simulation));
  await writeLines(options.expectations, expectationLines(simulation));
  bar.finish(`${simulation.records.length} raw messages of ${options.people} people → ${options.out} (truth: ${options.truth})`);
  return simulation;
}

async function writeLines(path: string, lines: Iterable<string>): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const stream = createWriteStream(path, 'utf8');
  for (const line of lines) {
    if (!stream.write(line.endsWith('\n') ? line : `${line}\n`)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
  }
  stream.end();
  await finished(stream);
}
