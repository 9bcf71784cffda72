import './read-committed.ts';
/**
 * Requests of Kafka's flexible versions (KIP-482) that kafkajs 2.2.4 lacks, written with its
 * own protocol Encoder and Decoder (compact strings and arrays are their UVarInt variants; the
 * Encoder is this package's, encoder.ts) and sent over its connections (committed-offsets.ts:
 * OffsetFetch v7; txn-offset-commit.ts: TxnOffsetCommit v3). kafkajs writes request header v1;
 * a flexible request's header v2 is that plus a tagged-field section, which the body written
 * here starts with. kafkajs hands a response over after its correlation id, where response
 * header v1's tagged fields begin. kafkajs' Decoder#readTaggedFields skips one byte too few per
 * field (it reads the size as a compact length), so tagged fields are skipped here.
 */
import { kafkajsModule } from './internals.ts';

/** What the requests here use of kafkajs' Encoder. */
export interface FlexibleEncoder {
  readonly buf: Buffer;
  readonly buffer: Buffer;
  writeInt8(value: number): this;
  writeInt16(value: number): this;
  writeInt32(value: number): this;
  writeInt64(value: bigint | string): this;
  writeUVarInt(value: number): this;
  /** COMPACT_NULLABLE_STRING. */
  writeUVarIntString(value: string | null): this;
}

/** What the responses here use of kafkajs' Decoder. */
export interface FlexibleDecoder {
  offset: number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): bigint;
  readUVarInt(): number;
  /** COMPACT_NULLABLE_STRING. */
  readUVarIntString(): string | null;
}

const Encoder = kafkajsModule<new () => FlexibleEncoder>('protocol/encoder.js');
const Decoder = kafkajsModule<new (buffer: Buffer) => FlexibleDecoder>('protocol/decoder.js');

/** A flexible request's body: request header v2's tagged fields, then what `write` writes. */
export function flexibleBody(write: (encoder: FlexibleEncoder) => void): Buffer {
  const encoder = new Encoder().writeUVarInt(0);
  write(encoder);
  return encoder.buffer;
}

/** An empty tagged-field section. */
export function noTaggedFields(encoder: FlexibleEncoder): FlexibleEncoder {
  return encoder.writeUVarInt(0);
}

/** A COMPACT_ARRAY's length prefix. */
export function writeCompactArrayLength(encoder: FlexibleEncoder, count: number): FlexibleEncoder {
  return encoder.writeUVarInt(count + 1);
}

/** A COMPACT_ARRAY's length (a null array as empty). */
export function readCompactArrayLength(decoder: FlexibleDecoder): number {
  return Math.max(0, decoder.readUVarInt() - 1);
}

/** Skips a tagged-field section: none of its fields is one this package reads. */
export function skipTaggedFields(decoder: FlexibleDecoder): void {
  for (let count = decoder.readUVarInt(); count > 0; count -= 1) {
    decoder.readUVarInt(); // tag
    const size = decoder.readUVarInt();
    decoder.offset += size;
  }
}

/**
 * Decodes a flexible response with `read`, after response header v1's tagged fields. A
 * response shorter than what `read` reads fails, naming `name` and its length.
 */
export function decodeFlexible<T>(payload: Buffer, name: string, read: (decoder: FlexibleDecoder) => T): T {
  const decoder = new Decoder(payload);
  const cut = (): Error => new Error(`${name} response ends after ${payload.length} bytes, more expected at ${decoder.offset}`);
  let result: T;
  try {
    skipTaggedFields(decoder);
    result = read(decoder);
  } catch (error) {
    if (error instanceof RangeError) throw Object.assign(cut(), { cause: error });
    throw error;
  }
  if (decoder.offset > payload.length) throw cut();
  return result;
}

/** A request as kafkajs' connection sends it; `encode` returns what its Encoder#writeEncoder takes. */
export interface RawRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly apiName: string;
  encode(): Promise<{ buf: Buffer; buffer: Buffer }>;
}

export interface RawResponse<T> {
  decode(payload: Buffer): Promise<T>;
  parse(decoded: T): Promise<T>;
}

/** What kafkajs' Broker offers for sending a request of one's own: its connection pool. */
export interface RawBroker {
  readonly versions?: Readonly<Record<number, { readonly maxVersion: number } | undefined>>;
  readonly connectionPool: { send<T>(protocolRequest: { request: RawRequest; response: RawResponse<T> }): Promise<T> };
}

/** Whether `broker` (connected: kafkajs asked its ApiVersions) takes `apiKey` at `version`. */
export function supports(broker: RawBroker, apiKey: number, version: number): boolean {
  return (broker.versions?.[apiKey]?.maxVersion ?? -1) >= version;
}

interface ErrorFactory {
  readonly createErrorFromCode: (this: void, code: number) => Error & { type?: string };
}

/** kafkajs' protocol error for a broker error code (a KafkaJSProtocolError with `type` and `retriable`), as its own responses throw. */
const protocolError: (code: number) => Error & { type?: string } = kafkajsModule<ErrorFactory>('protocol/error.js').createErrorFromCode;

/** A request of `body` for kafkajs' connection, whose response is decoded by `decode` and fails with the first error code `errorOf` finds. */
export function rawRequest<T>(apiKey: number, apiVersion: number, apiName: string, body: Buffer, decode: (payload: Buffer) => T, errorOf: (decoded: T) => number | undefined): { request: RawRequest; response: RawResponse<T> } {
  return {
    request: { apiKey, apiVersion, apiName, encode: () => Promise.resolve({ buf: body, buffer: body }) },
    response: {
      decode: (payload) => Promise.resolve(decode(payload)),
      parse: (decoded) => {
        const code = errorOf(decoded);
        return code === undefined ? Promise.resolve(decoded) : Promise.reject(protocolError(code));
      },
    },
  };
}
