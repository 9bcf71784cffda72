import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '@elephant/config';
import { ElephantError } from '@elephant/errors';
import { CliError, commandLogger, EXIT_CODES, exitCodeOf, main, runInForeground } from '@elephant/cli';

describe('elephant run --only', () => {
  it('refuses an unknown part before connecting to anything', async () => {
    const code = await main(['run', '--only', 'normalizers,bogus'], { KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(code).toBe(EXIT_CODES.USAGE);
  });
});

describe('elephant run: Ctrl-C during start-up', () => {
  const logger = commandLogger({ LOG_LEVEL: 'silent' });

  it('stops the services once start-up completes instead of leaving them to the exit timer', async () => {
    const stop = vi.fn(() => Promise.resolve());
    const said: string[] = [];
    const code = await runInForeground({
      logger,
      say: (text) => said.push(text),
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
  });

  it('exits 1 and stops the services when one fails fatally during start-up', async () => {
    const stop = vi.fn(() => Promise.resolve());
    const code = await runInForeground({
      logger,
      say: () => undefined,
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

describe('elephant exit codes', () => {
  it('exits 78 (bad configuration) for an invalid rules file or topics that do not fit, not 1', () => {
    expect(exitCodeOf(new ElephantError('RULES_INVALID', 'rules.json: limits.email must be a positive integer'))).toBe(78);
    expect(exitCodeOf(new ElephantError('KAFKA_TOPIC_MISMATCH', 'partition counts differ'))).toBe(78);
    expect(exitCodeOf(new ConfigError('elephant', [{ variable: 'KAFKA_BROKERS', problem: 'is required' }]))).toBe(78);
    expect(exitCodeOf(new CliError('NOT_FOUND', 'no such profile'))).toBe(EXIT_CODES.NOT_FOUND);
    expect(exitCodeOf(new ElephantError('REDIS_UNAVAILABLE', 'down', { retryable: true }))).toBe(1);
    expect(exitCodeOf(new Error('bug'))).toBe(1);
  });
});
