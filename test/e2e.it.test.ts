/**
 * End to end through the CLI, as an operator would: `elephant simulate`, `elephant run` (all
 * services), `elephant publish`, `elephant drain`, `elephant profiles`. The profiles must match
 * the simulator's ground truth: pairwise precision ≥ 0.99 and recall ≥ 0.97 on the default
 * population (seed 1, 1000 people), scored over every pair of touchpoints (\`profiles --events\`
 * lists each profile's eventIds), and every computed counter of every person's profile equal to
 * what the truth implies: a person split over profiles, or a profile holding two people, fails.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pairwiseQuality } from '@elephant/identity';
import type { ProfileSnapshot } from '@elephant/profiles';
import { parseTruthLines } from '@elephant/simulator';
import { checkProfiles } from '@elephant/cli';
import { cliHarness } from './cli-harness.ts';

const { elephant, startServices, cleanup } = cliHarness('e2e', { TENANT: 'default' });
const dir = mkdtempSync(join(tmpdir(), 'elephant-e2e-'));

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await cleanup();
});

interface ProfileLine {
  profileId: string;
  identifiers: { type: string; value: string }[];
  profile: ProfileSnapshot | null;
  events: string[];
}

describe('elephant end to end', () => {
  it('simulate → publish → drain → profiles matches the ground truth', async () => {
    const traffic = join(dir, 'traffic.ndjson');
    const started = Date.now();
    // The defaults (seed 1, 1000 people): the population the acceptance names.
    const simulated = await elephant(['simulate', '--out', traffic]);
    expect(simulated.code, simulated.stderr).toBe(0);

    const services = await startServices();

    const published = await elephant(['publish', '--file', traffic]);
    expect(published.code, published.stderr).toBe(0);
    const drained = await elephant(['drain', '--timeout', '300']);
    expect(drained.code, drained.stderr).toBe(0);
    const listed = await elephant(['profiles', '--events']);
    expect(listed.code, listed.stderr).toBe(0);
    const profiles = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as ProfileLine);

    expect(await services.stop(), services.log()).toBe(0);

    // Identity quality over events, as the issue defines it: every pair of touchpoints of the
    // truth is scored against the profiles the pipeline resolved them to.
    const truthLines = parseTruthLines(readFileSync(traffic.replace(/\.ndjson$/, '.truth.ndjson'), 'utf8'));
    const truth = new Map(truthLines.map((line) => [line.eventId, line]));
    const people = new Set(truthLines.map((line) => line.personId));
    const quality = pairwiseQuality(
      profiles.map((profile) => profile.events),
      new Map(truthLines.map((line) => [line.eventId, line.personId])),
    );
    const seconds = (Date.now() - started) / 1000;
    expect(people.size).toBe(1000);
    expect(quality.precision).toBeGreaterThanOrEqual(0.99);
    expect(quality.recall).toBeGreaterThanOrEqual(0.97);

    // Every profile, none skipped: its computed counters equal what the truth implies for the
    // touchpoints it holds (a person on one profile: their own counters; a person split over
    // two: each part its part). Touchpoints on no profile (the resolver dead-letters an event a
    // quarantine left without a linking identifier) are lost pairs in the recall above.
    const check = checkProfiles(
      profiles.map((profile) => ({ profileId: profile.profileId, events: profile.events, computed: profile.profile?.computed ?? null })),
      truth,
    );
    console.log(`e2e: ${truth.size} touchpoints of ${people.size} people → ${profiles.length} profiles in ${seconds.toFixed(0)} s; ${JSON.stringify({ ...quality, profilesExact: check.profilesExact, split: check.splitPeople, overMerged: check.overMergedProfiles, unplaced: check.missingEvents.length })}`);
    expect(check.problems.slice(0, 10)).toEqual([]);
    expect(check.profilesExact).toBe(profiles.length);
    // 1000 people take about a minute on the 2-core CI machine; the margin is for a loaded one.
  }, 300_000);
});
