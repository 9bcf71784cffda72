import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { ElephantError } from '@elephant/errors';
import { createLogger } from '@elephant/observability';
import { closeOnFailedStart, createLifecycle, retryTransient, ShuttingDownError, startUnder } from '@elephant/runtime';
import { runScript } from './run-script.ts';

describe('runtime', () => {
  it('runs on the Node 24 pinned as a dev dependency, not the machine Node 20', () => {
    console.log(`tests run on Node ${process.version} (${process.execPath})`);
    expect(Number(process.versions.node.split('.')[0])).toBe(24);
  });
});

describe('a service’s lifecycle', () => {
  const logger = createLogger({ name: 'lifecycle-test', level: 'silent' });
  // A signal name no one else listens to in the test worker; the handling is the same. The exit
  // timer (unref'd) is pushed out of the test's way.
  const options = { logger, signals: ['SIGUSR2'] as NodeJS.Signals[], exitGraceMs: 2 ** 31 - 1 };

  it('regression (SIGTERM during start-up skipped the graceful stop): the shutdown waits for the start, then stops what started', async () => {
    const lifecycle = createLifecycle(options);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stop = vi.fn(() => Promise.resolve());
    const starting = startUnder(lifecycle, 'service', async () => {
      await gate;
      return { stop };
    });
    process.emit('SIGUSR2', 'SIGUSR2');
    await new Promise((resolve) => setImmediate(resolve));
    expect(stop).not.toHaveBeenCalled();
    release();
    await starting;
    await lifecycle.done;
    expect(stop).toHaveBeenCalledTimes(1);
    expect(process.exitCode).toBe(0);
    process.exitCode = undefined;
  });

  it('regression (a signal while the start waited out a registry outage let it go on to join the group, or held the shutdown past its timeout): the shutdown aborts the start, whose retries stop at once', async () => {
    const lifecycle = createLifecycle(options);
    let attempts = 0;
    const stop = vi.fn(() => Promise.resolve());
    const starting = startUnder(lifecycle, 'service', async (signal) => {
      // A registry that stays down; the backoff (an hour) would outlast any shutdown timeout.
      await retryTransient('registering', () => {
        attempts += 1;
        return Promise.reject(new ElephantError('REGISTRY_UNAVAILABLE', 'down', { retryable: true }));
      }, logger, { initialMs: 3_600_000, signal });
      return { stop };
    });
    const outcome = starting.then(() => undefined, (error: unknown) => error);
    await vi.waitFor(() => expect(attempts).toBe(1));
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(await outcome).toBeInstanceOf(ShuttingDownError);
    await lifecycle.done;
    expect(attempts).toBe(1);
    expect(stop).not.toHaveBeenCalled();
    expect(process.exitCode).toBe(0);
    process.exitCode = undefined;
  });

  it('a shutdown that begins during an attempt ends the retries when the attempt fails, without a wait or a warning', async () => {
    const controller = new AbortController();
    let fail: (error: Error) => void = () => undefined;
    const warnings: string[] = [];
    const watching = createLogger({ name: 'retry-test', level: 'warn', destination: { write: (line: string) => void warnings.push(line) } });
    const retrying = retryTransient('connecting to Redis', () => new Promise<never>((_, reject) => (fail = reject)), watching, { initialMs: 3_600_000, signal: controller.signal });
    const outcome = retrying.then(() => undefined, (error: unknown) => error);
    controller.abort();
    fail(new ElephantError('REDIS_UNAVAILABLE', 'connection closed', { retryable: true }));
    expect(await outcome).toBeInstanceOf(ShuttingDownError);
    expect(warnings).toEqual([]);
  });

  it('regression (a handler failing on the batch a SIGTERM\'s stop waited for exited 0): a fatal shutdown during the graceful one raises the exit code', async () => {
    const lifecycle = createLifecycle(options);
    let fatal: () => void = () => undefined;
    // The consumer's stop waits for the batch in hand, which fails: onFatal asks for exit 1.
    lifecycle.onShutdown('consumer', () => new Promise<void>((resolve) => (fatal = () => {
      void lifecycle.shutdown('fatal: handler bug', 1);
      resolve();
    })));
    process.emit('SIGUSR2', 'SIGUSR2');
    await new Promise((resolve) => setImmediate(resolve));
    fatal();
    await lifecycle.done;
    expect(process.exitCode).toBe(1);
    // After the shutdown finished too.
    await lifecycle.shutdown('late failure', 78);
    expect(process.exitCode).toBe(78);
    process.exitCode = undefined;
  });

  it('a start that fails leaves nothing to stop, and the shutdown still completes', async () => {
    const lifecycle = createLifecycle(options);
    await expect(startUnder(lifecycle, 'service', () => Promise.reject(new Error('broker unreachable')))).rejects.toThrow('broker unreachable');
    await lifecycle.shutdown('start-up failed', 1);
    await lifecycle.done;
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;
  });
});

describe('closeOnFailedStart (a start that fails closes what it opened)', () => {
  it('closes what the start opened, in reverse order, when a later step throws, and throws the step\'s error', async () => {
    const closed: string[] = [];
    const failure = new Error('HEALTH_PORT in use');
    const outcome = closeOnFailedStart(createLogger({ name: 'test', level: 'silent' }), async (opened) => {
      opened.add('redis', () => void closed.push('redis'));
      opened.add('producer', async () => {
        await new Promise((resolve) => setImmediate(resolve));
        closed.push('producer');
      });
      opened.add('consumer', () => void closed.push('consumer'));
      throw failure;
    });
    await expect(outcome).rejects.toBe(failure);
    expect(closed).toEqual(['consumer', 'producer', 'redis']);
  });

  it('closes nothing when the start succeeds', async () => {
    const close = vi.fn();
    const started = await closeOnFailedStart(createLogger({ name: 'test', level: 'silent' }), async (opened) => {
      opened.add('producer', close);
      return 'running';
    });
    expect(started).toBe('running');
    expect(close).not.toHaveBeenCalled();
  });

  it('a closer that fails or hangs is logged and the others still run', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ name: 'test', level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    const closed: string[] = [];
    const outcome = closeOnFailedStart(logger, async (opened) => {
      opened.add('redis', () => void closed.push('redis'));
      opened.add('producer', () => Promise.reject(new Error('broker gone')));
      opened.add('consumer', () => new Promise<void>(() => undefined));
      throw new Error('start failed');
    }, 20);
    await expect(outcome).rejects.toThrow('start failed');
    expect(closed).toEqual(['redis']);
    expect(lines.map((line) => line.msg)).toEqual(['closing consumer after the failed start failed: Error: consumer did not close within 20 ms', 'closing producer after the failed start failed: Error: broker gone']);
  });
});

describe('runService and errors nobody handles', () => {
  const fixture = fileURLToPath(new URL('./fixtures/fatal-service.ts', import.meta.url));

  /**
   * Runs test/fixtures/fatal-service.ts in `mode` until it exits by itself; SIGTERM once it says
   * it has started, if it does.
   */
  async function run(mode: string): Promise<{ code: number | null; stdout: string; stderr: string; lines: Record<string, unknown>[] }> {
    let signalled = false;
    const { code, stdout, stderr } = await runScript(fixture, [mode], {
      onOutput: (output, child) => {
        if (signalled || !output.stderr.includes('started\n')) return;
        signalled = true;
        child.kill('SIGTERM');
      },
    });
    const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    return { code, stdout, stderr, lines };
  }

  it.each([
    { mode: 'rejection', what: 'unhandled promise rejection', errorCode: 'UNHANDLED_REJECTION' },
    { mode: 'exception', what: 'uncaught exception', errorCode: 'UNCAUGHT_EXCEPTION' },
  ])('regression (an $what exited 1 at once, skipping the graceful stop, and Node printed the error with its fields, identifier values included): logged through the logger, the service stopped, exit 1', async ({ mode, what, errorCode }) => {
    const { code, stdout, stderr, lines } = await run(mode);
    expect(code, stdout + stderr).toBe(1);
    expect(stderr).toBe('stop() called\nstop() done\nrunService returned, 2 listeners left\n');
    expect(stdout + stderr).not.toContain('ada@example.com');
    expect(lines[0]).toMatchObject({ level: 'fatal', msg: `${what}: Error: library bug`, err: { code: errorCode, message: `${what}: library bug` } });
    expect(lines.map((line) => line.msg)).toEqual([`${what}: Error: library bug`, 'shutting down', 'stopped']);
    expect(lines.at(-1)).toMatchObject({ exitCode: 1 });
  });

  it('more errors during the shutdown are logged; the shutdown runs once', async () => {
    const { code, stdout, stderr, lines } = await run('twice');
    expect(code, stdout + stderr).toBe(1);
    expect(stderr).toBe('stop() called\nstop() done\nrunService returned, 2 listeners left\n');
    expect(stdout + stderr).not.toContain('ada@example.com');
    expect(lines.map((line) => `${String(line.level)} ${String(line.msg)}`)).toEqual([
      'fatal unhandled promise rejection: Error: library bug',
      'info shutting down',
      'error unhandled promise rejection after the first fatal error: Error: second failure',
      'error uncaught exception after the first fatal error: Error: third failure',
      'info stopped',
    ]);
  });

  it('regression (the handlers went once the shutdown had finished, while the process lives up to 3 s longer: a rejection a closer left behind was printed by Node with its fields, and exit 1 after a clean stop): it is logged as an error and the exit code stays 0', async () => {
    const { code, stdout, stderr, lines } = await run('after-stop');
    expect(code, stdout + stderr).toBe(0);
    expect(stderr).toBe('started\nstop() done\nrunService returned, 2 listeners left\n');
    expect(stdout + stderr).not.toContain('ada@example.com');
    expect(lines.map((line) => `${String(line.level)} ${String(line.msg)}`)).toEqual([
      'info shutting down',
      'info stopped',
      'error unhandled promise rejection after the shutdown had finished (logged only: the exit code stays): Error: connection closed',
    ]);
    expect(lines[1]).toMatchObject({ exitCode: 0 });
    expect(lines[2]).toMatchObject({ err: { code: 'UNHANDLED_REJECTION', message: 'unhandled promise rejection: connection closed' } });
  });

  it('regression (a start failing on bad configuration whose closing left a rejection behind exited 1, not 78, and Node printed the error with its fields): exit 78, the rejection logged', async () => {
    const { code, stdout, stderr, lines } = await run('failed-start');
    expect(code, stdout + stderr).toBe(78);
    expect(stderr).toBe('closing redis\nrunService returned, 2 listeners left\n');
    expect(stdout + stderr).not.toContain('ada@example.com');
    expect(lines.map((line) => `${String(line.level)} ${String(line.msg)}`)).toEqual([
      'fatal fatal-service failed to start: HEALTH_PORT_UNAVAILABLE: HEALTH_PORT 8080 is in use',
      'info shutting down',
      'info stopped',
      'error unhandled promise rejection after the shutdown had finished (logged only: the exit code stays): Error: connection closed',
    ]);
    expect(lines[2]).toMatchObject({ exitCode: 78 });
  });
});

describe('retryTransient (start-up calls: registering schemas, connecting to Redis)', () => {
  const logger = createLogger({ name: 'test', level: 'silent' });

  it('retries retryable failures with backoff until the call succeeds', async () => {
    let calls = 0;
    const result = await retryTransient('registering', () => {
      calls += 1;
      return calls < 3 ? Promise.reject(new ElephantError('REGISTRY_UNAVAILABLE', 'down', { retryable: true })) : Promise.resolve(42);
    }, logger, { initialMs: 1 });
    expect(result).toBe(42);
    expect(calls).toBe(3);
  });

  it('gives up after the attempts allowed, and at once on a non-retryable error', async () => {
    let calls = 0;
    const down = (): Promise<never> => {
      calls += 1;
      return Promise.reject(new ElephantError('REGISTRY_UNAVAILABLE', 'down', { retryable: true }));
    };
    await expect(retryTransient('registering', down, logger, { attempts: 4, initialMs: 1 })).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect(calls).toBe(4);
    calls = 0;
    const refused = (): Promise<never> => {
      calls += 1;
      return Promise.reject(new ElephantError('REGISTRY_INCOMPATIBLE', 'no'));
    };
    await expect(retryTransient('registering', refused, logger, { initialMs: 1 })).rejects.toMatchObject({ code: 'REGISTRY_INCOMPATIBLE' });
    expect(calls).toBe(1);
  });

  it('regression (each retry logged `error: describeError(error)`, which dropped the cause, e.g. the ENOTFOUND behind a registry\'s `fetch failed`, and the retryable flag): the failure is logged under `err`', async () => {
    const lines: string[] = [];
    const watching = createLogger({ name: 'retry-test', level: 'warn', destination: { write: (line: string) => void lines.push(line) } });
    const lookup = Object.assign(new Error('getaddrinfo ENOTFOUND registry.internal'), { code: 'ENOTFOUND' });
    const down = new ElephantError('REGISTRY_UNAVAILABLE', 'Schema Registry at http://registry.internal:8081 is unreachable (POST /subjects/x/versions): fetch failed', { retryable: true, cause: new TypeError('fetch failed', { cause: lookup }) });
    await expect(retryTransient('registering the schemas', () => Promise.reject(down), watching, { attempts: 2, initialMs: 1 })).rejects.toBe(down);
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? '') as { level: string; msg: string; attempt: number; err: { type: string; code: string; retryable: boolean; message: string; stack: string } };
    expect(entry).toMatchObject({ level: 'warn', attempt: 1, msg: `registering the schemas failed; retrying: REGISTRY_UNAVAILABLE: ${down.message}` });
    expect(entry.err).toMatchObject({ type: 'ElephantError', code: 'REGISTRY_UNAVAILABLE', retryable: true });
    expect(entry.err.message).toBe(`${down.message}: fetch failed: getaddrinfo ENOTFOUND registry.internal`);
    expect(entry.err.stack).toContain('caused by: TypeError: fetch failed');
  });
});
