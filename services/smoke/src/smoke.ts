import { kafkaSecurityOf, redisTlsOf } from '@elephant/config';
import { BatchConsumer, BatchProducer, createKafka, ensureTopics } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import { connectRedis } from '@elephant/redis';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import type { SmokeConfig } from './config.ts';

export interface SmokeResult {
  readonly topic: string;
  readonly subject: string;
  readonly schemaId: number;
  readonly partition: number;
  readonly offset: string;
  readonly decoded: unknown;
  readonly redisKey: string;
  readonly elapsedMs: number;
}

interface SmokePing {
  id: string;
  sentAt: number;
  note: string | null;
}

/** One produce → consume → decode round trip plus a Redis write/read; throws on any failure. */
export async function runSmoke(config: SmokeConfig, logger: Logger, schema: object, runId: string): Promise<SmokeResult> {
  const started = Date.now();
  const topic = config.SMOKE_TOPIC;
  const subject = `${topic}-value`;
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'elephant-smoke', logger, security: kafkaSecurityOf(config) });
  await ensureTopics(kafka, [{ topic, partitions: 1, retentionMs: 3600000 }]);
  const registry = new AvroRegistry({ url: config.SCHEMA_REGISTRY_URL });
  const { id: schemaId } = await registry.register(subject, schema as AvroSchema);

  const ping: SmokePing = { id: runId, sentAt: Date.now(), note: 'elephant smoke round trip' };
  const producer = await BatchProducer.connect(kafka);
  const [meta] = await producer.send([{ topic, messages: [{ key: runId, value: registry.encode(schemaId, ping) }] }]);
  await producer.disconnect();

  let found: { decoded: SmokePing; offset: string; partition: number } | undefined;
  let resolveFound: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => {
    resolveFound = resolve;
  });
  const consumer = new BatchConsumer({
    kafka,
    logger,
    groupId: `elephant-smoke-${runId}`,
    topics: [topic],
    fromBeginning: true,
    handler: async (batch) => {
      const decoded = await registry.decodeMany<SmokePing>(batch.messages.map((message) => message.value ?? Buffer.alloc(0)));
      decoded.forEach((result, index) => {
        if (result.ok && result.value.id === runId) {
          found = { decoded: result.value, offset: batch.messages[index]?.offset ?? '?', partition: batch.partition };
          resolveFound();
        }
      });
    },
  });
  await consumer.start();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      arrived,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`message not consumed back from ${topic} within ${config.SMOKE_TIMEOUT_MS} ms`)), config.SMOKE_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.stop();
  }

  const redis = await connectRedis({ url: config.REDIS_URL, tls: redisTlsOf(config), logger, name: 'elephant-smoke' });
  const redisKey = `elephant:smoke:${runId}`;
  try {
    await redis.set(redisKey, JSON.stringify(ping), 'EX', 3600);
    const back = await redis.get(redisKey);
    if (back !== JSON.stringify(ping)) throw new Error(`Redis returned ${back} for ${redisKey}`);
  } finally {
    redis.disconnect();
  }
  if (!found) throw new Error('message not found');
  return { topic, subject, schemaId, partition: meta?.partition ?? found.partition, offset: found.offset, decoded: found.decoded, redisKey, elapsedMs: Date.now() - started };
}
