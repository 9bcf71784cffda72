import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { latencyLimit, roundTripLimit, throughputLimit, type BenchReport, type StageFigures } from '@elephant/bench';
import { stageOf } from './report.ts';

const stage = stageOf;
const baseline = stage({ name: 'baseline', cpuSecondsPer10k: 0.3 });

describe('what a missed target is limited by, from the run\'s own figures', () => {
  it('names the stage\'s process when its JavaScript thread is saturated, with the CPU per event against the passthrough\'s', () => {
    expect(throughputLimit(stage({ elephantCoresBusy: 1.02 }), baseline)).toMatch(/^its own process \(one JavaScript thread\) \(process 1.02 cores busy, .*CPU per event 3× the passthrough's\)$/);
  });

  it('names Redis when its one thread is the busiest', () => {
    expect(throughputLimit(stage({ elephantCoresBusy: 0.6, redisCoresBusy: 0.97 }), baseline)).toMatch(/^Redis \(one thread\)/);
  });

  it('names the machine when every core is busy, and says nothing is saturated otherwise', () => {
    const cores = cpus().length;
    expect(throughputLimit(stage({ elephantCoresBusy: 0.8, coresBusy: cores * 0.95 }), baseline)).toMatch(new RegExp(`^the machine's ${cores} cores`));
    expect(throughputLimit(stage({ elephantCoresBusy: 0.4, redisCoresBusy: 0.2, coresBusy: 0.7 }), baseline)).toMatch(/^no resource saturated: waits/);
  });

  it('names the slowest hop of the latency run and how busy the machine was', () => {
    const p = (p50: number, p99: number) => ({ p50, p95: p99, p99, max: p99 });
    const latency = { hops: { normalizer: p(5, 40), resolver: p(5, 30), builder: p(40, 300) }, split: { toUpdateProduced: p(50, 320), toSubscriber: p(6, 60) }, machine: { coresBusy: 1.9, steal: 0.3, waitingForCore: 0.42 } } as unknown as BenchReport['latency'];
    expect(latencyLimit(latency)).toBe(`the builder hop, p99 300 ms (normalizer 40, resolver 30, builder 300, to the subscriber 60); the machine 1.9 of ${cpus().length} cores busy, 0.3 stolen by the hypervisor, a task waiting for a core 42% of the time`);
    // With the runs alone at the same load: each one's p99 (the passthrough's is one hop's floor).
    const alone = (name: string, p99: number): StageFigures => stage({ name, latency: { offeredPerSecond: 1000, unit: 'touchpoints', samples: 100, p50: 3, p95: p99, p99, max: p99, coresBusy: 0.1, machineCoresBusy: 0.5, redisCommandsPerEvent: null, redisRoundTripsPerEvent: null } });
    expect(latencyLimit(latency, [alone('baseline (passthrough)', 12), alone('profile builder', 30), stage({ name: 'not measured' })])).toMatch(/; alone at the same load, p99 baseline \(passthrough\) 12, profile builder 30 ms$/);
  });

  it('says a stage\'s Redis round trips at the offered load go per batch, with the figures at saturation beside them', () => {
    const atLoad = stage({
      redisCommandsPerEvent: 2.9,
      redisRoundTripsPerEvent: 0.025,
      latency: { offeredPerSecond: 1000, unit: 'touchpoints', samples: 100, p50: 3, p95: 9, p99: 12, max: 20, coresBusy: 0.3, machineCoresBusy: 0.7, redisCommandsPerEvent: 6.4, redisRoundTripsPerEvent: 1.4 },
    });
    expect(roundTripLimit(atLoad)).toBe('round trips per batch, and small batches at 1000 events/s: 1.4 round trips and 6.4 commands per event, against 0.025 and 2.9 at saturation');
  });
});
