import { afterAll, describe, expect, it } from 'vitest';
import { BatchProducer, readToEnd } from '@elephant/kafka';
import { createTestContext, readTopic } from '@elephant/testing';

const ctx = createTestContext('producer');

afterAll(async () => {
  await ctx.cleanup();
});

describe('BatchProducer', () => {
  it('sends the batches of concurrent callers together, each caller\'s messages in order, and tells each caller its topics\' offsets', async () => {
    const a = ctx.topic('a');
    const b = ctx.topic('b');
    await ctx.createTopics([
      { topic: a, partitions: 1 },
      { topic: b, partitions: 1 },
    ]);
    const producer = await BatchProducer.connect(ctx.kafka);
    try {
      const callers = Array.from({ length: 20 }, (_, caller) => Array.from({ length: 5 }, (_, index) => `c${caller}-${index}`));
      const results = await Promise.all(callers.map((values, caller) => producer.send([{ topic: caller % 2 === 0 ? a : b, messages: values.map((value) => ({ key: 'k', value })) }])));
      results.forEach((metadata, caller) => {
        expect(metadata.map((entry) => entry.topicName)).toEqual([caller % 2 === 0 ? a : b]);
      });
      // Fewer requests than callers: the ones that waited for the first request went together.
      const baseOffsets = new Set(results.flatMap((metadata) => metadata.map((entry) => `${entry.topicName}:${entry.baseOffset}`)));
      expect(baseOffsets.size).toBeLessThan(callers.length);
      for (const [topic, parity] of [[a, 0], [b, 1]] as const) {
        const read = (await readToEnd(ctx.kafka, topic)).map((message) => message.value?.toString() ?? '');
        const expected = callers.filter((_, caller) => caller % 2 === parity);
        expect(read).toHaveLength(expected.length * 5);
        for (const values of expected) {
          const start = read.indexOf(values[0] ?? '');
          expect(read.slice(start, start + values.length)).toEqual(values);
        }
      }
      expect(await producer.send([{ topic: a, messages: [] }])).toEqual([]);
    } finally {
      await producer.disconnect();
    }
  });
  it('regression (oversized records block partitions): a record the broker refuses is a non-retryable KAFKA_RECORD_REJECTED for its caller only', async () => {
    const small = ctx.topic('small');
    const other = ctx.topic('other');
    await ctx.createTopics([
      { topic: small, partitions: 1, configs: { 'max.message.bytes': '4096' } },
      { topic: other, partitions: 1 },
    ]);
    const producer = await BatchProducer.connect(ctx.kafka);
    try {
      // Concurrent callers share a request; the innocent one must not fail with the offender.
      const [offender, innocent] = await Promise.allSettled([
        producer.send([{ topic: small, messages: [{ value: 'x'.repeat(8000) }] }]),
        producer.send([{ topic: other, messages: [{ value: 'fine' }] }]),
      ]);
      expect(offender.status).toBe('rejected');
      expect(offender.status === 'rejected' ? offender.reason : undefined).toMatchObject({ code: 'KAFKA_RECORD_REJECTED', retryable: false });
      expect(innocent.status).toBe('fulfilled');
      // readTopic, not readToEnd: readToEnd counts a one-record partition as read before reading it.
      // The shared request wrote the innocent record already; sent again alone it may come twice (at-least-once).
      const innocentRecords = (await readTopic(ctx.kafka, other, 1)).map((message) => message.value?.toString());
      expect(new Set(innocentRecords)).toEqual(new Set(['fine']));
      // The producer goes on after a refusal, also to the refused record's partition (kafkajs
      // counted its sequence numbers as used: without a fresh producer id this would fail with
      // OUT_OF_ORDER_SEQUENCE_NUMBER forever).
      await producer.send([{ topic: small, messages: [{ value: 'small' }] }]);
      expect((await readTopic(ctx.kafka, small, 1)).map((message) => message.value?.toString())).toEqual(['small']);
    } finally {
      await producer.disconnect();
    }
  });

  it('regression (records acknowledged but not written): after a request the broker refused in part, the next records to a partition it wrote are written; a refused timestamp is KAFKA_RECORD_REJECTED, not retried for ever as unavailable', async () => {
    const written = ctx.topic('written');
    const strict = ctx.topic('strict');
    await ctx.createTopics([
      { topic: written, partitions: 1 },
      { topic: strict, partitions: 1, configs: { 'message.timestamp.before.max.ms': '60000' } },
    ]);
    const producer = await BatchProducer.connect(ctx.kafka);
    try {
      // One request: m1 is written, the hour-old record refused (INVALID_TIMESTAMP).
      const failed = await producer.send([{ topic: written, messages: [{ key: 'k', value: 'm1' }] }, { topic: strict, messages: [{ key: 'k', value: 'old', timestamp: String(Date.now() - 3_600_000) }] }]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failed).toMatchObject({ code: 'KAFKA_RECORD_REJECTED', retryable: false, details: { type: 'INVALID_TIMESTAMP' } });
      // kafkajs set m1's sequence number back: the same count of records again was taken for
      // a retry of m1 (acknowledged with its offset, not written), a different count refused.
      await producer.send([{ topic: written, messages: [{ key: 'k', value: 'm2' }] }]);
      await producer.send([{ topic: written, messages: [{ key: 'k', value: 'm3' }, { key: 'k', value: 'm4' }] }]);
      expect((await readTopic(ctx.kafka, written, 4)).map((message) => message.value?.toString())).toEqual(['m1', 'm2', 'm3', 'm4']);
      await producer.send([{ topic: strict, messages: [{ key: 'k', value: 'now' }] }]);
      expect((await readTopic(ctx.kafka, strict, 1)).map((message) => message.value?.toString())).toEqual(['now']);
    } finally {
      await producer.disconnect();
    }
  });

  it('splits a send into requests below the broker limit, so records that fit alone never fail together', async () => {
    const topic = ctx.topic('split');
    await ctx.createTopics([{ topic, partitions: 1, configs: { 'max.message.bytes': '20000' } }]);
    const producer = await BatchProducer.connect(ctx.kafka, { maxRequestBytes: 16000 });
    try {
      // Five records of 6 KB: one record batch of 30 KB would exceed the topic's 20 KB.
      const values = Array.from({ length: 5 }, (_, index) => `${index}`.repeat(6000));
      await producer.send([{ topic, messages: values.map((value) => ({ value })) }]);
      expect((await readToEnd(ctx.kafka, topic)).map((message) => message.value?.toString())).toEqual(values);
    } finally {
      await producer.disconnect();
    }
  });
});
