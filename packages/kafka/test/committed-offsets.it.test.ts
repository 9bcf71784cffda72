/**
 * Stable committed offsets (OffsetFetch v7, require_stable) against a real broker: offsets a
 * transaction committed are read only once the transaction completed. kafkajs' own read
 * (OffsetFetch v4) answers with the offset before a transaction still completing; the
 * profile builder's outbox recovery took that for "not published" and published again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_STABLE_WAIT_MS, CommittedOffsets, TransactionalProducer } from '@elephant/kafka';
import { createTestContext, waitUntil } from '@elephant/testing';
import { transactionCoordinatorsReady } from './helpers.ts';

const ctx = createTestContext('committed');
afterAll(() => ctx.cleanup());

// The coordinators of a freshly started broker first (helpers.ts).
beforeAll(() => transactionCoordinatorsReady(ctx));

/**
 * `name`'s topic (one partition) and group, a transaction that sent `offset` for them and is
 * left open (commit or abort it), and a CommittedOffsets that records its waits; `close` ends
 * both.
 */
async function heldByTransaction(name: string, offset: string, maxWaitMs = 30000) {
  const topic = ctx.topic(name);
  await ctx.createTopics([{ topic, partitions: 1 }]);
  const groupId = ctx.group(name);
  const waits: string[] = [];
  const offsets = new CommittedOffsets(ctx.kafka, groupId, { maxWaitMs, onWait: (type) => waits.push(type) });
  const producer = ctx.kafka.producer({ transactionalId: `${ctx.id}-${groupId}`, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 30000 });
  await producer.connect();
  const transaction = await producer.transaction();
  await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset }] }] });
  return {
    topic,
    groupId,
    offsets,
    transaction,
    /** Resolves once a read met the open transaction (UNSTABLE_OFFSET_COMMIT) and waits. */
    met: () => waitUntil(() => waits.includes('UNSTABLE_OFFSET_COMMIT'), { message: 'the read to meet the open transaction' }),
    close: () => Promise.all([producer.disconnect(), offsets.close()]),
  };
}

/** kafkajs' own read (OffsetFetch v4), which does not wait for pending transactional offsets. */
async function unstableRead(groupId: string, topic: string): Promise<string | undefined> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets?.partitions.find((entry) => entry.partition === 0)?.offset;
  } finally {
    await admin.disconnect();
  }
}

describe('CommittedOffsets', () => {
  it('reads -1 for a group that never committed, and the offset a transaction committed', async () => {
    const topic = ctx.topic('plain');
    await ctx.createTopics([{ topic, partitions: 2 }]);
    const groupId = ctx.group('plain');
    const offsets = new CommittedOffsets(ctx.kafka, groupId);
    try {
      expect(await offsets.get(topic, 0)).toBe(-1n);
      const producer = await TransactionalProducer.connect(ctx.kafka, `${ctx.id}-plain`, { transactionTimeoutMs: 10000 });
      await producer.commit([], [{ groupId, topic, partition: 1, offset: '17' }]);
      await producer.disconnect();
      // Read at once: the transaction's marker may not be written yet, and the read waits for it.
      expect(await offsets.get(topic, 1)).toBe(17n);
      expect(await offsets.get(topic, 0)).toBe(-1n);
    } finally {
      await offsets.close();
    }
  });

  it('waits while an open transaction holds the offset and reads what it committed', async () => {
    const { topic, groupId, offsets, transaction, met, close } = await heldByTransaction('committing', '5');
    try {
      const read = offsets.get(topic, 0);
      await met();
      // What kafkajs alone reads meanwhile: the offset before the transaction.
      expect(await unstableRead(groupId, topic)).toBe('-1');
      await transaction.commit();
      expect(await read).toBe(5n);
    } finally {
      await close();
    }
  });

  it('reads the offset before a transaction that aborts', async () => {
    const { topic, offsets, transaction, met, close } = await heldByTransaction('aborting', '9');
    try {
      const read = offsets.get(topic, 0);
      await met();
      await transaction.abort();
      expect(await read).toBe(-1n);
    } finally {
      await close();
    }
  });

  it('stops a read waiting out an open transaction when closed, and connects no more', async () => {
    const { topic, offsets, transaction, met, close } = await heldByTransaction('closing', '4');
    try {
      const read = offsets.get(topic, 0);
      await met();
      await offsets.close();
      await expect(read).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true });
      await expect(offsets.get(topic, 0)).rejects.toThrow(/closed/);
      await transaction.abort();
    } finally {
      await close();
    }
  });

  it('fails retryable, naming the open transaction, once its wait is over', async () => {
    const { topic, offsets, transaction, close } = await heldByTransaction('stuck', '3', 300);
    try {
      await expect(offsets.get(topic, 0)).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true, message: expect.stringMatching(/transaction still open after 300 ms holds it \(UNSTABLE_OFFSET_COMMIT\)/) as unknown });
      await transaction.abort();
    } finally {
      await close();
    }
  });
});

describe("kafkajs' consumer taking its partitions", () => {
  it('starts from the offsets of a transaction completing meanwhile, not the ones before (regression: after a rebalance it processed that transaction\'s records again)', async () => {
    const { topic, groupId, transaction, close } = await heldByTransaction('consumer', '5');
    const consumer = ctx.kafka.consumer({ groupId });
    try {
      const producer = ctx.kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: Array.from({ length: 8 }, (_, index) => ({ value: `m-${index}` })) });
      await producer.disconnect();
      // The transaction commits once the consumer's first read of its offsets has been answered.
      const reads: number[] = [];
      consumer.on(consumer.events.REQUEST, ({ payload }) => {
        if (payload.apiName === 'OffsetFetch') reads.push(payload.apiVersion);
      });
      const consumed: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: ({ message }) => {
          consumed.push(message.offset);
          return Promise.resolve();
        },
      });
      await waitUntil(() => reads.length > 0, { message: "the consumer's first read of its offsets" });
      await transaction.commit();
      await waitUntil(() => consumed.length >= 3, { message: 'the consumer to consume' });
      expect(consumed.slice(0, 3)).toEqual(['5', '6', '7']);
      // Stable reads (v7) only; the first met the open transaction, a later one found it done.
      expect(reads.length).toBeGreaterThan(1);
      expect(new Set(reads)).toEqual(new Set([7]));
    } finally {
      await consumer.disconnect();
      await close();
    }
  });

  it('starts from the offsets before a transaction still open after the wait (its producer died), staying in its group (regression: the read failed, and each retry waited again without a heartbeat until the coordinator expelled the member)', async () => {
    const { topic, groupId, transaction, close } = await heldByTransaction('open', '5');
    const consumer = ctx.kafka.consumer({ groupId });
    try {
      const producer = ctx.kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: Array.from({ length: 3 }, (_, index) => ({ value: `m-${index}` })) });
      await producer.disconnect();
      let joins = 0;
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joins += 1;
      });
      const consumed: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const started = Date.now();
      await consumer.run({
        eachMessage: ({ message }) => {
          consumed.push(message.offset);
          return Promise.resolve();
        },
      });
      await waitUntil(() => consumed.length >= 3, { timeoutMs: CONSUMER_STABLE_WAIT_MS + 20000, message: 'the consumer to consume' });
      expect(consumed).toEqual(['0', '1', '2']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(CONSUMER_STABLE_WAIT_MS);
      expect(joins).toBe(1);
    } finally {
      await consumer.disconnect();
      await transaction.abort();
      await close();
    }
  });
});
