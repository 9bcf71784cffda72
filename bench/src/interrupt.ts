/**
 * A benchmark interrupted by SIGTERM or SIGINT: Node's default for either ends the process at
 * once, without its 'exit' event, so the stage processes it started kept running and the run's
 * topics and Redis keys stayed. `exitOnSignals` stops those processes, runs the clean-up work
 * registered with `onInterrupt` (best effort, bounded in time), and exits 128 + the signal's
 * number, as a shell reports a death by that signal.
 */
import { constants } from 'node:os';
import { killSpawned, stopSpawned } from './load.ts';

const cleanUps = new Set<() => Promise<void>>();

/** Runs `cleanUp` if the benchmark is interrupted while it is registered; returns what unregisters it. */
export function onInterrupt(cleanUp: () => Promise<void>): () => void {
  cleanUps.add(cleanUp);
  return () => {
    cleanUps.delete(cleanUp);
  };
}

export interface ExitOnSignalsOptions {
  readonly progress: (line: string) => void;
  /** How long a stopped process has to exit on SIGTERM before it is killed. @default 5000 */
  readonly graceMs?: number;
  /** The longest wait for the clean-up work, after the processes stopped. @default 30000 */
  readonly cleanUpMs?: number;
}

/**
 * `work` run one call at a time: a call while one runs shares it. The clean-up a run registers
 * with `onInterrupt` is also the one it runs between measurements and at its end, so a signal
 * during that clean-up waits for it instead of starting a second one alongside (both deleting
 * the same topics, the second failing and reporting keys left that were deleted).
 */
export function oneAtATime(work: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= work().finally(() => {
      running = undefined;
    });
    return running;
  };
}

/** Installs the SIGTERM and SIGINT handlers; returns what removes them. A second signal exits at once, its processes killed. */
export function exitOnSignals(options: ExitOnSignalsOptions): () => void {
  const graceMs = options.graceMs ?? 5000;
  const cleanUpMs = options.cleanUpMs ?? 30000;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = 128 + (constants.signals[signal] ?? 0);
    if (stopping) {
      killSpawned();
      process.exit(code);
    }
    stopping = true;
    options.progress(`${signal}: stopping the processes the benchmark started and deleting its topics and Redis keys (at most ${(graceMs + cleanUpMs) / 1000} s; ${signal} again to exit now)`);
    interruptedRun(graceMs, cleanUpMs, options.progress).then(
      () => process.exit(code),
      () => process.exit(code),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
  };
}

async function interruptedRun(graceMs: number, cleanUpMs: number, progress: (line: string) => void): Promise<void> {
  await stopSpawned(graceMs);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), cleanUpMs);
  });
  const outcome = await Promise.race([Promise.allSettled([...cleanUps].map(async (cleanUp) => cleanUp())), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timed out') progress(`the clean-up did not end within ${cleanUpMs / 1000} s: some of the run's topics or Redis keys may be left (named after the run, bench-...)`);
}
