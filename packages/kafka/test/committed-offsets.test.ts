/**
 * The bytes of OffsetFetch v7 (a flexible version, KIP-482), which kafkajs does not have:
 * compact strings and arrays (length + 1 as an unsigned varint) and tagged-field sections.
 */
import { describe, expect, it } from 'vitest';
import { decodeOffsetFetchV7, encodeOffsetFetchV7 } from '@elephant/kafka';

describe('OffsetFetch v7', () => {
  it('encodes request header v2\'s tagged fields, then the group, the topics with their partitions and require_stable', () => {
    const body = encodeOffsetFetchV7('g', new Map([['t', [0, 3]]]), true);
    expect([...body]).toEqual([
      0, // header tagged fields
      2, 0x67, // group_id "g"
      2, // one topic
      2, 0x74, // name "t"
      3, 0, 0, 0, 0, 0, 0, 0, 3, // two partitions
      0, // topic tagged fields
      1, // require_stable
      0, // tagged fields
    ]);
    expect(encodeOffsetFetchV7('g', new Map(), false).subarray(-2)).toEqual(Buffer.from([0, 0]));
  });

  it('encodes a name of 127 bytes or more with a multi-byte varint length', () => {
    const body = encodeOffsetFetchV7('x'.repeat(200), new Map(), true);
    expect([...body.subarray(1, 3)]).toEqual([201 & 0x7f | 0x80, 201 >> 7]);
    expect(body.subarray(3, 203).toString()).toBe('x'.repeat(200));
  });

  it('decodes a response, skipping tagged fields it does not know, with -1 for a partition never committed', () => {
    const partition = (index: number, offset: bigint, errorCode: number, metadata: Buffer) => {
      const head = Buffer.alloc(16);
      head.writeInt32BE(index, 0);
      head.writeBigInt64BE(offset, 4);
      head.writeInt32BE(-1, 12);
      const tail = Buffer.alloc(2);
      tail.writeInt16BE(errorCode);
      return Buffer.concat([head, metadata, tail, Buffer.from([0])]);
    };
    const payload = Buffer.concat([
      Buffer.from([1, 5, 2, 0xaa, 0xbb]), // header: one tagged field (tag 5, 2 bytes)
      Buffer.from([0, 0, 0, 7]), // throttle_time_ms
      Buffer.from([2, 4, 0x61, 0x62, 0x63]), // one topic "abc"
      Buffer.from([3]), // two partitions
      partition(0, 42n, 0, Buffer.from([3, 0x6d, 0x64])), // metadata "md"
      partition(1, -1n, 88, Buffer.from([0])), // null metadata, UNSTABLE_OFFSET_COMMIT
      Buffer.from([0]), // topic tagged fields
      Buffer.from([0, 0]), // error_code
      Buffer.from([0]),
    ]);
    expect(decodeOffsetFetchV7(payload)).toEqual({
      errorCode: 0,
      clientSideThrottleTime: 7,
      partitions: [
        { topic: 'abc', partition: 0, offset: 42n, errorCode: 0 },
        { topic: 'abc', partition: 1, offset: -1n, errorCode: 88 },
      ],
    });
  });

  it('refuses a response cut short, naming where', () => {
    expect(() => decodeOffsetFetchV7(Buffer.from([0, 0, 0, 0, 0, 2, 4, 0x61]))).toThrow(/ends after 8 bytes/);
  });
});
