/**
 * Latency at a fixed offered load: a load generator that sends input records at a steady rate
 * of the events they carry, a subscriber that traces each output record back to the input it
 * came from, and an HDR histogram of the time between the two (both clocks are this process's). Used for the
 * whole pipeline (raw message → profile update) and for the baseline and each stage alone
 * (input record → output record), each run under test in a process of its own.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { BatchProducer, LagPoller, type Kafka, type KafkaMessage, type Message } from '@elephant/kafka';
import { ElephantError } from '@elephant/errors';
import hdr from 'hdr-histogram-js';

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export type Histogram = ReturnType<typeof hdr.build>;

/** Milliseconds, 1 ms to 10 minutes, three significant digits. */
export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600000, numberOfSignificantValueDigits: 3 });
}

/** HDR reports a bucket's highest equivalent value, which can exceed the largest value recorded. */
function percentile(histogram: Histogram, at: number): number {
  return Math.min(histogram.getValueAtPercentile(at), histogram.maxValue);
}

export function percentilesOf(histogram: Histogram): Percentiles {
  return { p50: percentile(histogram, 50), p95: percentile(histogram, 95), p99: percentile(histogram, 99), max: histogram.maxValue };
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export interface Burst {
  /** The offered rate during the burst, as a multiple of the steady rate (> 1). */
  readonly factor: number;
  /** How long the burst lasts, seconds. */
  readonly seconds: number;
  /** When it starts, seconds into the measured window (after the warm-up). */
  readonly at: number;
}

/**
 * Events due `elapsedMs` after the load started: `rate` a second, `rate × burst.factor` a
 * second during the burst (which starts `warmupSeconds + burst.at` seconds after the start).
 */
export function eventsDue(elapsedMs: number, rate: number, warmupSeconds: number, burst?: Burst): number {
  const steady = (elapsedMs / 1000) * rate;
  if (burst === undefined) return steady;
  const inBurstMs = Math.min(Math.max(elapsedMs - (warmupSeconds + burst.at) * 1000, 0), burst.seconds * 1000);
  return steady + (inBurstMs / 1000) * rate * (burst.factor - 1);
}

/** Events a latency run offers: `rate` a second over the warm-up and the window, and a burst's extra. */
export function eventsOffered(rate: number, warmupSeconds: number, seconds: number, burst?: Burst): number {
  return Math.round(eventsDue((warmupSeconds + seconds) * 1000, rate, warmupSeconds, burst));
}

/**
 * When the `events`-th event (counted from 0) is due, ms after the load started: the inverse of
 * `eventsDue`.
 */
export function dueAt(events: number, rate: number, warmupSeconds: number, burst?: Burst): number {
  if (burst === undefined) return (events / rate) * 1000;
  const startMs = (warmupSeconds + burst.at) * 1000;
  const atStart = (startMs / 1000) * rate;
  if (events <= atStart) return (events / rate) * 1000;
  const atEnd = atStart + burst.seconds * rate * burst.factor;
  if (events <= atEnd) return startMs + ((events - atStart) / (rate * burst.factor)) * 1000;
  return ((events - burst.seconds * rate * (burst.factor - 1)) / rate) * 1000;
}

/**
 * A sample of a latency run: when its input was due, in ms from the measured window's start
 * (the warm-up's end), and its latency from when it was sent (ms). Grouped by when it was due,
 * a sample stays in the part of the run (a burst, the seconds after it) the load put it in,
 * even when the load generator sent it late (`LoadResult.sendDelay`).
 */
export type Sample = readonly [dueMs: number, latencyMs: number];

/** CPU seconds (user and system) of processes, from /proc; null where unreadable. */
export function processCpuSeconds(pids: readonly number[]): number | null {
  if (pids.length === 0) return null;
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / ticks;
    } catch {
      return null;
    }
  }
  return total;
}

/**
 * Busy and stolen time of all cores, in seconds, from /proc/stat (null elsewhere), and how
 * long at least one runnable task waited for a core (`waiting`: the kernel's CPU pressure,
 * /proc/pressure/cpu "some"; null where the kernel does not report it).
 */
export function machineTimes(): { busy: number; steal: number; waiting: number | null } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal ...
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
    const ticks = 100; // USER_HZ on Linux
    return { busy: (user + nice + system + irq + softirq) / ticks, steal: steal / ticks, waiting: cpuPressureSeconds() };
  } catch {
    return null;
  }
}

function cpuPressureSeconds(): number | null {
  try {
    // some avg10=1.00 avg60=0.50 avg300=0.20 total=123456 (microseconds)
    const total = /^some .*\btotal=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1];
    return total === undefined ? null : Number(total) / 1e6;
  } catch {
    return null;
  }
}

export interface ConsumerGroupTopics {
  readonly group: string;
  readonly topics: string[];
}

/** Waits until the groups' lag is zero (twice in a row). */
export async function drained(kafka: Kafka, groups: readonly ConsumerGroupTopics[], initial: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const poller = new LagPoller(kafka);
  try {
    let zeros = 0;
    for (;;) {
      const lag = await poller.lag(groups);
      zeros = lag === 0 ? zeros + 1 : 0;
      if (zeros >= 2) return;
      if (Date.now() > deadline) throw new Error(`benchmark stage still ${lag} of ${initial} behind after ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await poller.close();
  }
}

/** Processes started by the benchmark, named; stopped with SIGTERM (SIGKILL after 30 s). */
export interface Spawned {
  readonly pids: Readonly<Record<string, number>>;
  /** The first of them that has exited (`"resolver (exit code 1)"`), or undefined while all run. */
  exited(): string | undefined;
  stop(): Promise<void>;
}

/** Every process `spawnNode` started that has not exited yet, whoever holds its `Spawned`. */
const running = new Set<ChildProcess>();

/** Set by `stopSpawned`: the benchmark is being interrupted, and starts nothing more. */
let interrupted = false;

/** Whether `killSpawned` is registered for this process's 'exit' (once, by the first spawnNode). */
let killOnExit = false;

/** SIGTERM to each of `children` still running, SIGKILL to those still running `graceMs` later; resolves once all have exited. */
async function stopChildren(children: readonly ChildProcess[], graceMs: number): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const hard = setTimeout(() => child.kill('SIGKILL'), graceMs);
          child.once('exit', () => {
            clearTimeout(hard);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

/**
 * Stops every process `spawnNode` started that is still running (SIGTERM, SIGKILL after
 * `graceMs`), and makes `spawnNode` refuse to start more: for a benchmark interrupted by a
 * signal (`exitOnSignals`), whose measurement in progress may be about to start the next ones.
 */
export async function stopSpawned(graceMs: number): Promise<void> {
  interrupted = true;
  await stopChildren([...running], graceMs);
}

/** SIGKILL to every process `spawnNode` started that is still running: for an exit that cannot wait. */
export function killSpawned(): void {
  interrupted = true;
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * Node processes running `args[name]` each, with `env` added to this process's environment.
 * BENCH_STAGE_STDERR=true: their stderr on the benchmark's (why one failed to start).
 * BENCH_STAGE_NODE_OPTIONS: extra Node flags, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 * BENCH_STAGE_OUTPUT_DIR: their stdout and stderr appended to `<dir>/<name>.log` (what flags
 * such as `--trace-gc` print).
 */
export function spawnNode(scripts: Readonly<Record<string, readonly string[]>>, env: Record<string, string>): Spawned {
  if (interrupted) throw new ElephantError('BENCH_INTERRUPTED', `the benchmark is stopping: ${Object.keys(scripts).join(', ')} not started`);
  const nodeFlags = (process.env['BENCH_STAGE_NODE_OPTIONS'] ?? '').split(/\s+/).filter((flag) => flag.length > 0);
  const outputDir = process.env['BENCH_STAGE_OUTPUT_DIR'];
  if (outputDir !== undefined) mkdirSync(outputDir, { recursive: true });
  const stdioOf = (name: string): StdioOptions => {
    if (outputDir === undefined) return ['ignore', 'ignore', process.env['BENCH_STAGE_STDERR'] === 'true' ? 'inherit' : 'ignore'];
    const fd = openSync(join(outputDir, `${name}.log`), 'a');
    return ['ignore', fd, fd];
  };
  const entries = Object.entries(scripts).map(([name, args]) => {
    const stdio = stdioOf(name);
    const child = spawn(process.execPath, [...nodeFlags, ...args], { env: { ...process.env, ...env }, stdio });
    if (typeof stdio[1] === 'number') closeSync(stdio[1]); // the child holds its own copy
    running.add(child);
    child.once('exit', () => running.delete(child));
    return [name, child] as const;
  });
  const children: ChildProcess[] = entries.map(([, child]) => child);
  // Never outlive the benchmark, whatever ends it ('exit' is not emitted on a death by signal:
  // exitOnSignals handles SIGTERM and SIGINT): one listener for every process still running.
  if (!killOnExit) {
    killOnExit = true;
    process.once('exit', killSpawned);
  }
  return {
    pids: Object.fromEntries(entries.map(([name, child]) => [name, child.pid ?? 0])),
    exited: () => {
      const gone = entries.find(([, child]) => child.exitCode !== null || child.signalCode !== null);
      return gone && `${gone[0]} (${gone[1].exitCode !== null ? `exit code ${gone[1].exitCode}` : `signal ${gone[1].signalCode ?? ''}`})`;
    },
    stop: async () => stopChildren(children, 30000),
  };
}

/** One input record of a latency run, and the ids of the output records it becomes. */
export interface Offered {
  readonly topic: string;
  readonly message: Message;
  readonly ids: readonly string[];
  /**
   * The events it carries: the load is paced in events, and a raw message of a channel that
   * batches (an e-mail service's webhook posts an array of events) carries several. At least 1
   * (a message that carries none still has to be handled); default 1.
   */
  readonly events?: number;
}

/** Events `inputs` carry, as the load counts them (each at least one). */
export function eventsOf(inputs: readonly Pick<Offered, 'events'>[]): number {
  return inputs.reduce((sum, input) => sum + Math.max(1, input.events ?? 1), 0);
}

export interface LoadSpec {
  /** Names the subscriber's consumer group. */
  readonly prefix: string;
  /**
   * Sent in this order, `rate` events a second (an input counts as the events it carries); the
   * inputs of the first `rate × warmupSeconds` events are not sampled. They must carry the whole
   * run's events (`eventsOffered`): a load that ran out of inputs would end early and report a
   * window it did not offer.
   */
  readonly inputs: readonly Offered[];
  readonly rate: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** The topic whose records are traced back to the inputs (read_committed). */
  readonly output: string;
  /** The id each output record carries (undefined: none that is traced). */
  readonly idsOf: (messages: readonly KafkaMessage[]) => Promise<readonly (string | undefined)[]>;
  /** Called for each traced output record, with when its input was sent and when it arrived (epoch ms). */
  readonly onSample?: (message: KafkaMessage, sentEpoch: number, receivedEpoch: number) => void;
  /** The processes under test, whose CPU is reported per name. */
  readonly pids: Readonly<Record<string, number>>;
  /** Their consumer groups: the run ends when their lag is zero. */
  readonly groups: readonly ConsumerGroupTopics[];
  readonly progress: (line: string) => void;
  /** Longest wait for a quiet machine before the load starts (`settle`). */
  readonly settleMs: number;
  /** Where to write the samples, `<prefix>samples.json` (BENCH_SAMPLES_DIR); none when undefined. */
  readonly samplesDir?: string;
  /**
   * Redis' command and read counters (`INFO`), to report the processes' Redis commands and
   * round trips per event offered after the warm-up; none when undefined.
   */
  readonly redisCounters?: () => Promise<RedisCounters>;
  /** The offered rate multiplied for a while in the measured window; none when undefined. */
  readonly burst?: Burst;
}

/** Redis commands and round trips per event of a run. */
export interface RedisPerEvent {
  readonly commandsPerEvent: number;
  /** Unrounded: a target's verdict is decided on it. */
  readonly roundTripsPerEvent: number;
}

/** Redis' `total_commands_processed` and `total_reads_processed` (one read per request or pipeline). */
export interface RedisCounters {
  readonly commands: number;
  readonly reads: number;
}

export interface LoadResult extends Percentiles {
  /** Events a second. */
  readonly offeredPerSecond: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly samples: number;
  /** Cores each process under test kept busy while the sampled load was offered. */
  readonly coresBusy: Readonly<Record<string, number | null>>;
  /**
   * Redis commands and round trips per event offered after the warm-up, counted from the
   * warm-up's end until the processes had handled everything; null without `redisCounters`.
   */
  readonly redis: RedisPerEvent | null;
  /**
   * The whole machine meanwhile (/proc/stat): cores busy, cores' worth stolen by the
   * hypervisor, and the share of the time some runnable task waited for a core (CPU pressure;
   * null where the kernel does not report it).
   */
  readonly machine: { readonly coresBusy: number; readonly steal: number; readonly waitingForCore: number | null } | null;
  /** The ids whose outputs were traced, each with when its input was due (ms into the measured window). */
  readonly sampled: ReadonlyMap<string, number>;
  /**
   * How late the load generator sent the sampled inputs after they were due (ms, at least 1):
   * up to a tick (10 ms) by design, more when the generator fell behind. Latencies are measured
   * from the send, so this is time they do not include.
   */
  readonly sendDelay: Percentiles;
  /** Every sample, in arrival order. */
  readonly timeline: readonly Sample[];
}

/**
 * Offers `spec.inputs` at a fixed rate of events (a send every 10 ms of what is due by then)
 * and measures, per traced output record, the time from its input's send to its arrival.
 * Paced in records instead, the pipeline's load doubled for a second every ten or so seconds
 * of the simulated stream (an e-mail campaign's webhook batches), and those seconds were its
 * p99 (docs/benchmarks.md).
 */
export async function offerLoad(kafka: Kafka, spec: LoadSpec): Promise<LoadResult> {
  /** Events of the warm-up, and of the whole run. */
  const warm = spec.rate * spec.warmupSeconds;
  const total = eventsOffered(spec.rate, spec.warmupSeconds, spec.seconds, spec.burst);
  // The benchmark refuses a configuration whose simulation is too small before it measures
  // anything (ConfigError); this is for inputs derived otherwise (a stage's, from another run).
  const held = eventsOf(spec.inputs);
  if (held < total) throw new ElephantError('BENCH_INPUTS_SHORT', `the latency run ${spec.prefix} has inputs carrying ${held} events, fewer than the ${total} it offers (${spec.rate} events/s for ${spec.warmupSeconds} s of warm-up and ${spec.seconds} s measured${spec.burst === undefined ? '' : ', a burst included'})`, { details: { held, offered: total } });
  const sentAt = new Map<string, { at: number; epoch: number; due: number }>();
  /** How late the load generator sent each sampled input after it was due (ms). */
  const sendDelay = newHistogram();
  const sampled = new Map<string, number>();
  /** Ids of the warm-up's inputs. */
  const warmedIds = new Set<string>();
  const timeline: Sample[] = [];
  const histogram = newHistogram();
  let samples = 0;
  let lastArrival = performance.now();
  /** [sent epoch ms, latency ms] of each sample, for spec.samplesDir. */
  const written: [number, number][] = [];
  const subscriber = kafka.consumer({ groupId: `${spec.prefix}subscriber`, maxWaitTimeInMs: 5, minBytes: 1 });
  await subscriber.connect();
  try {
    await subscriber.subscribe({ topics: [spec.output], fromBeginning: true });
    await subscriber.run({
      // Configured as docs/profiles.md recommends for a latency-sensitive subscriber: kafkajs'
      // auto-commit sends an offset commit after every batch, whatever autoCommitInterval says,
      // and fetches again only once it was answered (measured: +45 ms at p50 end to end).
      // Committing at most once a second instead.
      autoCommit: false,
      autoCommitInterval: 1000,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const now = performance.now();
        const nowEpoch = Date.now();
        const ids = await spec.idsOf(batch.messages);
        ids.forEach((id, index) => {
          const sent = id === undefined ? undefined : sentAt.get(id);
          if (id === undefined || sent === undefined) return;
          sentAt.delete(id);
          histogram.recordValue(Math.max(1, Math.round(now - sent.at)));
          timeline.push([sent.due, now - sent.at]);
          if (spec.samplesDir !== undefined) written.push([sent.epoch, Math.round(now - sent.at)]);
          const message = batch.messages[index];
          if (message) spec.onSample?.(message, sent.epoch, nowEpoch);
          samples += 1;
          lastArrival = now;
        });
        payload.resolveOffset(batch.lastOffset());
        await payload.commitOffsetsIfNecessary();
      },
    });
    const quiet = await settle(spec.settleMs);
    spec.progress(`  ${spec.rate} events/s for ${spec.warmupSeconds} s of warm-up, then ${spec.seconds} s measured (${settledText(quiet)})`);
    const producer = await BatchProducer.connect(kafka);
    let cpuBefore: Record<string, number | null> | undefined;
    let machineBefore: ReturnType<typeof machineTimes> = null;
    let measuredFrom = 0;
    let redisBefore: RedisCounters | undefined;
    /** Events offered when the measured part began. */
    let offeredBefore = 0;
    const started = performance.now();
    const tickMs = 10;
    let next = 0;
    /** Events of the inputs sent so far. */
    let offered = 0;
    try {
      while (next < spec.inputs.length && offered < total) {
        if (offered >= warm && cpuBefore === undefined) {
          cpuBefore = Object.fromEntries(Object.entries(spec.pids).map(([name, pid]) => [name, processCpuSeconds([pid])]));
          machineBefore = machineTimes();
          measuredFrom = performance.now();
          offeredBefore = offered;
          redisBefore = await spec.redisCounters?.();
        }
        const elapsedMs = performance.now() - started;
        const due = Math.min(total, Math.floor(eventsDue(elapsedMs, spec.rate, spec.warmupSeconds, spec.burst)) + 1);
        const batches: { topic: string; messages: Message[] }[] = [];
        for (; next < spec.inputs.length && offered < due; next += 1) {
          const input = spec.inputs[next];
          if (!input) continue;
          const warmingUp = offered < warm;
          const dueMs = dueAt(offered, spec.rate, spec.warmupSeconds, spec.burst);
          offered += Math.max(1, input.events ?? 1);
          batches.push({ topic: input.topic, messages: [input.message] });
          if (warmingUp) {
            for (const id of input.ids) warmedIds.add(id);
            continue;
          }
          const sent = { at: performance.now(), epoch: Date.now(), due: dueMs - spec.warmupSeconds * 1000 };
          sendDelay.recordValue(Math.max(1, Math.round(sent.at - started - dueMs)));
          for (const id of input.ids) {
            // An id the warm-up sent already (the simulator's duplicate deliveries) is not
            // sampled: its output may be the warm-up copy's, or none (a duplicate the builder
            // skips; until 2026-12-07 such a sample was lost, 29,399 of 29,400).
            if (sentAt.has(id) || sampled.has(id) || warmedIds.has(id)) continue;
            sampled.set(id, sent.due);
            sentAt.set(id, sent);
          }
        }
        if (batches.length > 0) await producer.send(batches);
        await new Promise((resolve) => setTimeout(resolve, tickMs));
      }
    } finally {
      await producer.disconnect();
    }
    const elapsed = (performance.now() - (measuredFrom || started)) / 1000;
    const machineAfter = machineTimes();
    const machine =
      machineBefore && machineAfter
        ? {
            coresBusy: round((machineAfter.busy - machineBefore.busy) / elapsed, 2),
            steal: round((machineAfter.steal - machineBefore.steal) / elapsed, 2),
            waitingForCore: machineAfter.waiting !== null && machineBefore.waiting !== null ? round((machineAfter.waiting - machineBefore.waiting) / elapsed, 2) : null,
          }
        : null;
    const coresBusy = Object.fromEntries(
      Object.entries(spec.pids).map(([name, pid]) => {
        const before = cpuBefore?.[name];
        const after = processCpuSeconds([pid]);
        return [name, before === null || before === undefined || after === null ? null : round((after - before) / elapsed, 2)];
      }),
    );
    await drained(kafka, spec.groups, total, 300000);
    const redisAfter = redisBefore === undefined ? undefined : await spec.redisCounters?.();
    const measuredEvents = offered - offeredBefore;
    const redis =
      redisBefore !== undefined && redisAfter !== undefined && measuredEvents > 0
        ? // The counters come less the benchmark's own readings (lessOwnReadings in bench.ts).
          { commandsPerEvent: round(Math.max(0, redisAfter.commands - redisBefore.commands) / measuredEvents, 3), roundTripsPerEvent: Math.max(0, redisAfter.reads - redisBefore.reads) / measuredEvents }
        : null;
    // The processes are done; the last outputs may still be on their way to the subscriber
    // (a transaction's markers, a fetch in flight): wait until all arrived, or none for 2 s.
    lastArrival = performance.now();
    while (sentAt.size > 0 && performance.now() - lastArrival < 2000) await new Promise((resolve) => setTimeout(resolve, 20));
    if (sentAt.size > 0) spec.progress(`  ${sentAt.size} of the ${sampled.size} sampled inputs got no output (not in the percentiles)`);
    if (spec.samplesDir !== undefined) {
      mkdirSync(spec.samplesDir, { recursive: true });
      writeFileSync(join(spec.samplesDir, `${spec.prefix}samples.json`), JSON.stringify(written));
    }
    return { offeredPerSecond: spec.rate, warmupSeconds: spec.warmupSeconds, seconds: spec.seconds, samples, ...percentilesOf(histogram), coresBusy, machine, redis, sampled, timeline, sendDelay: percentilesOf(sendDelay) };
  } finally {
    await subscriber.disconnect();
  }
}

/** What `settle` found: how long it took, and how busy the machine was over its last half-second (null: it did not wait). */
export interface Settled {
  readonly seconds: number;
  readonly coresBusy: number | null;
}

/**
 * `settle`'s outcome for a progress line, the same for every measurement: how busy the machine
 * was when the measurement started and how long the benchmark waited for it to be quiet.
 */
export function settledText(quiet: Settled): string {
  return quiet.coresBusy === null ? `no wait for a quiet machine, ${quiet.seconds} s flushing dirty pages` : `the machine ${quiet.coresBusy} cores busy before it, after ${quiet.seconds} s of waiting for it to be quiet`;
}

/** Below this many cores busy (the whole machine, over half a second) the machine counts as quiet. */
const QUIET_CORES = 0.3;

/**
 * Flushes the page cache's dirty pages (`sync`) and waits until the whole machine is quiet
 * (under QUIET_CORES busy for two half-seconds in a row, at most `timeoutMs`), before a
 * measurement's load starts. The measurements of one run follow each other: without this the
 * kernel wrote back the previous measurement's few hundred megabytes of broker log (30 s after
 * they were written, the kernel's `dirty_expire_centisecs`) and the broker and Redis finished
 * the previous clean-up's work in the first seconds of the next measurement, with the machine
 * at 1.9–2.0 of its 2 cores (docs/benchmarks.md). The processes under test are started and
 * idle by then; their own start-up is over too once the machine is quiet.
 */
export async function settle(timeoutMs: number): Promise<Settled> {
  const started = performance.now();
  await new Promise<void>((resolve) => {
    execFile('sync', () => resolve()); // where there is no `sync`, nothing to flush first
  });
  let quietIntervals = 0;
  let last = machineTimes();
  let coresBusy: number | null = null;
  while (last && performance.now() - started + 500 <= timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = machineTimes();
    if (!now) break;
    coresBusy = round((now.busy - last.busy) / 0.5, 2);
    last = now;
    quietIntervals = coresBusy < QUIET_CORES ? quietIntervals + 1 : 0;
    if (quietIntervals >= 2) break;
  }
  return { seconds: round((performance.now() - started) / 1000, 1), coresBusy };
}

/**
 * Waits until every group has joined (stable, with members) and returns when the first of
 * them did: its members start processing right then, so a run measured from the last join
 * would leave out work already done (and look faster than it is). Call it before starting
 * the members.
 */
export async function joined(kafka: Kafka, groupIds: readonly string[], options: { readonly timeoutMs: number; readonly exited: () => string | undefined }): Promise<number> {
  const deadline = performance.now() + options.timeoutMs;
  const admin = kafka.admin();
  await admin.connect();
  let first: number | undefined;
  try {
    for (;;) {
      const { groups } = await admin.describeGroups([...groupIds]);
      const ready = groups.filter((group) => group.state === 'Stable' && group.members.length > 0).length;
      if (ready > 0) first ??= performance.now();
      if (first !== undefined && ready === groupIds.length) return first;
      // A process that died starting (until 2026-12-07 the wait had no end: the run hung,
      // keeping its topics and keys until interrupted).
      const exited = options.exited();
      if (exited !== undefined) throw new Error(`${exited} exited before ${groupIds.join(', ')} joined (BENCH_STAGE_STDERR=true shows why)`);
      if (performance.now() > deadline) throw new Error(`${groupIds.join(', ')} not joined after ${options.timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await admin.disconnect();
  }
}
