import { ElephantError, type ElephantErrorOptions } from '@elephant/errors';

/**
 * Why a raw message could not become touchpoints. All are about the input, so none is
 * retryable: the normalizer dead-letters the original bytes with the code and message.
 */
export const CHANNEL_ERROR_CODES = [
  /** The bytes are not UTF-8 JSON. */
  'INVALID_JSON',
  /** The message is larger than the configured maximum (`details.size`, `details.limit`). */
  'MESSAGE_TOO_LARGE',
  /** A field is missing or has the wrong type or format; the message and `details.path` name it. */
  'SCHEMA_VIOLATION',
  /** No identifier survived normalization, so the event cannot be attributed to anyone. */
  'MISSING_IDENTIFIER',
  /** The event's type is not one this channel's adapter maps (`details.eventType`). */
  'UNKNOWN_EVENT_TYPE',
  /**
   * What no typed field took would make `properties` larger than PROPERTY_LIMITS (keys,
   * key length, bytes; `details.reason` says which): dead-lettered whole rather than cut.
   */
  'PROPERTIES_TOO_LARGE',
  /**
   * The adapter itself failed on this input (a bug). Dead-lettered like bad input so it never
   * blocks a partition; replay the dead letters once the adapter is fixed.
   */
  'ADAPTER_FAILED',
] as const;
export type ChannelErrorCode = (typeof CHANNEL_ERROR_CODES)[number];

export class ChannelError extends ElephantError<ChannelErrorCode> {
  constructor(code: ChannelErrorCode, message: string, options: ElephantErrorOptions = {}) {
    super(code, message, { ...options, retryable: false });
    this.name = 'ChannelError';
  }
}

/** A SCHEMA_VIOLATION naming the field at `path` (dotted, with [i] for array elements). */
export function schemaViolation(path: string, problem: string): ChannelError {
  const where = path === '' ? '(message)' : path;
  return new ChannelError('SCHEMA_VIOLATION', `${where}: ${problem}`, { details: { path: where } });
}
