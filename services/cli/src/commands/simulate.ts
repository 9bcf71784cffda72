import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { Logger } from '@elephant/observability';
import { expectationLines, paced, simulate as runSimulation, toNdjson, truthLines, type Simulation, type SimulationOptions } from '@elephant/simulator';
import type { CliConfig } from '../config.ts';
import { progress } from '../progress.ts';
import { RawPublisher } from './publish.ts';

/** The simulator options `elephant simulate` passes through (docs/simulator.md, "Options"). */
export type SimulatorFlags = Pick<SimulationOptions, 'start' | 'spanDays' | 'householdShare' | 'junkRate' | 'junkOnlyRate' | 'duplicateRate' | 'lateRate' | 'variantRate' | 'badRate'>;

export interface SimulateOptions {
  readonly seed: number;
  readonly people: number;
  /** NDJSON of `{"channel", "payload"}` lines; null with `publish` and no file asked for. */
  readonly out: string | null;
  /** `{"eventId", "personId"}` lines: which touchpoint belongs to which person. */
  readonly truth: string;
  /** Per person: identifiers and the counters a correct profile shows. */
  readonly expectations: string;
  /** Also (or instead of `out`) publish the messages to the channel topics, through `publish`'s producer. */
  readonly publish?: boolean;
  /** Messages per second written or published; 0 = as fast as possible. */
  readonly rate?: number;
  readonly simulator?: SimulatorFlags;
}

/**
 * Simulates a population and writes the raw traffic to a file and/or the channel topics, at
 * `rate` messages per second, with the ground truth beside it. The truth and the expectations
 * are written first, so a consumer can score while a paced run is still publishing.
 */
export async function simulateToFiles(config: CliConfig, logger: Logger, options: SimulateOptions): Promise<Simulation> {
  process.stderr.write(`simulate: generating ${options.people} people (seed ${options.seed})\n`);
  // The simulator writes North American numbers: in national formats too when DEFAULT_REGION
  // is US or CA (the normalizer reads them as that region's), otherwise always with +1.
  const simulation = runSimulation({ ...options.simulator, seed: options.seed, people: options.people, tenant: config.TENANT, defaultRegion: config.DEFAULT_REGION });
  await writeLines(options.truth, truthLines(simulation));
  await writeLines(options.expectations, expectationLines(simulation));
  const total = simulation.records.length;
  const bar = progress(options.publish === true ? 'simulate → topics' : 'simulate', total);
  const file = options.out === null ? null : open(options.out);
  const publisher = options.publish === true ? await RawPublisher.connect(config, logger, options.rate ?? 0) : null;
  let done = 0;
  let completed = false;
  try {
    for await (const record of paced(simulation.records, { rate: options.rate ?? 0 })) {
      if (file && !file.write(toNdjson(record))) await new Promise<void>((resolve) => file.once('drain', () => resolve()));
      if (publisher) await publisher.add(record);
      done += 1;
      bar.update(done, total, 'messages');
    }
    completed = true;
  } finally {
    await publisher?.close({ flush: completed });
    if (file) {
      file.end();
      await finished(file);
    }
  }
  const where = [options.out, options.publish === true ? 'the channel topics' : null].filter((part) => part !== null).join(' and ');
  bar.finish(`${total} raw messages of ${options.people} people → ${where} (truth: ${options.truth})`);
  return simulation;
}

function open(path: string): Writable {
  mkdirSync(dirname(path), { recursive: true });
  return createWriteStream(path, 'utf8');
}

async function writeLines(path: string, lines: Iterable<string>): Promise<void> {
  const stream = open(path);
  for (const line of lines) {
    if (!stream.write(line.endsWith('\n') ? line : `${line}\n`)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
  }
  stream.end();
  await finished(stream);
}
