/**
 * `elephant demo` against the test stack: with KAFKA_BROKERS set the demo uses those services
 * instead of bringing the local stack up (demo.ts), so it runs here on a small population. It
 * must pass its own quality bar (exit 0), and the closing hint must be a command that works:
 * it once named the default tenant while the demo ran under a fresh one.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestContext } from '@elephant/testing';

const ctx = createTestContext('demo');
const cli = fileURLToPath(new URL('../services/cli/src/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'elephant-demo-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  KAFKA_BROKERS: ctx.stack.kafkaBrokers,
  SCHEMA_REGISTRY_URL: ctx.stack.schemaRegistryUrl,
  REDIS_URL: ctx.stack.redisUrl,
  TOPIC_PREFIX: `${ctx.topic('demo')}.`,
  // Consumer groups of this test only: other runs on the shared cluster use the default names.
  CONSUMER_GROUP_PREFIX: `${ctx.group('demo')}.`,
  REDIS_KEY_PREFIX: ctx.keyPrefix,
  ELEPHANT_STACK_DIR: dir,
  LOG_LEVEL: 'error',
};

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await ctx.cleanup();
});

function elephant(args: readonly string[], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('elephant demo', () => {
  it('runs end to end on the test stack, meets its bar, and closes with a lookup that works', async () => {
    const demo = await elephant(['demo', '--people', '100', '--show', '1']);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stderr).toContain('one for all eight channels');
    expect(demo.stdout).toMatch(/pairwise precision\s+1\.0000/);
    expect(demo.stdout).toMatch(/computed counters exact\s+(\d+) of \1 profiles/);

    // The hint names the demo's tenant and an address of the profile shown.
    const hint = /`TENANT=(\S+) npx elephant profile email (\S+)`/.exec(demo.stderr);
    expect(hint, demo.stderr).not.toBeNull();
    const [, tenant = '', address = ''] = hint ?? [];
    expect(tenant).toMatch(/^demo-7-/);
    const lookup = await elephant(['profile', 'email', address], { TENANT: tenant });
    expect(lookup.code, lookup.stderr).toBe(0);
    expect(lookup.stdout).toContain(address);
    // The identifier is normalized before the lookup: upper case and spaces find it too.
    const shouted = await elephant(['profile', 'email', ` ${address.toUpperCase()} `, '--json'], { TENANT: tenant });
    expect(shouted.code, shouted.stderr).toBe(0);
    expect((JSON.parse(shouted.stdout) as { profileId: string }).profileId).toBe(/Profile (\S+)/.exec(lookup.stdout)?.[1]);
  }, 240_000);
});
