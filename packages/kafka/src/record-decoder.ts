/**
 * kafkajs 2.2.4's record decoder with headers gathered into an object without a prototype,
 * put in place of its own before kafkajs' record batch decoder loads it (read-committed.ts
 * imports this module first, like the other replacements).
 *
 * kafkajs gathers a record's headers with `obj[key] === undefined ? value : [...]` on a plain
 * object, so a header named after a member of Object.prototype (`constructor`, `toString`,
 * `__proto__`) arrives as `[<that member>, <value>]`, or not at all for `__proto__` (the
 * assignment sets the object's prototype). A dead-letter copy of such a record then carried a
 * function as a header value, the producer's encoder threw on it, and the send was retried
 * forever: one record with such a header name stopped its partition (and every partition
 * dispatched with it). Here a header name is only ever the record's own: the same values
 * (a Buffer, or an array of them when a name repeats), for any name.
 * packages/kafka/test/record-decoder.test.ts checks it against kafkajs' own on ordinary records.
 */
import type { IHeaders } from 'kafkajs';
import { kafkajsModule, kafkajsModuleLoaded, replaceKafkajsModule } from './internals.ts';

interface LongValue {
  add(other: LongValue | number): LongValue;
  toString(): string;
}

interface LongClass {
  fromValue(value: unknown): LongValue;
}

interface ProtocolDecoder {
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): LongValue;
  readVarIntBytes(): Buffer | null;
  readVarIntArray<T>(decode: (decoder: ProtocolDecoder) => T): T[];
}

interface BatchContext {
  readonly firstOffset?: string;
  readonly firstTimestamp?: string;
  readonly magicByte?: number;
  readonly isControlBatch?: boolean;
  readonly timestampType?: number;
  readonly maxTimestamp?: string;
}

const MODULE = 'protocol/recordBatch/record/v0/decoder.js';
const LOG_APPEND_TIME = 1;

const Long = kafkajsModule<LongClass>('utils/long.js');
const decodeHeader = kafkajsModule<(decoder: ProtocolDecoder) => { key: string; value: Buffer | null }>('protocol/recordBatch/header/v0/decoder.js');

/** A record's headers: own properties only, a repeated name's values in an array in order. */
export function gatherHeaders(entries: readonly { key: string; value: Buffer | null }[]): IHeaders {
  const headers = Object.create(null) as Record<string, Buffer | Buffer[] | null>;
  for (const { key, value } of entries) {
    if (!Object.hasOwn(headers, key)) {
      headers[key] = value;
      continue;
    }
    const current = headers[key];
    headers[key] = Array.isArray(current) ? [...current, value as Buffer] : [current as Buffer, value as Buffer];
  }
  return headers as IHeaders;
}

/** Decodes one record of a v2 record batch (kafkajs' fields and their meaning). */
export function decodeRecord(decoder: ProtocolDecoder, batchContext: BatchContext = {}): Record<string, unknown> {
  const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  const attributes = decoder.readInt8();
  const timestampDelta = decoder.readVarLong();
  const timestamp = timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : Long.fromValue(firstTimestamp).add(timestampDelta).toString();
  const offsetDelta = decoder.readVarInt();
  const offset = Long.fromValue(firstOffset).add(offsetDelta).toString();
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headers = gatherHeaders(decoder.readVarIntArray(decodeHeader));
  return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord: isControlBatch, batchContext };
}

if (kafkajsModuleLoaded('protocol/recordBatch/v0/decoder.js')) {
  throw new Error(`kafkajs loaded its record batch decoder before @elephant/kafka replaced ${MODULE}: import @elephant/kafka before kafkajs`);
}
replaceKafkajsModule(MODULE, decodeRecord);
