/**
 * The record encoder that replaces kafkajs' (record-encoder.ts): a header without a value (null)
 * is written as the protocol's null bytes instead of throwing, and records read back as written.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord } from '@elephant/kafka';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => { readVarInt(): number; offset: number };

function roundTrip(fields: Parameters<typeof encodeRecord>[0]) {
  const bytes = (encodeRecord(fields) as unknown as { buffer: Buffer }).buffer;
  const decoder = new Decoder(bytes);
  const length = decoder.readVarInt();
  const start = decoder.offset;
  const record = decodeRecord(decoder as never, { firstOffset: '10', firstTimestamp: '1000' });
  return { length, bodyBytes: bytes.length - start, record };
}

describe('record encoder', () => {
  it('is the one kafkajs loads', () => {
    expect(require('kafkajs/src/protocol/recordBatch/record/v0/index.js')).toBe(encodeRecord);
  });

  it('writes headers without a value, alone or among repeated ones, and reads back what it wrote (regression: kafkajs threw on them)', () => {
    const { length, bodyBytes, record } = roundTrip({
      offsetDelta: 2,
      timestampDelta: 5,
      key: Buffer.from('k'),
      value: 'v',
      headers: { plain: Buffer.from('x'), empty: null, repeated: [Buffer.from('1'), null, Buffer.from('3')], text: 'é' },
    });
    expect(length).toBe(bodyBytes);
    expect(record).toMatchObject({ offset: '12', timestamp: '1005', key: Buffer.from('k'), value: Buffer.from('v') });
    expect({ ...(record['headers'] as object) }).toEqual({ plain: Buffer.from('x'), empty: null, repeated: [Buffer.from('1'), null, Buffer.from('3')], text: Buffer.from('é') });
  });

  it('writes a record without key, value or headers', () => {
    const { length, bodyBytes, record } = roundTrip({ key: null, value: null });
    expect(length).toBe(bodyBytes);
    expect(record).toMatchObject({ offset: '10', key: null, value: null });
    expect({ ...(record['headers'] as object) }).toEqual({});
  });
});
