import { describeError, ElephantError, isRetryable } from '@elephant/errors';
import type { Logger } from '@elephant/observability';

export interface RetryOptions {
  /** Attempts in all, the first included. @default 8 */
  readonly attempts?: number;
  /** Wait before the second attempt, doubled each time up to maxMs. @default 500 */
  readonly initialMs?: number;
  /** @default 8000 */
  readonly maxMs?: number;
  /** Aborted when the service is shutting down: no further attempt, and the wait ends at once (SHUTTING_DOWN). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Thrown by a start-up that a shutdown interrupted (SIGTERM while the service waited for the
 * registry, Redis or the broker): not a failure, the service stops with the shutdown's exit code.
 */
export class ShuttingDownError extends ElephantError<'SHUTTING_DOWN'> {
  constructor(what: string) {
    super('SHUTTING_DOWN', `${what} abandoned: the service is shutting down`);
  }
}

/** Throws ShuttingDownError when `signal` was aborted (before a step of a start-up that would join a group, say). */
export function throwIfShuttingDown(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw new ShuttingDownError(what);
}

/** `ms`, or less: resolves as soon as `signal` aborts (not rejecting: the caller looks at the signal). */
export function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `work` until it succeeds, retrying errors that are retryable (isRetryable) with
 * exponential backoff, each failure logged; a non-retryable error, or the last attempt's, is
 * thrown. With the defaults it gives up after about 30 s of trying.
 */
export async function retryTransient<T>(what: string, work: () => Promise<T>, logger: Logger, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 8;
  const maxMs = options.maxMs ?? 8000;
  let delay = options.initialMs ?? 500;
  for (let attempt = 1; ; attempt += 1) {
    throwIfShuttingDown(options.signal, what);
    try {
      return await work();
    } catch (error) {
      // The shutdown began during this attempt: its failure (the connection it cut, say) is not
      // the service's, and no further attempt or wait follows.
      throwIfShuttingDown(options.signal, what);
      if (!isRetryable(error) || attempt >= attempts) throw error;
      // Under `err`, pino's error serializer: the message with its causes' (a registry's `fetch
      // failed` says why: ENOTFOUND, ECONNREFUSED), the code and the retryable flag.
      logger.warn({ attempt, attempts, delayMs: delay, err: error }, `${what} failed; retrying: ${describeError(error)}`);
      await wait(delay, options.signal);
      delay = Math.min(maxMs, delay * 2);
    }
  }
}
