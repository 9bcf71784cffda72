/**
 * Serialization and pacing for the caller that writes files or topics (the CLI). Nothing
 * here touches the file system: each function returns lines, and the caller writes them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PersonExpectation } from './expectations.ts';
import type { CommerceFacts, EventFacts } from './model.ts';
import type { SimRecord, Simulation } from './simulate.ts';

/**
 * One line of the publish file, `{"channel":"web","payload":{...}}` and a newline: the same
 * bytes as `JSON.stringify({ channel, payload })`, without re-serializing a record's payload.
 */
export function toNdjson(record: SimRecord | { readonly channel: string; readonly payload: unknown }): string {
  const json = 'json' in record ? record.json : JSON.stringify(record.payload);
  return `{"channel":${JSON.stringify(record.channel)},"payload":${json}}\n`;
}

/** A line of truth.ndjson. Readers that only need the mapping read eventId and personId. */
export interface TruthLine {
  readonly eventId: string;
  readonly personId: string;
  readonly channel: string;
  readonly eventType: string;
  /** The journey stage the simulator generated the event in. */
  readonly stage: string;
  readonly eventTime: number;
  readonly tags: readonly string[];
  /** The money of a purchase or return (kind, currency, totalMinor, coupon); null otherwise. What the counters need. */
  readonly commerce: CommerceFacts | null;
  /** A support touchpoint's satisfaction score, else null. */
  readonly satisfactionScore: number | null;
  /** Points redeemed (points_redeemed), else null. */
  readonly points: number | null;
}

export function truthLineOf(facts: EventFacts): TruthLine {
  return {
    eventId: facts.eventId,
    personId: facts.personId,
    channel: facts.channel,
    eventType: facts.eventType,
    stage: facts.stage,
    eventTime: facts.eventTime,
    tags: facts.tags,
    commerce: facts.commerce,
    satisfactionScore: facts.satisfactionScore,
    points: facts.points,
  };
}

/** truth.ndjson: one line per distinct resolvable touchpoint, in order of first delivery. */
export function* truthLines(simulation: Simulation): Generator<string> {
  for (const facts of simulation.events) yield `${JSON.stringify(truthLineOf(facts))}\n`;
}

/** people.ndjson: one PersonExpectation per line, in person order. */
export function* expectationLines(simulation: Simulation): Generator<string> {
  for (const expectation of simulation.expectations) yield `${JSON.stringify(expectation)}\n`;
}

/** Reads truth.ndjson text back into the eventId → personId map `pairwiseQuality` takes. */
export function parseTruth(text: string): Map<string, string> {
  const truth = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const entry = JSON.parse(line) as { eventId?: unknown; personId?: unknown };
    if (typeof entry.eventId !== 'string' || typeof entry.personId !== 'string') throw new TypeError(`not a truth line: ${line.slice(0, 120)}`);
    truth.set(entry.eventId, entry.personId);
  }
  return truth;
}

/**
 * Reads truth.ndjson text back, every field: with `counterEventOf` and `computeCounters` it
 * gives the counters the truth implies for any set of eventIds.
 */
export function parseTruthLines(text: string): TruthLine[] {
  const lines: TruthLine[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const entry = JSON.parse(line) as Partial<TruthLine>;
    if (typeof entry.eventId !== 'string' || typeof entry.personId !== 'string' || typeof entry.eventType !== 'string' || typeof entry.eventTime !== 'number' || !('commerce' in entry)) {
      throw new TypeError(`not a truth line (written by this version of the simulator?): ${line.slice(0, 120)}`);
    }
    lines.push(entry as TruthLine);
  }
  return lines;
}

/** Reads people.ndjson text back. */
export function parseExpectations(text: string): PersonExpectation[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as PersonExpectation);
}

export interface PaceOptions {
  /** Target items per second; 0 or Infinity: as fast as the consumer takes them. */
  readonly rate: number;
  /** Stops the iteration (the pending wait rejects with the signal's reason). */
  readonly signal?: AbortSignal | undefined;
  /** Clock, for tests. @default performance.now() */
  readonly now?: (() => number) | undefined;
  /** Waits `ms`, for tests. @default node:timers/promises setTimeout */
  readonly wait?: ((ms: number, signal?: AbortSignal) => Promise<unknown>) | undefined;
}

/**
 * Yields `items` at a target rate: item n no earlier than n / rate seconds after the first.
 * The schedule is absolute, so a slow consumer catches up instead of drifting; waits shorter
 * than 4 ms are skipped (timers are not that precise) and made up later.
 */
export async function* paced<T>(items: Iterable<T> | AsyncIterable<T>, options: PaceOptions): AsyncGenerator<T> {
  if (!(options.rate >= 0)) throw new RangeError(`rate must be >= 0 (got ${options.rate})`);
  const now = options.now ?? (() => performance.now());
  const wait = options.wait ?? ((ms: number, signal?: AbortSignal) => sleep(ms, undefined, signal === undefined ? {} : { signal }));
  const unpaced = options.rate === 0 || options.rate === Number.POSITIVE_INFINITY;
  const started = now();
  let count = 0;
  for await (const item of items) {
    options.signal?.throwIfAborted();
    if (!unpaced) {
      const due = started + (count / options.rate) * 1000;
      const ahead = due - now();
      if (ahead >= 4) await wait(ahead, options.signal);
    }
    count += 1;
    yield item;
  }
}
