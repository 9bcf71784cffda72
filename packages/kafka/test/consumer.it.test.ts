import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchConsumer, BatchProducer, KafkaError, consumerGroupLag, type BatchConsumerSettings } from '@elephant/kafka';
import { createTestContext, waitUntil } from '@elephant/testing';

const ctx = createTestContext('consumer');
const fixture = fileURLToPath(new URL('./fixtures/member.ts', import.meta.url));
const children: ChildProcess[] = [];

interface MemberLine {
  event: 'started' | 'begin' | 'done' | 'signal' | 'stopped';
  partition?: number;
  offsets?: string[];
  values?: string[];
}

interface Member {
  readonly child: ChildProcess;
  readonly lines: MemberLine[];
  readonly exited: Promise<number | null>;
}

function startMember(topic: string, group: string, mode: 'hold' | 'slow', extra: Record<string, string> = {}): Member {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, KAFKA_BROKERS: ctx.stack.kafkaBrokers, MEMBER_TOPIC: topic, MEMBER_GROUP: group, MEMBER_MODE: mode, ...extra },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines: MemberLine[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as MemberLine);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function produce(topic: string, values: readonly string[], partition?: (index: number) => number): Promise<void> {
  const producer = await BatchProducer.connect(ctx.kafka);
  await producer.send([{ topic, messages: values.map((value, index) => ({ key: value, value, ...(partition ? { partition: partition(index) } : {}) })) }]);
  await producer.disconnect();
}

async function committedOffset(group: string, topic: string, partition = 0): Promise<number> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return Number(offsets?.partitions.find((entry) => entry.partition === partition)?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

/** The members of a group once it is Stable (assignments handed out), else undefined. */
async function groupMembers(group: string): Promise<string[] | undefined> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    const described = groups[0];
    return described?.state === 'Stable' ? described.members.map((member) => member.memberId) : undefined;
  } finally {
    await admin.disconnect();
  }
}

/** A batch's `begin` and `done` lines name the same partition and offsets. */
function sameBatch(a: MemberLine, b: MemberLine): boolean {
  return a.partition === b.partition && a.offsets?.join() === b.offsets?.join();
}

/** A member in this process that records each value, and which partition it came from. */
function collector(topic: string, group: string, options: Partial<BatchConsumerSettings> = {}): { consumer: BatchConsumer; values: string[]; received: { partition: number; value: string }[] } {
  const values: string[] = [];
  const received: { partition: number; value: string }[] = [];
  const consumer = new BatchConsumer({
    kafka: ctx.kafka,
    groupId: group,
    topics: [topic],
    logger: ctx.logger,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    ...options,
    handler: async (batch) => {
      for (const message of batch.messages) {
        const value = message.value?.toString() ?? '';
        values.push(value);
        received.push({ partition: batch.partition, value });
      }
    },
  });
  return { consumer, values, received };
}

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await ctx.cleanup();
});

describe('BatchConsumer with a real broker', () => {
  it('redelivers a batch to the next member when a member is killed mid-batch, and only the uncommitted part', async () => {
    const topic = ctx.topic('kill');
    const group = ctx.group('kill');
    await ctx.createTopics([{ topic, partitions: 2 }]);

    // A (its own process) and B (this process) are both members of the group before A is
    // killed, so what follows is the group handing A's partition over to B, not a new member
    // starting from committed offsets.
    const member = startMember(topic, group, 'hold');
    await waitUntil(() => member.lines.some((line) => line.event === 'started'), { message: 'member A to start', timeoutMs: 60000 });
    const next = collector(topic, group);
    await next.consumer.start();
    try {
      await waitUntil(async () => (await groupMembers(group))?.length === 2, { message: 'both members in a stable group', timeoutMs: 60000 });
      // Who owns what: one probe per partition, handled (and committed) by its owner.
      await produce(topic, ['probe-0', 'probe-1'], (index) => index);
      const probeOfA = await waitUntil(() => member.lines.find((line) => line.event === 'done' && line.values?.some((value) => value.startsWith('probe'))), { message: 'member A to handle its probe', timeoutMs: 60000 });
      await waitUntil(() => next.received.some((entry) => entry.value.startsWith('probe')), { message: 'member B to handle its probe', timeoutMs: 60000 });
      const partitionOfA = probeOfA.partition ?? -1;
      expect(next.received.map((entry) => entry.partition)).not.toContain(partitionOfA);
      await waitUntil(async () => (await committedOffset(group, topic, partitionOfA)) === 1, { message: "member A to commit its probe" });

      const held = Array.from({ length: 10 }, (_, i) => `hold-${i}`);
      await produce(topic, held, () => partitionOfA);
      await waitUntil(() => member.lines.find((line) => line.event === 'begin' && line.partition === partitionOfA && line.offsets?.includes('1')), { message: 'member A to begin the batch holding offset 1' });
      expect((await groupMembers(group))?.length).toBe(2);
      member.child.kill('SIGKILL');
      await member.exited;
      expect(await committedOffset(group, topic, partitionOfA)).toBe(1);
      expect(member.lines.some((line) => line.event === 'done' && line.values?.some((value) => value.startsWith('hold')))).toBe(false);

      // B, already in the group, takes A's partition over once A's session expires.
      const handedOver = (): string[] => next.received.filter((entry) => entry.partition === partitionOfA).map((entry) => entry.value);
      await waitUntil(() => handedOver().length >= 10, { message: "member B to receive A's uncommitted batch", timeoutMs: 60000 });
      expect(handedOver()).toEqual(held);
      await waitUntil(async () => (await committedOffset(group, topic, partitionOfA)) === 11, { message: 'member B to commit' });
    } finally {
      await next.consumer.stop();
    }
  });

  it('loses nothing and processes nothing twice across a SIGTERM (regression: kafkajs consumer.commitOffsets is a no-op once stopping)', async () => {
    const topic = ctx.topic('sigterm');
    const group = ctx.group('sigterm');
    await ctx.createTopics([{ topic, partitions: 2 }]);
    const all = Array.from({ length: 300 }, (_, i) => `v-${i}`);
    // Many small sends make many small record batches, so fetches stay small.
    for (let i = 0; i < all.length; i += 10) await produce(topic, all.slice(i, i + 10));

    // Small fetches, small batches (128 bytes fetched ahead per partition: one record batch of
    // 10 records a fetch, 15 handler batches a partition) and a slow handler: the SIGTERM lands
    // while a batch is in flight and others wait in the queue. (With 1 KiB, about 100 records a
    // batch, 2 a partition: a test process slow to see the 4th begin sent its signal after the
    // member had finished everything.)
    const member = startMember(topic, group, 'slow', { MEMBER_BATCH_DELAY_MS: '300', MEMBER_MAX_BYTES: '128', MEMBER_SESSION_TIMEOUT_MS: '30000' });
    // (A long session: a rebalance from a missed heartbeat under load would redeliver a batch
    // for reasons that have nothing to do with SIGTERM.)
    const open = (lines: readonly MemberLine[]): MemberLine[] => lines.filter((line) => line.event === 'begin' && !lines.some((done) => done.event === 'done' && sameBatch(done, line)));
    await waitUntil(() => member.lines.filter((line) => line.event === 'done').length >= 3 && open(member.lines).length > 0, { message: 'member A to finish 3 batches and be inside the next', timeoutMs: 60000 });
    member.child.kill('SIGTERM');
    expect(await member.exited).toBe(0);
    const events = member.lines.map((line) => line.event);
    expect(events.at(-1)).toBe('stopped');
    // In the member's own order of events: the signal arrived while a batch was in the
    // handler, that batch still finished (and was committed) before the member stopped.
    const signalAt = events.indexOf('signal');
    expect(signalAt).toBeGreaterThan(0);
    const inFlight = open(member.lines.slice(0, signalAt));
    expect(inFlight.length).toBeGreaterThan(0);
    for (const batch of inFlight) {
      const doneAt = member.lines.findIndex((line) => line.event === 'done' && sameBatch(line, batch));
      expect(doneAt).toBeGreaterThan(signalAt);
      expect(doneAt).toBeLessThan(events.indexOf('stopped'));
    }
    const processedByA = member.lines.flatMap((line) => (line.event === 'done' ? (line.values ?? []) : []));
    expect(processedByA.length).toBeGreaterThan(0);
    expect(processedByA.length).toBeLessThan(all.length);

    const next = collector(topic, group);
    await next.consumer.start();
    try {
      await waitUntil(async () => (await consumerGroupLag(ctx.kafka, group, [topic])) === 0 && new Set([...processedByA, ...next.values]).size === all.length, {
        message: 'member B to process the rest',
        timeoutMs: 60000,
      });
    } finally {
      await next.consumer.stop();
    }
    const processed = [...processedByA, ...next.values];
    expect(processed.length).toBe(all.length);
    expect(new Set(processed)).toEqual(new Set(all));
  });

  it('retries a batch that failed with a retryable error (a broker or registry outage) and commits it once it succeeds', async () => {
    const topic = ctx.topic('retry');
    const group = ctx.group('retry');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    await produce(topic, ['r-0', 'r-1', 'r-2']);
    let attempts = 0;
    const handled: string[] = [];
    const fatal: Error[] = [];
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId: group,
      topics: [topic],
      logger: ctx.logger,
      retryBackoff: { initialMs: 20, maxMs: 100 },
      onFatal: (error) => fatal.push(error),
      handler: async (batch) => {
        attempts += 1;
        if (attempts <= 2) throw new KafkaError('KAFKA_UNAVAILABLE', 'simulated outage', { retryable: true });
        handled.push(...batch.messages.map((message) => message.value?.toString() ?? ''));
      },
    });
    await consumer.start();
    try {
      await waitUntil(async () => (await committedOffset(group, topic)) === 3, { message: 'the batch to be committed after the retries' });
    } finally {
      await consumer.stop();
    }
    expect(attempts).toBe(3);
    expect(handled).toEqual(['r-0', 'r-1', 'r-2']);
    expect(fatal).toEqual([]);
  });

  it('stops and reports a non-retryable handler failure instead of skipping or retrying the batch forever', async () => {
    const topic = ctx.topic('bug');
    const group = ctx.group('bug');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    await produce(topic, ['b-0']);
    const fatal: Error[] = [];
    let calls = 0;
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId: group,
      topics: [topic],
      logger: ctx.logger,
      onFatal: (error) => fatal.push(error),
      handler: async () => {
        calls += 1;
        throw new TypeError('a bug in the handler');
      },
    });
    await consumer.start();
    try {
      await waitUntil(() => fatal.length > 0, { message: 'the runner to report the failure' });
    } finally {
      await consumer.stop();
    }
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.message).toContain('a bug in the handler');
    expect(calls).toBe(1);
    expect(await committedOffset(group, topic)).toBe(-1);
  });
  it('hands the batches waiting in several partitions to a partitionsHandler in one call, each partition in order, retried together, and commits every partition', async () => {
    const topic = ctx.topic('together');
    const group = ctx.group('together');
    await ctx.createTopics([{ topic, partitions: 8 }]);
    await produce(
      topic,
      Array.from({ length: 64 }, (_, i) => `p${i % 8}-${Math.floor(i / 8)}`),
      (i) => i % 8,
    );
    const calls: { partitions: number[]; values: Map<number, string[]> }[] = [];
    let failures = 0;
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId: group,
      topics: [topic],
      logger: ctx.logger,
      retryBackoff: { initialMs: 20, maxMs: 100 },
      partitionsHandler: async (batches) => {
        // The first call fails once with a retryable error: its batches come again together.
        if (calls.length === 0 && failures === 0) {
          failures += 1;
          throw new KafkaError('KAFKA_UNAVAILABLE', 'simulated outage', { retryable: true });
        }
        calls.push({ partitions: batches.map((batch) => batch.partition), values: new Map(batches.map((batch) => [batch.partition, batch.messages.map((message) => message.value?.toString() ?? '')])) });
      },
    });
    await consumer.start();
    try {
      await waitUntil(async () => (await Promise.all(Array.from({ length: 8 }, (_, partition) => committedOffset(group, topic, partition)))).every((offset) => offset === 8), { timeoutMs: 30000, message: 'every partition committed' });
    } finally {
      await consumer.stop();
    }
    // The partitions fetched together went to the handler together.
    expect(Math.max(...calls.map((call) => call.partitions.length))).toBeGreaterThan(1);
    for (const call of calls) expect(new Set(call.partitions).size).toBe(call.partitions.length);
    // Each partition's values once, in order.
    for (let partition = 0; partition < 8; partition += 1) {
      const seen = calls.flatMap((call) => call.values.get(partition) ?? []);
      expect(seen).toEqual(Array.from({ length: 8 }, (_, i) => `p${partition}-${i}`));
    }
    expect(failures).toBe(1);
  });

  it('commits at most every commitIntervalMs, and at once on stop', async () => {
    const topic = ctx.topic('interval');
    const group = ctx.group('interval');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const { consumer, values } = collector(topic, group, { commitIntervalMs: 600000 });
    await consumer.start();
    try {
      // The first commit goes at once; the next must wait for the interval.
      await produce(topic, Array.from({ length: 10 }, (_, i) => `first-${i}`));
      await waitUntil(async () => (await committedOffset(group, topic)) === 10, { timeoutMs: 30000, message: 'the first batches committed' });
      await produce(topic, Array.from({ length: 10 }, (_, i) => `second-${i}`));
      await waitUntil(() => values.length === 20, { timeoutMs: 30000, message: 'the second batches handled' });
      expect(await committedOffset(group, topic)).toBe(10);
    } finally {
      await consumer.stop();
    }
    expect(await committedOffset(group, topic)).toBe(20);
  });
});
