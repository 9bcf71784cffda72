import { afterAll, describe, expect, it } from 'vitest';
import { OPEN_TRANSACTION_WAIT_MS, partitionEnds, readEach, readToEnd, type ReadRecord } from '@elephant/kafka';
import { createTestContext, waitUntil } from '@elephant/testing';

const ctx = createTestContext('reader');

afterAll(async () => {
  await ctx.cleanup();
});

describe('readToEnd', () => {
  it('regression (its end was the last stable offset, before a transaction whose marker was not written yet: a read right after a commit missed its records): reads a transaction that commits while the read waits for it', async () => {
    const topic = ctx.topic('transaction');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const producer = ctx.kafka.producer({ transactionalId: `${ctx.id}-reader`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ value: 'before' }] });
      const transaction = await producer.transaction();
      await transaction.send({ topic, messages: [{ value: 'inside-1' }, { value: 'inside-2' }] });
      let waiting: readonly number[] = [];
      const read = readToEnd(ctx.kafka, topic, { onWait: (partitions) => (waiting = partitions) });
      // The read has its ends, and waits for the open transaction: only then does it commit.
      await waitUntil(() => waiting.length > 0, { message: 'the read to wait for the open transaction' });
      expect(waiting).toEqual([0]);
      await transaction.commit();
      expect((await read).map((record) => record.value?.toString())).toEqual(['before', 'inside-1', 'inside-2']);
    } finally {
      await producer.disconnect();
    }
  });

  it('ends where a transaction still open after OPEN_TRANSACTION_WAIT_MS begins, and says which records it held back (it failed as Kafka unreachable; the test read before the committed marker was written under load)', async () => {
    const topic = ctx.topic('open');
    await ctx.createTopics([{ topic, partitions: 2 }]);
    const open = ctx.kafka.producer({ transactionalId: `${ctx.id}-open`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    const other = ctx.kafka.producer({ transactionalId: `${ctx.id}-other`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await Promise.all([open.connect(), other.connect()]);
    try {
      await open.send({ topic, messages: [{ partition: 0, value: 'before' }, { partition: 1, value: 'other' }] });
      const transaction = await open.transaction();
      await transaction.send({ topic, messages: [{ partition: 0, value: 'open' }] }); // offset 1
      // Another producer's transaction, committed, behind the open one: offsets 2 and its marker 3.
      const committed = await other.transaction();
      await committed.send({ topic, messages: [{ partition: 0, value: 'committed-behind' }] });
      await committed.commit();
      // The commit returns once the coordinator has logged it; the marker (offset 3) follows, and
      // the read's ends are the high watermarks when it begins.
      // (kafkajs' admin reads the last stable offset, 1 here; partitionEnds the high watermark.)
      await waitUntil(async () => (await partitionEnds(ctx.kafka, topic)).find((end) => end.partition === 0)?.high === '4', { message: 'the committed transaction marker to be written' });
      const values: string[] = [];
      const began = Date.now();
      const end = await readEach(ctx.kafka, topic, (record) => values.push(record.value?.toString() ?? ''), { timeoutMs: 30000 });
      expect(Date.now() - began).toBeGreaterThanOrEqual(OPEN_TRANSACTION_WAIT_MS);
      expect(values.sort()).toEqual(['before', 'other']);
      expect(end.heldBack).toEqual([{ partition: 0, from: 1n, to: 4n }]);
      // Starting at the open transaction (--from-offset, or retention): nothing to read, at once after the wait.
      const fromOpen: string[] = [];
      expect((await readEach(ctx.kafka, topic, (record) => fromOpen.push(record.value?.toString() ?? ''), { fromOffsets: new Map([[0, 1n]]), timeoutMs: 30000 })).heldBack).toEqual([{ partition: 0, from: 1n, to: 4n }]);
      expect(fromOpen).toEqual(['other']);
      await transaction.abort();
      // Once it is aborted, the read is whole again.
      const after = await readToEnd(ctx.kafka, topic);
      expect(after.map((record) => record.value?.toString()).sort()).toEqual(['before', 'committed-behind', 'other']);
    } finally {
      await Promise.all([open.disconnect(), other.disconnect()]);
    }
  });

  it('reads a partition that holds a single record (it counted the partition as read before reading it)', async () => {
    const topic = ctx.topic('single');
    await ctx.createTopics([{ topic, partitions: 3 }]);
    const producer = ctx.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ partition: 0, value: 'only' }, { partition: 1, value: 'one' }, { partition: 1, value: 'two' }] });
    } finally {
      await producer.disconnect();
    }
    const values = (await readToEnd(ctx.kafka, topic)).map((message) => message.value?.toString()).sort();
    expect(values).toEqual(['one', 'only', 'two']);
  });

  it('regression (a partition emptied by retention was waited for until the timeout, reported as Kafka unreachable): reads what is left at once, and leaves no committed offsets behind', async () => {
    const topic = ctx.topic('retained');
    await ctx.createTopics([{ topic, partitions: 2 }]);
    const producer = ctx.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ partition: 0, value: 'old' }, { partition: 0, value: 'older' }, { partition: 1, value: 'kept' }] });
    } finally {
      await producer.disconnect();
    }
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      // What retention does: every record of partition 0 deleted (low = high = 2).
      await admin.fetchTopicMetadata({ topics: [topic] }); // deleteTopicRecords needs it loaded
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] });
      const values = (await readToEnd(ctx.kafka, topic, { timeoutMs: 10000, groupPrefix: `${topic}.reader` })).map((message) => message.value?.toString());
      expect(values).toEqual(['kept']);
      const groups = (await admin.listGroups()).groups.map((group) => group.groupId).filter((id) => id.startsWith(`${topic}.reader`));
      expect(groups.length).toBeLessThanOrEqual(1);
      for (const groupId of groups) {
        const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
        expect(offsets.flatMap((entry) => entry.partitions).filter((partition) => partition.offset !== '-1')).toEqual([]);
      }
    } finally {
      await admin.disconnect();
    }
  });

  it('regression (the dead-letters CLI read a whole topic from its beginning for --from-offset): seeks to the start asked for, per partition, and hands over nothing before it; a partition that ends at or before its start is not waited for', async () => {
    const topic = ctx.topic('from');
    await ctx.createTopics([{ topic, partitions: 3 }]);
    const producer = ctx.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({
        topic,
        messages: [
          ...['a0', 'a1', 'a2', 'a3', 'a4'].map((value) => ({ partition: 0, value })),
          ...['b0', 'b1'].map((value) => ({ partition: 1, value })),
          ...['c0', 'c1', 'c2'].map((value) => ({ partition: 2, value })),
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const handed: string[] = [];
    const visit = (record: ReadRecord): void => {
      handed.push(`${record.partition}:${record.offset}:${record.value?.toString() ?? ''}`);
    };
    // Partition 1 ends at 2: nothing from 2 on. Partition 2 is not named: from its beginning.
    await readEach(ctx.kafka, topic, visit, { fromOffsets: new Map([[0, 3n], [1, 2n]]), timeoutMs: 20000 });
    expect(handed.sort()).toEqual(['0:3:a3', '0:4:a4', '2:0:c0', '2:1:c1', '2:2:c2']);

    // One start for every partition.
    handed.length = 0;
    await readEach(ctx.kafka, topic, visit, { fromOffsets: 2n, timeoutMs: 20000 });
    expect(handed.sort()).toEqual(['0:2:a2', '0:3:a3', '0:4:a4', '2:2:c2']);

    // Up to an offset: nothing after it, and a partition whose records all come after the start is read only to it.
    handed.length = 0;
    await readEach(ctx.kafka, topic, visit, { fromOffsets: 1n, toOffset: 2n, timeoutMs: 20000 });
    expect(handed.sort()).toEqual(['0:1:a1', '0:2:a2', '1:1:b1', '2:1:c1', '2:2:c2']);

    // Past every partition's end: nothing to read, and no consumer group joined to find that out.
    handed.length = 0;
    const groupPrefix = `${topic}.past`;
    await readEach(ctx.kafka, topic, visit, { fromOffsets: 5n, timeoutMs: 20000, groupPrefix });
    expect(handed).toEqual([]);
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      expect((await admin.listGroups()).groups.filter((group) => group.groupId.startsWith(groupPrefix))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });

  it('keeps only the records its predicate takes, each handed to it once, and throws what a visitor throws', async () => {
    const topic = ctx.topic('keep');
    await ctx.createTopics([{ topic, partitions: 2 }]);
    const producer = ctx.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic, messages: Array.from({ length: 40 }, (_, index) => ({ partition: index % 2, value: index % 10 === 0 ? `keep-${index}` : `drop-${index}` })) });
    } finally {
      await producer.disconnect();
    }
    const asked: string[] = [];
    const kept = await readToEnd(ctx.kafka, topic, {
      timeoutMs: 20000,
      keep: (record) => {
        asked.push(`${record.partition}:${record.offset}`);
        return record.value?.toString().startsWith('keep-') === true;
      },
    });
    expect(kept.map((record) => record.value?.toString()).sort()).toEqual(['keep-0', 'keep-10', 'keep-20', 'keep-30']);
    expect(kept.every((record) => record.partition === 0)).toBe(true);
    expect(asked).toHaveLength(40);
    expect(new Set(asked).size).toBe(40);
    // With a start: the predicate is not even asked about the records before it.
    asked.length = 0;
    const later = await readToEnd(ctx.kafka, topic, { timeoutMs: 20000, fromOffsets: 10n, keep: (record) => (asked.push(`${record.partition}:${record.offset}`), true) });
    expect(later).toHaveLength(20);
    expect(asked).toHaveLength(20);
    expect(later.every((record) => BigInt(record.offset) >= 10n)).toBe(true);

    class Stop extends Error {}
    await expect(
      readEach(ctx.kafka, topic, () => {
        throw new Stop('enough');
      }, { timeoutMs: 20000 }),
    ).rejects.toBeInstanceOf(Stop);
  });
});
