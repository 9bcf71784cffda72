/**
 * kafkajs 2.2.4's protocol encoder without zero-filled allocations, before kafkajs loads.
 *
 * kafkajs encodes every produced record into its own `Encoder`, which starts with a
 * zero-filled 512-byte buffer (`Buffer.alloc`) and, for a larger record, allocates a bigger
 * zero-filled one and copies; the record batch and the request grow the same way. Profiled in
 * the benchmark, that zero-filling and the garbage it makes were the largest single cost of
 * producing (a fifth of the busy time of a process producing Avro records of about a
 * kilobyte). The encoder only ever writes at its offset and hands out the written part, so
 * uninitialized memory (`Buffer.allocUnsafe`, pooled for small sizes) is never seen. Varints
 * are written in place too (kafkajs allocates an array and a Buffer for each).
 *
 * This module replaces the encoder class in Node's CommonJS cache under kafkajs' own module
 * path (read-committed.ts imports it first, before anything loads kafkajs).
 * packages/kafka/test/encoder.test.ts checks the replacement and its output.
 */
import { kafkajsModule, replaceKafkajsModule } from './internals.ts';

interface EncoderInstance {
  buf: Buffer;
  offset: number;
}

interface EncoderClass {
  new (initialSize?: number): EncoderInstance & { writeVarLong(value: unknown): unknown };
  nextPowerOfTwo(value: number): number;
  prototype: EncoderInstance & { ensureAvailable(length: number): void };
}

const Original = kafkajsModule<EncoderClass>('protocol/encoder.js');
if (typeof Original.nextPowerOfTwo !== 'function' || typeof Original.prototype.ensureAvailable !== 'function') throw new Error('kafkajs protocol encoder not as expected: the encoder patch needs kafkajs 2.2.x');

class UnfilledEncoder extends Original {
  constructor(initialSize = 511) {
    super(0); // allocates one byte
    this.buf = Buffer.allocUnsafe(Original.nextPowerOfTwo(initialSize));
    this.offset = 0;
  }

  ensureAvailable(length: number): void {
    if (this.offset + length <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Original.nextPowerOfTwo(this.offset + length));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  }

  /**
   * Unsigned LEB128 of a 32-bit value, written in place. kafkajs collects the bytes in an
   * array, makes a Buffer of it and copies that: two allocations for each of the half-dozen
   * varints of every record.
   */
  writeUVarInt(value: number): this {
    this.ensureAvailable(5);
    const buf = this.buf;
    let rest = value;
    while ((rest & 0xffffff80) !== 0) {
      buf[this.offset++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    buf[this.offset++] = rest & 0x7f;
    return this;
  }

  /**
   * Zig-zag LEB128 of a 64-bit value (a record's timestamp delta), in plain arithmetic when
   * it is a number of magnitude below 2^50; kafkajs computes it on BigInt-backed longs.
   */
  override writeVarLong(value: unknown): this {
    if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) >= 2 ** 50) return super.writeVarLong(value) as this;
    let rest = value >= 0 ? value * 2 : -value * 2 - 1;
    this.ensureAvailable(8);
    const buf = this.buf;
    while (rest >= 0x80) {
      buf[this.offset++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    buf[this.offset++] = rest;
    return this;
  }
}

replaceKafkajsModule('protocol/encoder.js', UnfilledEncoder);

/** The class kafkajs now uses (for the test). */
export const KafkaEncoder: unknown = UnfilledEncoder;
