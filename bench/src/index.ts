export { EVENT_UNITS, runBench, markdownOf, latencyInputsIssues, lessOwnReadings, stageFiguresOf, targetsOf, type Counters, type EventUnit, type IdentityQuality, type TargetFigures, throughputLimit, latencyLimit, roundTripLimit, type BenchReport, type BenchOptions, type BurstFigures, type StageFigures } from './bench.ts';
export { loadBenchConfig, type BenchConfig } from './config.ts';
export { burstFiguresOf, burstOf, type BurstShape, type SamplePercentiles } from './burst.ts';
export { dueAt, eventsDue, eventsOf, eventsOffered, offerLoad, settle, settledText, spawnNode, stopSpawned, type Spawned, type Burst, type LoadSpec, type Offered, type Sample, type Settled } from './load.ts';
export { ceilTo, floorTo } from './verdict.ts';
export { exitOnSignals, onInterrupt, oneAtATime, type ExitOnSignalsOptions } from './interrupt.ts';
