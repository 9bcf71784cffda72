import { ElephantError } from '@elephant/errors';

export const KAFKA_ERROR_CODES = ['KAFKA_UNAVAILABLE', 'KAFKA_TOPIC_MISMATCH', 'KAFKA_CONSUMER_CRASHED', 'KAFKA_HANDLER_FAILED', 'KAFKA_RECORD_REJECTED'] as const;
export type KafkaErrorCode = (typeof KAFKA_ERROR_CODES)[number];

export class KafkaError extends ElephantError<KafkaErrorCode> {
  constructor(code: KafkaErrorCode, message: string, options: ConstructorParameters<typeof ElephantError>[2] = {}) {
    super(code, message, options);
    this.name = 'KafkaError';
  }
}

/** Broker errors about the records themselves: the same records fail the same way every time. */
const RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

/**
 * The kafkajs protocol error type (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_RECORD)
 * behind a failed produce, or undefined for any other failure.
 */
export function recordRejection(error: unknown): string | undefined {
  return protocolErrorIn(error, RECORD_ERRORS);
}

/**
 * The first kafkajs protocol error type among `types` in `error` or its causes, or undefined.
 * kafkajs wraps the broker's error (retries exceeded, aggregate of partitions), so the causes
 * are searched.
 */
export function protocolErrorIn(error: unknown, types: ReadonlySet<string>, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined;
  const { type, cause, originalError, errors } = error as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  if (typeof type === 'string' && types.has(type)) return type;
  for (const inner of [cause, originalError, ...(Array.isArray(errors) ? (errors as unknown[]) : [])]) {
    const found = protocolErrorIn(inner, types, depth + 1);
    if (found) return found;
  }
  return undefined;
}
