import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { filterAbortedRecords } from '@elephant/kafka';

const record = (offset: number, producerId: string, options: { abort?: boolean; commit?: boolean; inTransaction?: boolean } = {}) => ({
  offset: String(offset),
  key: options.abort ? Buffer.from([0, 0, 0, 0]) : options.commit ? Buffer.from([0, 0, 0, 1]) : Buffer.from(`k${offset}`),
  value: `${producerId}@${offset}`,
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

  it('is the filter kafkajs batches use once @elephant/kafka is loaded', () => {
    const require = createRequire(import.meta.url);
    const Batch = require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, data: object) => { messages: { value: string }[] };
    const batch = new Batch('t', '5', { partition: 0, highWatermark: '17', abortedTransactions: aborted, messages: messages.map((message) => ({ ...message, isControlRecord: message.key.length === 4 && message.key[0] === 0 })) });
    // kafkajs 2.2.4's own filter lets the aborted B@5 and B@6 through.
    expect(batch.messages.map((message) => message.value)).toEqual(['C@7', 'A@14', 'N@16']);
  });
});
