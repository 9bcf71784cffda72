import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { adaptMessage, type Channel, type Touchpoint } from '@elephant/channels';
import { BatchProducer, DEAD_LETTER_HEADERS, headerText, type KafkaMessage, type Message } from '@elephant/kafka';
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
    PARTITIONS: '4',
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

async function groupMembers(group: string): Promise<number> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    return groups[0]?.state === 'Stable' ? groups[0].members.length : 0;
  } finally {
    await admin.disconnect();
  }
}

async function prepare(channels: Channel | readonly Channel[], scope: string, extra: Record<string, string> = {}, touchpointsConfigs: Record<string, string> = {}): Promise<ReturnType<typeof topicsOf>> {
  const topics = topicsOf(loadConfig(env(channels, scope, extra)));
  // Created through the test context so that cleanup() deletes them.
  await ctx.createTopics([
    ...topics.sources.map(({ topic }) => ({ topic, partitions: 4 })),
    { topic: topics.touchpoints, partitions: 4, configs: touchpointsConfigs },
    { topic: topics.deadLetters, partitions: 1, configs: { 'max.message.bytes': String(10 * 1024 * 1024) } },
  ]);
  return topics;
}

async function start(channels: Channel | readonly Channel[], scope: string, extra: Record<string, string> = {}, touchpointsConfigs: Record<string, string> = {}): Promise<RunningNormalizer> {
  await prepare(channels, scope, extra, touchpointsConfigs);
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

async function produceMessages(topic: string, messages: readonly Message[]): Promise<void> {
  const producer = await BatchProducer.connect(ctx.kafka);
  try {
    await producer.send([{ topic, messages }]);
  } finally {
    await producer.disconnect();
  }
}

/** Records on `topic` in all, by the high watermarks (nothing is ever deleted in a test). */
async function recordsOn(topic: string): Promise<number> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, partition) => sum + Number(partition.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Exactly the `count` records of `topic`: read until that many arrived, then checked against
 * the high watermarks, so neither an extra nor a duplicate can hide.
 */
async function readExactly(topic: string, count: number): Promise<KafkaMessage[]> {
  const messages = count === 0 ? [] : await readTopic(ctx.kafka, topic, count, { timeoutMs: 60000 });
  expect(messages).toHaveLength(count);
  expect(await recordsOn(topic)).toBe(count);
  return messages;
}

async function metricTotal(normalizer: RunningNormalizer, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await normalizer.metrics.getMetricsAsJSON()).find((entry) => entry.name === name);
  return (metric?.values ?? []).filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted)).reduce((sum, value) => sum + value.value, 0);
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
    const expected = new Map<string, Touchpoint>();
    for (const channel of channels) {
      for (const raw of CHANNEL_SAMPLES[channel]) {
        const result = adaptMessage(channel, Buffer.from(raw), { tenant: 'default', ingestTime: 0, defaultRegion: 'US', defaultCurrency: 'USD' });
        if (!result.ok) throw new Error(`sample for ${channel} does not adapt: ${result.error.message}`);
        expect(result.rejected, `every event of the ${channel} sample adapts`).toEqual([]);
        for (const touchpoint of result.touchpoints) expected.set(touchpoint.eventId, touchpoint);
      }
    }
    const normalizer = await start(channels, 'all');
    expect(normalizer.topics.sources.map(({ channel }) => channel).sort()).toEqual([...channels].sort());
    await Promise.all(channels.map((channel) => produce(source(normalizer.topics, channel), CHANNEL_SAMPLES[channel])));

    const touchpointsTopic = normalizer.topics.touchpoints;
    const decoded = await decodeAll(await readExactly(touchpointsTopic, expected.size));
    expect(new Set(decoded.map((touchpoint) => touchpoint.channel))).toEqual(new Set(channels));
    for (const touchpoint of decoded) {
      // In full: what went through Kafka and the registry is what the adapter made, but for
      // the ingest time (the raw record's timestamp there, 0 here).
      expect(touchpoint.ingestTime).toBeGreaterThan(0);
      expect({ ...touchpoint, ingestTime: 0 }).toEqual(expected.get(touchpoint.eventId));
    }
    expect(new Set(decoded.map((touchpoint) => touchpoint.eventId))).toEqual(new Set(expected.keys()));
  });

  it('regression (two environments on one cluster joined one consumer group, elephant-normalizer-<channel>, whose leader assigned only the topics it subscribed to: the other environment\'s normalizers got no partitions and stayed ready): without CONSUMER_GROUP each TOPIC_PREFIX has a group of its own, and both pipelines flow', async () => {
    const stg = await start('web', 'env-stg', { CONSUMER_GROUP: '' });
    const prod = await start('web', 'env-prod', { CONSUMER_GROUP: '' });
    expect([stg.topics.group, prod.topics.group]).toEqual([`${ctx.topic('env-stg')}.elephant-normalizer-web`, `${ctx.topic('env-prod')}.elephant-normalizer-web`]);
    await Promise.all([produce(source(stg.topics), [segmentTrack('stg-1', 'anon-stg')]), produce(source(prod.topics), [segmentTrack('prod-1', 'anon-prod')])]);
    const [fromStg, fromProd] = await Promise.all([readExactly(stg.topics.touchpoints, 1).then(decodeAll), readExactly(prod.topics.touchpoints, 1).then(decodeAll)]);
    expect([fromStg[0]?.source.eventId, fromProd[0]?.source.eventId]).toEqual(['stg-1', 'prod-1']);
  });

  // Only the local stack serves a SASL_SSL listener (infra/local/tls/); the same broker's plain
  // listener creates the topics and reads the output.
  it.skipIf(ctx.stack.secureKafka === undefined)('connects to a secured cluster (TLS with its CA, SASL/PLAIN) with the KAFKA_SSL* and KAFKA_SASL_* settings', async () => {
    const secure = ctx.stack.secureKafka;
    const normalizer = await start('web', 'secure', {
      KAFKA_BROKERS: secure?.brokers ?? '',
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: secure?.caFile ?? '',
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: secure?.username ?? '',
      KAFKA_SASL_PASSWORD: secure?.password ?? '',
    });
    await produce(source(normalizer.topics), [segmentTrack('secure-1', 'anon-secure')]);
    const [touchpoint] = await decodeAll(await readExactly(normalizer.topics.touchpoints, 1));
    expect(touchpoint?.source.eventId).toBe('secure-1');
  });

  it('sends each good message to the touchpoints topic and each bad one to the dead letters with its reason; the counts add up exactly', async () => {
    const small = { MAX_MESSAGE_BYTES: '4096' };
    const normalizer = await start(['web', 'email'], 'mixed', small);
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
      const poison = bad[index];
      if (poison) stream.push(poison.value);
    });
    expect(stream.length).toBe(good.length + bad.length);
    // A SendGrid batch with one unusable event: three touchpoints and one dead letter.
    const sendgrid = JSON.stringify([
      { email: 'a@example.com', timestamp: 1793604600, event: 'delivered', sg_event_id: 'mix-1' },
      { email: 'b@example.com', timestamp: 1793604600, event: 'open', sg_event_id: 'mix-2' },
      { email: 'c@example.com', timestamp: 1793604600, event: 'account_status_change', sg_event_id: 'mix-3' },
      { email: 'd@example.com', timestamp: 1793604600, event: 'click', sg_event_id: 'mix-4' },
    ]);
    await Promise.all([produce(source(normalizer.topics, 'web'), stream), produce(source(normalizer.topics, 'email'), [sendgrid])]);

    const expectedDead = [...bad, { value: sendgrid, code: 'UNKNOWN_EVENT_TYPE' }];
    const touchpoints = await decodeAll(await readExactly(normalizer.topics.touchpoints, good.length + 3));
    expect(touchpoints.filter((touchpoint) => touchpoint.channel === 'web').map((touchpoint) => touchpoint.source.eventId).sort()).toEqual(good.map((_, i) => `good-${i}`).sort());
    expect(touchpoints.filter((touchpoint) => touchpoint.channel === 'email').map((touchpoint) => touchpoint.source.eventId).sort()).toEqual(['mix-1', 'mix-2', 'mix-4']);
    const deadLetters = await readExactly(normalizer.topics.deadLetters, expectedDead.length);
    // Each dead letter is paired with the one original it keeps byte for byte, and carries that original's code.
    const unmatched = [...expectedDead];
    for (const message of deadLetters) {
      const index = unmatched.findIndex((entry) => Buffer.from(entry.value).equals(message.value ?? Buffer.alloc(0)));
      expect(index, 'dead letter keeps the original bytes of a bad message not yet matched').toBeGreaterThanOrEqual(0);
      const [original] = unmatched.splice(index, 1);
      expect(headerText(message.headers, DEAD_LETTER_HEADERS.code)).toBe(original?.code);
      const channel = Buffer.from(sendgrid).equals(message.value ?? Buffer.alloc(0)) ? 'email' : 'web';
      expect(headerText(message.headers, DEAD_LETTER_HEADERS.topic)).toBe(source(normalizer.topics, channel));
      expect(headerText(message.headers, DEAD_LETTER_HEADERS.offset)).toMatch(/^\d+$/);
      expect(headerText(message.headers, DEAD_LETTER_HEADERS.partition)).toMatch(/^\d+$/);
      expect(headerText(message.headers, DEAD_LETTER_HEADERS.service)).toBe(`normalizer-${channel}`);
      expect(headerText(message.headers, DEAD_LETTER_HEADERS.message)?.length).toBeGreaterThan(0);
      expect(Date.parse(headerText(message.headers, DEAD_LETTER_HEADERS.time) ?? '')).toBeGreaterThan(0);
    }
    expect(unmatched).toEqual([]);
    // The counters follow the acknowledgement; wait for them (a timeout fails the test).
    await waitUntil(async () => (await metricTotal(normalizer, 'elephant_normalizer_consumed_total')) === stream.length + 1, { timeoutMs: 10000, message: 'consumed_total to count every raw message' });
    expect(await metricTotal(normalizer, 'elephant_normalizer_produced_total')).toBe(good.length + 3);
    expect(await metricTotal(normalizer, 'elephant_normalizer_dead_lettered_total')).toBe(expectedDead.length);
    const byReason = new Map<string, number>();
    for (const entry of expectedDead) byReason.set(entry.code, (byReason.get(entry.code) ?? 0) + 1);
    for (const [reason, count] of byReason) expect(await metricTotal(normalizer, 'elephant_normalizer_dead_lettered_total', { reason }), reason).toBe(count);
  });

  it('regression (oversized output blocked partitions forever): a raw message whose touchpoint is too large goes to the dead letters and its partition keeps flowing', async () => {
    // The broker refuses touchpoints over 8 KB on this topic; the normalizer's own limit is 20 KB.
    const normalizer = await start('web', 'oversized', { TOUCHPOINT_MAX_BYTES: '20000' }, { 'max.message.bytes': '8192' });
    const messages: Message[] = [
      { key: 'one-partition', value: segmentTrack('before', 'anon-1') },
      { key: 'one-partition', value: segmentTrack('too-large-for-the-broker', 'anon-2', 'x'.repeat(12000)) },
      { key: 'one-partition', value: segmentTrack('too-large-for-the-limit', 'anon-3', 'x'.repeat(30000)) },
      ...Array.from({ length: 20 }, (_, i) => ({ key: 'one-partition', value: segmentTrack(`after-${i}`, `anon-${i}`) })),
    ];
    await produceMessages(source(normalizer.topics), messages);
    const expected = ['before', ...Array.from({ length: 20 }, (_, i) => `after-${i}`)].sort();
    // The request the broker refused in part wrote the rest of it; the handler then sends per
    // raw message, so some touchpoints (same eventIds) and the batch's first dead letter may
    // come twice: at-least-once, deduplicated by eventId and by source offset.
    const seen = new Map<string, Touchpoint>();
    const deadByOffset = new Map<string, KafkaMessage>();
    const watcher = ctx.kafka.consumer({ groupId: ctx.group('oversized-watcher'), maxWaitTimeInMs: 100 });
    await watcher.connect();
    await watcher.subscribe({ topics: [normalizer.topics.touchpoints, normalizer.topics.deadLetters], fromBeginning: true });
    await watcher.run({
      eachBatch: async ({ batch }) => {
        if (batch.topic === normalizer.topics.deadLetters) for (const message of batch.messages) deadByOffset.set(headerText(message.headers, DEAD_LETTER_HEADERS.offset) ?? '', message);
        else for (const touchpoint of await decodeAll(batch.messages)) seen.set(touchpoint.source.eventId, touchpoint);
      },
    });
    try {
      await waitUntil(() => seen.size === expected.length && deadByOffset.size === 2, { timeoutMs: 60000, message: `21 touchpoints and 2 dead letters (have ${seen.size} and ${deadByOffset.size})` });
    } finally {
      await watcher.disconnect();
    }
    expect([...seen.keys()].sort()).toEqual(expected);
    const deadLetters = [...deadByOffset.entries()].sort(([a], [b]) => Number(a) - Number(b)).map(([, message]) => message);
    expect(deadLetters.map((message) => [headerText(message.headers, DEAD_LETTER_HEADERS.code), headerText(message.headers, DEAD_LETTER_HEADERS.offset)])).toEqual([
      ['TOUCHPOINT_REJECTED', '1'],
      ['TOUCHPOINT_TOO_LARGE', '2'],
    ]);
    expect(deadLetters.map((message) => message.value?.toString())).toEqual([messages[1]?.value, messages[2]?.value]);
    await waitUntil(async () => (await metricTotal(normalizer, 'elephant_normalizer_consumed_total')) === messages.length, { timeoutMs: 10000, message: 'consumed_total to count every raw message' });
    expect(await metricTotal(normalizer, 'elephant_normalizer_dead_lettered_total', { reason: 'TOUCHPOINT_REJECTED' })).toBe(1);
    expect(await metricTotal(normalizer, 'elephant_normalizer_dead_lettered_total', { reason: 'TOUCHPOINT_TOO_LARGE' })).toBe(1);
  });

  it('regression (one message with 200,000 dropped identifiers stopped the consumer and restarted it on the same batch forever): it is dead-lettered (its dropped values pass the property limits), bad ids and deep nesting too, the partition keeps flowing', async () => {
    const normalizer = await start('crm', 'junk');
    const change = (id: string, contact: Record<string, unknown>): string => JSON.stringify({ type: 'updated', id, occurredAt: '2026-11-01T10:00:00Z', contact });
    const messages: Message[] = [
      { key: 'one-partition', value: change('before', { id: 'C-0' }) },
      // Since 2026-12-07 dropped values stay in properties: 200,000 are past PROPERTY_LIMITS.keys, 999 are not.
      { key: 'one-partition', value: change('junk', { id: 'C-1', emails: Array.from({ length: 200_000 }, () => 1) }) },
      // Both would have become crm_id 12345678901234567000: two contacts merged.
      { key: 'one-partition', value: '{"type":"updated","id":"unsafe","occurredAt":"2026-11-01T10:00:00Z","contact":{"id":12345678901234567891}}' },
      { key: 'one-partition', value: change('control', { id: 'C-2\u0000', email: 'ann@example.com' }) },
      { key: 'one-partition', value: `{"type":"updated","id":"deep","occurredAt":"2026-11-01T10:00:00Z","contact":{"id":"C-3","owner":${'['.repeat(300_000)}${']'.repeat(300_000)}}}` },
      { key: 'one-partition', value: change('some-junk', { id: 'C-4', emails: Array.from({ length: 999 }, () => 1) }) },
      ...Array.from({ length: 10 }, (_, i) => ({ key: 'one-partition', value: change(`after-${i}`, { id: `C-after-${i}` }) })),
    ];
    await produceMessages(source(normalizer.topics), messages);
    const touchpoints = await decodeAll(await readExactly(normalizer.topics.touchpoints, 12));
    expect(touchpoints.map((touchpoint) => touchpoint.source.eventId).sort()).toEqual(['before', 'some-junk', ...Array.from({ length: 10 }, (_, i) => `after-${i}`)].sort());
    const someJunk = touchpoints.find((touchpoint) => touchpoint.source.eventId === 'some-junk');
    expect(someJunk?.identifiers).toEqual([{ type: 'crm_id', value: 'C-4' }]);
    expect(Object.keys(someJunk?.properties ?? {})).toHaveLength(999);
    const deadLetters = await readExactly(normalizer.topics.deadLetters, 4);
    expect(deadLetters.map((message) => [headerText(message.headers, DEAD_LETTER_HEADERS.offset), headerText(message.headers, DEAD_LETTER_HEADERS.code), headerText(message.headers, DEAD_LETTER_HEADERS.message)?.split(':')[0]])).toEqual([
      ['1', 'PROPERTIES_TOO_LARGE', '1001 properties exceed the limit of 1000 (counting stops there)'],
      ['2', 'SCHEMA_VIOLATION', 'contact.id'],
      ['3', 'SCHEMA_VIOLATION', 'contact.id'],
      ['4', 'PROPERTIES_TOO_LARGE', 'field contact.owner nests arrays or objects deeper than the limit of 1000'],
    ]);
    expect(deadLetters.map((message) => message.value?.toString())).toEqual([messages[1]?.value, messages[2]?.value, messages[3]?.value, messages[4]?.value]);
    await waitUntil(async () => (await metricTotal(normalizer, 'elephant_normalizer_consumed_total')) === messages.length, { timeoutMs: 10000, message: 'consumed_total to count every raw message' });
    // The drops of the touchpoint that went out are counted (a dead-lettered message's are in its details).
    expect(await metricTotal(normalizer, 'elephant_normalizer_dropped_identifiers_total', { type: 'email', reason: 'wrong_type' })).toBe(999);
  });

  it('regression (a HEALTH_PORT in use stopped the service with a fatal `listen EADDRINUSE`, exit 1): exits 78, bad configuration, naming HEALTH_PORT', async () => {
    await prepare('web', 'port');
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(0, resolve));
    const taken = (other.address() as AddressInfo).port;
    try {
      const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
      const child = spawn(process.execPath, [main], { env: { ...process.env, ...env('web', 'port', { HEALTH_PORT: String(taken), LOG_LEVEL: 'fatal' }) }, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      let log = '';
      child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code, log).toBe(78);
      expect(log).toContain(`HEALTH_PORT_UNAVAILABLE: HEALTH_PORT=${taken}: another process already listens on port ${taken}`);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('loses nothing when a normalizer process is killed mid-stream and restarted', async () => {
    const topics = await prepare('web', 'kill');
    // Enough that the first process is killed mid-stream: it handles up to 1 MiB of its
    // partitions' records in one batch.
    const count = 20000;
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
      // SIGTERM once it runs (a signal before its handlers are installed would kill it outright).
      await waitUntil(async () => (await groupMembers(topics.group)) > 0, { message: 'the second normalizer in its group', timeoutMs: 60000 });
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
