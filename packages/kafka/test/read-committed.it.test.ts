/**
 * read_committed against a real broker: transactional producers interleave on one partition,
 * some transactions abort, some producers die with a transaction open (the broker aborts it
 * after the transaction timeout). A BatchConsumer must see exactly the committed records.
 * With kafkajs 2.2.4's own filter this test saw 3-10% of the aborted records.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BatchConsumer } from '@elephant/kafka';
import { createTestContext, waitUntil } from '@elephant/testing';

const ctx = createTestContext('read-committed');
afterAll(() => ctx.cleanup());

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe('read_committed consumption', () => {
  it('delivers every committed record and no record of an aborted transaction', async () => {
    const topic = ctx.topic('interleaved');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const committed = new Set<string>();
    const aborted = new Set<string>();
    const next = random(7);
    const writer = async (name: string): Promise<void> => {
      let generation = 0;
      const connect = async () => {
        // 10 s: the broker looks for timed-out transactions every 10 s, and with 2 s it aborted
        // live ones too under load (their commit failed); the dead ones are still aborted well
        // within the 60 s the reader waits.
        const producer = ctx.kafka.producer({ transactionalId: `${ctx.id}-${name}-${generation}`, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 10000 });
        await producer.connect();
        return producer;
      };
      let producer = await connect();
      for (let round = 0; round < 40; round += 1) {
        const transaction = await producer.transaction();
        const values = Array.from({ length: 1 + Math.floor(next() * 20) }, (_, index) => `${name}.${generation}.${round}.${index}`);
        await transaction.send({ topic, messages: values.map((value) => ({ value })) });
        const fate = next();
        if (fate < 0.05) {
          // Dies with the transaction open: the broker aborts it after the transaction timeout.
          for (const value of values) aborted.add(value);
          generation += 1;
          producer = await connect();
        } else if (fate < 0.35) {
          await transaction.abort();
          for (const value of values) aborted.add(value);
        } else {
          await transaction.commit();
          for (const value of values) committed.add(value);
        }
      }
      await producer.disconnect();
    };
    await Promise.all(['a', 'b', 'c', 'd'].map(writer));
    expect(aborted.size).toBeGreaterThan(0);

    const seen: string[] = [];
    const consumer = new BatchConsumer({
      kafka: ctx.kafka,
      groupId: ctx.group('reader'),
      topics: [topic],
      logger: ctx.logger,
      handler: (batch) => {
        for (const message of batch.messages) seen.push(message.value?.toString() ?? '');
        return Promise.resolve();
      },
    });
    await consumer.start();
    try {
      // Records behind a dead producer's open transaction appear once the broker aborted it.
      await waitUntil(() => committed.size <= new Set(seen).size, { timeoutMs: 60000, message: 'every committed record' });
    } finally {
      await consumer.stop();
    }
    expect(seen.filter((value) => aborted.has(value))).toEqual([]);
    expect(new Set(seen)).toEqual(committed);
  }, 120000);
});
