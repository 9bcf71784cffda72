import { describeError, isRetryable } from '@elephant/errors';
import type { Logger } from '@elephant/observability';

export interface RetryOptions {
  /** Attempts in all, the first included. @default 8 */
  readonly attempts?: number;
  /** Wait before the second attempt, doubled each time up to maxMs. @default 500 */
  readonly initialMs?: number;
  /** @default 8000 */
  readonly maxMs?: number;
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
    try {
      return await work();
    } catch (error) {
      if (!isRetryable(error) || attempt >= attempts) throw error;
      logger.warn({ attempt, attempts, delayMs: delay, error: describeError(error) }, `${what} failed; retrying`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(maxMs, delay * 2);
    }
  }
}
