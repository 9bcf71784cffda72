import './read-committed.ts';
/**
 * Stops kafkajs 2.2.4's request queue from waking the event loop every millisecond.
 *
 * After its first response, each broker connection's RequestQueue schedules a check of its
 * pending requests with `setTimeout(throttledUntil - now)`. Unthrottled, `throttledUntil` is
 * -1, so the delay is minus the epoch: Node clamps it to 1 ms (with a TimeoutNegativeWarning),
 * and the check schedules itself again, for as long as the connection lives, whether anything
 * is pending or not. Measured on an idle admin client: about 880 timers and 56 ms of CPU per
 * second per connection, on every connection of every Elephant process.
 *
 * A check is only useful while a request waits in `pending`, and a request enters `pending`
 * only in `push()`, which schedules the check right after (responses and timeouts run the
 * check directly). So: no timer while nothing is pending; while something is, one at the end
 * of the throttle, or after kafkajs' own 10 ms interval when it waits for a free in-flight slot.
 * packages/kafka/test/request-queue.test.ts guards the kafkajs internals this depends on.
 */
import { kafkajsModule } from './internals.ts';

/** kafkajs' CHECK_PENDING_REQUESTS_INTERVAL. */
const CHECK_INTERVAL_MS = 10;

/** The parts of kafkajs' RequestQueue this correction reads and writes. */
export interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
}

/** The corrected RequestQueue#scheduleCheckPendingRequests (exported for the test). */
export function scheduleCheckPendingRequests(this: RequestQueueLike): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const throttled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, throttled > 0 ? throttled : CHECK_INTERVAL_MS);
}

interface RequestQueueClass {
  prototype: { scheduleCheckPendingRequests: (this: RequestQueueLike) => void };
}

const RequestQueue = kafkajsModule<RequestQueueClass>('network/requestQueue/index.js');
if (typeof RequestQueue.prototype.scheduleCheckPendingRequests !== 'function') throw new Error('kafkajs RequestQueue#scheduleCheckPendingRequests not found: the request-queue correction needs kafkajs 2.2.x');
RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
