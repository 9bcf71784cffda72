/** Topic checks at start-up, on the real broker. */
import { afterAll, describe, expect, it } from 'vitest';
import { checkCoPartitioned, ensureTopics, requireTopics } from '@elephant/kafka';
import { isElephantError } from '@elephant/errors';
import { createTestContext } from '@elephant/testing';

const ctx = createTestContext('admin');
afterAll(() => ctx.cleanup());

async function failure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('topic checks', () => {
  it('ensureTopics creates missing topics (with the broker’s replication factor) and refuses an existing one with fewer partitions', async () => {
    const fresh = ctx.topic('fresh');
    const small = ctx.topic('small');
    await ctx.createTopics([{ topic: small, partitions: 2 }]);
    await ensureTopics(ctx.kafka, [{ topic: fresh, partitions: 3 }]);
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      const [created] = (await admin.fetchTopicMetadata({ topics: [fresh] })).topics;
      expect(created?.partitions.length).toBe(3);
      // The local stack's broker: default.replication.factor 1.
      expect(created?.partitions.every((partition) => partition.replicas.length === 1)).toBe(true);
    } finally {
      await admin.disconnect();
    }
    const error = await failure(ensureTopics(ctx.kafka, [{ topic: small, partitions: 4 }]));
    expect(isElephantError(error, 'KAFKA_TOPIC_MISMATCH')).toBe(true);
    expect(error.message).toContain(`Topic ${small} has 2 partitions; 4 are required`);
    // More partitions than asked is fine.
    await ensureTopics(ctx.kafka, [{ topic: small, partitions: 1 }]);
  });

  it('regression (a refused creation stopped a service with kafkajs\' "Topic creation errors", naming no topic, after 5 s): names each topic and the broker\'s reason, KAFKA_REFUSED, not retryable', async () => {
    const replicated = ctx.topic('replicated');
    const configured = ctx.topic('configured');
    // The local stack has one broker.
    const error = await failure(ensureTopics(ctx.kafka, [{ topic: replicated, partitions: 1, replicationFactor: 3 }]));
    expect(isElephantError(error, 'KAFKA_REFUSED')).toBe(true);
    expect(error).toMatchObject({ retryable: false, details: { topics: [replicated], reason: 'INVALID_REPLICATION_FACTOR' } });
    expect(error.message).toContain(`${replicated}: INVALID_REPLICATION_FACTOR`);
    const invalid = await failure(ensureTopics(ctx.kafka, [{ topic: configured, partitions: 1, configs: { 'max.message.bytes': 'one megabyte' } }]));
    expect(invalid).toMatchObject({ code: 'KAFKA_REFUSED', details: { topics: [configured], reason: 'INVALID_CONFIG' } });
  });

  it('requireTopics (CREATE_TOPICS=false) creates nothing and names every missing topic (KAFKA_TOPIC_MISSING, not retryable); the partition counts are the platform team’s', async () => {
    const present = ctx.topic('present');
    const absent = ctx.topic('absent');
    const alsoAbsent = ctx.topic('also-absent');
    await ctx.createTopics([{ topic: present, partitions: 2 }]);
    const missing = await failure(requireTopics(ctx.kafka, [{ topic: present, partitions: 2 }, { topic: absent, partitions: 2 }, { topic: alsoAbsent, partitions: 1 }]));
    expect(isElephantError(missing, 'KAFKA_TOPIC_MISSING')).toBe(true);
    expect(isElephantError(missing) && missing.retryable).toBe(false);
    expect(missing.message).toContain(`${absent}, ${alsoAbsent} do not exist and CREATE_TOPICS is false`);
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(absent);
    } finally {
      await admin.disconnect();
    }
    await requireTopics(ctx.kafka, [{ topic: present, partitions: 2 }]);
    await requireTopics(ctx.kafka, [{ topic: present, partitions: 4 }]);
  });

  it('checkCoPartitioned refuses co-partitioned topics whose partition counts differ, naming each, and ignores missing ones', async () => {
    const [a, b, c] = [ctx.topic('co-a'), ctx.topic('co-b'), ctx.topic('co-c')];
    await ctx.createTopics([
      { topic: a, partitions: 4 },
      { topic: b, partitions: 4 },
      { topic: c, partitions: 8 },
    ]);
    await checkCoPartitioned(ctx.kafka, [a, b, ctx.topic('co-missing')]);
    const error = await failure(checkCoPartitioned(ctx.kafka, [a, b, c]));
    expect(isElephantError(error, 'KAFKA_TOPIC_MISMATCH')).toBe(true);
    expect(error.message).toContain(`${a} (4 partitions)`);
    expect(error.message).toContain(`${c} (8 partitions)`);
  });
});
