/**
 * The one shutdown path of a service process. A composition root registers what to close
 * (in start order); SIGTERM/SIGINT, a fatal error, or `shutdown()` closes them in reverse
 * order once, then sets the exit code. Nothing else calls process.exit.
 */
import { ConfigError, type ConfigWarning, type ParseEnvOptions } from '@elephant/config';
import { describeError, ElephantError, isElephantError } from '@elephant/errors';
import { createLogger, HEALTH_ERROR_CODES, type Logger } from '@elephant/observability';
import { ShuttingDownError } from './retry.ts';

export { retryTransient, ShuttingDownError, throwIfShuttingDown, wait as waitUnlessAborted, type RetryOptions } from './retry.ts';

export interface Lifecycle {
  /** Registers a closer; closers run in reverse registration order. */
  onShutdown(name: string, close: () => Promise<void>): void;
  /** Starts the shutdown (idempotent) and resolves when every closer has run. */
  shutdown(reason: string, exitCode?: number): Promise<void>;
  /** Resolves once shutdown has finished. */
  readonly done: Promise<void>;
  /** True once the shutdown has finished: every closer has run and the exit code is set. */
  readonly stopped: boolean;
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

/**
 * Once a process' work is over: a client library that leaves a socket or timer behind must not
 * keep it alive (a Kubernetes pod would wait for SIGKILL, a terminal would hang), so it exits
 * `graceMs` later, with `process.exitCode` as it is then, whatever is left; sooner if nothing is
 * (the timer does not keep the process alive).
 */
export function exitAfterGrace(graceMs = 3000): void {
  setTimeout(() => process.exit(), graceMs).unref();
}

export function createLifecycle(options: LifecycleOptions): Lifecycle {
  const closers: { name: string; close: () => Promise<void> }[] = [];
  const log = options.logger;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let started: Promise<void> | undefined;
  /**
   * The exit code: raised by a later call with a higher one, made while the first closes (a
   * consumer's handler failing on the batch a SIGTERM's stop waits for: the process must not
   * exit 0 after a fatal error).
   */
  let code = 0;
  let finished = false;

  const shutdown = (reason: string, exitCode = 0): Promise<void> => {
    if (started !== undefined && exitCode > code) log.warn({ reason, exitCode }, 'failure during shutdown; the exit code will say so');
    code = Math.max(code, exitCode);
    if (finished) process.exitCode = code;
    started ??= (async () => {
      log.info({ reason }, 'shutting down');
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
      finished = true;
      log.info({ exitCode: code }, 'stopped');
      exitAfterGrace(options.exitGraceMs);
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
    get stopped() {
      return finished;
    },
  };
}

/**
 * Starts a service under `lifecycle` with its closer registered before it starts: a shutdown
 * that begins during start-up (SIGTERM while connecting, a fatal error of a consumer that has
 * just joined) aborts the start's signal (its retries stop waiting, and it does not join its
 * group: ShuttingDownError), waits for the start to end and then stops what started, so that
 * consumers leave their group rather than being cut off by the exit timer (their partitions
 * would wait for the session timeout). A start that fails leaves nothing to stop: it closes what
 * it opened itself (closeOnFailedStart).
 */
export function startUnder<Service extends { stop(): Promise<void> }>(lifecycle: Lifecycle, name: string, start: (signal: AbortSignal) => Promise<Service>): Promise<Service> {
  const abort = new AbortController();
  const starting = start(abort.signal);
  lifecycle.onShutdown(name, async () => {
    abort.abort();
    let running: Service;
    try {
      running = await starting;
    } catch {
      return;
    }
    await running.stop();
  });
  return starting;
}

/** What a service's start has opened so far (closeOnFailedStart). */
export interface OpenedSoFar {
  /** Registers how to close what was just opened (a connection, a server, a consumer about to start), should a later step fail. */
  add(name: string, close: () => Promise<void> | void): void;
}

/**
 * Runs a service's start, which registers each thing it opens as it opens it (`opened.add`):
 * when a later step throws, what was opened is closed in reverse order, each closer bounded by
 * `closeTimeoutMs` and its failure logged, and the error thrown again. A start that fails thus
 * leaves nothing open (startUnder relies on it: it has nothing to stop then); a process whose
 * start failed ends by itself, and a consumer that had joined its group leaves it. Once the start
 * succeeds, the service's own stop() closes them.
 */
export async function closeOnFailedStart<T>(logger: Logger, start: (opened: OpenedSoFar) => Promise<T>, closeTimeoutMs = 10000): Promise<T> {
  const closers: { name: string; close: () => Promise<void> | void }[] = [];
  try {
    return await start({ add: (name, close) => void closers.push({ name, close }) });
  } catch (error) {
    for (const { name, close } of closers.reverse()) {
      try {
        await withTimeout(Promise.resolve().then(close), closeTimeoutMs, name);
      } catch (failure) {
        logger.warn({ component: name, err: failure }, `closing ${name} after the failed start failed: ${describeError(failure)}`);
      }
    }
    throw error;
  }
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

/** What a service's start function takes besides its configuration (runService passes it). */
export interface StartOptions {
  /** Aborted when a shutdown begins during the start: retries stop, and the consumer does not join its group. */
  readonly signal?: AbortSignal | undefined;
}

export interface ServiceDefinition<Config extends { readonly LOG_LEVEL: string }> {
  /** The logger's name, e.g. `normalizer-web`. */
  readonly name: (config: Config) => string;
  /**
   * Parses the environment; a ConfigError stops the process with exit code 78. `options` to
   * pass to parseEnv: the near misses it reports (a misspelt variable) are logged as warnings.
   */
  readonly loadConfig: (options: ParseEnvOptions) => Config;
  /**
   * Wires the service; `onFatal` starts the shutdown with exit code 1. `signal` is aborted when
   * a shutdown begins during the start: the start then ends early (ShuttingDownError).
   */
  readonly start: (config: Config, logger: Logger, onFatal: (error: Error) => void, options: { readonly signal: AbortSignal }) => Promise<{ stop(): Promise<void> }>;
  /**
   * Error codes of a failed start that mean bad configuration (exit 78) rather than an outage
   * (exit 1), besides those of every service (HEALTH_PORT_UNAVAILABLE: a HEALTH_PORT in use).
   */
  readonly configErrorCodes?: readonly string[];
}

/**
 * The composition root's skeleton, shared by every long-running service: parse the
 * configuration once, start, and stop through the one shutdown path on SIGTERM/SIGINT or a
 * fatal error (the service's `onFatal`, an uncaught exception, an unhandled rejection).
 * Exit codes: 0 after a graceful stop, 1 on a fatal error, 78 on bad configuration. The
 * handlers of uncaught errors stay installed after it returns, until the process exits
 * (catchUncaught): the process may live on for the exit timer's 3 s, and what a closer left
 * behind may still fail.
 */
export async function runService<Config extends { readonly LOG_LEVEL: string }>(service: ServiceDefinition<Config>): Promise<void> {
  let config: Config;
  const warnings: ConfigWarning[] = [];
  try {
    config = service.loadConfig({ onWarning: (warning) => warnings.push(warning) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 78;
    return;
  }
  const logger = createLogger({ name: service.name(config), level: config.LOG_LEVEL });
  for (const warning of warnings) logger.warn({ variable: warning.variable, suggestion: warning.suggestion }, warning.message);
  const lifecycle = createLifecycle({ logger });
  catchUncaught(logger, { onFatal: (error) => void lifecycle.shutdown(`fatal: ${error.message}`, 1), stopped: () => lifecycle.stopped });
  await startService(service, config, logger, lifecycle);
}

async function startService<Config extends { readonly LOG_LEVEL: string }>(service: ServiceDefinition<Config>, config: Config, logger: Logger, lifecycle: Lifecycle): Promise<void> {
  try {
    await startUnder(lifecycle, service.name(config), (signal) => service.start(config, logger, (error) => void lifecycle.shutdown(`fatal: ${error.message}`, 1), { signal }));
  } catch (error) {
    if (error instanceof ShuttingDownError) {
      // A signal during start-up: the shutdown under way sets the exit code.
      logger.info(error.message);
      await lifecycle.done;
      return;
    }
    logger.fatal({ err: error }, `${service.name(config)} failed to start: ${describeError(error)}`);
    const badConfig = error instanceof SyntaxError || isElephantError(error, ...HEALTH_ERROR_CODES, ...(service.configErrorCodes ?? []));
    await lifecycle.shutdown('start-up failed', badConfig ? 78 : 1);
  }
  await lifecycle.done;
}

/** Later fatal errors logged after the first (a storm of them, or one the logging itself causes, is cut short). */
const LATER_FATALS_LOGGED = 10;

export interface CatchUncaughtOptions {
  /**
   * Starts the graceful shutdown with exit code 1; called for each error until `stopped`, so it
   * must start it once (Lifecycle.shutdown does). `error` is the ElephantError logged, whose
   * message says what happened (`unhandled promise rejection`) and whose cause is the error.
   */
  readonly onFatal: (error: ElephantError) => void;
  /**
   * True once the process' work is over: its shutdown has finished (or its command has
   * returned) and its exit code is decided. An error then is only logged, at `error`.
   */
  readonly stopped: () => boolean;
}

/**
 * Installs the process' handlers of an uncaught exception or an unhandled rejection (a library's
 * promise nobody awaits, an 'error' event nobody listens to): each is a fatal error of the
 * service, logged and the graceful shutdown started with exit code 1 (`onFatal`), as the
 * service's own `onFatal` does. Without them, Node prints the error and exits 1 at once: no
 * offsets committed, the consumer still in its group until the session timeout, the producer and
 * Redis cut off. Node prints the error with util.inspect, every field of it (an ioredis error's
 * `command.args`: identifier values), outside the logger's redaction; here the error is logged
 * as the cause of an ElephantError, whose message and stack pino's err serializer includes but
 * not its fields.
 *
 * The first is logged at `fatal`; later ones during the shutdown at `error` (ten at most) and
 * raise nothing further: the shutdown under way goes on, once (a fatal error before it finished
 * still makes the exit code 1, the lifecycle's rule). Once `stopped`, an error (what a closer
 * left behind: a socket's late rejection) is logged at `error` and the exit code stays what the
 * shutdown decided: 0 after a clean stop (everything was committed and closed), 78 for bad
 * configuration.
 *
 * The handlers stay until the process exits, since a process outlives its shutdown (the exit
 * timer gives client libraries 3 s) and Node raises an unhandled rejection only after the
 * microtask queue has drained, after the code that caused it has returned. The returned function
 * removes them, for a caller that does not own the process (an in-process test).
 */
export function catchUncaught(logger: Logger, options: CatchUncaughtOptions): () => void {
  let fatals = 0;
  const handler = (code: 'UNCAUGHT_EXCEPTION' | 'UNHANDLED_REJECTION', what: string) => (error: unknown): void => {
    fatals += 1;
    const stopped = options.stopped();
    const err = new ElephantError(code, what, { cause: error });
    try {
      if (stopped) {
        if (fatals <= 1 + LATER_FATALS_LOGGED) logger.error({ err }, `${what} after the shutdown had finished (logged only: the exit code stays): ${describeError(error)}${fatals === 1 + LATER_FATALS_LOGGED ? ' (later ones are not logged)' : ''}`);
      } else if (fatals === 1) logger.fatal({ err }, `${what}: ${describeError(error)}`);
      else if (fatals <= 1 + LATER_FATALS_LOGGED) logger.error({ err }, `${what} after the first fatal error: ${describeError(error)}${fatals === 1 + LATER_FATALS_LOGGED ? ' (later ones are not logged)' : ''}`);
    } catch {
      // Nothing is left to log it with (stdout closed): the shutdown still runs.
    }
    if (!stopped) options.onFatal(err);
  };
  const onException = handler('UNCAUGHT_EXCEPTION', 'uncaught exception');
  const onRejection = handler('UNHANDLED_REJECTION', 'unhandled promise rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
