/**
 * The transactional producer against a real broker: a transaction that holds only input
 * offsets (its batch published nothing) right after one that held records. The coordinator
 * is then often still completing the previous transaction and answers the new one's first
 * request, AddOffsetsToTxn, with CONCURRENT_TRANSACTIONS, which kafkajs does not retry; each
 * such commit failed, and its batch waited for the consumer's retry backoff.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isElephantError } from '@elephant/errors';
import { BatchConsumer, BatchProducer, CommittedOffsets, TransactionalProducer, readToEnd, type GroupGeneration } from '@elephant/kafka';
import { createTestContext, waitUntil } from '@elephant/testing';
import { transactionCoordinatorsReady } from './helpers.ts';

const ctx = createTestContext('transactions');
afterAll(() => ctx.cleanup());

// The coordinators of a freshly started broker first (helpers.ts).
beforeAll(() => transactionCoordinatorsReady(ctx));

/**
 * The topic's records once at least `count` are readable: a commit returns before the
 * coordinator wrote the transaction's markers, and until then a read_committed reader stops at
 * the partition's last stable offset, before the transaction.
 */
async function readCommitted(topic: string, count: number): Promise<Awaited<ReturnType<typeof readToEnd>>> {
  return waitUntil(async () => {
    const read = await readToEnd(ctx.kafka, topic);
    return read.length >= count ? read : undefined;
  }, { message: `${count} committed records of ${topic} to become readable` });
}

describe('TransactionalProducer', () => {
  it('commits an offsets-only transaction right after a transaction with records', async () => {
    const input = ctx.topic('input');
    const output = ctx.topic('output');
    await ctx.createTopics([
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const groupId = ctx.group('builder');
    const producer = await TransactionalProducer.connect(ctx.kafka, `${ctx.id}-txn`, { transactionTimeoutMs: 10000 });
    const rounds = 40;
    try {
      for (let round = 0; round < rounds; round += 1) {
        await producer.commit([{ topic: output, messages: [{ key: 'k', value: `v${round}` }] }], [{ groupId, topic: input, partition: 0, offset: String(2 * round + 1) }]);
        // Nothing to publish: the transaction's first request is AddOffsetsToTxn.
        await producer.commit([], [{ groupId, topic: input, partition: 0, offset: String(2 * round + 2) }]);
      }
    } finally {
      await producer.disconnect();
    }
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      // The last commit returned once the coordinator logged it; kafkajs' offset fetch (v4)
      // shows the offsets once the broker has written its marker (waited for: under load the
      // read came before it now and then).
      const committedOffset = async (): Promise<string | undefined> => (await admin.fetchOffsets({ groupId, topics: [input] }))[0]?.partitions[0]?.offset;
      await waitUntil(async () => (await committedOffset()) === String(2 * rounds), { message: `the offsets of the last transaction (${String(2 * rounds)})` });
    } finally {
      await admin.disconnect();
    }
    const records = await readToEnd(ctx.kafka, output);
    expect(records.map((record) => record.value?.toString())).toEqual(Array.from({ length: rounds }, (_, round) => `v${round}`));
  });

  it('regression (MESSAGE_TOO_LARGE, the builder exiting at every restart after an outbox recovery): commits more records of one partition than one record batch may hold', async () => {
    const input = ctx.topic('large-input');
    const output = ctx.topic('large-output');
    await ctx.createTopics([
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const groupId = ctx.group('large');
    const producer = await TransactionalProducer.connect(ctx.kafka, `${ctx.id}-large`, { transactionTimeoutMs: 10000 });
    // 2,400 records of about 600 bytes: 1.4 MB for one partition, over the broker's default
    // max.message.bytes (1 MB); in one request kafkajs made them one record batch, refused.
    const values = Array.from({ length: 2400 }, (_, index) => `${String(index).padStart(6, '0')}${'x'.repeat(594)}`);
    try {
      await producer.commit([{ topic: output, messages: values.map((value) => ({ key: value.slice(0, 6), value })) }], [{ groupId, topic: input, partition: 0, offset: '1' }]);
    } finally {
      await producer.disconnect();
    }
    const records = await readCommitted(output, values.length);
    expect(records.map((record) => record.value?.toString())).toEqual(values);
  });

  it('regression (records acknowledged but not written, their input offsets committed): after a transaction whose produce the broker refused in part, the next transaction\'s records are written', async () => {
    const written = ctx.topic('tx-written');
    const strict = ctx.topic('tx-strict');
    await ctx.createTopics([
      { topic: written, partitions: 1 },
      { topic: strict, partitions: 1, configs: { 'message.timestamp.before.max.ms': '60000' } },
    ]);
    const producer = await TransactionalProducer.connect(ctx.kafka, `${ctx.id}-partial`, { transactionTimeoutMs: 10000 });
    try {
      const failed = await producer.commit([{ topic: written, messages: [{ key: 'k', value: 'm1' }] }, { topic: strict, messages: [{ key: 'k', value: 'old', timestamp: String(Date.now() - 3_600_000) }] }], []).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failed).toMatchObject({ code: 'KAFKA_RECORD_REJECTED', retryable: false });
      await producer.commit([{ topic: written, messages: [{ key: 'k', value: 'm2' }] }], []);
      await producer.commit([{ topic: written, messages: [{ key: 'k', value: 'm3' }] }], []);
      expect((await readCommitted(written, 2)).map((message) => message.value?.toString())).toEqual(['m2', 'm3']);
    } finally {
      await producer.disconnect();
    }
  });

  it('regression (a fenced or stuck producer ended the builder): a fenced producer fails its transaction as retryable and is made anew for the next one', async () => {
    const output = ctx.topic('fenced-output');
    const input = ctx.topic('fenced-input');
    await ctx.createTopics([
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const groupId = ctx.group('fenced');
    const id = `${ctx.id}-fenced`;
    const producer = await TransactionalProducer.connect(ctx.kafka, id, { transactionTimeoutMs: 10000 });
    try {
      await producer.commit([{ topic: output, messages: [{ key: 'k', value: 'first' }] }], [{ groupId, topic: input, partition: 0, offset: '1' }]);
      // Another producer with the same transactional id (kafkajs initializes it at its first
      // transaction): the broker bumps the epoch, fencing the first.
      const usurper = await TransactionalProducer.connect(ctx.kafka, id, { transactionTimeoutMs: 10000 });
      await usurper.commit([{ topic: output, messages: [{ key: 'k', value: 'usurper' }] }], []);
      await usurper.disconnect();
      let failure: unknown;
      try {
        await producer.commit([{ topic: output, messages: [{ key: 'k', value: 'fenced' }] }], [{ groupId, topic: input, partition: 0, offset: '2' }]);
      } catch (error) {
        failure = error;
      }
      expect(isElephantError(failure, 'KAFKA_UNAVAILABLE') && failure.retryable).toBe(true);
      // The batch processed again: a new producer, same transactional id, commits it.
      await producer.commit([{ topic: output, messages: [{ key: 'k', value: 'again' }] }], [{ groupId, topic: input, partition: 0, offset: '2' }]);
    } finally {
      await producer.disconnect();
    }
    const records = await readCommitted(output, 3);
    expect(records.map((record) => record.value?.toString())).toEqual(['first', 'usurper', 'again']);
  });

  it('regression (kafkajs\' TxnOffsetCommit carried no generation: a member the group had moved past still committed its transaction): offsets of a generation the group moved past are refused, and their transaction aborted', async () => {
    const input = ctx.topic('generation-input');
    const output = ctx.topic('generation-output');
    await ctx.createTopics([
      { topic: input, partitions: 2 },
      { topic: output, partitions: 1 },
    ]);
    const groupId = ctx.group('generation');
    /** A member of the group that keeps the generation of each batch it is handed. */
    const member = (generations: GroupGeneration[]) =>
      new BatchConsumer({
        kafka: ctx.kafka,
        groupId,
        topics: [input],
        logger: ctx.logger,
        commit: 'handler',
        handler: (_batch, context) => {
          if (context.generation) generations.push(context.generation);
          return Promise.resolve();
        },
      });
    const firsts: GroupGeneration[] = [];
    const seconds: GroupGeneration[] = [];
    const first = member(firsts);
    const second = member(seconds);
    const offsets = new CommittedOffsets(ctx.kafka, groupId);
    const sender = await BatchProducer.connect(ctx.kafka);
    const producer = await TransactionalProducer.connect(ctx.kafka, `${ctx.id}-generation`, { transactionTimeoutMs: 10000 });
    const send = (value: string) => sender.send([{ topic: input, messages: [0, 1].map((partition) => ({ key: value, value, partition })) }]);
    try {
      await first.start();
      await send('in');
      const current = await waitUntil(() => firsts[0], { message: 'the member to handle a batch', timeoutMs: 60000 });
      expect(current.generationId).toBeGreaterThan(0);
      expect(current.memberId).not.toBe('');
      await producer.commit([{ topic: output, messages: [{ key: 'k', value: 'current' }] }], [{ groupId, topic: input, partition: 0, offset: '1', generation: current }]);
      // A generation before the member's: refused.
      let failure: unknown;
      try {
        await producer.commit([{ topic: output, messages: [{ key: 'k', value: 'stale' }] }], [{ groupId, topic: input, partition: 0, offset: '7', generation: { ...current, generationId: current.generationId - 1 } }]);
      } catch (error) {
        failure = error;
      }
      expect(failure).toMatchObject({ code: 'KAFKA_MEMBERSHIP_FENCED', retryable: true, details: { reason: 'ILLEGAL_GENERATION' } });
      // A member the group does not know.
      await expect(producer.commit([{ topic: output, messages: [{ key: 'k', value: 'unknown' }] }], [{ groupId, topic: input, partition: 0, offset: '8', generation: { ...current, memberId: `${current.memberId}-gone` } }])).rejects.toMatchObject({ code: 'KAFKA_MEMBERSHIP_FENCED', details: { reason: 'UNKNOWN_MEMBER_ID' } });
      // The producer goes on: the current membership commits again.
      await producer.commit([{ topic: output, messages: [{ key: 'k', value: 'after' }] }], [{ groupId, topic: input, partition: 0, offset: '2', generation: current }]);
      expect(await offsets.get(input, 0)).toBe(2n);

      // A second member joins: the group moves on, the first member's batches carry the new
      // generation, and what it held before is what a member that missed the rebalance holds.
      await second.start();
      const moved = await waitUntil(
        async () => {
          await send('more');
          const newer = firsts.find((generation) => generation.generationId > current.generationId);
          return newer && seconds.some((generation) => generation.generationId === newer.generationId) ? newer : undefined;
        },
        { message: 'both members to handle batches of the next generation', timeoutMs: 60000, intervalMs: 500 },
      );
      await expect(producer.commit([{ topic: output, messages: [{ key: 'k', value: 'zombie' }] }], [{ groupId, topic: input, partition: 0, offset: '9', generation: current }])).rejects.toMatchObject({ code: 'KAFKA_MEMBERSHIP_FENCED', details: { reason: 'ILLEGAL_GENERATION' } });
      await producer.commit([{ topic: output, messages: [{ key: 'k', value: 'moved' }] }], [{ groupId, topic: input, partition: 0, offset: '3', generation: moved }]);
      expect(await offsets.get(input, 0)).toBe(3n);
    } finally {
      await Promise.all([first.stop(), second.stop(), producer.disconnect(), sender.disconnect(), offsets.close()]);
    }
    const records = await readCommitted(output, 3);
    expect(records.map((record) => record.value?.toString())).toEqual(['current', 'after', 'moved']);
  });

  it('regression (the builder retried for ever while ready): a transaction timeout the broker refuses fails as KAFKA_REFUSED, not retryable, naming the setting', async () => {
    const output = ctx.topic('refused');
    await ctx.createTopics([{ topic: output, partitions: 1 }]);
    // One millisecond above the broker's transaction.max.timeout.ms (15 minutes by default).
    const producer = await TransactionalProducer.connect(ctx.kafka, `${ctx.id}-refused`, { transactionTimeoutMs: 900001 });
    try {
      let failure: unknown;
      try {
        await producer.commit([{ topic: output, messages: [{ key: 'k', value: 'v' }] }], []);
      } catch (error) {
        failure = error;
      }
      expect(isElephantError(failure, 'KAFKA_REFUSED')).toBe(true);
      expect(isElephantError(failure) && failure.retryable).toBe(false);
      expect((failure as Error).message).toContain('INVALID_TRANSACTION_TIMEOUT');
      expect((failure as Error).message).toContain('TRANSACTION_TIMEOUT_MS');
    } finally {
      await producer.disconnect();
    }
  });
});
