import './read-committed.ts';
/**
 * The pieces of Kafka's flexible request versions (KIP-482) that kafkajs 2.2.4 lacks: compact
 * strings and arrays (length + 1 as an unsigned varint, 0 for null) and tagged-field sections,
 * for the requests this package writes itself (committed-offsets.ts: OffsetFetch v7;
 * txn-offset-commit.ts: TxnOffsetCommit v3). kafkajs writes request header v1; a flexible
 * request's header v2 is that plus a tagged-field section, which the body written here starts
 * with. kafkajs hands a response over after its correlation id, where response header v1's
 * tagged fields begin.
 */
import { kafkajsModule } from './internals.ts';

export function unsignedVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value >>> 0;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** COMPACT_NULLABLE_STRING (COMPACT_STRING when not null). */
export function compactString(value: string | null): Buffer {
  if (value === null) return Buffer.from([0]);
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([unsignedVarint(bytes.length + 1), bytes]);
}

/** A COMPACT_ARRAY's length prefix. */
export function compactArrayLength(count: number): Buffer {
  return unsignedVarint(count + 1);
}

export function int16(value: number): Buffer {
  const buffer = Buffer.allocUnsafe(2);
  buffer.writeInt16BE(value);
  return buffer;
}

export function int32(value: number): Buffer {
  const buffer = Buffer.allocUnsafe(4);
  buffer.writeInt32BE(value);
  return buffer;
}

export function int64(value: bigint): Buffer {
  const buffer = Buffer.allocUnsafe(8);
  buffer.writeBigInt64BE(value);
  return buffer;
}

/** An empty tagged-field section. */
export const NO_TAGGED_FIELDS: Buffer = Buffer.from([0]);

/** Reads a flexible response; `name` appears in its errors. */
export class FlexibleReader {
  #offset = 0;
  readonly #buffer: Buffer;
  readonly #name: string;

  constructor(buffer: Buffer, name: string) {
    this.#buffer = buffer;
    this.#name = name;
  }

  #need(bytes: number): void {
    if (this.#offset + bytes > this.#buffer.length) throw new Error(`${this.#name} response ends after ${this.#buffer.length} bytes, ${bytes} more expected at ${this.#offset}`);
  }

  unsignedVarint(): number {
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      this.#need(1);
      const byte = this.#buffer[this.#offset++] ?? 0;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new Error(`${this.#name} response has a varint longer than 5 bytes`);
  }

  int16(): number {
    this.#need(2);
    const value = this.#buffer.readInt16BE(this.#offset);
    this.#offset += 2;
    return value;
  }

  int32(): number {
    this.#need(4);
    const value = this.#buffer.readInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  int64(): bigint {
    this.#need(8);
    const value = this.#buffer.readBigInt64BE(this.#offset);
    this.#offset += 8;
    return value;
  }

  skip(bytes: number): void {
    this.#need(bytes);
    this.#offset += bytes;
  }

  /** A COMPACT_NULLABLE_STRING; null for the null string. */
  compactString(): string | null {
    const length = this.unsignedVarint() - 1;
    if (length < 0) return null;
    this.#need(length);
    const value = this.#buffer.toString('utf8', this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  /** A COMPACT_ARRAY's length (a null array as empty). */
  compactArrayLength(): number {
    return Math.max(0, this.unsignedVarint() - 1);
  }

  /** Skips a tagged-field section: none of its fields is one this package reads. */
  taggedFields(): void {
    const count = this.unsignedVarint();
    for (let field = 0; field < count; field += 1) {
      this.unsignedVarint();
      this.skip(this.unsignedVarint());
    }
  }
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
export const protocolError: (code: number) => Error & { type?: string } = kafkajsModule<ErrorFactory>('protocol/error.js').createErrorFromCode;

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
