import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '@elephant/config';
import { ElephantError } from '@elephant/errors';
import { CliError, commandLogger, EXIT_CODES, exitCodeOf, main, runInForeground } from '@elephant/cli';
import { runScript } from './run-script.ts';

describe('elephant run --only', () => {
  it('refuses an unknown part before connecting to anything', async () => {
    const code = await main(['run', '--only', 'normalizers,bogus'], { KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(code).toBe(EXIT_CODES.USAGE);
  });
});

describe('elephant run: Ctrl-C during start-up', () => {
  const logger = commandLogger({ LOG_LEVEL: 'silent' });

  it('stops the services once start-up completes instead of leaving them to the exit timer', async () => {
    const catching = process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection');
    const stop = vi.fn(() => Promise.resolve());
    const said: string[] = [];
    const code = await runInForeground({
      logger,
      say: (text) => said.push(text),
      catchUncaughtUntil: 'return',
      // A signal name no one else listens to in the test worker; the handling is the same.
      signals: ['SIGUSR2'],
      start: async () => {
        process.emit('SIGUSR2', 'SIGUSR2');
        await new Promise((resolve) => setImmediate(resolve));
        return { services: ['fake'], stop };
      },
    });
    expect(code).toBe(0);
    expect(stop).toHaveBeenCalledTimes(1);
    expect(said.join('\n')).toContain('during start-up');
    expect(process.listenerCount('SIGUSR2')).toBe(0);
    // catchUncaughtUntil: 'return' took its handlers away again.
    expect(process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection')).toBe(catching);
  });

  it('exits 1 and stops the services when one fails fatally during start-up', async () => {
    const stop = vi.fn(() => Promise.resolve());
    const code = await runInForeground({
      logger,
      say: () => undefined,
      catchUncaughtUntil: 'return',
      signals: ['SIGUSR2'],
      start: (onFatal) => {
        onFatal(new Error('consumer crashed'));
        return Promise.resolve({ services: ['fake'], stop });
      },
    });
    expect(code).toBe(1);
    expect(stop).toHaveBeenCalledTimes(1);
  });
});

describe('elephant run: errors nobody handles', () => {
  const fixture = fileURLToPath(new URL('./fixtures/foreground.ts', import.meta.url));

  /**
   * Runs test/fixtures/foreground.ts in `mode` until it exits by itself (killed after 15 s: code
   * null); SIGTERM once its services run, in `after-stop`.
   */
  async function run(mode: string): Promise<{ code: number | null; stdout: string; stderr: string; lines: string[] }> {
    let signalled = false;
    const { code, stdout, stderr } = await runScript(fixture, [mode], {
      killAfterMs: 15000,
      onOutput: (output, child) => {
        if (mode !== 'after-stop' || signalled || !output.stdout.includes('Ctrl-C stops them')) return;
        signalled = true;
        child.kill('SIGTERM');
      },
    });
    const lines = stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => {
      const entry = JSON.parse(line) as { level: string; msg: string };
      return `${entry.level} ${entry.msg}`;
    });
    return { code, stdout, stderr, lines };
  }

  it('regression (elephant run installed no handler: Node printed the error with its fields, identifier values included, and exited 1 at once without stopping the services): logged, the services stopped, exit 1', async () => {
    const { code, stdout, stderr, lines } = await run('running');
    expect(code, stdout + stderr).toBe(1);
    expect(stdout + stderr).not.toContain('ada@example.com');
    expect(stdout).toContain('stop() called\nstop() done\nrunInForeground returned 1\n');
    expect(lines).toEqual(['fatal unhandled promise rejection: Error: library bug', 'info shutting down', 'info stopped']);
  });

  it('during start-up: logged, the services stopped once started, exit 1', async () => {
    const { code, stdout, stderr, lines } = await run('starting');
    expect(code, stdout + stderr).toBe(1);
    expect(stdout + stderr).not.toContain('ada@example.com');
    expect(stdout).toBe('stop() called\nstop() done\nrunInForeground returned 1\n');
    expect(lines).toEqual(['fatal unhandled promise rejection: Error: library bug', 'error fatal during start-up: unhandled promise rejection']);
  });

  it('after a clean stop (what a closer left behind): logged as an error, the exit code stays 0', async () => {
    const { code, stdout, stderr, lines } = await run('after-stop');
    expect(code, stdout + stderr).toBe(0);
    expect(stdout + stderr).not.toContain('ada@example.com');
    expect(stdout).toContain('stop() called\nstop() done\nrunInForeground returned 0\n');
    expect(lines).toEqual(['info shutting down', 'info stopped', 'error unhandled promise rejection after the shutdown had finished (logged only: the exit code stays): Error: connection closed']);
  });

  it('regression (a failed start left elephant run hanging on what the half-started services left open): exits with the caller\'s exit code within the grace', async () => {
    const { code, stdout, stderr } = await run('start-fails');
    expect(code, stdout + stderr).toBe(69);
    expect(stdout).toBe('runInForeground threw: cannot connect\n');
  }, 20000);
});

describe('elephant exit codes', () => {
  it('exits 78 (bad configuration) for an invalid rules file or topics that do not fit, not 1', () => {
    expect(exitCodeOf(new ElephantError('RULES_INVALID', 'rules.json: limits.email must be a positive integer'))).toBe(78);
    expect(exitCodeOf(new ElephantError('KAFKA_TOPIC_MISMATCH', 'partition counts differ'))).toBe(78);
    // Since 2026-12-07 (before: 1): an ACL the principal lacks, a topic the broker will not create.
    expect(exitCodeOf(new ElephantError('KAFKA_REFUSED', 'The broker refused to create topics: t: INVALID_REPLICATION_FACTOR'))).toBe(78);
    expect(exitCodeOf(new ConfigError('elephant', [{ variable: 'KAFKA_BROKERS', problem: 'is required' }]))).toBe(78);
    expect(exitCodeOf(new CliError('NOT_FOUND', 'no such profile'))).toBe(EXIT_CODES.NOT_FOUND);
    expect(exitCodeOf(new ElephantError('REDIS_UNAVAILABLE', 'down', { retryable: true }))).toBe(1);
    expect(exitCodeOf(new Error('bug'))).toBe(1);
  });
});
