/**
 * The benchmark is not a timed test: this runs it on a small load against the real stack and
 * checks that it produces a well-formed report, whatever the figures.
 */
import { describe, expect, it } from 'vitest';
import { createKafka } from '@elephant/kafka';
import { createLogger } from '@elephant/observability';
import { AvroRegistry } from '@elephant/registry';
import { markdownOf, runBench } from '@elephant/bench';
import { stackEndpoints } from '@elephant/testing';

/** The benchmark runs' topics, consumer groups and registry subjects on the stack (all named `bench-<run>.`). */
async function benchLeftovers(): Promise<string[]> {
  const stack = stackEndpoints();
  const admin = createKafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'bench-test-leftovers', logger: createLogger({ name: 'bench-test', level: 'silent' }) }).admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    const groups = (await admin.listGroups()).groups.map((group) => group.groupId);
    const subjects = await new AvroRegistry({ url: stack.schemaRegistryUrl }).subjects();
    return [...topics.map((name) => `topic ${name}`), ...groups.map((name) => `group ${name}`), ...subjects.map((name) => `subject ${name}`)].filter((name) => / bench-/.test(name));
  } finally {
    await admin.disconnect();
  }
}

describe('benchmark', () => {
  it('runs on a small load and writes a complete report', async () => {
    const stack = stackEndpoints();
    const lines: string[] = [];
    const before = new Set(await benchLeftovers());
    const report = await runBench({
      kafkaBrokers: stack.kafkaBrokers,
      schemaRegistryUrl: stack.schemaRegistryUrl,
      redisUrl: stack.redisUrl,
      people: 20,
      partitions: 2,
      latencyRate: 100,
      latencySeconds: 2,
      latencyWarmupSeconds: 1,
      // The suite's other work keeps the machine busy; the figures are not checked here.
      settleSeconds: 0,
      stackPids: [],
      logger: createLogger({ name: 'bench-test', level: 'silent' }),
      progress: (line) => lines.push(line),
    });
    expect(report.workload.rawMessages).toBeGreaterThan(100);
    expect(report.baseline.eventsPerSecond).toBeGreaterThan(0);
    expect(report.stages.map((stage) => stage.name)).toEqual(['normalizer (8 channels)', 'identity resolver', 'profile builder']);
    // What an event is in each row: at saturation each run's input records, at the offered load what the load is paced in.
    expect([report.baseline, ...report.stages, report.pipeline].map((stage) => stage.unit)).toEqual(['raw messages', 'raw messages', 'touchpoints', 'resolved touchpoints + merges + erasures', 'raw messages']);
    expect([report.baseline, ...report.stages, report.pipeline].map((stage) => stage.latency?.unit)).toEqual(['touchpoints carried by raw messages', 'touchpoints carried by raw messages', 'touchpoints', 'resolved touchpoints + merges + erasures', 'touchpoints carried by raw messages']);
    expect([report.latency.unit, report.latencyExactlyOnce.unit]).toEqual(['touchpoints carried by raw messages', 'touchpoints carried by raw messages']);
    for (const stage of [report.baseline, ...report.stages, report.pipeline]) {
      expect(stage.input).toBeGreaterThan(0);
      expect(stage.seconds).toBeGreaterThan(0);
      expect(Number.isFinite(stage.ratioToBaseline)).toBe(true);
      expect(stage.cpuSecondsPer10k).toBeGreaterThan(0);
      expect(stage.redisRoundTripsPerEvent).toBeGreaterThanOrEqual(0);
      expect(stage.elephantCoresBusy).toBeGreaterThan(0);
      expect(stage.redisCoresBusy).toBeGreaterThanOrEqual(0);
    }
    // Latency at the fixed load, for each run alone and for the whole pipeline.
    for (const stage of [report.baseline, ...report.stages, report.pipeline]) {
      const latency = stage.latency;
      expect(latency, stage.name).not.toBeNull();
      expect(latency?.samples, stage.name).toBeGreaterThan(0);
      expect(latency?.offeredPerSecond).toBe(100);
      expect(latency?.p50 ?? 0).toBeGreaterThan(0);
      expect(latency?.p50 ?? 0).toBeLessThanOrEqual(latency?.p95 ?? 0);
      expect(latency?.p95 ?? 0).toBeLessThanOrEqual(latency?.p99 ?? 0);
      expect(latency?.p99 ?? 0).toBeLessThanOrEqual(latency?.max ?? 0);
      expect(latency?.coresBusy, stage.name).toBeGreaterThan(0);
    }
    // Redis memory per profile where the run keeps state in Redis.
    expect(report.baseline.redisBytesPerProfile).toBeNull();
    expect(report.stages[0]?.redisBytesPerProfile).toBeNull();
    expect(report.stages[1]?.redisBytesPerProfile).toBeGreaterThan(0);
    expect(report.stages[2]?.redisBytesPerProfile).toBeGreaterThan(0);
    // The resolver runs its script on Redis: Redis was busy during its stage.
    expect(report.stages[1]?.redisCoresBusy).toBeGreaterThan(0);
    expect(report.stages[1]?.redisCommandsPerEvent).toBeGreaterThan(0);
    expect(report.latency.samples).toBeGreaterThan(0);
    expect(report.latency.p50).toBeLessThanOrEqual(report.latency.p99);
    expect(report.latency.p99).toBeLessThanOrEqual(report.latency.max);
    for (const hop of Object.values(report.latency.hops)) expect(hop.p50).toBeGreaterThan(0);
    expect(Object.keys(report.latency.coresBusy)).toEqual(['normalizers', 'resolver', 'builder']);
    expect(report.pipeline.profiles).toBeGreaterThan(0);
    expect(report.pipeline.quality.precision).toBeGreaterThan(0);
    expect(report.pipeline.quality.itemsInSeveralClusters).toBeGreaterThanOrEqual(0);
    expect(report.pipeline.quality.splitPeople).toBeGreaterThanOrEqual(0);
    expect(report.pipeline.redisBytesPerProfile).toBeGreaterThan(0);
    expect(report.latency.machine?.coresBusy).toBeGreaterThan(0);
    // The same pipeline latency run with the builder exactly_once, reported beside the default's.
    expect(report.latencyExactlyOnce.samples).toBeGreaterThan(0);
    expect(report.latencyExactlyOnce.p50).toBeLessThanOrEqual(report.latencyExactlyOnce.p99);
    expect(report.latencyExactlyOnce.p99).toBeLessThanOrEqual(report.latencyExactlyOnce.max);
    for (const hop of Object.values(report.latencyExactlyOnce.hops)) expect(hop.p50).toBeGreaterThan(0);
    // The same pipeline with twice the rate for 1 s a third into the window: samples before,
    // during and after it, each second's, and the hops of the burst's own samples.
    expect(report.burst).toMatchObject({ factor: 2, seconds: 1, offeredPerSecond: 100, windowSeconds: 2 });
    expect(report.burst.before.samples).toBeGreaterThan(0);
    expect(report.burst.during.samples).toBeGreaterThan(report.burst.before.samples);
    expect(report.burst.perSecond.map((second) => second.second)).toEqual([0, 1]);
    expect(report.burst.perSecond.reduce((sum, second) => sum + second.samples, 0)).toBe(report.burst.before.samples + report.burst.during.samples + report.burst.after.samples);
    expect(report.burst.hops.builder.p50).toBeGreaterThan(0);
    expect(report.targets.map((target) => target.name)).toContain('end-to-end p99 at the offered load, builder exactly_once');
    expect(report.targets.length).toBe(13);
    // Redis round trips per event at the offered load too, for the two stages that use Redis and the one that does not.
    for (const stage of report.stages) expect(stage.latency?.redisRoundTripsPerEvent, stage.name).not.toBeNull();
    expect(report.stages[0]?.latency?.redisCommandsPerEvent).toBe(0);
    // And at saturation, less the benchmark's own readings, however many marks the window holds.
    expect(report.stages[0]).toMatchObject({ redisCommandsPerEvent: 0, redisRoundTripsPerEvent: 0 });
    expect(report.stages[2]?.latency?.redisRoundTripsPerEvent).toBeGreaterThan(0);
    // A missed target names what this run measured as its limit; a met one names none.
    for (const target of report.targets) expect(typeof target.limit === 'string' && target.limit.length > 0, target.name).toBe(!target.met);
    const markdown = markdownOf(report);
    expect(markdown).toContain('| limited by (measured in this run) |');
    expect(markdown).toContain('| baseline (passthrough) |');
    expect(markdown).toContain('| run | an event is | offered events/s | samples | p50 | p95 | p99 | max |');
    expect(markdown.match(/^\| (baseline \(passthrough\)|normalizer \(8 channels\)|identity resolver|profile builder|whole pipeline|whole pipeline, builder exactly_once) \| [a-z +]+ \| 100 \| \d+ \|/gm)?.length).toBe(6);
    expect(markdown).toContain('builder at_least_once (the default): updates sent and acknowledged');
    expect(markdown).toContain('builder exactly_once: each batch');
    expect(markdown).toMatch(/^\| during the burst \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \|$/m);
    expect(markdown).toContain('p99');
    expect(lines.some((line) => line.startsWith('latency'))).toBe(true);
    // Every throughput run says how its wait for a quiet machine went (none here: settleSeconds 0),
    // the whole pipeline's too (it started without the wait, regression).
    expect(lines.filter((line) => / events at saturation \(no wait for a quiet machine, [\d.]+ s flushing dirty pages\)$/.test(line))).toHaveLength(5);
    expect(lines.find((line) => line.startsWith('pipeline:'))).toMatch(/\(before the services started: no wait for a quiet machine, [\d.]+ s flushing dirty pages\)$/);
    // It deletes what it made: topics, consumer groups and registry subjects (regression: the
    // groups and subjects stayed).
    expect(lines.filter((line) => line.startsWith('could not delete'))).toEqual([]);
    expect((await benchLeftovers()).filter((name) => !before.has(name))).toEqual([]);
  });
});
