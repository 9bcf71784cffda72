import { RegistryError } from './errors.ts';

/** Confluent wire format: magic byte 0, schema id as 4-byte big-endian int, Avro payload. */
export const MAGIC_BYTE = 0;
export const HEADER_LENGTH = 5;

/** Reads the schema id from a Confluent-framed message, or throws WIRE_FORMAT_INVALID. */
export function readSchemaId(buffer: Buffer): number {
  if (buffer.length < HEADER_LENGTH) {
    throw new RegistryError('WIRE_FORMAT_INVALID', `Message of ${buffer.length} bytes is shorter than the 5-byte Confluent header`);
  }
  if (buffer[0] !== MAGIC_BYTE) {
    throw new RegistryError('WIRE_FORMAT_INVALID', `Message starts with byte ${buffer[0]}, not the Confluent magic byte 0`);
  }
  return buffer.readUInt32BE(1);
}

/** Frames an Avro payload with its schema id. */
export function frame(schemaId: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
  writeHeader(out, schemaId);
  payload.copy(out, HEADER_LENGTH);
  return out;
}

/** Writes the magic byte and the schema id into the first HEADER_LENGTH bytes of `out`. */
export function writeHeader(out: Buffer, schemaId: number): void {
  out[0] = MAGIC_BYTE;
  out.writeUInt32BE(schemaId, 1);
}
