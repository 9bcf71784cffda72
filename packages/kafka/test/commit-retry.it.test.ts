/**
 * BatchConsumer's offset commits on the real broker when one fails: the consumer talks to
 * Kafka through a TcpProxy, which the handler cuts so that the commit right after its batch
 * meets no broker.
 */
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import { BatchConsumer, BatchProducer } from '@elephant/kafka';
import { createLogger } from '@elephant/observability';
import { createTestContext, TcpProxy, waitUntil } from '@elephant/testing';

const ctx = createTestContext('commit-retry');
const proxies: TcpProxy[] = [];
afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await ctx.cleanup();
});

/**
 * A kafkajs client whose every connection goes through a proxy in front of the stack's one
 * broker: the broker advertises its own address, so the brokers list alone would only send
 * the bootstrap connection through it.
 */
async function kafkaThroughProxy(): Promise<{ kafka: Kafka; proxy: TcpProxy }> {
  const [host, port] = (ctx.brokers[0] ?? '').split(':');
  if (host === undefined || port === undefined || ctx.brokers.length !== 1) throw new Error(`expected one broker, got ${ctx.brokers.join(',')}`);
  const proxy = await TcpProxy.start(host, Number(port));
  proxies.push(proxy);
  const socketFactory: ISocketFactory = ({ onConnect }) => {
    const socket = connect({ host: '127.0.0.1', port: proxy.port }, onConnect);
    socket.setKeepAlive(true, 30000);
    return socket;
  };
  const log = ctx.logger.child({ component: 'kafkajs' });
  const kafka = new Kafka({
    clientId: `${ctx.id}-proxied`,
    brokers: [`127.0.0.1:${proxy.port}`],
    socketFactory,
    connectionTimeout: 2000,
    // kafkajs retries a request that meets no broker for about 4 s; then its fetch loop gives
    // up and the member leaves its group (a new membership, whose runner drops the old one's
    // offsets). The first test restores the proxy as soon as the commit failed, well before.
    retry: { initialRetryTime: 300, maxRetryTime: 2000, retries: 5 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => log.debug({ kafkajs: entry.label, ...entry.log }),
  });
  return { kafka, proxy };
}

async function committedOffset(group: string, topic: string): Promise<number> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return Number(offsets?.partitions.find((entry) => entry.partition === 0)?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

/** Three records in a new one-partition topic. */
async function topicWithThree(name: string): Promise<string> {
  const topic = ctx.topic(name);
  await ctx.createTopics([{ topic, partitions: 1 }]);
  const producer = await BatchProducer.connect(ctx.kafka);
  try {
    await producer.send([{ topic, messages: ['a', 'b', 'c'].map((value) => ({ value })) }]);
  } finally {
    await producer.disconnect();
  }
  return topic;
}

/**
 * A consumer of `topic` through a proxy that its handler cuts once it has handled the first
 * batch, so that the runner's commit of that batch fails; its warnings are kept.
 */
async function consumerCutAfterFirstBatch(topic: string, group: string, commitIntervalMs?: number): Promise<{ consumer: BatchConsumer; proxy: TcpProxy; handled: string[]; warnings: Record<string, unknown>[] }> {
  const { kafka, proxy } = await kafkaThroughProxy();
  const warnings: Record<string, unknown>[] = [];
  const logger = createLogger({ name: 'commit-retry-test', level: 'warn', destination: { write: (line: string) => void warnings.push(JSON.parse(line) as Record<string, unknown>) } });
  const handled: string[] = [];
  let cut = false;
  const consumer = new BatchConsumer({
    kafka,
    groupId: group,
    topics: [topic],
    logger,
    ...(commitIntervalMs !== undefined ? { commitIntervalMs } : {}),
    handler: async (batch) => {
      handled.push(...batch.messages.map((message) => message.value?.toString() ?? ''));
      // The batch is done; the broker goes away before the runner commits its offsets.
      if (!cut) {
        cut = true;
        await proxy.cut();
      }
    },
  });
  await consumer.start();
  return { consumer, proxy, handled, warnings };
}

const commitFailures = (warnings: readonly Record<string, unknown>[]): Record<string, unknown>[] => warnings.filter((line) => String(line['msg']).startsWith('offset commit failed'));

interface FailedCommit {
  readonly topic: string;
  readonly group: string;
  readonly consumer: BatchConsumer;
  readonly proxy: TcpProxy;
  readonly handled: string[];
  readonly warnings: Record<string, unknown>[];
  /** The first failure logged. */
  readonly failure: Record<string, unknown>;
}

/**
 * A consumer of three records (consumerCutAfterFirstBatch) whose first offset commit has
 * failed; `body` runs then, and the proxy is restored and the consumer stopped after it.
 */
async function afterFailedCommit(name: string, commitIntervalMs: number | undefined, body: (setup: FailedCommit) => Promise<void>): Promise<void> {
  const topic = await topicWithThree(name);
  const group = ctx.group(name);
  const { consumer, proxy, handled, warnings } = await consumerCutAfterFirstBatch(topic, group, commitIntervalMs);
  try {
    const failure = await waitUntil(() => commitFailures(warnings)[0], { timeoutMs: 30000, message: 'the offset commit to fail while the proxy is cut' });
    await body({ topic, group, consumer, proxy, handled, warnings, failure });
  } finally {
    await proxy.restore();
    await consumer.stop();
  }
}

describe('BatchConsumer offset commits', () => {
  it('regression (a failed offset commit was dropped: a partition that went quiet kept its last batch uncommitted until a rebalance or restart delivered it again): the commit is retried', async () => {
    await afterFailedCommit('quiet', undefined, async ({ topic, group, proxy, handled, failure }) => {
      expect(failure['partitions']).toBe(1);
      expect(failure['err']).toBeDefined();
      await proxy.restore();
      // Nothing more is published: only a retry of the failed commit can commit offset 3.
      await waitUntil(async () => (await committedOffset(group, topic)) === 3, { timeoutMs: 20000, message: 'the group\'s committed offset to reach the end of the partition' });
      // Committed by the retry, not after a rejoin that delivered the batch again.
      expect(handled).toEqual(['a', 'b', 'c']);
      expect(failure['retrying']).toBe(true);
    });
  });

  it('stop commits the offsets an earlier commit failed to: its final flush takes the failed commit\'s entries', async () => {
    // A long interval: the failed commit's own retry would come 5 s later; stop() comes first.
    await afterFailedCommit('back', 60000, async ({ topic, group, consumer, proxy, warnings }) => {
      // Back before kafkajs gives its fetches up (about 4 s of retries): the member is still in
      // its group, so the failed commit's entries still count.
      await proxy.restore();
      expect(await committedOffset(group, topic)).toBe(-1);
      await consumer.stop();
      expect(await committedOffset(group, topic)).toBe(3);
      expect(commitFailures(warnings).filter((line) => line['retrying'] === false)).toEqual([]);
    });
  });

  it('stop ends while the broker stays away: the failed commit is retried a bounded number of times, or until the member leaves its group, then given up', async () => {
    // A long interval: the failed commit's own retry comes after the test, so stop() has it.
    await afterFailedCommit('away', 60000, async ({ topic, group, consumer, warnings }) => {
      // Returns: the final flush gives up after its attempts, or once kafkajs, which retries its
      // fetches for a few seconds, has left the group (which of the two comes first depends on
      // the machine's load: the last failure logged may say either).
      await consumer.stop();
      const failures = commitFailures(warnings);
      expect(failures.length).toBeGreaterThanOrEqual(1);
      expect(failures.filter((line) => line['retrying'] === false).every((line) => typeof line['reason'] === 'string')).toBe(true);
      expect(await committedOffset(group, topic)).toBe(-1);
    });
  });
});
