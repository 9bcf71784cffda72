/**
 * Dead-letter copies on the real broker: the original key, value and headers byte for byte,
 * for any header name. Regression: kafkajs gathered a record's headers on a plain object, so a
 * header named `constructor` or `toString` arrived with Object.prototype's member in front of
 * its value and `__proto__` not at all; the dead-letter send of such a record threw in the
 * producer's encoder, was retried as retryable, and blocked its partition for good.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BatchProducer, DEAD_LETTER_HEADERS, deadLetter, headerText, readToEnd, replayRecordOf } from '@elephant/kafka';
import { createTestContext, readTopic } from '@elephant/testing';

const ctx = createTestContext('dead-letters');
afterAll(() => ctx.cleanup());

const headerNames = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'plain'] as const;

describe('dead-letter records', () => {
  it('copy the original key, value and headers byte for byte, whatever the header names (Object.prototype members included)', async () => {
    const source = ctx.topic('source');
    const dlq = ctx.topic('dlq');
    await ctx.createTopics([
      { topic: source, partitions: 1 },
      { topic: dlq, partitions: 1 },
    ]);
    const headers: Record<string, Buffer | Buffer[]> = Object.create(null) as Record<string, Buffer | Buffer[]>;
    for (const name of headerNames) headers[name] = Buffer.from(`${name}-value`);
    headers['repeated'] = [Buffer.from('first'), Buffer.from([0xff, 0x00, 0xfe])];
    const producer = await BatchProducer.connect(ctx.kafka);
    try {
      await producer.send([{ topic: source, messages: [{ key: 'k-1', value: Buffer.from([0xc3, 0x28, 0x7b]), headers }] }]);
      const [read] = await readToEnd(ctx.kafka, source);
      if (!read) throw new Error('the source record was not read back');
      // What the consumer hands over: the record's own headers, nothing of Object.prototype.
      for (const name of headerNames) expect(Object.hasOwn(read.headers ?? {}, name), name).toBe(true);
      expect(headerText(read.headers, 'constructor')).toBe('constructor-value');
      expect(headerText(read.headers, '__proto__')).toBe('__proto__-value');

      await producer.send([{ topic: dlq, messages: [deadLetter({ topic: source, partition: 0, message: read }, { code: 'TEST_FAILURE', message: 'for the test' }, 'test', Date.UTC(2026, 11, 6))] }]);
      const [copy] = await readToEnd(ctx.kafka, dlq);
      if (!copy) throw new Error('the dead-letter record was not read back');
      expect(copy.key?.toString()).toBe('k-1');
      expect(copy.value).toEqual(Buffer.from([0xc3, 0x28, 0x7b]));
      for (const name of headerNames) expect(headerText(copy.headers, name), name).toBe(`${name}-value`);
      expect(copy.headers?.['repeated']).toEqual([Buffer.from('first'), Buffer.from([0xff, 0x00, 0xfe])]);
      expect(headerText(copy.headers, DEAD_LETTER_HEADERS.code)).toBe('TEST_FAILURE');
      expect(headerText(copy.headers, DEAD_LETTER_HEADERS.topic)).toBe(source);
    } finally {
      await producer.disconnect();
    }
  });

  it('copy and replay headers without a value (regression: kafkajs\' encoder threw on them, and the record\'s partition stopped on its dead letter\'s send)', async () => {
    const source = ctx.topic('null-source');
    const dlq = ctx.topic('null-dlq');
    await ctx.createTopics([
      { topic: source, partitions: 1 },
      { topic: dlq, partitions: 1 },
    ]);
    const producer = await BatchProducer.connect(ctx.kafka);
    try {
      // As a Java producer writes it: a header with no value, alone and among repeated ones.
      const headers = { empty: null, repeated: [Buffer.from('a'), null], trace: Buffer.from('abc') } as unknown as Record<string, Buffer>;
      await producer.send([{ topic: source, messages: [{ key: 'k-1', value: 'v', headers }] }]);
      const [read] = await readToEnd(ctx.kafka, source);
      if (!read) throw new Error('the source record was not read back');
      expect({ ...read.headers }).toEqual({ empty: null, repeated: [Buffer.from('a'), null], trace: Buffer.from('abc') });

      await producer.send([{ topic: dlq, messages: [deadLetter({ topic: source, partition: 0, message: read }, { code: 'TEST_FAILURE', message: 'for the test' }, 'test', Date.now())] }]);
      const [copy] = await readToEnd(ctx.kafka, dlq);
      if (!copy) throw new Error('the dead-letter record was not read back');
      expect(copy.headers?.['empty']).toBeNull();
      expect(copy.headers?.['repeated']).toEqual([Buffer.from('a'), null]);

      const replay = replayRecordOf(copy);
      if (!replay) throw new Error('the dead letter names no source');
      await producer.send([{ topic: replay.topic, messages: [replay.message] }]);
      const records = await readTopic(ctx.kafka, source, 2);
      expect({ ...records[1]?.headers }).toEqual({ empty: null, repeated: [Buffer.from('a'), null], trace: Buffer.from('abc') });
    } finally {
      await producer.disconnect();
    }
  });
});
