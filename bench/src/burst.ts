/**
 * A burst in a latency run: the offered load multiplied for a while in the middle of the
 * measured window (an e-mail campaign's webhooks, a store's end-of-day upload), and what it did
 * to the latency of what was sent before, during and after it, from the samples the run
 * recorded (the load generator paces the burst: `eventsDue` in load.ts).
 */
import { newHistogram, percentilesOf, type Burst, type Percentiles, type Sample } from './load.ts';

export interface SamplePercentiles extends Percentiles {
  readonly samples: number;
}

export interface BurstShape extends Burst {
  /** Steady offered rate, events a second. */
  readonly offeredPerSecond: number;
  /** Length of the measured window, seconds. */
  readonly windowSeconds: number;
  /** Samples due before the burst: the steady state the burst is compared with. */
  readonly before: SamplePercentiles;
  readonly during: SamplePercentiles;
  /** Samples due from the burst's end to the end of the window. */
  readonly after: SamplePercentiles;
  /**
   * Seconds from the burst's end until the latency was back: the start of the first half-second
   * after it (five 100 ms steps, inside the window, each with a sample) whose samples all took
   * no longer than the p99 before the burst. Null when there was none.
   */
  readonly recoverySeconds: number | null;
  /** Per second of the window by when the samples were due: the burst's second, and what led up to and followed it. */
  readonly perSecond: readonly (SamplePercentiles & { readonly second: number })[];
}

/** Steps and span of the recovery check: 100 ms steps, back for half a second. */
const RECOVERY_STEP_MS = 100;
const RECOVERY_STEPS = 5;

function percentilesOfSamples(samples: readonly Sample[]): SamplePercentiles {
  const histogram = newHistogram();
  for (const [, latency] of samples) histogram.recordValue(Math.max(1, Math.round(latency)));
  return samples.length === 0 ? { samples: 0, p50: 0, p95: 0, p99: 0, max: 0 } : { samples: samples.length, ...percentilesOf(histogram) };
}

/** The burst's figures from a run's samples (`timeline`), in the run's window of `windowSeconds`. */
export function burstFiguresOf(timeline: readonly Sample[], burst: Burst, offeredPerSecond: number, windowSeconds: number): BurstShape {
  const startMs = burst.at * 1000;
  const endMs = startMs + burst.seconds * 1000;
  const windowMs = windowSeconds * 1000;
  const before = percentilesOfSamples(timeline.filter(([due]) => due < startMs));
  // Due at the window's end or later: none is (the load's last event is due before it).
  const after = timeline.filter(([due]) => due >= endMs && due < windowMs);
  // The highest latency (rounded as the histogram's) of the samples due in each whole 100 ms
  // step after the burst, and how many there were.
  const steps = Math.floor((windowMs - endMs) / RECOVERY_STEP_MS);
  const highest = new Array<number>(steps).fill(0);
  const counts = new Array<number>(steps).fill(0);
  for (const [due, latency] of after) {
    const step = Math.floor((due - endMs) / RECOVERY_STEP_MS);
    if (step >= steps) continue;
    highest[step] = Math.max(highest[step] ?? 0, Math.round(latency));
    counts[step] = (counts[step] ?? 0) + 1;
  }
  let recoverySeconds: number | null = null;
  if (before.samples > 0) {
    for (let step = 0; step + RECOVERY_STEPS <= steps && recoverySeconds === null; step += 1) {
      let back = true;
      for (let next = step; next < step + RECOVERY_STEPS && back; next += 1) back = (counts[next] ?? 0) > 0 && (highest[next] ?? 0) <= before.p99;
      if (back) recoverySeconds = (step * RECOVERY_STEP_MS) / 1000;
    }
  }
  const perSecond = Array.from({ length: Math.ceil(windowSeconds) }, (_, second) => ({
    second,
    ...percentilesOfSamples(timeline.filter(([due]) => due >= second * 1000 && due < (second + 1) * 1000)),
  }));
  return {
    ...burst,
    offeredPerSecond,
    windowSeconds,
    before,
    during: percentilesOfSamples(timeline.filter(([due]) => due >= startMs && due < endMs)),
    after: percentilesOfSamples(after),
    recoverySeconds,
    perSecond,
  };
}

/** Where a run of `windowSeconds` puts a burst of `seconds`: a third into the window, leaving most of the rest to see it drain. */
export function burstOf(factor: number, seconds: number, windowSeconds: number): Burst {
  return { factor, seconds, at: Math.round((windowSeconds / 3) * 1000) / 1000 };
}
