import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32c } from '@elephant/kafka';

const require = createRequire(import.meta.url);
// kafkajs' byte-at-a-time loop, which the patched index module no longer uses.
const kafkajsLoop = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (buffer: Buffer) => number;

describe('CRC-32C of record batches', () => {
  it('has the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43); // 32 bytes of ones
  });

  it('agrees with kafkajs\' own on random input of every alignment and length', () => {
    for (let length = 0; length < 300; length += 1) {
      const data = randomBytes(length + 3).subarray(length % 4); // offsets 0-3 within a pooled buffer
      expect(crc32c(data), `${data.length} bytes`).toBe(kafkajsLoop(data) >>> 0);
    }
    const large = randomBytes(1 << 20);
    expect(crc32c(large)).toBe(kafkajsLoop(large) >>> 0);
  });

  it('is what kafkajs checksums record batches with', () => {
    expect(require('kafkajs/src/protocol/recordBatch/crc32C/index.js')).toBe(crc32c);
  });
});
