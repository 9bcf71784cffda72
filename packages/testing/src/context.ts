import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createKafka, ensureTopics, type Kafka, type KafkaMessage, type TopicSpec } from '@elephant/kafka';
import { createLogger, type Logger } from '@elephant/observability';
import { connectRedis, deleteKeysWithPrefix } from '@elephant/redis';
import { loadTestHarnessEnv, type StackEndpoints } from './config.ts';

/** A name no other test (or earlier run) uses: `<prefix>-<time>-<random>`. */
export function uniqueName(prefix: string): string {
  const safe = prefix.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').slice(0, 60);
  return `${safe}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The endpoints the global setup provided. */
export function stackEndpoints(): StackEndpoints {
  return inject('stack');
}

/**
 * What one test owns: its own topic names, consumer groups and Redis key prefix, all
 * derived from one unique id, so tests run in parallel and never see each other's data.
 */
export interface TestContext {
  readonly id: string;
  readonly stack: StackEndpoints;
  readonly brokers: string[];
  readonly kafka: Kafka;
  readonly logger: Logger;
  /** `elephant-test.<id>.<name>`: a topic of this test. */
  topic(name: string): string;
  /** A consumer group of this test. */
  group(name: string): string;
  /** A Redis key prefix of this test, ending in ':'. */
  readonly keyPrefix: string;
  /** Creates topics of this test (names from `topic()`), deleted again by `cleanup()`. */
  createTopics(specs: readonly TopicSpec[]): Promise<void>;
  /** Deletes what the test and the services it started created: its topics (named by `topic()`) and its Redis keys (keyPrefix). */
  cleanup(): Promise<void>;
}

export function createTestContext(name: string): TestContext {
  const stack = stackEndpoints();
  const id = uniqueName(name);
  const logger = createLogger({ name: `test:${name}`, level: loadTestHarnessEnv().ELEPHANT_TEST_LOG_LEVEL });
  const brokers = stack.kafkaBrokers.split(',');
  const kafka = createKafka({ brokers, clientId: id, logger });
  const created: string[] = [];
  const keyPrefix = `t:${id}:`;
  return {
    id,
    stack,
    brokers,
    kafka,
    logger,
    topic: (topicName) => `elephant-test.${id}.${topicName}`,
    group: (groupName) => `elephant-test.${id}.${groupName}`,
    keyPrefix,
    createTopics: async (specs) => {
      await ensureTopics(kafka, specs);
      created.push(...specs.map((spec) => spec.topic));
    },
    cleanup: async () => {
      // The test's Redis keys (every key under keyPrefix, whoever wrote it: the test or the
      // services it started): left behind, they make a shared Redis' AOF rewrites ever longer.
      const redis = await connectRedis({ url: stack.redisUrl, logger, name: `${id}-cleanup` });
      try {
        await deleteKeysWithPrefix(redis, keyPrefix);
      } finally {
        redis.disconnect();
      }
      const admin = kafka.admin();
      await admin.connect();
      try {
        // Its topics, whoever created them: the services a test starts under a TOPIC_PREFIX of
        // `topic()` create theirs (dead letters, outputs); the whole suite left 65 of them, 370
        // partitions, on the broker until 2026-12-07. A set: tests may ensure the same topic
        // twice, and Kafka refuses duplicate names in one request.
        const own = `elephant-test.${id}.`;
        const topics = new Set([...created, ...(await admin.listTopics()).filter((topic) => topic.startsWith(own))]);
        if (topics.size > 0) await admin.deleteTopics({ topics: [...topics], timeout: 10000 });
      } finally {
        await admin.disconnect();
      }
    },
  };
}

export interface WaitOptions {
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** @default 50 */
  readonly intervalMs?: number;
  /** Says what was awaited when the wait times out. */
  readonly message?: string;
}

/** Polls until `condition` returns a truthy value and returns it; fails the test on timeout. */
export async function waitUntil<T>(condition: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 30000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${options.message ?? 'a condition'}${lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}

/**
 * Reads `topic` from the beginning with a throw-away group until `count` messages arrived
 * (or the timeout passes) and returns them in arrival order.
 */
export async function readTopic(kafka: Kafka, topic: string, count: number, options: WaitOptions = {}): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        messages.push(...batch.messages);
      },
    });
    await waitUntil(() => messages.length >= count, { timeoutMs: options.timeoutMs ?? 30000, message: options.message ?? `${count} messages on ${topic} (got ${messages.length})` });
    return messages;
  } finally {
    await consumer.disconnect();
  }
}
