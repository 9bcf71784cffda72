/**
 * The `elephant` CLI as the end-to-end tests drive it: a child process per command, with an
 * environment pointing at the test stack and isolated by the test's own topic prefix,
 * consumer-group prefix and Redis key prefix.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { createTestContext, waitUntil, type TestContext } from '@elephant/testing';

const cli = fileURLToPath(new URL('../services/cli/src/main.ts', import.meta.url));

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningServices {
  readonly child: ChildProcess;
  /** Everything `elephant run` wrote to stderr so far. */
  readonly log: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  readonly stop: () => Promise<number | null>;
}

export interface CliHarness {
  readonly ctx: TestContext;
  readonly env: NodeJS.ProcessEnv;
  /** Runs one command to its end; `watch` sees its standard error so far each time more arrives. */
  readonly elephant: (args: readonly string[], extra?: NodeJS.ProcessEnv, watch?: (stderr: string) => void) => Promise<CommandResult>;
  /** `elephant run`, once its services are started. */
  readonly startServices: () => Promise<RunningServices>;
  /** Kills what is still running and deletes the test's topics and keys. */
  readonly cleanup: () => Promise<void>;
}

export function cliHarness(name: string, extra: NodeJS.ProcessEnv = {}): CliHarness {
  const ctx = createTestContext(name);
  const children: ChildProcess[] = [];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: ctx.stack.kafkaBrokers,
    SCHEMA_REGISTRY_URL: ctx.stack.schemaRegistryUrl,
    REDIS_URL: ctx.stack.redisUrl,
    TOPIC_PREFIX: `${ctx.topic(name)}.`,
    // Consumer groups of this test only, named with CONSUMER_GROUP_PREFIX (in place of TOPIC_PREFIX,
    // which starts the services' default names) so that the CLI's setting is exercised.
    CONSUMER_GROUP_PREFIX: `${ctx.group(name)}.`,
    REDIS_KEY_PREFIX: ctx.keyPrefix,
    LOG_LEVEL: 'error',
    ...extra,
  };

  const elephant = (args: readonly string[], more: NodeJS.ProcessEnv = {}, watch?: (stderr: string) => void): Promise<CommandResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cli, ...args], { env: { ...env, ...more }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        watch?.(stderr);
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  const startServices = async (): Promise<RunningServices> => {
    const child = spawn(process.execPath, [cli, 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let log = '';
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitUntil(() => log.includes('Ctrl-C stops them') || child.exitCode !== null, { timeoutMs: 60_000, message: 'elephant run to start its services' });
    expect(child.exitCode, log).toBeNull();
    return {
      child,
      log: () => log,
      stop: () => {
        child.kill('SIGTERM');
        return exited;
      },
    };
  };

  return {
    ctx,
    env,
    elephant,
    startServices,
    cleanup: async () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await ctx.cleanup();
    },
  };
}
