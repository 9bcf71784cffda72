import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { filterAbortedRecords } from '@elephant/kafka';

const record = (offset: number, producerId: string, options: { abort?: boolean; commit?: boolean; inTransaction?: boolean; key?: Buffer } = {}) => ({
  offset: String(offset),
  key: options.abort ? Buffer.from([0, 0, 0, 0]) : options.commit ? Buffer.from([0, 0, 0, 1]) : (options.key ?? Buffer.from(`k${offset}`)),
  value: `${producerId}@${offset}`,
  isControlRecord: options.abort === true || options.commit === true,
  batchContext: { producerId, inTransaction: options.inTransaction ?? true },
});

describe('read_committed filtering', () => {
  // Producer A's transaction (10-14) aborts after producer B's (5-12) began; the broker lists
  // aborted transactions by abort marker, so A comes first although B began earlier.
  const messages = [
    record(5, 'B'),
    record(6, 'B'),
    record(7, 'C'),
    record(8, 'C', { commit: true }),
    record(10, 'A'),
    record(11, 'A'),
    record(12, 'A', { abort: true }),
    record(13, 'B', { abort: true }),
    record(14, 'A'),
    record(15, 'A', { commit: true }),
    record(16, 'N', { inTransaction: false }),
  ];
  const aborted = [
    { producerId: 'A', firstOffset: '10' },
    { producerId: 'B', firstOffset: '5' },
  ];

  it('drops every record of an aborted transaction, whatever the order of the list', () => {
    const kept = filterAbortedRecords({ messages, abortedTransactions: aborted }).map((message) => message.value);
    expect(kept).toEqual(['C@7', 'C@8', 'A@12', 'B@13', 'A@14', 'A@15', 'N@16']);
  });

  it('regression (a data record keyed with the four bytes of an abort marker ended its producer\'s aborted transaction): takes only control records for markers', () => {
    const zeroKey = Buffer.from([0, 0, 0, 0]);
    const kept = filterAbortedRecords({
      messages: [record(20, 'Z'), record(21, 'Z', { key: zeroKey }), record(22, 'Z'), record(23, 'Z', { abort: true }), record(24, 'Y', { inTransaction: false })],
      abortedTransactions: [{ producerId: 'Z', firstOffset: '20' }],
    }).map((message) => message.value);
    expect(kept).toEqual(['Z@23', 'Y@24']);
  });

  it('is the filter kafkajs batches use once @elephant/kafka is loaded', () => {
    const require = createRequire(import.meta.url);
    const Batch = require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, data: object) => { messages: { value: string }[] };
    const batch = new Batch('t', '5', { partition: 0, highWatermark: '17', abortedTransactions: aborted, messages: messages.map((message) => ({ ...message, isControlRecord: message.key.length === 4 && message.key[0] === 0 })) });
    // kafkajs 2.2.4's own filter lets the aborted B@5 and B@6 through.
    expect(batch.messages.map((message) => message.value)).toEqual(['C@7', 'A@14', 'N@16']);
  });
});
