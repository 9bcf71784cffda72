/** A complete BenchReport of made-up figures, for tests of what the report says about them. */
import type { BenchOptions, BenchReport, BurstFigures, StageFigures } from '@elephant/bench';
import { createLogger } from '@elephant/observability';

/** Options of a run that must be refused before it connects: nothing listens on these addresses. */
export const unreachableOptions: BenchOptions = {
  kafkaBrokers: '127.0.0.1:1',
  schemaRegistryUrl: 'http://127.0.0.1:1',
  redisUrl: 'redis://127.0.0.1:1',
  people: 1,
  partitions: 1,
  latencyRate: 100,
  latencySeconds: 4,
  latencyWarmupSeconds: 0,
  settleSeconds: 0,
  stackPids: [],
  logger: createLogger({ name: 'bench-test', level: 'silent' }),
  progress: () => undefined,
};

const p = (p50: number, p99: number): { p50: number; p95: number; p99: number; max: number } => ({ p50, p95: p99, p99, max: p99 * 2 });

export function stageOf(overrides: Partial<StageFigures>): StageFigures {
  return {
    name: 'stage',
    unit: 'raw messages',
    input: 10000,
    seconds: 1,
    eventsPerSecond: 10000,
    ratioToBaseline: 0.3,
    cpuSecondsPer10k: 0.9,
    stackCpuSecondsPer10k: 0.1,
    redisCommandsPerEvent: 0,
    redisRoundTripsPerEvent: 0,
    coresBusy: 1,
    elephantCoresBusy: 0.5,
    redisCoresBusy: 0.1,
    cpuPerEventVsBaseline: 3,
    redisBytesPerProfile: null,
    latency: null,
    ...overrides,
  };
}

/** A run's latency figures at the offered load, `commands` Redis commands per event. */
export function aloneOf(unit: NonNullable<StageFigures['latency']>['unit'], commands: number): NonNullable<StageFigures['latency']> {
  return { offeredPerSecond: 1000, unit, samples: 29000, ...p(5, 20), coresBusy: 0.3, machineCoresBusy: 0.7, redisCommandsPerEvent: commands, redisRoundTripsPerEvent: commands / 20 };
}

export function latencyOf(overrides: Partial<BenchReport['latency']> = {}): BenchReport['latency'] {
  return {
    offeredPerSecond: 1000,
    unit: 'touchpoints carried by raw messages',
    warmupSeconds: 5,
    seconds: 30,
    samples: 29000,
    ...p(20, 80),
    split: { toUpdateProduced: p(18, 70), toSubscriber: p(2, 10) },
    hops: { normalizer: p(5, 30), resolver: p(5, 30), builder: p(8, 60) },
    coresBusy: { normalizers: 0.2, resolver: 0.2, builder: 0.4 },
    machine: { coresBusy: 1.5, steal: 0, waitingForCore: 0.4 },
    redis: { commandsPerEvent: 25, roundTripsPerEvent: 0.5 },
    sendDelay: p(5, 20),
    ...overrides,
  };
}

export function burstOf(overrides: Partial<BurstFigures> = {}): BurstFigures {
  return {
    factor: 2,
    seconds: 1,
    at: 10,
    offeredPerSecond: 1000,
    windowSeconds: 30,
    before: { samples: 9000, ...p(13, 58) },
    during: { samples: 2000, ...p(46, 165) },
    after: { samples: 18000, ...p(13, 91) },
    recoverySeconds: 0.5,
    perSecond: Array.from({ length: 30 }, (_, second) => ({ second, samples: 1000, ...p(13, second === 10 ? 165 : 50) })),
    hops: { normalizer: p(5, 52), resolver: p(5, 28), builder: p(8, 107) },
    coresBusy: { normalizers: 0.2, resolver: 0.2, builder: 0.4 },
    machine: { coresBusy: 1.45, steal: 0, waitingForCore: 0.43 },
    sendDelay: p(5, 16),
    ...overrides,
  };
}

export function reportOf(overrides: Partial<BenchReport> = {}): BenchReport {
  const baseline = stageOf({ name: 'baseline (passthrough)', eventsPerSecond: 90000, ratioToBaseline: 1 });
  return {
    generatedAt: '2026-12-07T12:00:00.000Z',
    machine: { cpus: 2, cpuModel: 'test', memoryGiB: 8, node: 'v24.0.0' },
    workload: { people: 3000, rawMessages: 95120, touchpoints: 109107 },
    baseline,
    stages: [
      stageOf({ name: 'normalizer (8 channels)', latency: aloneOf('touchpoints carried by raw messages', 0) }),
      stageOf({ name: 'identity resolver', unit: 'touchpoints', redisCommandsPerEvent: 8.7, latency: aloneOf('touchpoints', 11.1) }),
      stageOf({ name: 'profile builder', unit: 'resolved touchpoints + merges + erasures', redisCommandsPerEvent: 2.8, latency: aloneOf('resolved touchpoints + merges + erasures', 15.2) }),
    ],
    pipeline: { ...stageOf({ name: 'whole pipeline', redisCommandsPerEvent: 16.6, latency: aloneOf('touchpoints carried by raw messages', 25.6) }), touchpointsPerSecond: 4580, quality: { precision: 1, recall: 1, f1: 1, overMergedProfiles: 0, splitPeople: 0, itemsInSeveralClusters: 0 }, profiles: 3000 },
    latency: latencyOf(),
    latencyExactlyOnce: latencyOf(),
    burst: burstOf(),
    targets: [],
    ...overrides,
  };
}
