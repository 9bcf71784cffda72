export { runBench, markdownOf, throughputLimit, latencyLimit, type BenchReport, type BenchOptions, type StageFigures } from './bench.ts';
export { loadBenchConfig, type BenchConfig } from './config.ts';
