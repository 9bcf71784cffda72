/**
 * End to end through the CLI, as an operator would: `elephant simulate`, `elephant run` (all
 * services), `elephant publish`, `elephant drain`, `elephant profiles`. The profiles must match
 * the simulator's ground truth: pairwise precision ≥ 0.99 and recall ≥ 0.97 on the default
 * population, and every computed counter of every person's profile equal to what the truth implies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { pairwiseQuality } from '@elephant/identity';
import type { ProfileSnapshot } from '@elephant/profiles';
import { parseExpectations, parseTruth } from '@elephant/simulator';
import { counterMismatches } from '@elephant/cli';
import { createTestContext } from '@elephant/testing';

const ctx = createTestContext('e2e');
const cli = fileURLToPath(new URL('../services/cli/src/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'elephant-e2e-'));
const children: ChildProcess[] = [];
const env = {
  ...process.env,
  KAFKA_BROKERS: ctx.stack.kafkaBrokers,
  SCHEMA_REGISTRY_URL: ctx.stack.schemaRegistryUrl,
  REDIS_URL: ctx.stack.redisUrl,
  TOPIC_PREFIX: `${ctx.topic('e2e')}.`,
  REDIS_KEY_PREFIX: ctx.keyPrefix,
  TENANT: 'default',
  LOG_LEVEL: 'error',
};

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  await ctx.cleanup();
});

function elephant(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface ProfileLine {
  profileId: string;
  identifiers: { type: string; value: string }[];
  profile: ProfileSnapshot | null;
}

describe('elephant end to end', () => {
  it('simulate → publish → drain → profiles matches the ground truth', async () => {
    const traffic = join(dir, 'traffic.ndjson');
    const simulated = await elephant(['simulate', '--out', traffic, '--seed', '11']);
    expect(simulated.code, simulated.stderr).toBe(0);

    const run = spawn(process.execPath, [cli, 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(run);
    let runLog = '';
    run.stderr.on('data', (chunk: Buffer) => (runLog += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (runLog.includes('running')) {
          clearInterval(check);
          resolve();
        }
        if (run.exitCode !== null) {
          clearInterval(check);
          reject(new Error(`elephant run exited: ${runLog}`));
        }
      }, 100);
    });

    const published = await elephant(['publish', '--file', traffic]);
    expect(published.code, published.stderr).toBe(0);
    const drained = await elephant(['drain', '--timeout', '300']);
    expect(drained.code, drained.stderr).toBe(0);
    const listed = await elephant(['profiles']);
    expect(listed.code, listed.stderr).toBe(0);
    const profiles = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as ProfileLine);

    run.kill('SIGTERM');
    const exit = await new Promise<number | null>((resolve) => run.once('exit', (code) => resolve(code)));
    expect(exit, runLog).toBe(0);

    // Identity quality: each person's events (ground truth) against the profile each event's
    // identifiers landed on.
    const truth = parseTruth(readFileSync(traffic.replace(/\.ndjson$/, '.truth.ndjson'), 'utf8'));
    const people = parseExpectations(readFileSync(traffic.replace(/\.ndjson$/, '.people.ndjson'), 'utf8'));
    const ownerOf = new Map<string, string>();
    for (const profile of profiles) for (const identifier of profile.identifiers) ownerOf.set(`${identifier.type}:${identifier.value}`, profile.profileId);
    const personProfiles = new Map<string, Set<string>>();
    for (const person of people) {
      const owners = new Set(person.identifiers.map((identifier) => ownerOf.get(`${identifier.type}:${identifier.value}`)).filter((owner): owner is string => owner !== undefined));
      personProfiles.set(person.personId, owners);
    }
    // Pairwise quality over the people's identifiers: which profile holds each.
    const clusters = new Map<string, string[]>();
    const labels = new Map<string, string>();
    for (const person of people) {
      for (const identifier of person.identifiers) {
        const key = `${identifier.type}:${identifier.value}`;
        labels.set(key, person.personId);
        const owner = ownerOf.get(key);
        if (owner) clusters.set(owner, [...(clusters.get(owner) ?? []), key]);
      }
    }
    const quality = pairwiseQuality([...clusters.values()], labels);
    console.log(`e2e: ${truth.size} touchpoints of ${people.length} people → ${profiles.length} profiles; ${JSON.stringify(quality)}`);
    expect(quality.precision).toBeGreaterThanOrEqual(0.99);
    expect(quality.recall).toBeGreaterThanOrEqual(0.97);

    // Counters: every person whose identifiers all landed on one profile must see exactly
    // the counters the truth implies.
    const byId = new Map(profiles.map((profile) => [profile.profileId, profile]));
    const failures: string[] = [];
    let compared = 0;
    for (const person of people) {
      const owners = personProfiles.get(person.personId) ?? new Set();
      if (owners.size !== 1) continue;
      const [owner] = owners;
      const snapshot = byId.get(owner ?? '')?.profile;
      expect(snapshot, `profile of ${person.personId}`).toBeTruthy();
      const problems = snapshot ? counterMismatches(snapshot.computed, person.counters) : ['no profile'];
      if (problems.length > 0) failures.push(`${person.personId}: ${problems.join('; ')}`);
      compared += 1;
    }
    expect(failures.slice(0, 10)).toEqual([]);
    expect(compared).toBeGreaterThanOrEqual(people.length * 0.97);
  });
});
