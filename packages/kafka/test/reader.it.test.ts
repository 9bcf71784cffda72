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
});
