/**
 * `elephant demo` against the test stack: with KAFKA_BROKERS set the demo uses those services
 * instead of bringing the local stack up (demo.ts), so it runs here on a small population. It
 * must pass its own quality bar (exit 0), and the closing hint must be a command that works:
 * it once named the default tenant while the demo ran under a fresh one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliHarness } from './cli-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'elephant-demo-'));
const { elephant, cleanup } = cliHarness('demo', { ELEPHANT_STACK_DIR: dir });

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await cleanup();
});

describe('elephant demo', () => {
  it('runs end to end on the test stack, meets its bar, and closes with a lookup that works', async () => {
    const demo = await elephant(['demo', '--people', '100', '--show', '1']);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stderr).toContain('one for all eight channels');
    expect(demo.stdout).toMatch(/pairwise precision\s+1\.0000/);
    expect(demo.stdout).toMatch(/computed counters exact\s+(\d+) of \1 profiles/);

    // The hint names the demo's tenant, the settings the lookup needs (the test's Redis and key
    // prefix: it once left the prefix out) and an address of the profile shown.
    const hint = /`((?:[A-Z_]+=\S+ )+)npx elephant profile email (\S+)`/.exec(demo.stderr);
    expect(hint, demo.stderr).not.toBeNull();
    const [, assignments = '', address = ''] = hint ?? [];
    const printed = Object.fromEntries(assignments.trim().split(' ').map((assignment) => [assignment.slice(0, assignment.indexOf('=')), assignment.slice(assignment.indexOf('=') + 1)]));
    const tenant = printed['TENANT'] ?? '';
    expect(tenant).toMatch(/^demo-7-/);
    expect(Object.keys(printed)).toEqual(['TENANT', 'REDIS_URL', 'REDIS_KEY_PREFIX']);
    // Only what the hint prints (an empty variable counts as unset).
    const lookup = await elephant(['profile', 'email', address], { REDIS_URL: '', REDIS_KEY_PREFIX: '', ...printed });
    expect(lookup.code, lookup.stderr).toBe(0);
    expect(lookup.stdout).toContain(address);
    // The identifier is normalized before the lookup: upper case and spaces find it too.
    const shouted = await elephant(['profile', 'email', ` ${address.toUpperCase()} `, '--json'], { TENANT: tenant });
    expect(shouted.code, shouted.stderr).toBe(0);
    expect((JSON.parse(shouted.stdout) as { profileId: string }).profileId).toBe(/Profile (\S+)/.exec(lookup.stdout)?.[1]);
  }, 240_000);
});
