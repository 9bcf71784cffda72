/**
 * Stable committed offsets (OffsetFetch v7, require_stable) against a real broker: offsets a
 * transaction committed are read only once the transaction completed. kafkajs' own read
 * (OffsetFetch v4) answers with the offset before a transaction still completing; the
 * profile builder's outbox recovery took that for "not published" and published again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommittedOffsets, TransactionalProducer } from '@elephant/kafka';
import { createTestContext, waitUntil } from '@elephant/testing';

const ctx = createTestContext('committed');
afterAll(() => ctx.cleanup());

// A freshly started broker creates the transaction and offsets topics at their first use and
// answers COORDINATOR_NOT_AVAILABLE meanwhile: one transaction with offsets first.
beforeAll(async () => {
  const topic = ctx.topic('coordinators');
  await ctx.createTopics([{ topic, partitions: 1 }]);
  const producer = await TransactionalProducer.connect(ctx.kafka, `${ctx.id}-coordinators`, { transactionTimeoutMs: 10000 });
  try {
    await waitUntil(() => producer.commit([], [{ groupId: ctx.group('coordinators'), topic, partition: 0, offset: '0' }]).then(() => true), { message: 'the transaction and group coordinators', timeoutMs: 60000, intervalMs: 500 });
  } finally {
    await producer.disconnect();
  }
});

/** A transaction that sent offsets of `groupId` and is left open: commit or abort it. */
async function openTransaction(groupId: string, topic: string, offset: string) {
  const producer = ctx.kafka.producer({ transactionalId: `${ctx.id}-${groupId}`, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 30000 });
  await producer.connect();
  const transaction = await producer.transaction();
  await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset }] }] });
  return {
    commit: () => transaction.commit(),
    abort: () => transaction.abort(),
    disconnect: () => producer.disconnect(),
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
    const topic = ctx.topic('committing');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const groupId = ctx.group('committing');
    const waits: string[] = [];
    const offsets = new CommittedOffsets(ctx.kafka, groupId, { maxWaitMs: 30000, onWait: (type) => waits.push(type) });
    const transaction = await openTransaction(groupId, topic, '5');
    try {
      const read = offsets.get(topic, 0);
      await waitUntil(() => waits.includes('UNSTABLE_OFFSET_COMMIT'), { message: 'the read to meet the open transaction' });
      // What kafkajs alone reads meanwhile: the offset before the transaction.
      expect(await unstableRead(groupId, topic)).toBe('-1');
      await transaction.commit();
      expect(await read).toBe(5n);
    } finally {
      await Promise.all([transaction.disconnect(), offsets.close()]);
    }
  });

  it('reads the offset before a transaction that aborts', async () => {
    const topic = ctx.topic('aborting');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const groupId = ctx.group('aborting');
    const waits: string[] = [];
    const offsets = new CommittedOffsets(ctx.kafka, groupId, { maxWaitMs: 30000, onWait: (type) => waits.push(type) });
    const transaction = await openTransaction(groupId, topic, '9');
    try {
      const read = offsets.get(topic, 0);
      await waitUntil(() => waits.includes('UNSTABLE_OFFSET_COMMIT'), { message: 'the read to meet the open transaction' });
      await transaction.abort();
      expect(await read).toBe(-1n);
    } finally {
      await Promise.all([transaction.disconnect(), offsets.close()]);
    }
  });

  it('stops a read waiting out an open transaction when closed, and connects no more', async () => {
    const topic = ctx.topic('closing');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const groupId = ctx.group('closing');
    const waits: string[] = [];
    const offsets = new CommittedOffsets(ctx.kafka, groupId, { maxWaitMs: 30000, onWait: (type) => waits.push(type) });
    const transaction = await openTransaction(groupId, topic, '4');
    try {
      const read = offsets.get(topic, 0);
      await waitUntil(() => waits.length > 0, { message: 'the read to meet the open transaction' });
      await offsets.close();
      await expect(read).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true });
      await expect(offsets.get(topic, 0)).rejects.toThrow(/closed/);
      await transaction.abort();
    } finally {
      await Promise.all([transaction.disconnect(), offsets.close()]);
    }
  });

  it('fails retryable, naming the open transaction, once its wait is over', async () => {
    const topic = ctx.topic('stuck');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const groupId = ctx.group('stuck');
    const offsets = new CommittedOffsets(ctx.kafka, groupId, { maxWaitMs: 300 });
    const transaction = await openTransaction(groupId, topic, '3');
    try {
      await expect(offsets.get(topic, 0)).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true, message: expect.stringMatching(/transaction still open after 300 ms holds it \(UNSTABLE_OFFSET_COMMIT\)/) as unknown });
      await transaction.abort();
    } finally {
      await Promise.all([transaction.disconnect(), offsets.close()]);
    }
  });
});
