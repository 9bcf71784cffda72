/**
 * `elephant simulate --publish --rate N`: the simulator writes straight to the channel topics
 * through publish's producer, paced, with the ground truth beside it; the pipeline resolves
 * what it published.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pairwiseQuality } from '@elephant/identity';
import { parseTruth } from '@elephant/simulator';
import { cliHarness } from './cli-harness.ts';

const { elephant, startServices, cleanup } = cliHarness('simulate');
const dir = mkdtempSync(join(tmpdir(), 'elephant-simulate-'));

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await cleanup();
});

describe('elephant simulate', () => {
  it('publishes to the channel topics at --rate, with the truth beside, and the pipeline resolves it', async () => {
    const services = await startServices();

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
    expect(await services.stop(), services.log()).toBe(0);
  }, 180_000);

  it('writes phone numbers in national formats too when DEFAULT_REGION is US or CA (the normalizer reads them as that region\'s), only with +1 otherwise', async () => {
    // A JSON string that is a whole North American number without its country code.
    const national = /"(\(\d{3}\) \d{3}-\d{4}|\d{3}-\d{3}-\d{4}|\d{3}\.\d{3}\.\d{4}|1-\d{3}-\d{3}-\d{4})"/;
    const nationalIn = async (region: string): Promise<boolean> => {
      const out = join(dir, `region-${region}.ndjson`);
      const simulated = await elephant(['simulate', '--people', '40', '--seed', '4', '--out', out], { DEFAULT_REGION: region });
      expect(simulated.code, simulated.stderr).toBe(0);
      return national.test(readFileSync(out, 'utf8'));
    };
    expect(await nationalIn('CA')).toBe(true);
    expect(await nationalIn('US')).toBe(true);
    expect(await nationalIn('DE')).toBe(false);
  }, 60_000);
});
