import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import '@elephant/kafka';

const require = createRequire(import.meta.url);

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  destroy(): void;
}

// The instance kafkajs itself uses, corrected by @elephant/kafka on import.
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (options: object) => Queue;

const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
let queue: Queue | undefined;

function newQueue(): Queue {
  queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, enforceRequestTimeout: true, clientId: 'test', broker: 'b:9092', logger: { namespace: () => logger } });
  return queue;
}

afterEach(() => {
  queue?.destroy();
  queue = undefined;
});

describe("kafkajs' request queue", () => {
  it('sets no timer after a response when nothing is pending (kafkajs woke the event loop every millisecond, forever, on every connection)', () => {
    const q = newQueue();
    // What kafkajs runs after every response (fulfillRequest) and request timeout.
    q.checkPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('still checks pending requests: at the end of a throttle, or after the 10 ms interval', async () => {
    const q = newQueue();
    let checks = 0;
    const check = q.checkPendingRequests.bind(q);
    q.checkPendingRequests = () => {
      checks += 1;
      q.pending = [];
      check();
    };
    q.pending = [{}];
    q.throttledUntil = Date.now() + 30;
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (checks > 0) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    expect(checks).toBe(1);
    expect(q.throttleCheckTimeoutId).toBeNull();
  });
});
