/**
 * A start that fails part-way closes what it had opened: the services' starts connect Kafka's
 * producer, Redis and more before they open the health port, and a HEALTH_PORT in use fails the
 * start after those. Each service runs in a child process, started without runService (whose
 * exit timer would end the process whatever is left open), which must end by itself.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext } from '@elephant/testing';
import { runScript } from './run-script.ts';

const ctx = createTestContext('failed-start');
const fixture = fileURLToPath(new URL('./fixtures/failed-start.ts', import.meta.url));
const blocker = createServer();
let taken = 0;

beforeAll(async () => {
  await new Promise<void>((resolve) => blocker.listen(0, resolve));
  taken = (blocker.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => blocker.close(resolve));
  // The services created their topics: delete them with the test's.
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const prefix = ctx.topic('');
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10000 });
  } finally {
    await admin.disconnect();
  }
  await ctx.cleanup();
});

describe('a start that fails part-way (HEALTH_PORT in use)', () => {
  it.each(['normalizer', 'identity-resolver', 'profile-builder'])('regression (%s: the producer, Redis and the rest stayed open, the process never ended): closes what it opened, and the process ends by itself', async (service) => {
    const env = {
      PATH: process.env.PATH ?? '',
      KAFKA_BROKERS: ctx.stack.kafkaBrokers,
      SCHEMA_REGISTRY_URL: ctx.stack.schemaRegistryUrl,
      REDIS_URL: ctx.stack.redisUrl,
      REDIS_KEY_PREFIX: ctx.keyPrefix,
      TOPIC_PREFIX: `${ctx.topic(service)}.`,
      CONSUMER_GROUP: ctx.group(service),
      NORMALIZER_CHANNELS: 'web',
      PARTITIONS: '1',
      HEALTH_PORT: String(taken),
      LOG_LEVEL: 'silent',
    };
    // The child's own watchdog ends it after 20 s, naming what was left open.
    const { code, stdout, stderr } = await runScript(fixture, [service], { env });
    const output = stdout + stderr;
    expect(output).toContain('{"code":"HEALTH_PORT_UNAVAILABLE"}');
    expect(code, output).toBe(0);
  });
});
