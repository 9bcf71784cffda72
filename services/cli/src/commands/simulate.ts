import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { Logger } from '@elephant/observability';
import { expectationLines, paced, simulate as runSimulation, toNdjson, truthLines, type Simulation, type SimulationOptions } from '@elephant/simulator';
import type { CliConfig } from '../config.ts';
import { CliError } from '../errors.ts';
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
  const out = options.out;
  // Opened before the truth files are written: a traffic file that cannot be written left them
  // behind (before 2026-12-07), beside a directory given as --out, say.
  const file = out === null ? null : await open(out);
  try {
    await writeLines(options.truth, truthLines(simulation));
    await writeLines(options.expectations, expectationLines(simulation));
  } catch (error) {
    file?.destroy();
    throw error;
  }
  const total = simulation.records.length;
  const bar = progress(options.publish === true ? 'simulate → topics' : 'simulate', total);
  const publisher = options.publish === true ? await RawPublisher.connect(config, logger, options.rate ?? 0) : null;
  let done = 0;
  let completed = false;
  try {
    for await (const record of paced(simulation.records, { rate: options.rate ?? 0 })) {
      if (file && out !== null) await write(file, out, toNdjson(record));
      if (publisher) await publisher.add(record);
      done += 1;
      bar.update(done, total, 'messages');
    }
    completed = true;
  } finally {
    await publisher?.close({ flush: completed });
    if (file && out !== null) await close(file, out);
  }
  const where = [options.out, options.publish === true ? 'the channel topics' : null].filter((part) => part !== null).join(' and ');
  bar.finish(`${total} raw messages of ${options.people} people → ${where} (truth: ${options.truth})`);
  return simulation;
}

/** An output file that cannot be written: CANNOT_CREATE (exit 73), naming it. */
function cannotWrite(path: string, error: unknown): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOTDIR' ? 'a part of its path is not a directory' : (error as Error).message;
  return new CliError('CANNOT_CREATE', `Cannot write ${path}: ${why}.`, { cause: error });
}

/**
 * A file stream to `path`. Its open fails asynchronously, as an 'error' event: without a
 * listener (before 2026-12-07) Node ended the process with "Unhandled 'error' event" and a
 * stack trace. Waited for here, so the failure is a CANNOT_CREATE naming the path.
 */
async function open(path: string): Promise<Writable> {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    throw cannotWrite(path, error);
  }
  const stream = createWriteStream(path, 'utf8');
  await new Promise<void>((resolve, reject) => {
    stream.once('ready', () => resolve());
    stream.once('error', (error) => reject(cannotWrite(path, error)));
  });
  return stream;
}

/** Writes to `stream` (of `path`), waiting for it to drain; a write error rejects, naming the path. */
async function write(stream: Writable, path: string, text: string): Promise<void> {
  // A stream that failed already emits no more 'error' (nor 'drain').
  if (stream.errored) throw cannotWrite(path, stream.errored);
  if (stream.write(text)) return;
  if (stream.errored) throw cannotWrite(path, stream.errored);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      stream.off('drain', onDrain);
      reject(cannotWrite(path, error));
    };
    const onDrain = (): void => {
      stream.off('error', onError);
      resolve();
    };
    stream.once('drain', onDrain);
    stream.once('error', onError);
  });
}

/** Ends `stream` and waits until its data is written; an error names the path. */
async function close(stream: Writable, path: string): Promise<void> {
  stream.end();
  await finished(stream).catch((error: unknown) => {
    throw cannotWrite(path, error);
  });
}

async function writeLines(path: string, lines: Iterable<string>): Promise<void> {
  const stream = await open(path);
  try {
    for (const line of lines) await write(stream, path, line.endsWith('\n') ? line : `${line}\n`);
  } finally {
    await close(stream, path);
  }
}
