/**
 * Group commit: one run at a time; the items submitted while it runs go together in the next
 * run, in submission order (up to a weight limit, at least one item). An idle group starts
 * its run once the current turn of the event loop is over (setImmediate), so the items
 * submitted by callbacks of one socket read (batches of one fetch, replies of one Redis
 * pipeline) go together too. Each item learns its own result, or the error of the run it was in.
 *
 * `minIntervalMs`: a run starts no sooner than this after the previous one started (a linger):
 * what is submitted meanwhile waits and goes together. Fewer, larger runs for some latency.
 */
export class Grouped<T, R> {
  readonly #run: (items: readonly T[]) => Promise<readonly R[]>;
  readonly #limit: { readonly weight: (item: T) => number; readonly max: number } | undefined;
  readonly #minIntervalMs: number;
  #lastStart = Number.NEGATIVE_INFINITY;
  #pending: { readonly item: T; readonly resolve: (result: R) => void; readonly reject: (error: unknown) => void }[] = [];
  #busy = false;
  #scheduled = false;

  /** `run` returns one result per item, in order. */
  constructor(run: (items: readonly T[]) => Promise<readonly R[]>, limit?: { readonly weight: (item: T) => number; readonly max: number }, minIntervalMs = 0) {
    this.#run = run;
    this.#limit = limit;
    this.#minIntervalMs = minIntervalMs;
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#busy || this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#next();
      });
    });
  }

  #next(): void {
    if (this.#busy || this.#pending.length === 0) return;
    const wait = this.#lastStart + this.#minIntervalMs - performance.now();
    if (wait > 0) {
      // Busy meanwhile, so that submit() does not schedule another start.
      this.#busy = true;
      setTimeout(() => {
        this.#busy = false;
        this.#next();
      }, wait);
      return;
    }
    this.#lastStart = performance.now();
    let count = this.#pending.length;
    if (this.#limit) {
      const { weight, max } = this.#limit;
      let total = 0;
      count = 0;
      for (const { item } of this.#pending) {
        const next = weight(item);
        if (count > 0 && total + next > max) break;
        total += next;
        count += 1;
      }
    }
    const group = this.#pending.slice(0, count);
    this.#pending = this.#pending.slice(count);
    this.#busy = true;
    void this.#run(group.map((entry) => entry.item))
      .then(
        (results) => group.forEach((entry, index) => entry.resolve(results[index] as R)),
        (error: unknown) => {
          for (const entry of group) entry.reject(error);
        },
      )
      .finally(() => {
        this.#busy = false;
        this.#next();
      });
  }
}
