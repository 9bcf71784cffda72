/**
 * The benchmark: a Kafka passthrough baseline, each stage alone on pre-filled topics, the whole
 * pipeline fed by the simulator, and end-to-end latency at a fixed offered load, in one run on
 * the same machine. Figures are reported as measured and as ratios to the baseline.
 */
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { adaptMessage, CHANNELS } from '@elephant/channels';
import { consumerGroups, identityQuality, loadCliConfig, PIPELINE_PARTS, type PipelinePart } from '@elephant/cli';
import { profileEvents } from '@elephant/identity-resolver';
import { BatchProducer, LagPoller, createKafka, ensureTopics, readToEnd, type Kafka, type KafkaMessage, type Message, type ReadRecord } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import { connectRedis, deleteKeysWithPrefix, type Redis } from '@elephant/redis';
import { AvroRegistry } from '@elephant/registry';
import { simulate, type Simulation } from '@elephant/simulator';
import { ConfigError, type ConfigIssue } from '@elephant/config';
import { burstFiguresOf, burstOf, type BurstShape } from './burst.ts';
import { onInterrupt, oneAtATime } from './interrupt.ts';
import { atLeast, atMost, ceilTo, floorTo } from './verdict.ts';
import { drained, eventsDue, eventsOf, eventsOffered, joined, newHistogram, offerLoad, percentilesOf, processCpuSeconds, round, settle, settledText, spawnNode, type Burst, type ConsumerGroupTopics, type LoadResult, type LoadSpec, type Offered, type Percentiles, type RedisCounters, type RedisPerEvent, type Spawned } from './load.ts';

export type { Percentiles } from './load.ts';

/**
 * What an event is in a report row's figures. At saturation, a stage's input records: raw
 * messages for the passthrough, the normalizer and the whole pipeline, touchpoints for the
 * resolver, resolved touchpoints, merges and erasures for the builder. In a latency run, what
 * the load is paced in: a raw message counts as the touchpoints it carries (the passthrough,
 * the normalizer, the whole pipeline), a record of the resolver's or the builder's input as one.
 */
export const EVENT_UNITS = {
  rawMessages: 'raw messages',
  touchpoints: 'touchpoints',
  builderInput: 'resolved touchpoints + merges + erasures',
  carried: 'touchpoints carried by raw messages',
} as const;

export type EventUnit = (typeof EVENT_UNITS)[keyof typeof EVENT_UNITS];

/** Latency of a run at the fixed offered load: input record produced → output record consumed. */
export interface LatencyFigures extends Percentiles {
  /** Events offered per second. */
  readonly offeredPerSecond: number;
  /** What an event is here (the offered load's, and Redis commands and round trips per event). */
  readonly unit: EventUnit;
  readonly samples: number;
  /** Cores the run's own processes kept busy meanwhile. */
  readonly coresBusy: number | null;
  /** Cores the whole machine kept busy meanwhile (everything on it). */
  readonly machineCoresBusy: number | null;
  /** Redis commands per event at this load (the run's processes; null where not counted). */
  readonly redisCommandsPerEvent: number | null;
  /** Redis round trips (requests or pipelines the server read) per event at this load; unrounded (a target's verdict is decided on it). */
  readonly redisRoundTripsPerEvent: number | null;
}

export interface BenchOptions {
  /** Keep the run's topics and Redis keys for inspection (deleted by default). */
  readonly keep?: boolean;
  readonly kafkaBrokers: string;
  readonly schemaRegistryUrl: string;
  readonly redisUrl: string;
  /** Simulated people; about 34 raw messages each. */
  readonly people: number;
  /** Partitions of every topic a run creates (and the services' PARTITIONS). */
  readonly partitions: number;
  /** Offered load of the latency run, raw messages per second. */
  readonly latencyRate: number;
  /** Seconds of load before sampling starts. */
  readonly latencyWarmupSeconds: number;
  readonly latencySeconds: number;
  /** Pids of the broker, registry and Redis, to count their CPU too (local stack only). */
  readonly stackPids: readonly number[];
  /** Longest wait for a quiet machine before each measurement (`settle`; BENCH_SETTLE_SECONDS). */
  readonly settleSeconds: number;
  /** Where each latency run writes its samples (BENCH_SAMPLES_DIR); none when undefined. */
  readonly samplesDir?: string;
  /** The burst run's offered rate as a multiple of `latencyRate` (BENCH_BURST_FACTOR). @default 2 */
  readonly burstFactor?: number;
  /** How long its burst lasts, seconds (BENCH_BURST_SECONDS); at most half of `latencySeconds`. @default 1 */
  readonly burstSeconds?: number;
  readonly logger: Logger;
  readonly progress: (line: string) => void;
}

export interface StageFigures {
  readonly name: string;
  /** What an event is in this row (input, events/s, CPU, Redis commands and round trips per event). */
  readonly unit: EventUnit;
  /** Input events in the measured window (a throughput run alone: from SATURATION_FROM of its input on). */
  readonly input: number;
  /** Length of the measured window. */
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** Versus the passthrough baseline's events per second; unrounded (a target's verdict is decided on it). */
  readonly ratioToBaseline: number;
  /** CPU of Elephant's own process per 10,000 input events. */
  readonly cpuSecondsPer10k: number;
  /** CPU of broker, registry and Redis per 10,000 input events (local stack only). */
  readonly stackCpuSecondsPer10k: number | null;
  readonly redisCommandsPerEvent: number;
  /** Redis read events (one per request or pipeline the server reads) per input event; unrounded (a target's verdict is decided on it). */
  readonly redisRoundTripsPerEvent: number;
  /** CPU seconds per second of the run, Elephant and stack together: how many cores it kept busy. */
  readonly coresBusy: number | null;
  /** CPU seconds per second of Elephant's own processes (a stage alone: one Node process). */
  readonly elephantCoresBusy: number;
  /** CPU seconds per second of the Redis server (its commands run on one thread). */
  readonly redisCoresBusy: number;
  /**
   * CPU (Elephant and stack) per event, divided by the baseline's. On a machine whose cores
   * are saturated, throughput cannot exceed 1 / this of the baseline's.
   */
  readonly cpuPerEventVsBaseline: number | null;
  /** Redis memory the run added, per profile (null: the run keeps nothing in Redis). */
  readonly redisBytesPerProfile: number | null;
  /**
   * At the fixed offered load, the run alone in a process of its own: input produced → output
   * consumed (for the whole pipeline, raw message produced → profile update consumed).
   */
  readonly latency: LatencyFigures | null;
}

export interface BenchReport {
  readonly generatedAt: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly memoryGiB: number; readonly node: string };
  readonly workload: { readonly people: number; readonly rawMessages: number; readonly touchpoints: number };
  readonly baseline: StageFigures;
  readonly stages: readonly StageFigures[];
  readonly pipeline: StageFigures & {
    readonly touchpointsPerSecond: number;
    /**
     * Pairwise identity quality against the simulation's truth, unrounded (the targets' verdicts
     * are decided on it), with the profiles holding several people's touchpoints, the people
     * spread over several profiles, and the touchpoints found on several profiles (a resolver
     * bug: the pairwise figures count each in the first profile only, so both targets are missed).
     */
    readonly quality: IdentityQuality;
    readonly profiles: number;
  };
  readonly latency: {
    readonly offeredPerSecond: number;
    /** What an event is in the offered load and in Redis per event: the touchpoints the raw messages carry. */
    readonly unit: EventUnit;
    readonly warmupSeconds: number;
    readonly seconds: number;
    readonly samples: number;
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
    readonly max: number;
    /**
     * The same samples split at the update's Kafka timestamp (set by the builder's producer):
     * raw message produced → update produced (the three services), and update produced →
     * consumed (the builder's transaction commit, the subscriber's fetch).
     */
    readonly split: { readonly toUpdateProduced: Percentiles; readonly toSubscriber: Percentiles };
    /**
     * Per service, from the Kafka timestamps of its input and output records: normalizer (raw
     * produced → touchpoint produced), resolver (touchpoint → resolved touchpoint), builder
     * (resolved touchpoint → profile update).
     */
    readonly hops: { readonly normalizer: Percentiles; readonly resolver: Percentiles; readonly builder: Percentiles };
    /** Cores each stage's process kept busy while the load was offered (CPU seconds per second). */
    readonly coresBusy: Readonly<Record<string, number | null>>;
    /**
     * The whole machine while the load was offered, from /proc/stat: cores busy (everything:
     * stages, broker, registry, Redis, load generator and subscriber), and cores' worth of time
     * the hypervisor gave to others (steal), and the share of the time some runnable task
     * waited for a core (the kernel's CPU pressure, /proc/pressure/cpu "some"; null where it
     * is not reported). Null where /proc/stat is not readable.
     */
    readonly machine: { readonly coresBusy: number; readonly steal: number; readonly waitingForCore: number | null } | null;
    /** Redis commands and round trips per event at this load, the resolver's and the builder's together. */
    readonly redis: RedisPerEvent | null;
    /**
     * How late the load generator sent the sampled raw messages after they were due (up to its
     * 10 ms tick by design; more when it fell behind): time the latencies above do not include.
     */
    readonly sendDelay: Percentiles;
  };
  /**
   * The same latency run with the profile builder at PROCESSING_GUARANTEE=exactly_once (each
   * batch's outputs and input offsets in a Kafka transaction) instead of the default
   * at_least_once: what exactly-once costs at this load.
   */
  readonly latencyExactlyOnce: BenchReport['latency'];
  /**
   * The whole pipeline's latency run (builder at_least_once) with the offered rate multiplied
   * for a while a third into the measured window: latency before, during and after the burst,
   * how long after its end the latency was back, and the hops of the burst's own samples.
   * Not a target: the targets are for a steady load.
   */
  readonly burst: BurstFigures;
  /** `limit`, for a target missed: what this run measured as its limit. */
  readonly targets: readonly { readonly name: string; readonly target: string; readonly actual: string; readonly met: boolean; readonly limit?: string }[];
}

export type BurstFigures = BurstShape & {
  /** Per service, the samples sent during the burst (which stage held them). */
  readonly hops: BenchReport['latency']['hops'];
  readonly coresBusy: BenchReport['latency']['coresBusy'];
  readonly machine: BenchReport['latency']['machine'];
  /** How late the load generator sent the run's sampled raw messages after they were due (ms). */
  readonly sendDelay: Percentiles;
};

export interface Counters {
  readonly at: number;
  /** CPU seconds of this process and of the Elephant processes it started. */
  readonly cpu: number;
  readonly stackCpu: number | null;
  readonly commands: number;
  readonly reads: number;
  readonly redisCpu: number;
}

/** The INFO readings the benchmark made so far: every one goes through redisStats. */
let ownReadings = 0;

/**
 * Redis' command and read counters less what the benchmark's own readings added to them: each
 * of the `previous` readings a command and a read, this one its read (counted before it ran;
 * its command once it ran). The difference of two readings is then the work of everything
 * else between them, however many readings were taken in between. Nothing else of the
 * benchmark talks to Redis while it measures. Left in, a stage without Redis (the normalizer)
 * read as 0.001 round trips per event once rounded up (2026-12-07).
 */
export function lessOwnReadings(counters: { readonly commands: number; readonly reads: number }, previous: number): { commands: number; reads: number } {
  return { commands: counters.commands - previous, reads: counters.reads - previous - 1 };
}

async function redisStats(redis: Redis): Promise<{ commands: number; reads: number; memory: number; cpu: number }> {
  const previous = ownReadings;
  ownReadings += 1;
  const info = await redis.info();
  const value = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  const { commands, reads } = lessOwnReadings({ commands: value('total_commands_processed'), reads: value('total_reads_processed') }, previous);
  return { commands, reads, memory: value('used_memory'), cpu: value('used_cpu_user') + value('used_cpu_sys') };
}

/** Redis' command and read counters, for a latency run's Redis work per event. */
function redisCountersOf(redis: Redis): () => Promise<RedisCounters> {
  return async () => {
    const { commands, reads } = await redisStats(redis);
    return { commands, reads };
  };
}

/** `self`: count this process's CPU as Elephant's too (it feeds the whole pipeline's run). */
async function snapshot(redis: Redis, options: BenchOptions, elephantPids: readonly number[] = [], self = true): Promise<Counters> {
  const stats = await redisStats(redis);
  const own = process.cpuUsage();
  const children = elephantPids.length > 0 ? (processCpuSeconds(elephantPids) ?? 0) : 0;
  return { at: performance.now(), cpu: (self ? (own.user + own.system) / 1e6 : 0) + children, stackCpu: processCpuSeconds(options.stackPids), commands: stats.commands, reads: stats.reads, redisCpu: stats.cpu };
}

/** A run's figures between two snapshots of the counters; `baseline` null: the run is the baseline. */
export function stageFiguresOf(name: string, unit: EventUnit, input: number, before: Counters, after: Counters, baseline: StageFigures | null): StageFigures {
  const seconds = (after.at - before.at) / 1000;
  const cpu = after.cpu - before.cpu;
  const stackCpu = before.stackCpu !== null && after.stackCpu !== null ? after.stackCpu - before.stackCpu : null;
  const eventsPerSecond = input / seconds;
  const totalPer10k = stackCpu === null ? null : ((cpu + stackCpu) / input) * 10000;
  const baselinePer10k = baseline && baseline.stackCpuSecondsPer10k !== null ? baseline.cpuSecondsPer10k + baseline.stackCpuSecondsPer10k : null;
  return {
    coresBusy: stackCpu === null ? null : round((cpu + stackCpu) / seconds, 2),
    elephantCoresBusy: round(cpu / seconds, 2),
    redisCoresBusy: round((after.redisCpu - before.redisCpu) / seconds, 2),
    cpuPerEventVsBaseline: totalPer10k === null ? null : baselinePer10k ? round(totalPer10k / baselinePer10k, 2) : 1,
    name,
    unit,
    input,
    seconds: round(seconds, 2),
    eventsPerSecond: Math.round(eventsPerSecond),
    ratioToBaseline: baseline ? eventsPerSecond / baseline.eventsPerSecond : 1,
    cpuSecondsPer10k: round((cpu / input) * 10000, 3),
    stackCpuSecondsPer10k: before.stackCpu !== null && after.stackCpu !== null ? round(((after.stackCpu - before.stackCpu) / input) * 10000, 3) : null,
    redisCommandsPerEvent: round(Math.max(0, after.commands - before.commands) / input, 3),
    redisRoundTripsPerEvent: Math.max(0, after.reads - before.reads) / input,
    redisBytesPerProfile: null,
    latency: null,
  };
}

async function produceAll(kafka: Kafka, batches: readonly { topic: string; messages: readonly Message[] }[]): Promise<void> {
  const producer = await BatchProducer.connect(kafka);
  try {
    for (const { topic, messages } of batches) {
      for (let i = 0; i < messages.length; i += 2000) await producer.send([{ topic, messages: messages.slice(i, i + 2000) }]);
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * The share of a throughput run's input handled before its clock starts: the process has
 * started, joined its group and run its code long enough for V8 to compile the hot paths.
 */
const SATURATION_FROM = 0.3;

/** The shortest window measured from a mark after the start (CPU from /proc counts in 10 ms ticks). */
const MIN_WINDOW_MS = 1000;

/** How many times the passthrough's input holds the simulator's raw messages. */
const PASSTHROUGH_COPIES = 8;

/**
 * One run at saturation, in processes of its own as deployed (`spec.start`), its input
 * pre-filled, started once the machine is quiet (`settle`): events per second, CPU and Redis counters from the moment SATURATION_FROM of the
 * input was handled until all of it was (progress polled from the groups' committed offsets).
 * Before that point the process starts, joins its group and warms up; measured from the join,
 * a run of a few seconds counted its JIT warm-up, and a short run (the passthrough's) more of it
 * than a long one.
 */
async function saturation(kafka: Kafka, redis: Redis, options: BenchOptions, spec: { readonly name: string; readonly unit: EventUnit; readonly groups: readonly ConsumerGroupTopics[]; readonly input: number; readonly baseline: StageFigures | null; readonly start: () => Spawned }): Promise<StageFigures> {
  // The input was just written: the kernel writes it back now, not during the run.
  const quiet = await settle(settleMsOf(options));
  options.progress(`  ${spec.name}: ${spec.input} events at saturation (${settledText(quiet)})`);
  const spawned = spec.start();
  const pids = Object.values(spawned.pids);
  const poller = new LagPoller(kafka);
  try {
    const deadline = Date.now() + 600000;
    // Where the clock may start: at the start, when the first input was handled, at
    // SATURATION_FROM of the input; it starts at the latest that leaves at least half the input
    // and MIN_WINDOW_MS to measure. A tiny input (the test's) is handled in less: its window
    // starts at the start, start-up included.
    const marks: { counters: Counters; handled: number }[] = [{ counters: await snapshot(redis, options, pids, false), handled: 0 }];
    while (Date.now() < deadline) {
      const lag = await poller.lag(spec.groups);
      const handled = spec.input - lag;
      if ((marks.length === 1 && handled > 0) || (marks.length === 2 && handled >= spec.input * SATURATION_FROM)) marks.push({ counters: await snapshot(redis, options, pids, false), handled });
      if (lag === 0) {
        const to = await snapshot(redis, options, pids, false);
        const from = [...marks].reverse().find((mark) => mark.handled <= spec.input / 2 && to.at - mark.counters.at >= MIN_WINDOW_MS) ?? marks[0];
        if (!from) throw new Error('no start mark');
        return stageFiguresOf(spec.name, spec.unit, spec.input - from.handled, from.counters, to, spec.baseline);
      }
      const exited = spawned.exited();
      if (exited !== undefined) throw new Error(`${spec.name}: ${exited} exited with ${lag} of ${spec.input} events not handled (BENCH_STAGE_STDERR=true shows why)`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`${spec.name}: input not all handled after 600 s`);
  } finally {
    await poller.close();
    await spawned.stop();
  }
}

/**
 * Throughput of the passthrough (after a discarded pass that warms the broker up) and of each
 * stage alone, each in a process of its own, fed pre-filled topics: the normalizer the
 * simulator's raw messages, the resolver the touchpoints the normalizer produced, the builder
 * the resolved touchpoints and merges the resolver produced (and its identity graph).
 */
async function throughputAlone(kafka: Kafka, redis: Redis, options: BenchOptions, run: string, tenant: string, env: Record<string, string>, simulation: Simulation): Promise<{ baseline: StageFigures; normalizer: StageFigures; resolver: StageFigures; builder: StageFigures; touchpoints: number }> {
  const records = simulation.records;
  // The passthrough is several times faster than any stage: on the simulator's messages alone
  // its measured window would be a fraction of a second, shorter than the consumer's offset
  // commit interval that the progress is read from. It passes them PASSTHROUGH_COPIES times.
  const passthroughInput = Array.from({ length: PASSTHROUGH_COPIES }, () => records.map((record) => ({ value: record.json }))).flat();
  const passthroughRun = async (prefix: string, label: string): Promise<StageFigures> => {
    await ensureTopics(kafka, [{ topic: `${prefix}in`, partitions: options.partitions }, { topic: `${prefix}out`, partitions: options.partitions }]);
    await produceAll(kafka, [{ topic: `${prefix}in`, messages: passthroughInput }]);
    options.progress(label);
    return saturation(kafka, redis, options, {
      name: 'baseline (passthrough)',
      unit: EVENT_UNITS.rawMessages,
      groups: [{ group: `${prefix}group`, topics: [`${prefix}in`] }],
      input: passthroughInput.length,
      baseline: null,
      start: () => spawnNode({ passthrough: [PASSTHROUGH] }, { KAFKA_BROKERS: options.kafkaBrokers, BENCH_PASSTHROUGH_FROM: `${prefix}in`, BENCH_PASSTHROUGH_TO: `${prefix}out`, BENCH_PASSTHROUGH_GROUP: `${prefix}group` }),
    });
  };
  // A freshly started broker measured several times the CPU per message until its JIT warmed up.
  await passthroughRun(`${run}.warmup.`, 'warm-up: Kafka passthrough (not reported)');
  const baseline = await passthroughRun(`${run}.baseline.`, 'baseline: Kafka passthrough');

  const prefix = `${run}.stages.`;
  const keys = `${run}:stages:`;
  const stageEnv = { ...env, TOPIC_PREFIX: prefix, REDIS_KEY_PREFIX: keys };
  const [normalizerGroup, resolverGroup, builderGroup] = consumerGroups(loadCliConfig(stageEnv));
  if (!normalizerGroup || !resolverGroup || !builderGroup) throw new Error('the pipeline has fewer than three consumer groups');
  await ensureTopics(kafka, [...CHANNELS.map((channel) => `raw.${channel}`), ...PIPELINE_TOPICS].map((name) => ({ topic: `${prefix}${name}`, partitions: options.partitions })));
  await produceAll(kafka, CHANNELS.map((channel) => ({ topic: `${prefix}raw.${channel}`, messages: records.filter((record) => record.channel === channel).map((record) => ({ value: record.json })) })));
  const inputOf = async (group: ConsumerGroupTopics): Promise<number> => {
    let total = 0;
    for (const topic of group.topics) total += await consumerGroupEnd(kafka, topic);
    return total;
  };
  /** A stage that keeps state in Redis, with the Redis memory it added per profile made. */
  const stateful = async (name: string, unit: EventUnit, group: ConsumerGroupTopics, part: PipelinePart): Promise<StageFigures> => {
    const memoryBefore = (await redisStats(redis)).memory;
    const measured = await saturation(kafka, redis, options, { name, unit, groups: [group], input: await inputOf(group), baseline, start: () => spawnStages(stageEnv, [part]) });
    const profiles = await redis.scard(`${keys}{${tenant}}:live`);
    return { ...measured, redisBytesPerProfile: profiles > 0 ? Math.round(((await redisStats(redis)).memory - memoryBefore) / profiles) : null };
  };

  options.progress('stage: normalizers');
  const normalizer = await saturation(kafka, redis, options, { name: 'normalizer (8 channels)', unit: EVENT_UNITS.rawMessages, groups: [normalizerGroup], input: records.length, baseline, start: () => spawnStages(stageEnv, ['normalizers']) });
  const touchpoints = await consumerGroupEnd(kafka, `${prefix}touchpoints.v1`);
  options.progress('stage: identity resolver');
  const resolver = await stateful('identity resolver', EVENT_UNITS.touchpoints, resolverGroup, 'resolver');
  options.progress('stage: profile builder');
  const builder = await stateful('profile builder', EVENT_UNITS.builderInput, builderGroup, 'builder');
  return { baseline, normalizer, resolver, builder, touchpoints };
}

/** What every kind of run sets up: its name (the prefix of its topics and keys), tenant, population and clients. */
interface Session {
  readonly run: string;
  readonly tenant: string;
  readonly simulation: Simulation;
  readonly kafka: Kafka;
  readonly redis: Redis;
  /** Deletes the run's topics, consumer groups, registry subjects and Redis keys (cleanUp; unless BENCH_KEEP); one at a time, by a signal too. */
  readonly clean: () => Promise<void>;
}

/**
 * Runs `body` in a session of its own, checked first by `check` (before any connection), and
 * cleans up after it, or on SIGTERM or SIGINT once the stage processes are stopped
 * (exitOnSignals).
 */
async function inSession<T>(options: BenchOptions, body: (session: Session) => Promise<T>, check?: (simulation: Simulation) => void): Promise<T> {
  const run = `bench-${Date.now().toString(36)}`;
  const tenant = 'default';
  const simulation: Simulation = simulate({ seed: 42, people: options.people, tenant });
  check?.(simulation);
  const kafka = createKafka({ brokers: options.kafkaBrokers.split(','), clientId: 'elephant-bench', logger: options.logger });
  const redis = await connectRedis({ url: options.redisUrl, logger: options.logger, name: 'elephant-bench' });
  const clean = oneAtATime(async () => cleanUp(kafka, redis, run, options));
  const forget = onInterrupt(clean);
  try {
    return await body({ run, tenant, simulation, kafka, redis, clean });
  } finally {
    await clean();
    forget();
    redis.disconnect();
  }
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  // Checked before the ten minutes of runs before the burst's.
  const burstShape = burstOptionsOf(options);
  // The burst run offers the most events of all the latency runs.
  return inSession(options, (session) => fullRun(options, burstShape, session), (simulation) => checkLatencyInputs(options, simulation, burstShape));
}

async function fullRun(options: BenchOptions, burstShape: Burst, { run, tenant, simulation, kafka, redis, clean }: Session): Promise<BenchReport> {
  const env = serviceEnv(options, tenant);
  // The bench's own polling costs Redis nothing: it never talks to Redis between snapshots but
  // to read them, and those readings are left out (lessOwnReadings).
  const records = simulation.records;
  options.progress(`workload: ${records.length} raw messages, ${simulation.truth.size} touchpoints of ${options.people} people`);
  const raw = (prefix: string): { topic: string; messages: Message[] }[] =>
    CHANNELS.map((channel) => ({ topic: `${prefix}raw.${channel}`, messages: records.filter((record) => record.channel === channel).map((record) => ({ value: record.json })) }));

  const alone = await throughputAlone(kafka, redis, options, run, tenant, env, simulation);
  const { normalizer, touchpoints } = alone;
  const resolverFigures = alone.resolver;
  const builderFigures = alone.builder;
  // Each measurement starts without what the ones before left: their topics and Redis keys
  // are deleted as soon as their figures are taken (a Redis that keeps them rewrites a larger
  // append-only file while the next run is measured, on the same two cores).
  await clean();
  // The same passthrough in a process of its own at the fixed load: the latency of one hop
  // through the broker and a Kafka client on this machine, the floor of every stage's.
  const baseline: StageFigures = { ...alone.baseline, latency: await passthroughLatency(kafka, redis, options, run, simulation) };
  let before: Counters;
  let after: Counters;

  // Each stage alone at the fixed load, in a process of its own (`elephant run --only`), fed
  // what the stage before it produced: input record produced → output record consumed.
  const stageLatency = await stageLatencies(kafka, redis, options, run, tenant, env, simulation);
  await clean();

  // The whole pipeline, fed by the simulator at full speed.
  const pipePrefix = `${run}.pipeline.`;
  const pipeEnv = { ...env, TOPIC_PREFIX: pipePrefix, REDIS_KEY_PREFIX: `${run}:pipeline:` };
  await ensureTopics(kafka, CHANNELS.map((channel) => ({ topic: `${pipePrefix}raw.${channel}`, partitions: options.partitions })));
  const memoryBefore = (await redisStats(redis)).memory;
  // One process per stage, as in the latency run (a single process tops out at one core).
  await ensureTopics(kafka, PIPELINE_TOPICS.map((name) => ({ topic: `${pipePrefix}${name}`, partitions: options.partitions })));
  // As every throughput run: the stage latency runs' topics were just deleted and their broker
  // log written; the kernel and the broker finish that now, not while the pipeline is timed.
  const quiet = await settle(settleMsOf(options));
  const pipeGroups = consumerGroups(loadCliConfig(pipeEnv));
  const services = spawnStages(pipeEnv);
  const stagePids = Object.values(services.pids);
  try {
    await warmUp(kafka, pipePrefix, simulation, pipeGroups);
    options.progress(`pipeline: all services, simulator traffic at full speed (before the services started: ${settledText(quiet)})`);
    before = await snapshot(redis, options, stagePids);
    await produceAll(kafka, raw(pipePrefix));
    await drained(kafka, pipeGroups, records.length, 900000);
    after = await snapshot(redis, options, stagePids);
  } finally {
    await services.stop();
  }
  const memoryAfter = (await redisStats(redis)).memory;
  const pipeline = stageFiguresOf('whole pipeline', EVENT_UNITS.rawMessages, records.length, before, after, baseline);
  const graphPrefix = `${run}:pipeline:{${tenant}}:`;
  const live = await redis.smembers(`${graphPrefix}live`);
  const quality = identityQuality(await profileEvents(redis, graphPrefix, live), simulation);
  await clean();

  // Latency: raw message produced → profile update consumed, at a fixed offered load.
  const latency = await measureLatency(kafka, redis, { ...env, TOPIC_PREFIX: `${run}.latency.`, REDIS_KEY_PREFIX: `${run}:latency:` }, simulation, options);
  await clean();
  const latencyExactlyOnce = await measureLatency(kafka, redis, { ...env, TOPIC_PREFIX: `${run}.latency-eos.`, REDIS_KEY_PREFIX: `${run}:latency-eos:`, PROCESSING_GUARANTEE: 'exactly_once' }, simulation, options);
  await clean();
  const burst = await measureBurst(kafka, redis, { ...env, TOPIC_PREFIX: `${run}.burst.`, REDIS_KEY_PREFIX: `${run}:burst:` }, simulation, options, burstShape);

  const stages = [
    { ...normalizer, latency: stageLatency.normalizer },
    { ...resolverFigures, latency: stageLatency.resolver },
    { ...builderFigures, latency: stageLatency.builder },
  ];
  const targets = targetsOf({ baseline, stages, latency, latencyExactlyOnce, quality });
  return {
    generatedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: round(totalmem() / 2 ** 30, 1), node: process.version },
    workload: { people: options.people, rawMessages: records.length, touchpoints },
    baseline,
    stages,
    pipeline: { ...pipeline, latency: latencyFiguresOf(latency, latency.unit), touchpointsPerSecond: Math.round(touchpoints / pipeline.seconds), quality: { precision: quality.precision, recall: quality.recall, f1: quality.f1, overMergedProfiles: quality.overMergedProfiles, splitPeople: quality.splitPeople, itemsInSeveralClusters: quality.itemsInSeveralClusters }, redisBytesPerProfile: live.length > 0 ? Math.round((memoryAfter - memoryBefore) / live.length) : 0, profiles: live.length },
    latency,
    latencyExactlyOnce,
    burst,
    targets,
  };
}

/** The whole pipeline's identity quality as the report gives it (`pairwiseQuality` of packages/identity). */
export interface IdentityQuality {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly overMergedProfiles: number;
  readonly splitPeople: number;
  readonly itemsInSeveralClusters: number;
}

/** What a run's targets are measured against: its figures, unrounded where a verdict depends on them. */
export interface TargetFigures {
  readonly baseline: StageFigures;
  readonly stages: readonly StageFigures[];
  readonly latency: BenchReport['latency'];
  readonly latencyExactlyOnce: BenchReport['latency'];
  readonly quality: IdentityQuality;
}

/**
 * The report's target rows: what was wanted, what was measured, whether it was met, and for a
 * missed one what limited it. Each verdict is decided on the unrounded figure; the figure shown
 * is rounded toward missing the target (`atLeast`, `atMost`), so it cannot contradict the verdict.
 */
export function targetsOf({ baseline, stages, latency, latencyExactlyOnce, quality }: TargetFigures): BenchReport['targets'][number][] {
  return [
    ...stages.map((stage) => {
      const { actual, met } = atLeast(stage.ratioToBaseline, 0.5, 2);
      return { name: `${stage.name}: ≥ 50% of the baseline's events/s`, target: '≥ 0.50', actual, met, ...(met ? {} : { limit: throughputLimit(stage, baseline) }) };
    }),
    latencyTarget('end-to-end p99 at the offered load', latency, [baseline, ...stages]),
    latencyTarget('end-to-end p99 at the offered load, builder exactly_once', latencyExactlyOnce, [baseline, ...stages]),
    ...stages.map((stage) => ({ name: `${stage.name}: Redis round trips per event at saturation`, target: '≤ 1', ...atMost(stage.redisRoundTripsPerEvent, 1, 3) })),
    ...stages.flatMap((stage) => {
      const roundTrips = stage.latency?.redisRoundTripsPerEvent;
      if (roundTrips === null || roundTrips === undefined) return [];
      const { actual, met } = atMost(roundTrips, 1, 3);
      return [{ name: `${stage.name}: Redis round trips per event at the offered load`, target: '≤ 1', actual, met, ...(met ? {} : { limit: roundTripLimit(stage) }) }];
    }),
    identityTarget('identity precision', atLeast(quality.precision, 0.99, 4), '≥ 0.99', quality, `${quality.overMergedProfiles} profiles hold touchpoints of several simulated people`),
    identityTarget('identity recall', atLeast(quality.recall, 0.97, 4), '≥ 0.97', quality, `${quality.splitPeople} simulated people are spread over several profiles`),
  ];
}

/**
 * An identity target: missed whatever its figure when a touchpoint is on several profiles (the
 * pairwise figures then count it in the first profile only, and depend on the profiles' order).
 */
function identityTarget(name: string, verdict: { readonly actual: string; readonly met: boolean }, target: string, quality: IdentityQuality, missed: string): BenchReport['targets'][number] {
  const several = quality.itemsInSeveralClusters;
  const met = verdict.met && several === 0;
  const limit = several > 0 ? `${several} touchpoints on several profiles (a resolver bug): the pairwise figures count each in the first profile only` : missed;
  // The figure alone would read as met: it says it is not to be trusted.
  const actual = several > 0 ? `${verdict.actual} (not valid)` : verdict.actual;
  return { name, target, actual, met, ...(met ? {} : { limit }) };
}

/** The end-to-end p99 target of one pipeline latency run, with what limited it when missed. */
function latencyTarget(name: string, latency: BenchReport['latency'], alone: readonly StageFigures[]): BenchReport['targets'][number] {
  const { actual, met } = atMost(latency.p99, 100, 0);
  return { name, target: '≤ 100 ms', actual: `${actual} ms`, met, ...(met ? {} : { limit: latencyLimit(latency, alone) }) };
}

/**
 * Deletes what a run created so far (its topics, consumer groups, registry subjects and Redis
 * keys all carry the run's name), so measurements and runs do not slow down the ones after
 * them (a growing Redis means longer AOF rewrites, for one). Called between measurements, once
 * their processes stopped, and at the end; BENCH_KEEP keeps all. Until 2026-12-07 the groups
 * and subjects stayed: a few dozen of each per full run.
 */
async function cleanUp(kafka: Kafka, redis: Redis, run: string, options: BenchOptions): Promise<void> {
  if (options.keep) return;
  const own = `${run}.`;
  // Each kind on its own: one that fails (a group a process still holds) leaves the others done.
  const step = async (what: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (error) {
      options.progress(`could not delete the run's ${what}: ${(error as Error).message}`);
    }
  };
  await step('Redis keys', () => deleteKeysWithPrefix(redis, `${run}:`).then(() => undefined));
  await step('topics and consumer groups', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(own));
      if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30000 });
      const groups = (await admin.listGroups()).groups.map((group) => group.groupId).filter((group) => group.startsWith(own));
      if (groups.length > 0) await admin.deleteGroups(groups);
    } finally {
      await admin.disconnect();
    }
  });
  await step('registry subjects', async () => {
    const registry = new AvroRegistry({ url: options.schemaRegistryUrl });
    for (const subject of (await registry.subjects()).filter((name) => name.startsWith(own))) await registry.deleteSubject(subject);
  });
}

/**
 * What every service of a run is configured with (topic and key prefixes are added per run);
 * the builder's guarantee is the default unless a run says otherwise, whatever the caller's
 * environment holds.
 */
function serviceEnv(options: BenchOptions, tenant: string, guarantee: 'exactly_once' | 'at_least_once' = 'at_least_once'): Record<string, string> {
  return { KAFKA_BROKERS: options.kafkaBrokers, SCHEMA_REGISTRY_URL: options.schemaRegistryUrl, REDIS_URL: options.redisUrl, HEALTH_PORT: '0', LOG_LEVEL: 'error', TENANT: tenant, PARTITIONS: String(options.partitions), PROCESSING_GUARANTEE: guarantee };
}

/** Only the throughput of the passthrough and of each stage alone, for tuning; no report written (BENCH_ONLY=throughput). */
export function runThroughputOnly(options: BenchOptions): Promise<Record<string, StageFigures | number>> {
  return inSession(options, ({ run, tenant, simulation, kafka, redis }) => throughputAlone(kafka, redis, options, run, tenant, serviceEnv(options, tenant), simulation));
}

/**
 * Only latency, for tuning; the report is not written: the whole pipeline's
 * (BENCH_ONLY=latency; latency-exactly-once with the builder exactly_once), or the
 * passthrough's and each stage's alone (BENCH_ONLY=latency-alone), or the whole pipeline's
 * with a burst (BENCH_ONLY=burst).
 */
export async function runLatencyOnly(options: BenchOptions, which: 'pipeline' | 'pipeline-exactly-once' | 'alone' | 'burst' = 'pipeline'): Promise<BenchReport['latency'] | BurstFigures | Record<string, LatencyFigures>> {
  const burst = which === 'burst' ? burstOptionsOf(options) : undefined;
  return inSession(
    options,
    async ({ run, tenant, simulation, kafka, redis }) => {
      const env = serviceEnv(options, tenant, which === 'pipeline-exactly-once' ? 'exactly_once' : 'at_least_once');
      if (burst !== undefined) return measureBurst(kafka, redis, { ...env, TOPIC_PREFIX: `${run}.burst.`, REDIS_KEY_PREFIX: `${run}:burst:` }, simulation, options, burst);
      if (which !== 'alone') return measureLatency(kafka, redis, { ...env, TOPIC_PREFIX: `${run}.latency.`, REDIS_KEY_PREFIX: `${run}:latency:` }, simulation, options);
      return { baseline: await passthroughLatency(kafka, redis, options, run, simulation), ...(await stageLatencies(kafka, redis, options, run, tenant, env, simulation)) };
    },
    (simulation) => checkLatencyInputs(options, simulation, burst),
  );
}

/** Topics between the stages, created before the stages start (they would create them too). */
const PIPELINE_TOPICS = ['touchpoints.v1', 'touchpoints.resolved.v1', 'identity.merges.v1', 'profiles.erasures.v1', 'profiles.updates.v1'];

const CLI = fileURLToPath(new URL('../../services/cli/src/main.ts', import.meta.url));
const PASSTHROUGH = fileURLToPath(new URL('./passthrough-main.ts', import.meta.url));

/**
 * Sends one message per channel and waits until it went all the way through: every group has
 * joined and every producer is connected before anything is measured.
 */
async function warmUp(kafka: Kafka, prefix: string, simulation: Simulation, groups: readonly { group: string; topics: string[] }[]): Promise<void> {
  const samples = CHANNELS.map((channel) => simulation.records.find((record) => record.channel === channel)).filter((record) => record !== undefined);
  await produceAll(kafka, samples.map((record) => ({ topic: `${prefix}raw.${record.channel}`, messages: [{ value: record.json }] })));
  await drained(kafka, groups, samples.length, 120000);
}

async function consumerGroupEnd(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, end) => sum + Number(end.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** `elephant run --only <part>` for each part, each in its own process. */
function spawnStages(env: Record<string, string>, parts: readonly PipelinePart[] = PIPELINE_PARTS): Spawned {
  return spawnNode(Object.fromEntries(parts.map((part) => [part, [CLI, 'run', '--only', part]])), env);
}

async function measureLatency(kafka: Kafka, redis: Redis, env: Record<string, string>, simulation: Simulation, options: BenchOptions): Promise<BenchReport['latency']> {
  return (await pipelineLatency(kafka, redis, env, simulation, options)).latency;
}

/**
 * The whole pipeline's latency run with a burst (`burstFactor` × the rate for `burstSeconds`, a
 * third into the window), and the hops of the samples due during the burst (the run's topics
 * outlive its processes).
 */
async function measureBurst(kafka: Kafka, redis: Redis, env: Record<string, string>, simulation: Simulation, options: BenchOptions, burst: Burst): Promise<BurstFigures> {
  const { latency, timeline, sampled } = await pipelineLatency(kafka, redis, env, simulation, options, burst);
  const [from, to] = [burst.at * 1000, (burst.at + burst.seconds) * 1000];
  const inBurst = new Set([...sampled].filter(([, due]) => due >= from && due < to).map(([id]) => id));
  const hops = await hopLatencies(kafka, new AvroRegistry({ url: options.schemaRegistryUrl }), env['TOPIC_PREFIX'] ?? '', inBurst);
  return { ...burstFiguresOf(timeline, burst, latency.offeredPerSecond, latency.seconds), hops, coresBusy: latency.coresBusy, machine: latency.machine, sendDelay: latency.sendDelay };
}

/** The burst of `options`, checked: a burst as long as half the window would leave too little of it before and after. */
function burstOptionsOf(options: BenchOptions): Burst {
  const factor = options.burstFactor ?? 2;
  const seconds = options.burstSeconds ?? 1;
  const issues = [
    ...(factor > 1 ? [] : [{ variable: 'BENCH_BURST_FACTOR', problem: `must be greater than 1 (got ${factor})` }]),
    ...(seconds > 0 && seconds * 2 <= options.latencySeconds ? [] : [{ variable: 'BENCH_BURST_SECONDS', problem: `must be more than 0 and at most half of BENCH_LATENCY_SECONDS, ${options.latencySeconds} (got ${seconds})` }]),
  ];
  if (issues.length > 0) throw new ConfigError('the benchmark', issues);
  return burstOf(factor, seconds, options.latencySeconds);
}

/**
 * Refuses latency runs the simulation cannot feed: every latency run offers the simulator's raw
 * messages (or what a stage made of them) at `latencyRate` events a second for the warm-up and
 * the window, a burst's extra included; with fewer events in the simulation the load ran out
 * early and the run reported a window it had not offered. Checked before anything is measured.
 */
export function latencyInputsIssues(options: Pick<BenchOptions, 'people' | 'latencyRate' | 'latencyWarmupSeconds' | 'latencySeconds'>, held: number, burst?: Burst): ConfigIssue[] {
  const steady = eventsOffered(options.latencyRate, options.latencyWarmupSeconds, options.latencySeconds);
  const needed = eventsOffered(options.latencyRate, options.latencyWarmupSeconds, options.latencySeconds, burst);
  if (held >= needed) return [];
  const burstPart = burst === undefined ? '' : ` + ${needed - steady} for the burst (BENCH_BURST_FACTOR ${burst.factor}, BENCH_BURST_SECONDS ${burst.seconds})`;
  const people = Math.ceil((options.people * needed) / Math.max(held, 1));
  return [
    {
      variable: 'BENCH_PEOPLE',
      problem: `${options.people} simulated people carry ${held} events, fewer than the ${needed} a latency run offers: BENCH_LATENCY_RATE ${options.latencyRate} × (BENCH_LATENCY_WARMUP_SECONDS ${options.latencyWarmupSeconds} + BENCH_LATENCY_SECONDS ${options.latencySeconds})${burstPart}; raise BENCH_PEOPLE (to about ${people}) or lower BENCH_LATENCY_RATE or BENCH_LATENCY_SECONDS`,
    },
  ];
}

/** `latencyInputsIssues` for the simulation, thrown as a ConfigError. */
function checkLatencyInputs(options: BenchOptions, simulation: Simulation, burst?: Burst): void {
  const needed = eventsOffered(options.latencyRate, options.latencyWarmupSeconds, options.latencySeconds, burst);
  // Each raw message carries at least one event: counting them (adapting every message) is needed only when they are fewer.
  const held = simulation.records.length >= needed ? simulation.records.length : eventsOf(rawInputs(simulation, '', simulation.options.tenant, simulation.records.length));
  const issues = latencyInputsIssues(options, held, burst);
  if (issues.length > 0) throw new ConfigError('the benchmark', issues);
}

async function pipelineLatency(kafka: Kafka, redis: Redis, env: Record<string, string>, simulation: Simulation, options: BenchOptions, burst?: Burst): Promise<{ latency: BenchReport['latency'] } & Pick<LoadResult, 'timeline' | 'sampled'>> {
  const prefix = env['TOPIC_PREFIX'] ?? '';
  await ensureTopics(kafka, CHANNELS.map((channel) => ({ topic: `${prefix}raw.${channel}`, partitions: options.partitions })));
  // Topics between the services exist (with leaders) before they start, as the services would create them.
  await ensureTopics(kafka, PIPELINE_TOPICS.map((name) => ({ topic: `${prefix}${name}`, partitions: options.partitions })));
  // Three processes, one per stage (`elephant run --only ...`): each stage has its own event
  // loop, as in a deployment, without ten Node processes competing for two cores.
  const services = spawnStages(env);
  const groups = consumerGroups(loadCliConfig(env));
  const registry = new AvroRegistry({ url: options.schemaRegistryUrl });
  try {
    await warmUp(kafka, prefix, simulation, groups);
    options.progress(`latency: the whole pipeline, raw message produced → profile update consumed${burst === undefined ? '' : `, with ${burst.factor}× the rate for ${burst.seconds} s from ${burst.at} s`}`);
    const toUpdateProduced = newHistogram();
    const toSubscriber = newHistogram();
    const result = await offerLoad(kafka, {
      ...loadOf(options),
      prefix,
      inputs: rawInputs(simulation, prefix, env['TENANT'] ?? 'default', latencyInputs(options, burst)),
      output: `${prefix}profiles.updates.v1`,
      idsOf: updateCauses(registry),
      onSample: (message, sentEpoch, receivedEpoch) => {
        const producedAt = Number(message.timestamp);
        toUpdateProduced.recordValue(Math.max(1, producedAt - sentEpoch));
        toSubscriber.recordValue(Math.max(1, receivedEpoch - producedAt));
      },
      pids: services.pids,
      groups,
      redisCounters: redisCountersOf(redis),
      ...(burst === undefined ? {} : { burst }),
    });
    const { sampled, timeline, ...figures } = result;
    return { latency: { ...figures, unit: EVENT_UNITS.carried, split: { toUpdateProduced: percentilesOf(toUpdateProduced), toSubscriber: percentilesOf(toSubscriber) }, hops: await hopLatencies(kafka, registry, prefix, sampled) }, timeline, sampled };
  } finally {
    await services.stop();
  }
}

/**
 * Each stage alone at the fixed offered load, in a process of its own, fed what the stage
 * before it produced in its own latency run: the normalizer the simulator's raw messages, the
 * resolver the normalizer's touchpoints, the builder the resolver's resolved touchpoints and
 * merges (with the identity graph the resolver left in Redis).
 */
async function stageLatencies(kafka: Kafka, redis: Redis, options: BenchOptions, run: string, tenant: string, env: Record<string, string>, simulation: Simulation): Promise<{ normalizer: LatencyFigures; resolver: LatencyFigures; builder: LatencyFigures }> {
  const registry = new AvroRegistry({ url: options.schemaRegistryUrl });
  const count = latencyInputs(options);
  const setUp = async (stage: string, redisPrefix = `${run}:latency-${stage}:`): Promise<{ prefix: string; env: Record<string, string>; groups: ConsumerGroupTopics[] }> => {
    const prefix = `${run}.latency-${stage}.`;
    await ensureTopics(kafka, [...CHANNELS.map((channel) => `raw.${channel}`), ...PIPELINE_TOPICS].map((name) => ({ topic: `${prefix}${name}`, partitions: options.partitions })));
    const stageEnv = { ...env, TOPIC_PREFIX: prefix, REDIS_KEY_PREFIX: redisPrefix };
    return { prefix, env: stageEnv, groups: consumerGroups(loadCliConfig(stageEnv)) };
  };
  const groupOf = (groups: readonly ConsumerGroupTopics[], index: number): ConsumerGroupTopics => {
    const group = groups[index];
    if (!group) throw new Error(`the pipeline has no consumer group ${index}`);
    return group;
  };
  const touchpointId = (value: unknown): string | undefined => (value as { eventId?: string }).eventId;
  const resolvedId = (value: unknown): string | undefined => (value as { touchpoint?: { eventId?: string } }).touchpoint?.eventId;

  const n = await setUp('normalizer');
  const normalizer = await latencyAlone(kafka, redis, options, 'normalizer', {
    unit: EVENT_UNITS.carried,
    prefix: n.prefix,
    inputs: rawInputs(simulation, n.prefix, tenant, count),
    output: `${n.prefix}touchpoints.v1`,
    idsOf: decodedIds(registry, touchpointId),
    group: groupOf(n.groups, 0),
    start: () => spawnStages(n.env, ['normalizers']),
  });

  const r = await setUp('resolver');
  const resolver = await latencyAlone(kafka, redis, options, 'identity resolver', {
    unit: EVENT_UNITS.touchpoints,
    prefix: r.prefix,
    inputs: (await replayInputs(kafka, registry, [`${n.prefix}touchpoints.v1`], () => `${r.prefix}touchpoints.v1`, (_topic, value) => touchpointId(value))).slice(0, count),
    output: `${r.prefix}touchpoints.resolved.v1`,
    idsOf: decodedIds(registry, resolvedId),
    group: groupOf(r.groups, 1),
    start: () => spawnStages(r.env, ['resolver']),
  });

  // The resolver's latency run left its identity graph under its key prefix; the builder
  // reads it there (merge chains), as it would behind that resolver.
  const b = await setUp('builder', r.env['REDIS_KEY_PREFIX']);
  const fed = ['touchpoints.resolved.v1', 'identity.merges.v1', 'profiles.erasures.v1'];
  const builder = await latencyAlone(kafka, redis, options, 'profile builder', {
    unit: EVENT_UNITS.builderInput,
    prefix: b.prefix,
    inputs: (await replayInputs(kafka, registry, fed.map((name) => `${r.prefix}${name}`), (topic) => `${b.prefix}${topic.slice(r.prefix.length)}`, (topic, value) => (topic.endsWith('touchpoints.resolved.v1') ? resolvedId(value) : undefined))).slice(0, count),
    output: `${b.prefix}profiles.updates.v1`,
    idsOf: updateCauses(registry),
    group: groupOf(b.groups, 2),
    start: () => spawnStages(b.env, ['builder']),
  });
  return { normalizer, resolver, builder };
}

function sumOf(values: readonly (number | null)[]): number | null {
  return values.every((value) => value !== null) ? round(values.reduce<number>((sum, value) => sum + (value ?? 0), 0), 2) : null;
}

/** The passthrough in a process of its own at the fixed load: input produced → output consumed. */
async function passthroughLatency(kafka: Kafka, redis: Redis, options: BenchOptions, run: string, simulation: Simulation): Promise<LatencyFigures> {
  const prefix = `${run}.latency-baseline.`;
  await ensureTopics(kafka, [{ topic: `${prefix}in`, partitions: options.partitions }, { topic: `${prefix}out`, partitions: options.partitions }]);
  return latencyAlone(kafka, redis, options, 'baseline (passthrough)', {
    unit: EVENT_UNITS.carried,
    prefix,
    // The normalizer's inputs, paced the same (in the events each raw message carries).
    inputs: rawInputs(simulation, prefix, 'default', latencyInputs(options)).map((input, index) => ({ topic: `${prefix}in`, message: { key: String(index), value: input.message.value }, ids: [String(index)], events: input.events ?? 1 })),
    output: `${prefix}out`,
    idsOf: (messages) => Promise.resolve(messages.map((message) => message.key?.toString())),
    group: { group: `${prefix}group`, topics: [`${prefix}in`] },
    start: () => spawnNode({ passthrough: [PASSTHROUGH] }, { KAFKA_BROKERS: options.kafkaBrokers, BENCH_PASSTHROUGH_FROM: `${prefix}in`, BENCH_PASSTHROUGH_TO: `${prefix}out`, BENCH_PASSTHROUGH_GROUP: `${prefix}group` }),
  });
}

/** The load settings of every latency run. */
function loadOf(options: BenchOptions): Pick<LoadSpec, 'rate' | 'warmupSeconds' | 'seconds' | 'progress' | 'samplesDir' | 'settleMs'> {
  return { rate: options.latencyRate, warmupSeconds: options.latencyWarmupSeconds, seconds: options.latencySeconds, progress: options.progress, settleMs: settleMsOf(options), ...(options.samplesDir === undefined ? {} : { samplesDir: options.samplesDir }) };
}

function settleMsOf(options: BenchOptions): number {
  return options.settleSeconds * 1000;
}

/** How many input records a latency run has at hand: enough for its events (a record carries one or more), a burst's included. */
function latencyInputs(options: BenchOptions, burst?: Burst): number {
  return Math.ceil(eventsDue((options.latencyWarmupSeconds + options.latencySeconds) * 1000, options.latencyRate, options.latencyWarmupSeconds, burst));
}

/** The simulator's raw messages, each with the ids of the touchpoints it becomes. */
function rawInputs(simulation: Simulation, prefix: string, tenant: string, count: number): Offered[] {
  return simulation.records.slice(0, count).map((record) => {
    const result = adaptMessage(record.channel, Buffer.from(record.json), { tenant, ingestTime: 0, defaultRegion: 'US', defaultCurrency: 'USD' });
    const ids = result.ok ? result.touchpoints.map((touchpoint) => touchpoint.eventId) : [];
    return { topic: `${prefix}raw.${record.channel}`, message: { value: record.json }, ids, events: ids.length };
  });
}

/** Each record's Avro value decoded, and `pick` of it (undefined for what does not decode). */
function decodedIds<T>(registry: AvroRegistry, pick: (value: T) => string | undefined): (messages: readonly KafkaMessage[]) => Promise<(string | undefined)[]> {
  return async (messages) => {
    const decoded = await registry.decodeMany<T>(messages.map((message) => message.value ?? Buffer.alloc(0)));
    return decoded.map((result) => (result.ok ? pick(result.value) : undefined));
  };
}

/** A profile update's cause, for updates caused by a touchpoint. */
function updateCauses(registry: AvroRegistry): (messages: readonly KafkaMessage[]) => Promise<(string | undefined)[]> {
  return decodedIds<{ kind: string; causeEventId: string }>(registry, (update) => (update.kind === 'touchpoint' ? update.causeEventId : undefined));
}

/** Records read back from `topics`, in the order they were produced (timestamp, then offset), sent to the same partitions of `rename(topic)`. */
async function replayInputs(kafka: Kafka, registry: AvroRegistry, topics: readonly string[], rename: (topic: string) => string, idOf: (topic: string, value: unknown) => string | undefined): Promise<Offered[]> {
  const records: { topic: string; record: ReadRecord; ids: string[] }[] = [];
  for (const topic of topics) {
    const read = await readToEnd(kafka, topic);
    const decoded = await registry.decodeMany<unknown>(read.map((record) => record.value ?? Buffer.alloc(0)));
    read.forEach((record, index) => {
      const result = decoded[index];
      const id = result?.ok ? idOf(topic, result.value) : undefined;
      records.push({ topic, record, ids: id === undefined ? [] : [id] });
    });
  }
  records.sort((a, b) => Number(a.record.timestamp) - Number(b.record.timestamp) || Number(a.record.offset) - Number(b.record.offset));
  return records.map(({ topic, record, ids }) => ({ topic: rename(topic), message: { key: record.key, value: record.value, partition: record.partition }, ids }));
}

/** How long a process started for a latency run alone may take to join its group (a stage starts in 2-5 s here). */
const JOIN_TIMEOUT_MS = 120000;

/**
 * Latency of one run alone (the passthrough or one stage, in a process of its own) at the
 * offered load: input record produced → output record consumed.
 */
async function latencyAlone(kafka: Kafka, redis: Redis, options: BenchOptions, label: string, spec: Pick<LoadSpec, 'prefix' | 'inputs' | 'output' | 'idsOf'> & { readonly unit: EventUnit; readonly group: ConsumerGroupTopics; readonly start: () => Spawned }): Promise<LatencyFigures> {
  options.progress(`latency: ${label} alone`);
  let running: Spawned | undefined;
  let notStarted: string | undefined;
  const joining = joined(kafka, [spec.group.group], { timeoutMs: JOIN_TIMEOUT_MS, exited: () => notStarted ?? running?.exited() });
  try {
    running = spec.start();
  } catch (error) {
    notStarted = `${label} (not started)`;
    await joining.catch(() => undefined);
    throw error;
  }
  try {
    await joining;
    return latencyFiguresOf(await offerLoad(kafka, { ...loadOf(options), ...spec, pids: running.pids, groups: [spec.group], redisCounters: redisCountersOf(redis) }), spec.unit);
  } finally {
    await running.stop();
  }
}

/** A latency run's figures for a report row: percentiles, and the cores its processes and the machine kept busy. */
function latencyFiguresOf(run: Pick<LoadResult, 'offeredPerSecond' | 'samples' | 'p50' | 'p95' | 'p99' | 'max' | 'coresBusy' | 'machine' | 'redis'>, unit: EventUnit): LatencyFigures {
  return {
    offeredPerSecond: run.offeredPerSecond,
    unit,
    samples: run.samples,
    p50: run.p50,
    p95: run.p95,
    p99: run.p99,
    max: run.max,
    coresBusy: sumOf(Object.values(run.coresBusy)),
    machineCoresBusy: run.machine?.coresBusy ?? null,
    redisCommandsPerEvent: run.redis?.commandsPerEvent ?? null,
    redisRoundTripsPerEvent: run.redis?.roundTripsPerEvent ?? null,
  };
}

async function hopLatencies(kafka: Kafka, registry: AvroRegistry, prefix: string, sampled: { has(id: string): boolean }): Promise<BenchReport['latency']['hops']> {
  const normalizer = newHistogram();
  const resolver = newHistogram();
  const builder = newHistogram();
  const touchpointAt = new Map<string, number>();
  const resolvedAt = new Map<string, number>();
  const decodeAll = async <T>(messages: readonly KafkaMessage[]): Promise<{ value: T; at: number }[]> => {
    const decoded = await registry.decodeMany<T>(messages.map((message) => message.value ?? Buffer.alloc(0)));
    return decoded.flatMap((result, index) => (result.ok ? [{ value: result.value, at: Number(messages[index]?.timestamp ?? 0) }] : []));
  };
  for (const { value, at } of await decodeAll<{ eventId: string; ingestTime: number }>(await readToEnd(kafka, `${prefix}touchpoints.v1`))) {
    if (touchpointAt.has(value.eventId) || !sampled.has(value.eventId)) continue;
    touchpointAt.set(value.eventId, at);
    normalizer.recordValue(Math.max(1, at - value.ingestTime));
  }
  for (const { value, at } of await decodeAll<{ touchpoint: { eventId: string } }>(await readToEnd(kafka, `${prefix}touchpoints.resolved.v1`))) {
    const from = touchpointAt.get(value.touchpoint.eventId);
    if (from === undefined || resolvedAt.has(value.touchpoint.eventId)) continue;
    resolvedAt.set(value.touchpoint.eventId, at);
    resolver.recordValue(Math.max(1, at - from));
  }
  for (const { value, at } of await decodeAll<{ kind: string; causeEventId: string }>(await readToEnd(kafka, `${prefix}profiles.updates.v1`))) {
    const from = value.kind === 'touchpoint' ? resolvedAt.get(value.causeEventId) : undefined;
    if (from !== undefined) builder.recordValue(Math.max(1, at - from));
  }
  return { normalizer: percentilesOf(normalizer), resolver: percentilesOf(resolver), builder: percentilesOf(builder) };
}

/**
 * What this run measured as the limit of a stage alone: whichever of the stage's process, the
 * Redis server and the machine's cores came closest to saturation (a Node process runs its
 * JavaScript on one thread; Redis runs commands on one thread), with the figures behind it; at
 * 80% busy or more it counts as the limit (sampled CPU time of a saturated thread reads a bit
 * under 100%), below that the stage was waiting rather than working.
 */
export function throughputLimit(stage: StageFigures, baseline: StageFigures): string {
  const cores = cpus().length;
  const candidates: [string, number][] = [
    ['its own process (one JavaScript thread)', stage.elephantCoresBusy],
    ['Redis (one thread)', stage.redisCoresBusy],
    ...(stage.coresBusy === null ? [] : ([[`the machine's ${cores} cores`, stage.coresBusy / cores]] as [string, number][])),
  ];
  const [busiest, load] = candidates.reduce((a, b) => (b[1] > a[1] ? b : a));
  const figures = `process ${stage.elephantCoresBusy} cores busy, Redis ${stage.redisCoresBusy}, all ${stage.coresBusy ?? '-'} of ${cores}; Elephant CPU per event ${round(stage.cpuSecondsPer10k / baseline.cpuSecondsPer10k, 2)}× the passthrough's`;
  return load >= 0.8 ? `${busiest} (${figures})` : `no resource saturated: waits (${figures})`;
}

/**
 * What this run measured behind a stage's Redis round trips per event at the offered load:
 * its round trips go per batch, not per event, and at a fixed load far under saturation a
 * batch holds few events; the same figure at saturation, with the batches full, beside it.
 */
export function roundTripLimit(stage: StageFigures): string {
  const latency = stage.latency;
  const commands = latency?.redisCommandsPerEvent;
  const roundTrips = latency?.redisRoundTripsPerEvent;
  return `round trips per batch, and small batches at ${latency?.offeredPerSecond ?? '-'} events/s: ${roundTrips === null || roundTrips === undefined ? '-' : roundTripsText(roundTrips)} round trips${commands === null || commands === undefined ? '' : ` and ${commands} commands`} per event, against ${roundTripsText(stage.redisRoundTripsPerEvent)} and ${stage.redisCommandsPerEvent} at saturation`;
}

/** Round trips per event as the report shows them: three decimals, rounded up as against their "≤ 1" target, without trailing zeros. */
function roundTripsText(value: number): string {
  return String(Number(ceilTo(value, 3)));
}

/**
 * What this run measured as the limit of the end-to-end latency: the slowest hop inside the
 * pipeline, how busy the machine was, and (given the runs alone) each run's p99 alone at the
 * same load, the passthrough's being one hop's floor on this machine.
 */
export function latencyLimit(latency: BenchReport['latency'], alone: readonly StageFigures[] = []): string {
  const hops: [string, number][] = [
    ['normalizer', latency.hops.normalizer.p99],
    ['resolver', latency.hops.resolver.p99],
    ['builder', latency.hops.builder.p99],
    ['to the subscriber', latency.split.toSubscriber.p99],
  ];
  const [slowest, p99] = hops.reduce((a, b) => (b[1] > a[1] ? b : a));
  const cores = cpus().length;
  const waiting = latency.machine?.waitingForCore;
  const machine = latency.machine ? `; the machine ${latency.machine.coresBusy} of ${cores} cores busy${latency.machine.steal > 0.05 ? `, ${latency.machine.steal} stolen by the hypervisor` : ''}${waiting !== null && waiting !== undefined ? `, a task waiting for a core ${Math.round(waiting * 100)}% of the time` : ''}` : '';
  const measured = alone.filter((run) => run.latency !== null);
  const floor = measured.length > 0 ? `; alone at the same load, p99 ${measured.map((run) => `${run.name} ${run.latency?.p99 ?? '-'}`).join(', ')} ms` : '';
  return `the ${slowest} hop, p99 ${p99} ms (${hops.map(([name, value]) => `${name} ${value}`).join(', ')})${machine}${floor}`;
}

export function markdownOf(report: BenchReport): string {
  const row = (stage: StageFigures): string =>
    `| ${stage.name} | ${stage.unit} | ${stage.input} | ${stage.eventsPerSecond} | ${floorTo(stage.ratioToBaseline, 2)} | ${stage.cpuSecondsPer10k} | ${stage.stackCpuSecondsPer10k ?? '-'} | ${stage.coresBusy ?? '-'} | ${stage.elephantCoresBusy} | ${stage.redisCoresBusy} | ${stage.cpuPerEventVsBaseline ?? '-'} | ${stage.redisCommandsPerEvent} | ${roundTripsText(stage.redisRoundTripsPerEvent)} | ${stage.redisBytesPerProfile ?? '-'} |`;
  const latencyRow = (stage: StageFigures): string => {
    const latency = stage.latency;
    return latency
      ? `| ${stage.name} | ${latency.unit} | ${latency.offeredPerSecond} | ${latency.samples} | ${latency.p50} | ${latency.p95} | ${latency.p99} | ${latency.max} | ${latency.coresBusy ?? '-'} | ${latency.machineCoresBusy ?? '-'} | ${latency.redisCommandsPerEvent ?? '-'} | ${latency.redisRoundTripsPerEvent === null ? '-' : roundTripsText(latency.redisRoundTripsPerEvent)} |`
      : `| ${stage.name} | - | - | - | - | - | - | - | - | - | - | - |`;
  };
  return [
    `# Benchmark ${report.generatedAt}`,
    '',
    `Machine: ${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}; broker, registry and Redis on the same machine.`,
    `Workload: ${report.workload.people} simulated people, ${report.workload.rawMessages} raw messages, ${report.workload.touchpoints} touchpoints.`,
    '',
    '| run | an event is | events measured | events/s | × baseline | CPU s / 10k (Elephant) | CPU s / 10k (broker+registry+Redis) | cores busy | of which Elephant | of which Redis | CPU / event × baseline | Redis commands / event | Redis round trips / event | Redis bytes / profile |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row(report.baseline),
    ...report.stages.map(row),
    row(report.pipeline),
    '',
    `Latency at a fixed offered load, each run in processes of its own (\`elephant run --only\`; the passthrough likewise), after ${report.latency.warmupSeconds} s of warm-up at the same load: input record produced → output record consumed by a subscriber (read_committed); for the whole pipeline raw message produced → profile update consumed. Milliseconds, HDR histogram.`,
    '',
    '| run | an event is | offered events/s | samples | p50 | p95 | p99 | max | cores busy (the run\'s processes) | cores busy (machine) | Redis commands / event | Redis round trips / event |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    latencyRow(report.baseline),
    ...report.stages.map(latencyRow),
    latencyRow(report.pipeline),
    latencyRow({ ...report.pipeline, name: 'whole pipeline, builder exactly_once', latency: latencyFiguresOf(report.latencyExactlyOnce, report.latencyExactlyOnce.unit) }),
    '',
    `Whole pipeline: ${report.pipeline.touchpointsPerSecond} touchpoints/s; ${report.pipeline.profiles} profiles, ${report.pipeline.redisBytesPerProfile} bytes of Redis memory per profile; identity precision ${floorTo(report.pipeline.quality.precision, 4)}, recall ${floorTo(report.pipeline.quality.recall, 4)}, F1 ${floorTo(report.pipeline.quality.f1, 4)} (rounded down: 1.0000 only when exactly 1), over-merged profiles ${report.pipeline.quality.overMergedProfiles}, people split over several profiles ${report.pipeline.quality.splitPeople}, touchpoints on several profiles ${report.pipeline.quality.itemsInSeveralClusters}${report.pipeline.quality.itemsInSeveralClusters > 0 ? ' (a resolver bug: precision and recall count each in its first profile only)' : ''}.`,
    '',
    pipelineLatencyText(report, report.latency, 'at_least_once (the default): updates sent and acknowledged, then the input offsets committed; no transactions'),
    '',
    pipelineLatencyText(report, report.latencyExactlyOnce, 'exactly_once: each batch\'s updates and input offsets in a Kafka transaction'),
    '',
    ...burstLines(report),
    '',
    '| target | wanted | measured | met | limited by (measured in this run) |',
    '| --- | --- | --- | --- | --- |',
    ...report.targets.map((target) => `| ${target.name} | ${target.target} | ${target.actual} | ${target.met ? 'yes' : '**no**'} | ${target.limit ?? ''} |`),
    '',
  ].join('\n');
}

/** The burst run: a table of the samples sent before, during and after the burst, and in words what followed. */
function burstLines(report: BenchReport): string[] {
  const burst = report.burst;
  const row = (label: string, figures: BurstFigures['before']): string => `| ${label} | ${figures.samples} | ${figures.p50} | ${figures.p95} | ${figures.p99} | ${figures.max} |`;
  const end = burst.at + burst.seconds;
  // A second without samples has no p99 to show (the histogram's 0 would read as 0 ms).
  const around = burst.perSecond.filter((second) => second.samples > 0 && second.second >= Math.floor(burst.at) - 2 && second.second <= Math.ceil(end) + 7);
  const machine = burst.machine ? ` The whole machine was ${burst.machine.coresBusy} of ${report.machine.cpus} cores busy over the run${burst.machine.waitingForCore === null ? '' : `, some task waiting for a core ${Math.round(burst.machine.waitingForCore * 100)}% of the time`}.` : '';
  return [
    `A burst (not a target): the whole pipeline (builder at_least_once) at ${burst.offeredPerSecond} events/s, and ${burst.factor}× that for ${burst.seconds} s from ${burst.at} s into the ${burst.windowSeconds} s measured; latency of the samples by when their raw message was due (ms; the load generator sent them p99 ${burst.sendDelay.p99} ms, at most ${burst.sendDelay.max} ms, after that).`,
    '',
    '| due | samples | p50 | p95 | p99 | max |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('before the burst', burst.before),
    row('during the burst', burst.during),
    row('after the burst', burst.after),
    '',
    `${burst.recoverySeconds === null ? `The latency was not back under the p99 before the burst (${burst.before.p99} ms) for half a second before the window ended.` : `Back under the p99 before the burst (${burst.before.p99} ms) for half a second ${burst.recoverySeconds} s after the burst's end.`} Per second due, p99: ${around.length === 0 ? 'no samples' : around.map((second) => `${second.second} s ${second.p99}`).join(', ')}. Per service, the burst's samples: normalizer p99 ${burst.hops.normalizer.p99} ms, resolver ${burst.hops.resolver.p99}, builder ${burst.hops.builder.p99}.${machine}`,
  ];
}

/** One pipeline latency run in words: percentiles, where the time went, and how busy the machine was. */
function pipelineLatencyText(report: BenchReport, latency: BenchReport['latency'], builder: string): string {
  const machine = latency.machine ? `; the whole machine ${latency.machine.coresBusy} of ${report.machine.cpus} cores (steal ${latency.machine.steal}${latency.machine.waitingForCore === null ? '' : `; some task waiting for a core ${Math.round(latency.machine.waitingForCore * 100)}% of the time`})` : '';
  return [
    `Latency, raw message produced → profile update consumed, builder ${builder}, at ${latency.offeredPerSecond} events/s (raw messages paced by the events they carry) for ${latency.seconds} s after ${latency.warmupSeconds} s of warm-up at the same load (${latency.samples} samples, HDR histogram): p50 ${latency.p50} ms, p95 ${latency.p95} ms, p99 ${latency.p99} ms, max ${latency.max} ms (from the send; the load generator sent the raw messages p99 ${latency.sendDelay.p99} ms, at most ${latency.sendDelay.max} ms, after they were due).`,
    `Split at the update's Kafka timestamp: raw produced → update produced p50 ${latency.split.toUpdateProduced.p50} ms, p99 ${latency.split.toUpdateProduced.p99} ms; update produced → consumed (the builder's commit, the subscriber's fetch) p50 ${latency.split.toSubscriber.p50} ms, p99 ${latency.split.toSubscriber.p99} ms.`,
    `Per service inside the pipeline (from its input's and output's Kafka timestamps): normalizer p50 ${latency.hops.normalizer.p50} ms, p99 ${latency.hops.normalizer.p99} ms; resolver p50 ${latency.hops.resolver.p50} ms, p99 ${latency.hops.resolver.p99} ms; builder p50 ${latency.hops.builder.p50} ms, p99 ${latency.hops.builder.p99} ms.`,
    `Each stage ran in its own process (\`elephant run --only\`); cores each kept busy under this load: ${Object.entries(latency.coresBusy).map(([part, cores]) => `${part} ${cores ?? '-'}`).join(', ')}${machine}.`,
  ].join(' ');
}
