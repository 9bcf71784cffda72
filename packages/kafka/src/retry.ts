/**
 * Runs `work` again while it fails with the Kafka protocol error `type` (kafkajs' `error.type`),
 * waiting `delayMs(attempt)` before each retry, at most `retries` times; any other error, or
 * the last one, is thrown. For the answers kafkajs itself does not retry.
 */
export async function retryOnProtocolError<T>(type: string, work: () => Promise<T>, retries: number, delayMs: (attempt: number) => number): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if ((error as { type?: unknown }).type !== type || attempt >= retries) throw error;
      await sleep(delayMs(attempt));
    }
  }
}

/** Resolves after `ms`, or at once when `signal` is aborted (already or meanwhile). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
