import { CHANNELS } from '@elephant/channels';
import { startResolver } from '@elephant/identity-resolver';
import { startNormalizer } from '@elephant/normalizer';
import { startBuilder } from '@elephant/profile-builder';
import type { Logger } from '@elephant/observability';
import { catchUncaught, createLifecycle, exitAfterGrace, type Lifecycle } from '@elephant/runtime';
import type { CliConfig } from '../config.ts';
import { builderConfig, normalizerConfig, resolverConfig } from '../topology.ts';

/** The parts `elephant run --only` can start: every channel normalizer, the resolver, the builder. */
export const PIPELINE_PARTS = ['normalizers', 'resolver', 'builder'] as const;
export type PipelinePart = (typeof PIPELINE_PARTS)[number];

export interface RunningPipeline {
  readonly services: readonly string[];
  stop(): Promise<void>;
}

/**
 * Starts every Elephant service in this process: the normalizer of every channel, the identity
 * resolver and the profile builder. In production each is its own Deployment (the normalizer
 * one per channel, or one for several); here they share a process.
 */
export async function startPipeline(config: CliConfig, logger: Logger, onFatal: (error: Error) => void, parts: readonly PipelinePart[] = PIPELINE_PARTS): Promise<RunningPipeline> {
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    for (const { stop } of stops.reverse()) await stop();
  };
  try {
    if (parts.includes('builder')) {
      const builder = await startBuilder(builderConfig(config), logger.child({ service: 'profile-builder' }), onFatal);
      stops.push({ name: 'profile-builder', stop: () => builder.stop() });
    }
    if (parts.includes('resolver')) {
      const resolver = await startResolver(resolverConfig(config), logger.child({ service: 'identity-resolver' }), onFatal);
      stops.push({ name: 'identity-resolver', stop: () => resolver.stop() });
    }
    if (parts.includes('normalizers')) {
      // Every channel in one normalizer (one consumer group reading the eight raw topics).
      const normalizer = await startNormalizer(normalizerConfig(config), logger.child({ service: 'normalizer' }), onFatal);
      stops.push({ name: `normalizer (${CHANNELS.join(', ')})`, stop: () => normalizer.stop() });
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { services: stops.map(({ name }) => name), stop: stopAll };
}

export interface ForegroundOptions {
  /** Starts the services; `onFatal` stops them with exit code 1. */
  readonly start: (onFatal: (error: Error) => void) => Promise<RunningPipeline>;
  readonly logger: Logger;
  /** Told once the services run, and when a signal comes during start-up. */
  readonly say: (text: string) => void;
  /** @default ['SIGTERM', 'SIGINT'] */
  readonly signals?: readonly NodeJS.Signals[];
  /**
   * How long the handlers of uncaught errors stay installed: until the process exits (the
   * default: the process outlives runInForeground, and what a closer left behind may still
   * fail), or until runInForeground returns (an in-process test, whose process is the runner's).
   */
  readonly catchUncaughtUntil?: 'exit' | 'return';
}

/**
 * Runs the services in the foreground until SIGINT/SIGTERM or a fatal error, then stops them
 * cleanly. A signal that arrives while they are still starting is held (the lifecycle's
 * handlers are not installed yet: its shutdown would find nothing to stop and its exit timer
 * would kill the half-started services 3 s later); once start-up completes they are stopped
 * at once. A second signal during start-up gets Node's default: the process ends.
 * An uncaught exception or an unhandled rejection (a library's, in any of the services) is a
 * fatal error, handled as runService handles it (catchUncaught): logged without the error's
 * fields, the services stopped, exit code 1; installed before the start, so one during start-up
 * stops the services once started, and kept after this returns: one after the stop is logged
 * and leaves the exit code as it was.
 * However it ends (a failed start throws), the process exits 3 s later if something left
 * behind still holds it (exitAfterGrace), unless `catchUncaughtUntil` is 'return'.
 * Resolves to the exit code: 0 after a clean stop, 1 after a fatal error or a failed close.
 */
export async function runInForeground(options: ForegroundOptions): Promise<number> {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const early: { signal?: NodeJS.Signals; fatal?: Error } = {};
  // Set once start-up is over; the fatal callback looks it up when it fires.
  const running: { lifecycle?: Lifecycle } = {};
  const onFatal = (error: Error): void => {
    if (running.lifecycle) void running.lifecycle.shutdown(`fatal: ${error.message}`, 1);
    else early.fatal ??= error;
  };
  // Set once this returns, or throws (a failed start: the error gives the exit code).
  let over = false;
  const stopCatching = catchUncaught(options.logger, { onFatal, stopped: () => over || running.lifecycle?.stopped === true });
  try {
    const held = (signal: NodeJS.Signals): void => {
      early.signal ??= signal;
      options.say(`elephant: ${signal} during start-up; stopping the services as soon as they have started (${signal} again to force)`);
    };
    const handlers = signals.map((signal) => [signal, () => held(signal)] as const);
    for (const [signal, handler] of handlers) process.once(signal, handler);
    let pipeline: RunningPipeline;
    try {
      pipeline = await options.start(onFatal);
    } finally {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    }
    if (early.signal !== undefined || early.fatal !== undefined) {
      if (early.fatal) options.logger.error({ err: early.fatal }, `fatal during start-up: ${early.fatal.message}`);
      await pipeline.stop();
      // Read after the stop: a fatal error during it makes the exit code 1 too.
      return early.fatal ? 1 : 0;
    }
    // No await between removing the start-up handlers and installing the lifecycle's: a signal
    // is delivered through the event loop, so none can fall in between.
    const lifecycle = createLifecycle({ logger: options.logger, signals });
    running.lifecycle = lifecycle;
    lifecycle.onShutdown('pipeline', () => pipeline.stop());
    options.say(`elephant: running ${pipeline.services.length} services (${pipeline.services.join('; ')}); Ctrl-C stops them`);
    await lifecycle.done;
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } finally {
    over = true;
    if (options.catchUncaughtUntil === 'return') stopCatching();
    // The process is ours: after a failed start, or a stop during start-up, what the
    // half-started services left behind does not keep it alive (before, `elephant run` could
    // hang there); the caller sets the exit code meanwhile. After a run, the lifecycle's
    // shutdown has armed the same timer.
    else if (running.lifecycle === undefined) exitAfterGrace();
  }
}
