export { runBench, markdownOf, throughputLimit, latencyLimit, roundTripLimit, type BenchReport, type BenchOptions, type StageFigures } from './bench.ts';
export { loadBenchConfig, type BenchConfig } from './config.ts';
