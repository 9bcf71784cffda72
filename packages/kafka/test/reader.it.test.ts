import { afterAll, describe, expect, it } from 'vitest';
import { readToEnd } from '@elephant/kafka';
import { createTestContext } from '@elephant/testing';

const ctx = createTestContext('reader');

afterAll(async () => {
  await ctx.cleanup();
});

describe('readToEnd', () => {
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
});
