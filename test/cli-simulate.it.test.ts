/**
 * `elephant simulate --publish --rate N`: the simulator writes straight to the channel topics
 * through publish's producer, paced, with the ground truth beside it; the pipeline resolves
 * what it published.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { pairwiseQuality } from '@elephant/identity';
import { parseTruth } from '@elephant/simulator';
import { createTestContext, waitUntil } from '@elephant/testing';

const ctx = createTestContext('simulate');
const cli = fileURLToPath(new URL('../services/cli/src/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'elephant-simulate-'));
const children: ChildProcess[] = [];
const env: NodeJS.ProcessEnv = {
  ...process.env,
  KAFKA_BROKERS: ctx.stack.kafkaBrokers,
  SCHEMA_REGISTRY_URL: ctx.stack.schemaRegistryUrl,
  REDIS_URL: ctx.stack.redisUrl,
  TOPIC_PREFIX: `${ctx.topic('sim')}.`,
  // Consumer groups of this test only: other runs on the shared cluster use the default names.
  CONSUMER_GROUP_PREFIX: `${ctx.group('sim')}.`,
  REDIS_KEY_PREFIX: ctx.keyPrefix,
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

describe('elephant simulate --publish', () => {
  it('publishes to the channel topics at --rate, with the truth beside, and the pipeline resolves it', async () => {
    const run = spawn(process.execPath, [cli, 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(run);
    let runLog = '';
    run.stderr.on('data', (chunk: Buffer) => (runLog += chunk.toString()));
    await waitUntil(() => runLog.includes('Ctrl-C stops them') || run.exitCode !== null, { timeoutMs: 60_000 });
    expect(run.exitCode, runLog).toBeNull();

    const base = join(dir, 'paced.ndjson');
    const rate = 400;
    const started = Date.now();
    const simulated = await elephant(['simulate', '--people', '30', '--seed', '4', '--publish', '--rate', String(rate), '--truth', `${base}.truth`, '--expectations', `${base}.people`]);
    const seconds = (Date.now() - started) / 1000;
    expect(simulated.code, simulated.stderr).toBe(0);
    const summary = JSON.parse(simulated.stdout) as { messages: number; touchpoints: number; published: boolean };
    expect(summary.published).toBe(true);
    // Paced: N messages at `rate` per second take at least (N - 1) / rate seconds.
    expect(seconds).toBeGreaterThanOrEqual((summary.messages - 1) / rate);
    // Without --out no traffic file is written; the truth is.
    expect(existsSync(base)).toBe(false);

    const drained = await elephant(['drain', '--timeout', '120']);
    expect(drained.code, drained.stderr).toBe(0);
    const listed = await elephant(['profiles', '--events']);
    expect(listed.code, listed.stderr).toBe(0);
    const clusters = listed.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { events: string[] }).events);
    const truth = parseTruth(readFileSync(`${base}.truth`, 'utf8'));
    expect(truth.size).toBe(summary.touchpoints);
    const quality = pairwiseQuality(clusters, truth);
    expect(quality.precision).toBeGreaterThanOrEqual(0.99);
    expect(quality.recall).toBeGreaterThanOrEqual(0.97);
    const exited = new Promise<number | null>((resolve) => run.once('exit', (code) => resolve(code)));
    run.kill('SIGTERM');
    expect(await exited, runLog).toBe(0);
  }, 180_000);
});
