import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { adaptMessage, type Channel, type Touchpoint } from '@elephant/channels';
import { BatchProducer, DEAD_LETTER_HEADERS, headerText, type KafkaMessage } from '@elephant/kafka';
import { AvroRegistry } from '@elephant/registry';
import { createTestContext, readTopic, waitUntil } from '@elephant/testing';
import { loadConfig, startNormalizer, topicsOf, type RunningNormalizer } from '@elephant/normalizer';
import { CHANNEL_SAMPLES, segmentTrack } from './samples.ts';

/** Fatal errors the services reported: none may happen. */
const fatal: Error[] = [];
const ctx = createTestContext('normalizer');
const running: RunningNormalizer[] = [];
const children: ChildProcess[] = [];
const registry = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });

function env(channels: Channel | readonly Channel[], scope: string, extra: Record<string, string> = {}): Record<string, string> {
  const list = typeof channels === 'string' ? [channels] : channels;
  return {
    KAFKA_BROKERS: ctx.stack.kafkaBrokers,
    SCHEMA_REGISTRY_URL: ctx.stack.schemaRegistryUrl,
    NORMALIZER_CHANNELS: list.join(','),
    TOPIC_PREFIX: `${ctx.topic(scope)}.`,
    CONSUMER_GROUP: ctx.group(`${scope}-${list.join('.')}`),
    DEFAULT_REGION: 'US',
    DEFAULT_CURRENCY: 'USD',
    TOUCHPOINTS_PARTITIONS: '4',
    HEALTH_PORT: '0',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** The raw topic of `channel` (the only one, when not given). */
function source(topics: ReturnType<typeof topicsOf>, channel?: Channel): string {
  const entry = channel === undefined ? topics.sources[0] : topics.sources.find((candidate) => candidate.channel === channel);
  if (!entry) throw new Error(`no raw topic for ${channel ?? 'the channel'}`);
  return entry.topic;
}

async function prepare(channels: Channel | readonly Channel[], scope: string, extra: Record<string, string> = {}): Promise<ReturnType<typeof topicsOf>> {
  const topics = topicsOf(loadConfig(env(channels, scope, extra)));
  // Created through the test context so that cleanup() deletes them.
  await ctx.createTopics([
    ...topics.sources.map(({ topic }) => ({ topic, partitions: 4 })),
    { topic: topics.touchpoints, partitions: 4 },
    { topic: topics.deadLetters, partitions: 1, configs: { 'max.message.bytes': String(10 * 1024 * 1024) } },
  ]);
  return topics;
}

async function start(channels: Channel | readonly Channel[], scope: string, extra: Record<string, string> = {}): Promise<RunningNormalizer> {
  await prepare(channels, scope, extra);
  const normalizer = await startNormalizer(loadConfig(env(channels, scope, extra)), ctx.logger, (error) => fatal.push(error));
  running.push(normalizer);
  return normalizer;
}

async function produce(topic: string, values: readonly (string | Buffer)[]): Promise<void> {
  const producer = await BatchProducer.connect(ctx.kafka);
  for (let i = 0; i < values.length; i += 500) {
    await producer.send([{ topic, messages: values.slice(i, i + 500).map((value) => ({ value })) }]);
  }
  await producer.disconnect();
}

async function decodeAll(messages: readonly KafkaMessage[]): Promise<Touchpoint[]> {
  return Promise.all(messages.map((message) => registry.decode<Touchpoint>(message.value ?? Buffer.alloc(0))));
}

afterAll(async () => {
  expect(fatal, 'no service stopped on a fatal error').toEqual([]);
  await Promise.all(running.map((normalizer) => normalizer.stop()));
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await ctx.cleanup();
});

describe('normalizer on the real stack', () => {
  it('turns raw messages on every channel topic into Touchpoints that decode through the registry, one consumer for all channels', async () => {
    const channels = Object.keys(CHANNEL_SAMPLES) as Channel[];
    const expected = new Map<string, Channel>();
    for (const channel of channels) {
      for (const raw of CHANNEL_SAMPLES[channel]) {
        const result = adaptMessage(channel, Buffer.from(raw), { tenant: 'default', ingestTime: 0, defaultRegion: 'US', defaultCurrency: 'USD' });
        if (!result.ok) throw new Error(`sample for ${channel} does not adapt: ${result.error.message}`);
        for (const touchpoint of result.touchpoints) expected.set(touchpoint.eventId, channel);
      }
    }
    const normalizer = await start(channels, 'all');
    expect(normalizer.topics.sources.map(({ channel }) => channel).sort()).toEqual([...channels].sort());
    await Promise.all(channels.map((channel) => produce(source(normalizer.topics, channel), CHANNEL_SAMPLES[channel])));

    const touchpointsTopic = normalizer.topics.touchpoints;
    const decoded = await decodeAll(await readTopic(ctx.kafka, touchpointsTopic, expected.size, { timeoutMs: 60000 }));
    expect(new Map(decoded.map((touchpoint) => [touchpoint.eventId, touchpoint.channel]))).toEqual(expected);
    expect(new Set(decoded.map((touchpoint) => touchpoint.channel))).toEqual(new Set(channels));
    for (const touchpoint of decoded) {
      expect(touchpoint.identifiers.length).toBeGreaterThan(0);
      expect(touchpoint.ingestTime).toBeGreaterThan(0);
    }
  });

  it('sends each good message to the touchpoints topic and each bad one to the dead letters with its reason; the counts add up', async () => {
    const small = { MAX_MESSAGE_BYTES: '4096' };
    const normalizer = await start('web', 'mixed', small);
    const good = Array.from({ length: 40 }, (_, i) => segmentTrack(`good-${i}`, `anon-${i}`));
    const bad: { value: string | Buffer; code: string }[] = [
      { value: '{"type":"track",', code: 'INVALID_JSON' },
      { value: Buffer.from([0xff, 0xfe, 0x00, 0x01]), code: 'INVALID_JSON' },
      { value: JSON.stringify({ type: 'track', event: 'Product Viewed', messageId: 'no-ids', timestamp: '2026-11-01T10:00:00Z', properties: {} }), code: 'MISSING_IDENTIFIER' },
      { value: JSON.stringify({ type: 'launch', messageId: 'odd', anonymousId: 'a', timestamp: '2026-11-01T10:00:00Z' }), code: 'UNKNOWN_EVENT_TYPE' },
      { value: JSON.stringify({ type: 'track', event: 'Product Viewed', messageId: 'bad-time', anonymousId: 'a', timestamp: 'yesterday-ish' }), code: 'SCHEMA_VIOLATION' },
      { value: segmentTrack('huge', 'anon-huge', 'x'.repeat(8000)), code: 'MESSAGE_TOO_LARGE' },
    ];
    // Bad messages interleaved with good ones: none may block the partition.
    const stream: (string | Buffer)[] = [];
    good.forEach((value, index) => {
      stream.push(value);
      const poison = bad[index % 7];
      if (index % 7 < bad.length && poison && index < 7) stream.push(poison.value);
    });
    expect(stream.length).toBe(good.length + bad.length);
    await produce(source(normalizer.topics), stream);

    const touchpoints = await decodeAll(await readTopic(ctx.kafka, normalizer.topics.touchpoints, good.length, { timeoutMs: 60000 }));
    const deadLetters = await readTopic(ctx.kafka, normalizer.topics.deadLetters, bad.length, { timeoutMs: 60000 });
    expect(new Set(touchpoints.map((touchpoint) => touchpoint.properties['event'] ?? touchpoint.eventType)).size).toBeGreaterThan(0);
    expect(touchpoints).toHaveLength(good.length);
    expect(deadLetters).toHaveLength(bad.length);
    const byCode = deadLetters.map((message) => headerText(message.headers, DEAD_LETTER_HEADERS.code)).sort();
    expect(byCode).toEqual(bad.map((entry) => entry.code).sort());
    for (const message of deadLetters) {
      const original = bad.find((entry) => Buffer.from(entry.value).equals(message.value ?? Buffer.alloc(0)));
      expect(original, 'dead letter keeps the original bytes').toBeDefined();
      expect(headerText(message.headers, DEAD_LETTER_HEADERS.topic)).toBe(source(normalizer.topics));
      expect(headerText(message.headers, DEAD_LETTER_HEADERS.offset)).toMatch(/^\d+$/);
      expect(headerText(message.headers, DEAD_LETTER_HEADERS.partition)).toMatch(/^\d+$/);
      expect(headerText(message.headers, DEAD_LETTER_HEADERS.service)).toBe('normalizer-web');
      expect(headerText(message.headers, DEAD_LETTER_HEADERS.message)?.length).toBeGreaterThan(0);
      expect(Date.parse(headerText(message.headers, DEAD_LETTER_HEADERS.time) ?? '')).toBeGreaterThan(0);
    }
    const metrics = await normalizer.metrics.getMetricsAsJSON();
    const total = (name: string): number => metrics.find((metric) => metric.name === name)?.values.reduce((sum, value) => sum + value.value, 0) ?? 0;
    await waitUntil(async () => total('elephant_normalizer_consumed_total') === stream.length || (await normalizer.metrics.getMetricsAsJSON()) === undefined, { timeoutMs: 5000 }).catch(() => undefined);
    const latest = await normalizer.metrics.getMetricsAsJSON();
    const sum = (name: string): number => latest.find((metric) => metric.name === name)?.values.reduce((acc, value) => acc + value.value, 0) ?? 0;
    expect(sum('elephant_normalizer_consumed_total')).toBe(stream.length);
    expect(sum('elephant_normalizer_produced_total')).toBe(good.length);
    expect(sum('elephant_normalizer_dead_lettered_total')).toBe(bad.length);
  });

  it('loses nothing when a normalizer process is killed mid-stream and restarted', async () => {
    const topics = await prepare('web', 'kill');
    const count = 3000;
    await produce(source(topics), Array.from({ length: count }, (_, i) => segmentTrack(`kill-${i}`, `anon-${i % 300}`)));
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const launch = (): { child: ChildProcess; exited: Promise<number | null> } => {
      const child = spawn(process.execPath, [main], { env: { ...process.env, ...env('web', 'kill'), PARTITIONS_CONCURRENTLY: '1' }, stdio: ['ignore', 'ignore', 'inherit'] });
      children.push(child);
      return { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
    };
    const first = launch();
    const seen = new Set<string>();
    let total = 0;
    const watcher = ctx.kafka.consumer({ groupId: ctx.group('kill-watcher'), maxWaitTimeInMs: 100 });
    await watcher.connect();
    await watcher.subscribe({ topics: [topics.touchpoints], fromBeginning: true });
    await watcher.run({
      eachBatch: async ({ batch }) => {
        for (const touchpoint of await decodeAll(batch.messages)) seen.add(touchpoint.eventId);
        total += batch.messages.length;
      },
    });
    try {
      await waitUntil(() => total > 0, { message: 'the first normalizer to produce', timeoutMs: 60000 });
      first.child.kill('SIGKILL');
      await first.exited;
      const producedBeforeKill = total;
      expect(producedBeforeKill).toBeLessThan(count);
      const second = launch();
      await waitUntil(() => seen.size === count, { message: `all ${count} touchpoints (have ${seen.size})`, timeoutMs: 90000 });
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      // At-least-once: redelivered raw messages may be produced twice, always with the same eventId.
      expect(total).toBeGreaterThanOrEqual(count);
      expect(seen.size).toBe(count);
    } finally {
      await watcher.disconnect();
    }
  });
});
