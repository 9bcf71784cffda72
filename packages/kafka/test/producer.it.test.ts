import { afterAll, describe, expect, it } from 'vitest';
import { BatchProducer, readToEnd } from '@elephant/kafka';
import { createTestContext } from '@elephant/testing';

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
});
