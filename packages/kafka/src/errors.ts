import { ElephantError } from '@elephant/errors';

export const KAFKA_ERROR_CODES = ['KAFKA_UNAVAILABLE', 'KAFKA_TOPIC_MISMATCH', 'KAFKA_TOPIC_MISSING', 'KAFKA_CONSUMER_CRASHED', 'KAFKA_HANDLER_FAILED', 'KAFKA_RECORD_REJECTED', 'KAFKA_REFUSED', 'KAFKA_MEMBERSHIP_FENCED'] as const;
export type KafkaErrorCode = (typeof KAFKA_ERROR_CODES)[number];

/**
 * Codes that mean the cluster does not fit the configuration, not that it is away: topics whose
 * partitions do not fit the design or that are missing, and what the broker refuses the
 * principal (KAFKA_REFUSED). Services exit 78 on them at start-up, as the CLI does.
 */
export const KAFKA_CONFIG_ERROR_CODES: readonly KafkaErrorCode[] = ['KAFKA_TOPIC_MISMATCH', 'KAFKA_TOPIC_MISSING', 'KAFKA_REFUSED'];

export class KafkaError extends ElephantError<KafkaErrorCode> {
  constructor(code: KafkaErrorCode, message: string, options: ConstructorParameters<typeof ElephantError>[2] = {}) {
    super(code, message, options);
    this.name = 'KafkaError';
  }
}

/**
 * Broker errors about the records themselves: the same records fail the same way every time.
 * INVALID_TIMESTAMP: a record's timestamp outside the topic's message.timestamp.before.max.ms /
 * after.max.ms (a dead letter replayed with its original time; a source clock far ahead).
 */
const RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'INVALID_TIMESTAMP']);

/**
 * The kafkajs protocol error type (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_RECORD,
 * INVALID_TIMESTAMP) behind a failed produce, or undefined for any other failure.
 */
export function recordRejection(error: unknown): string | undefined {
  return protocolErrorIn(error, RECORD_ERRORS);
}

/**
 * Broker errors about what this client is allowed or configured to do, not about the moment:
 * the same request fails the same way until an operator changes an ACL or a setting. Retried,
 * they kept a service ready while it produced nothing; they are fatal instead, so that the
 * process exits with the reason (KAFKA_REFUSED) and its restarts show it.
 */
const REFUSALS = new Set(['TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'INVALID_TRANSACTION_TIMEOUT']);

/** The kafkajs protocol error type behind a failure the broker will repeat until reconfigured (see REFUSALS), or undefined. */
export function refusal(error: unknown): string | undefined {
  return protocolErrorIn(error, REFUSALS);
}

/** What an operator can do about a refusal. */
export function refusalHint(type: string): string {
  return type === 'INVALID_TRANSACTION_TIMEOUT' ? 'the transaction timeout is above the broker\'s transaction.max.timeout.ms (15 minutes by default): lower it (the profile builder\'s TRANSACTION_TIMEOUT_MS) or raise the broker\'s' : 'grant the principal the ACL the broker names, or fix the client\'s credentials';
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
