export { runBench, markdownOf, throughputLimit, latencyLimit, roundTripLimit, type BenchReport, type BenchOptions, type BurstFigures, type StageFigures } from './bench.ts';
export { loadBenchConfig, type BenchConfig } from './config.ts';
export { burstFiguresOf, burstOf, type BurstShape, type SamplePercentiles } from './burst.ts';
export { dueAt, eventsDue, settle, settledText, type Burst, type Sample, type Settled } from './load.ts';
