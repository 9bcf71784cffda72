import { ElephantError, type ElephantErrorOptions } from '@elephant/errors';

export const REGISTRY_ERROR_CODES = [
  /** The registry could not be reached or answered 5xx: retry. */
  'REGISTRY_UNAVAILABLE',
  /** A message names a schema id the registry does not know. */
  'SCHEMA_NOT_FOUND',
  /**
   * A message names a schema this client cannot read: an Avro schema avsc cannot build (one
   * with references to other subjects' types, a default avsc refuses).
   */
  'SCHEMA_UNREADABLE',
  /** The registry refused a schema as incompatible with the subject's earlier versions. */
  'SCHEMA_INCOMPATIBLE',
  /** The registry refused a schema as invalid. */
  'SCHEMA_INVALID',
  /** Bytes that are not Confluent wire format (magic byte 0, 4-byte schema id, payload). */
  'WIRE_FORMAT_INVALID',
  /** A value that does not match the writer schema; `details.paths` names the bad fields. */
  'AVRO_VALUE_INVALID',
  /** A payload that does not decode with the schema its header names. */
  'AVRO_DECODE_FAILED',
] as const;
export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[number];

export class RegistryError extends ElephantError<RegistryErrorCode> {
  constructor(code: RegistryErrorCode, message: string, options: ElephantErrorOptions = {}) {
    super(code, message, { retryable: code === 'REGISTRY_UNAVAILABLE', ...options });
    this.name = 'RegistryError';
  }
}
