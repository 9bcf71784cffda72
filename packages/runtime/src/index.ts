/**
 * The one shutdown path of a service process. A composition root registers what to close
 * (in start order); SIGTERM/SIGINT, a fatal error, or `shutdown()` closes them in reverse
 * order once, then sets the exit code. Nothing else calls process.exit.
 */
import { describeError } from '@elephant/errors';
import type { Logger } from '@elephant/observability';

export interface Lifecycle {
  /** Registers a closer; closers run in reverse registration order. */
  onShutdown(name: string, close: () => Promise<void>): void;
  /** Starts the shutdown (idempotent) and resolves when every closer has run. */
  shutdown(reason: string, exitCode?: number): Promise<void>;
  /** Resolves once shutdown has finished. */
  readonly done: Promise<void>;
}

export interface LifecycleOptions {
  readonly logger: Logger;
  /** A closer that takes longer is abandoned (logged) so the process can still exit. @default 25000 */
  readonly closeTimeoutMs?: number;
  /** @default ['SIGTERM', 'SIGINT'] */
  readonly signals?: readonly NodeJS.Signals[];
  /** After shutdown, the process exits this long later even if handles remain open. @default 3000 */
  readonly exitGraceMs?: number;
}

export function createLifecycle(options: LifecycleOptions): Lifecycle {
  const closers: { name: string; close: () => Promise<void> }[] = [];
  const log = options.logger;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let started: Promise<void> | undefined;

  const shutdown = (reason: string, exitCode = 0): Promise<void> => {
    started ??= (async () => {
      log.info({ reason }, 'shutting down');
      let code = exitCode;
      for (const { name, close } of closers.reverse()) {
        try {
          await withTimeout(close(), options.closeTimeoutMs ?? 25000, name);
          log.debug({ component: name }, 'closed');
        } catch (error) {
          code = code === 0 ? 1 : code;
          log.error({ component: name, err: error }, `closing ${name} failed: ${describeError(error)}`);
        }
      }
      process.exitCode = code;
      log.info({ exitCode: code }, 'stopped');
      // A client library that leaves a socket or timer behind must not keep a stopped process
      // alive (a Kubernetes pod would wait for SIGKILL): exit shortly after, whatever is left.
      setTimeout(() => process.exit(code), options.exitGraceMs ?? 3000).unref();
      finish();
    })();
    return started;
  };

  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      void shutdown(signal);
    });
  }

  return {
    onShutdown: (name, close) => {
      closers.push({ name, close });
    },
    shutdown,
    done,
  };
}

async function withTimeout(work: Promise<void>, ms: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not close within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
