import { bool, brokerList, httpUrl, KAFKA_SECURITY_VARIABLES, parseEnv, positiveInt, redisUrl, z, type Env } from '@elephant/config';

/**
 * The Kafka TLS and SASL settings, read only to refuse them: the benchmark's own clients connect
 * without either, while the stage processes it starts inherit its environment (a half-secured run).
 */
const UNSUPPORTED = Object.fromEntries(Object.keys(KAFKA_SECURITY_VARIABLES).map((name) => [name, z.string().optional()]));

const schema = z.object({
  KAFKA_BROKERS: brokerList.optional(),
  SCHEMA_REGISTRY_URL: httpUrl.optional(),
  REDIS_URL: redisUrl.optional(),
  /** Simulated people (about 34 raw messages each). */
  BENCH_PEOPLE: positiveInt.default(3000),
  /** Partitions of every topic a run creates. */
  BENCH_PARTITIONS: positiveInt.default(8),
  /** Offered load of the latency runs, events per second (a raw message counts as the touchpoints it carries). */
  BENCH_LATENCY_RATE: positiveInt.default(1000),
  BENCH_LATENCY_SECONDS: positiveInt.default(30),
  /** Seconds of the same load before the latency run samples (0 for none). */
  BENCH_LATENCY_WARMUP_SECONDS: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be 0 or more').default(5),
  /**
   * Longest wait for a quiet machine (under 0.3 cores busy) before each measurement, after
   * flushing dirty pages; 0 flushes and does not wait.
   */
  BENCH_SETTLE_SECONDS: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be 0 or more').default(60),
  /**
   * `latency`: only the whole pipeline's latency run (`latency-exactly-once`: with the
   * builder at PROCESSING_GUARANTEE=exactly_once), `latency-alone`: only the passthrough's
   * and each stage's alone, `throughput`: only the passthrough's and each stage's events/s
   * alone, `burst`: only the whole pipeline's latency run with a burst; printed as JSON, no
   * report written (for tuning).
   */
  BENCH_ONLY: z.enum(['all', 'latency', 'latency-exactly-once', 'latency-alone', 'throughput', 'burst']).default('all'),
  /**
   * The burst run: the whole pipeline's latency run with the offered rate multiplied by this
   * for BENCH_BURST_SECONDS, a third into the measured window.
   */
  BENCH_BURST_FACTOR: z.coerce.number({ error: 'must be a number' }).gt(1, 'must be greater than 1').default(2),
  /** How long the burst lasts; at most half of BENCH_LATENCY_SECONDS. */
  BENCH_BURST_SECONDS: positiveInt.default(1),
  /** Keep the run's topics and Redis keys (named after the run) for inspection. */
  BENCH_KEEP: bool.default(false),
  /** Where latest.json and latest.md go. */
  BENCH_REPORT_DIR: z.string().default('bench/reports'),
  /**
   * Where each latency run writes its samples, `<run's topic prefix>samples.json`: one
   * `[sent epoch ms, latency ms]` pair per traced record, in arrival order (to find when a
   * run stalled). Unset: not written.
   */
  BENCH_SAMPLES_DIR: z.string().min(1).optional(),
  ...UNSUPPORTED,
}).superRefine((config, context) => {
  for (const name of Object.keys(UNSUPPORTED)) {
    if ((config as Record<string, unknown>)[name] !== undefined) context.addIssue({ code: 'custom', path: [name], message: 'is not supported by the benchmark, which connects without TLS or SASL: unset it' });
  }
  // The cluster is taken only whole: one or two of the three set ran the benchmark on the local
  // stack, quietly, and reported its figures as the cluster's.
  const endpoints = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'REDIS_URL'] as const;
  const set = endpoints.filter((name) => config[name] !== undefined);
  if (set.length === 0 || set.length === endpoints.length) return;
  for (const name of endpoints.filter((candidate) => config[candidate] === undefined)) {
    context.addIssue({ code: 'custom', path: [name], message: `is required with ${set.join(' and ')}: the benchmark runs on the cluster the three name, or on the local stack when none is set` });
  }
});

export type BenchConfig = z.infer<typeof schema>;

export function loadBenchConfig(env: Env): BenchConfig {
  return parseEnv('the benchmark', schema, env);
}
