import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { KafkaEncoder } from '@elephant/kafka';

interface Encoder {
  readonly buffer: Buffer;
  writeInt8(value: number): Encoder;
  writeInt32(value: number): Encoder;
  writeVarInt(value: number): Encoder;
  writeVarLong(value: number): Encoder;
  writeString(value: string): Encoder;
  writeVarIntBytes(value: Buffer | string | null): Encoder;
  writeEncoder(value: Encoder): Encoder;
}
type EncoderClass = new (initialSize?: number) => Encoder;

const require = createRequire(import.meta.url);

function writeAll(Class: EncoderClass, value: Buffer): Buffer {
  const inner = new Class().writeString('header-key').writeVarIntBytes(value);
  return new Class(4).writeInt8(0).writeVarLong(1234567).writeVarInt(-1).writeVarIntBytes('k-1').writeVarIntBytes(value).writeVarIntBytes(null).writeInt32(42).writeEncoder(inner).buffer;
}

describe('kafkajs protocol encoder', () => {
  it('is the one without zero-filled allocations, wherever kafkajs loads it', () => {
    expect(require('kafkajs/src/protocol/encoder.js')).toBe(KafkaEncoder);
    const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: { key: Buffer; value: Buffer }) => Encoder;
    expect(encodeRecord({ key: Buffer.from('k'), value: Buffer.alloc(2000, 7) })).toBeInstanceOf(KafkaEncoder as EncoderClass);
  });

  it('writes varints and varlongs as kafkajs\' own encoder does, across the whole range', () => {
    const Patched = KafkaEncoder as EncoderClass;
    const Original = Object.getPrototypeOf(Patched) as EncoderClass;
    const ints = [0, 1, -1, 63, -64, 64, 127, 128, 8191, 8192, -8193, 2 ** 20, 2 ** 28 - 1, 2 ** 28, 2 ** 30, -(2 ** 30), 2 ** 31 - 1, -(2 ** 31)];
    const longs = [...ints, 2 ** 35, -(2 ** 35) - 3, 2 ** 49 + 7, -(2 ** 49), 2 ** 50, -(2 ** 50), 2 ** 53 - 1, Date.now(), -Date.now()];
    const varints = (Class: EncoderClass): Buffer => ints.reduce((encoder, value) => encoder.writeVarInt(value), new Class(4)).buffer;
    const varlongs = (Class: EncoderClass): Buffer => longs.reduce((encoder, value) => encoder.writeVarLong(value), new Class(4)).buffer;
    expect(varints(Patched).equals(varints(Original))).toBe(true);
    expect(varlongs(Patched).equals(varlongs(Original))).toBe(true);
  });

  it('writes the same bytes as kafkajs\' own encoder, across buffer growth, whatever memory it reuses', () => {
    const Patched = KafkaEncoder as EncoderClass;
    const Original = Object.getPrototypeOf(Patched) as EncoderClass;
    for (const size of [0, 10, 511, 512, 600, 5000, 70000]) {
      // Leave garbage in Node's allocation pool, where small unfilled buffers come from.
      Buffer.allocUnsafe(2048).fill(0xab);
      const value = Buffer.alloc(size, size % 251);
      expect(writeAll(Patched, value).equals(writeAll(Original, value)), `value of ${size} bytes`).toBe(true);
    }
  });
});
