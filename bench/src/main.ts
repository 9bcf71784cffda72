#!/usr/bin/env node
/**
 * `npm run bench`: the whole benchmark on the local stack (or the cluster named by
 * KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL). Writes bench/reports/latest.json and
 * latest.md and prints the markdown. Exit code 0 even when a target is missed: the report
 * says which, and that is a finding, not a failure. 78 for a configuration it refuses, 1 when
 * it fails, 143 (SIGTERM) or 130 (SIGINT) when interrupted, after stopping the processes it
 * started and deleting what the run created.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@elephant/config';
import { describeError } from '@elephant/errors';
import { createLogger } from '@elephant/observability';
import { LocalStack, loadStackConfig } from '@elephant/stack';
import { markdownOf, runBench, runLatencyOnly, runThroughputOnly } from './bench.ts';
import { loadBenchConfig } from './config.ts';
import { exitOnSignals } from './interrupt.ts';

const LATENCY_ONLY = { latency: 'pipeline', 'latency-exactly-once': 'pipeline-exactly-once', 'latency-alone': 'alone', burst: 'burst' } as const;

const progress = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

// SIGTERM or SIGINT: the stage processes stopped, the run's topics and Redis keys deleted, exit 128 + the signal.
exitOnSignals({ progress });

try {
  const config = loadBenchConfig(process.env);
  let endpoints = config.KAFKA_BROKERS && config.SCHEMA_REGISTRY_URL && config.REDIS_URL ? { kafkaBrokers: config.KAFKA_BROKERS.join(','), schemaRegistryUrl: config.SCHEMA_REGISTRY_URL, redisUrl: config.REDIS_URL } : undefined;
  let stackPids: number[] = [];
  if (!endpoints) {
    const stack = new LocalStack(loadStackConfig(process.env), progress);
    const up = await stack.up();
    endpoints = up.urls;
    stackPids = (await stack.status()).map((component) => component.pid ?? 0).filter((pid) => pid > 0);
  }
  const options = {
    ...endpoints,
    people: config.BENCH_PEOPLE,
    partitions: config.BENCH_PARTITIONS,
    latencyRate: config.BENCH_LATENCY_RATE,
    latencySeconds: config.BENCH_LATENCY_SECONDS,
    latencyWarmupSeconds: config.BENCH_LATENCY_WARMUP_SECONDS,
    settleSeconds: config.BENCH_SETTLE_SECONDS,
    burstFactor: config.BENCH_BURST_FACTOR,
    burstSeconds: config.BENCH_BURST_SECONDS,
    stackPids,
    keep: config.BENCH_KEEP,
    ...(config.BENCH_SAMPLES_DIR === undefined ? {} : { samplesDir: config.BENCH_SAMPLES_DIR }),
    logger: createLogger({ name: 'bench', level: 'error', destination: process.stderr }),
    progress,
  };
  if (config.BENCH_ONLY === 'throughput') {
    process.stdout.write(`${JSON.stringify(await runThroughputOnly(options), null, 2)}\n`);
  } else if (config.BENCH_ONLY !== 'all') {
    process.stdout.write(`${JSON.stringify(await runLatencyOnly(options, LATENCY_ONLY[config.BENCH_ONLY]), null, 2)}\n`);
  } else {
    const report = await runBench(options);
    mkdirSync(config.BENCH_REPORT_DIR, { recursive: true });
    const markdown = markdownOf(report);
    writeFileSync(join(config.BENCH_REPORT_DIR, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(config.BENCH_REPORT_DIR, 'latest.md'), markdown);
    process.stdout.write(markdown);
  }
} catch (error) {
  process.stderr.write(`bench: ${error instanceof ConfigError ? error.message : describeError(error)}\n`);
  process.exitCode = error instanceof ConfigError ? 78 : 1;
}
