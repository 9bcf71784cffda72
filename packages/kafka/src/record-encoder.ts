/**
 * kafkajs 2.2.4's record encoder (Produce v3+, record batch v2), with headers without a value.
 *
 * Kafka's record format lets a header have no value (length -1), and the Java client writes
 * such headers; kafkajs decodes them as null. Its encoder measures every header value with
 * Buffer.byteLength before it looks for null, and throws on one ("The "string" argument must be
 * of type string ... Received null"). A dead letter copies its record's headers: one record with
 * such a header failed its dead letter's send on every retry, and its partition stopped; its
 * replay failed the same way, reported as a broker outage. Here a null header value is
 * measured and written as the protocol's null bytes, as kafkajs' own header writer already does.
 *
 * Put in place of kafkajs' module before its produce request loads it (read-committed.ts imports
 * this module first, with the other replacements). packages/kafka/test/record-encoder.test.ts checks it
 * byte for byte against kafkajs' own on records it can encode.
 */
import './encoder.ts';
import { kafkajsModule, kafkajsModuleLoaded, replaceKafkajsModule } from './internals.ts';

const MODULE = 'protocol/recordBatch/record/v0/index.js';

type Bytes = Buffer | string | null | undefined;

interface ProtocolEncoder {
  writeVarInt(value: number): ProtocolEncoder;
  writeVarLong(value: unknown): ProtocolEncoder;
  writeInt8(value: number): ProtocolEncoder;
  writeVarIntBytes(value: Bytes): ProtocolEncoder;
  writeVarIntString(value: string): ProtocolEncoder;
}

interface EncoderClass {
  new (): ProtocolEncoder;
  sizeOfVarInt(value: number): number;
  sizeOfVarLong(value: unknown): number;
  sizeOfVarIntBytes(value: Bytes): number;
}

const Encoder = kafkajsModule<EncoderClass>('protocol/encoder.js');

export interface RecordFields {
  readonly offsetDelta?: number;
  readonly timestampDelta?: unknown;
  readonly key?: Bytes;
  readonly value?: Bytes;
  /** A name's value, or its values in order; null: a header without a value. */
  readonly headers?: Readonly<Record<string, Bytes | readonly Bytes[]>>;
}

/** One record's bytes: length, attributes, deltas, key, value and headers (each name once per value, arrays in order). */
export function encodeRecord({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordFields): ProtocolEncoder {
  const entries: { name: string; value: Bytes }[] = [];
  for (const name of Object.keys(headers)) {
    const header = headers[name];
    if (Array.isArray(header)) for (const item of header as readonly Bytes[]) entries.push({ name, value: item });
    else entries.push({ name, value: header as Bytes });
  }
  let size = 1 + Encoder.sizeOfVarLong(timestampDelta) + Encoder.sizeOfVarInt(offsetDelta) + Encoder.sizeOfVarIntBytes(key) + Encoder.sizeOfVarIntBytes(value) + Encoder.sizeOfVarInt(entries.length);
  for (const entry of entries) {
    const nameBytes = Buffer.byteLength(entry.name);
    size += Encoder.sizeOfVarInt(nameBytes) + nameBytes + Encoder.sizeOfVarIntBytes(entry.value);
  }
  const encoder = new Encoder().writeVarInt(size).writeInt8(0).writeVarLong(timestampDelta).writeVarInt(offsetDelta).writeVarIntBytes(key).writeVarIntBytes(value).writeVarInt(entries.length);
  for (const entry of entries) encoder.writeVarIntString(entry.name).writeVarIntBytes(entry.value);
  return encoder;
}

if (kafkajsModuleLoaded('protocol/requests/produce/v3/request.js')) {
  throw new Error(`kafkajs loaded its produce request before @elephant/kafka replaced ${MODULE}: import @elephant/kafka before kafkajs`);
}
replaceKafkajsModule(MODULE, encodeRecord);
