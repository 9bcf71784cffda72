/**
 * What docs/profiles.md tells latency-sensitive subscribers, checked against kafkajs and a real
 * broker: with auto-commit on, kafkajs 2.2.4 commits offsets after every batch (a round trip
 * before its next fetch) even when autoCommitInterval is set; with autoCommit off and
 * commitOffsetsIfNecessary() at the end of each batch, it commits at most once per interval and
 * the offsets still reach the group.
 */
import { afterAll, describe, expect, it } from 'vitest';
import '@elephant/kafka';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { createTestContext, waitUntil } from '@elephant/testing';

const ctx = createTestContext('subscriber-commits');
afterAll(() => ctx.cleanup());

const RECORDS = 12;

/**
 * Produces one record at a time, each after the previous one was consumed (one batch each):
 * RECORDS of them, and then on until `until()` holds.
 */
async function feedOneByOne(topic: string, consumed: () => number, until: () => boolean): Promise<void> {
  const producer = ctx.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let index = 0; index < RECORDS || !until(); index += 1) {
      if (index > 2000) throw new Error('the condition never held');
      await producer.send({ topic, messages: [{ key: `k${index}`, value: String(index) }] });
      await waitUntil(() => consumed() > index, { timeoutMs: 20000, message: `record ${index} consumed` });
    }
  } finally {
    await producer.disconnect();
  }
}

async function run(name: string, options: { autoCommit: boolean; autoCommitInterval: number; commitInBatch: boolean }): Promise<{ commits: () => number; batches: () => number; seconds: number; consumer: Consumer; groupId: string }> {
  const topic = ctx.topic(name);
  await ctx.createTopics([{ topic, partitions: 4 }]);
  const groupId = ctx.group(name);
  const consumer = ctx.kafka.consumer({ groupId, maxWaitTimeInMs: 20 });
  let commits = 0;
  consumer.on(consumer.events.COMMIT_OFFSETS, () => {
    commits += 1;
  });
  let consumed = 0;
  let batches = 0;
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: options.autoCommit,
    autoCommitInterval: options.autoCommitInterval,
    eachBatch: async (payload: EachBatchPayload) => {
      const { batch } = payload;
      consumed += batch.messages.length;
      batches += 1;
      if (!options.commitInBatch) return;
      payload.resolveOffset(batch.lastOffset());
      await payload.commitOffsetsIfNecessary();
    },
  });
  const started = performance.now();
  // Until a commit happened (the interval counts from the consumer's start).
  await feedOneByOne(topic, () => consumed, () => commits > 0);
  return { commits: () => commits, batches: () => batches, seconds: (performance.now() - started) / 1000, consumer, groupId };
}

describe('subscriber offset commits with kafkajs', () => {
  it('auto-commit commits after every batch, whatever autoCommitInterval says', async () => {
    const { commits, batches, consumer } = await run('defaults', { autoCommit: true, autoCommitInterval: 60000, commitInBatch: false });
    // The last batch's commit follows its handler, after the feeder saw the record consumed:
    // wait for it (a minute's interval would never let it come on its own).
    await waitUntil(() => commits() >= batches(), { timeoutMs: 20000, message: 'a commit for every batch' }).catch(() => undefined);
    await consumer.disconnect();
    expect(batches()).toBeGreaterThanOrEqual(RECORDS);
    expect(commits()).toBeGreaterThanOrEqual(batches());
  });

  it('autoCommit off with commitOffsetsIfNecessary() commits at most once per interval, and the offsets reach the group', async () => {
    const { commits, batches, seconds, consumer, groupId } = await run('interval', { autoCommit: false, autoCommitInterval: 1000, commitInBatch: true });
    await consumer.disconnect();
    expect(batches()).toBeGreaterThanOrEqual(RECORDS);
    // At most one a second (the first may come at once: the interval counts from the join).
    expect(commits()).toBeLessThanOrEqual(Math.floor(seconds) + 1);
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [ctx.topic('interval')] });
      const committed = (offsets?.partitions ?? []).reduce((sum, { offset }) => sum + Math.max(0, Number(offset)), 0);
      expect(committed).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }
  });
});
