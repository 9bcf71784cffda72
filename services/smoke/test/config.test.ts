import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, runSmoke } from '@elephant/smoke';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('smoke service start-up', () => {
  it('refuses to start on bad configuration, naming each bad variable, with exit code 78', () => {
    const result = spawnSync(process.execPath, [main], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS: 'localhost', SCHEMA_REGISTRY_URL: 'ftp://registry', SMOKE_TIMEOUT_MS: '-5' },
      timeout: 30000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('Invalid configuration for smoke (4 problems)');
    expect(result.stderr).toMatch(/KAFKA_BROKERS: each broker must be host:port \(got "localhost"\)/);
    expect(result.stderr).toMatch(/SCHEMA_REGISTRY_URL: must be an http\(s\) URL/);
    expect(result.stderr).toMatch(/REDIS_URL: is required but not set/);
    expect(result.stderr).toMatch(/SMOKE_TIMEOUT_MS: must be positive/);
    expect(result.stdout).toBe('');
  });
});

describe('@elephant/smoke', () => {
  it('resolves to an entry point that exists (regression: package.json exported a missing src/index.ts)', () => {
    expect(typeof runSmoke).toBe('function');
    expect(() => loadConfig({})).toThrow(/KAFKA_BROKERS/);
  });
});
