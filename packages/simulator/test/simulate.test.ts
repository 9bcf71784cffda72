import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHANNELS, JOURNEY_STAGES } from '@elephant/channels';
import { EVENT_TAGS, SIMULATED_EVENT_TYPES, simulate, SimulatorError, toNdjson, type Simulation, type SimulationOptions } from '@elephant/simulator';

const digest = (simulation: Simulation): string => {
  const hash = createHash('sha256');
  for (const record of simulation.records) hash.update(toNdjson(record));
  return hash.digest('hex');
};

const population = simulate({ seed: 20250101 });

describe('simulate', () => {
  it('is deterministic: the same seed gives byte-identical records, truth and expectations', () => {
    const again = simulate({ seed: 20250101 });
    expect(digest(again)).toBe(digest(population));
    expect([...again.truth]).toEqual([...population.truth]);
    expect(JSON.stringify(again.expectations)).toBe(JSON.stringify(population.expectations));
    expect(digest(simulate({ seed: 20250102, people: 300 }))).not.toBe(digest(simulate({ seed: 20250101, people: 300 })));
  });

  it('defaults to 1000 people of tenant "default" (the services\' default TENANT)', () => {
    expect(population.options.people).toBe(1000);
    expect(population.options.tenant).toBe('default');
    expect(population.expectations).toHaveLength(1000);
    expect(new Set(population.truth.values()).size).toBeGreaterThan(990);
  });

  it('covers every journey stage, channel, simulated event type and tag', () => {
    for (const stage of JOURNEY_STAGES) expect(population.stats.touchpointsPerStage[stage], stage).toBeGreaterThan(100);
    for (const channel of CHANNELS) expect(population.stats.recordsPerChannel[channel], channel).toBeGreaterThan(100);
    const types = new Set(population.events.map((event) => event.eventType));
    expect([...types].sort()).toEqual([...SIMULATED_EVENT_TYPES].sort());
    for (const tag of EVENT_TAGS) expect(population.stats.touchpointsPerTag[tag], tag).toBeGreaterThan(50);
    // People reach different depths: some stay anonymous, many get to expand.
    const paths = new Set(population.expectations.map((person) => person.path));
    expect([...paths].sort()).toEqual(['anonymous', 'lead', 'online', 'store']);
    expect(population.expectations.filter((person) => person.stages.length === JOURNEY_STAGES.length).length).toBeGreaterThan(100);
  });

  it('has the hard cases in plausible proportions', () => {
    const { stats } = population;
    expect(stats.households).toBeGreaterThan(20);
    expect(stats.duplicateRecords / stats.records).toBeCloseTo(0.02, 1);
    expect(stats.lateRecords / stats.records).toBeCloseTo(0.03, 1);
    expect(stats.malformedRecords).toBe(0);
    expect(stats.unresolvableTouchpoints).toBe(0);
    // Several e-mails and phones per person.
    const counts = population.expectations.map((person) => ({
      emails: person.identifiers.filter((identifier) => identifier.type === 'email').length,
      phones: person.identifiers.filter((identifier) => identifier.type === 'phone').length,
    }));
    expect(counts.filter((count) => count.emails >= 2).length).toBeGreaterThan(200);
    expect(counts.filter((count) => count.phones >= 2).length).toBeGreaterThan(100);
    // SendGrid posts what it has every 30 s: newsletter sends put several people's events in one batch.
    const batches = population.records.filter((record) => record.channel === 'email').map((record) => record.payload as { email: string }[]);
    expect(batches.every((batch) => Array.isArray(batch) && batch.length >= 1 && batch.length <= 1000)).toBe(true);
    expect(batches.filter((batch) => new Set(batch.map((event) => event.email.trim().toLowerCase())).size > 1).length).toBeGreaterThan(500);
  });

  it('delivers in delivery order: out of event-time order and with each duplicate after its original', () => {
    const lines = population.records.map((record) => toNdjson(record));
    const firstIndex = new Map<string, number>();
    let repeats = 0;
    lines.forEach((line, index) => {
      if (firstIndex.has(line)) repeats += 1;
      else firstIndex.set(line, index);
    });
    expect(repeats).toBe(population.stats.duplicateRecords);
    const outOfOrder = population.events.filter((event) => event.tags.includes('out_of_order'));
    expect(outOfOrder.length / population.events.length).toBeGreaterThan(0.05);
  });

  it('keeps every event inside the simulated span', () => {
    const { start, spanDays } = population.options;
    const end = start + spanDays * 86_400_000;
    const outside = population.events.filter((event) => event.eventTime < start || event.eventTime > end + 86_400_000);
    expect(outside).toEqual([]);
  });

  it('refuses bad options, naming each', () => {
    const attempt = (): unknown => simulate({ seed: 1.5, people: -1, junkRate: 2, tenant: ' ', start: '2025-01-01', defaultRegion: 'usa', defaultCurrency: 'dollar', sourceSystems: { fax: 'x' } as never });
    expect(attempt).toThrow(SimulatorError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as SimulatorError).details.problems as string[];
      expect(problems.map((problem) => problem.split(' ')[0])).toEqual(['seed', 'people', 'junkRate', 'tenant', 'start', 'defaultRegion', 'defaultCurrency', 'sourceSystems.fax:']);
      expect((error as SimulatorError).code).toBe('INVALID_OPTIONS');
    }
    expect(simulate({ seed: 3, people: 0 }).records).toEqual([]);
  });

  it('regression (a missing seed was not checked and ran as 0): refuses it as INVALID_OPTIONS naming seed', () => {
    // A JavaScript caller, or JSON options, can leave out what the type requires.
    const withoutSeed = { people: 5 } as unknown as SimulationOptions;
    expect(() => simulate(withoutSeed)).toThrow(SimulatorError);
    try {
      simulate(withoutSeed);
    } catch (error) {
      expect((error as SimulatorError).code).toBe('INVALID_OPTIONS');
      expect((error as SimulatorError).details.problems).toEqual([`seed is required (an integer from ${-(2 ** 31)} to ${2 ** 32 - 1})`]);
    }
    expect(simulate({ seed: 0, people: 5 }).records.length).toBeGreaterThan(0);
  });

  it('scales to a large population (about 30 touchpoints per person)', () => {
    // Speed is the benchmark's business (bench/), never a timed unit test's.
    const large = simulate({ seed: 99, people: 2_000 });
    expect(large.stats.touchpoints).toBeGreaterThan(60_000);
  }, 120_000);
});
