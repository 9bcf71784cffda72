/**
 * How CLI commands reach Kafka, Redis and the registry. A command is short-lived and run by a
 * person or a script: kafkajs' own log lines (one JSON line per failed attempt) are noise
 * there, and its default retries take ~15 s to give up. Commands get a kafkajs client that
 * logs nothing below LOG_LEVEL=debug and retries briefly; a connection failure becomes a
 * CliError UNAVAILABLE that says what to do.
 */
import { kafkaSecurityOf } from '@elephant/config';
import { isElephantError, redactUserInfo } from '@elephant/errors';
import { createKafka, type Kafka } from '@elephant/kafka';
import { createLogger, type Logger } from '@elephant/observability';
import type { CliConfig } from './config.ts';
import { CliError } from './errors.ts';

export const UNAVAILABLE_ADVICE = 'Run `elephant stack up`, or set KAFKA_BROKERS / SCHEMA_REGISTRY_URL / REDIS_URL to where the services run.';

/** The logger of one CLI command: JSON lines on stderr at LOG_LEVEL (default warn). */
export function commandLogger(config: Pick<CliConfig, 'LOG_LEVEL'>): Logger {
  return createLogger({ name: 'elephant', level: config.LOG_LEVEL, destination: process.stderr });
}

export interface CommandKafkaOptions {
  /** Bound on one connection attempt. @default 3000 */
  readonly connectionTimeoutMs?: number;
  /** Retries inside kafkajs of one request. @default 2 (about 1 s of backoff) */
  readonly retries?: number;
}

/**
 * The logger a CLI command hands to a client library (kafkajs, ioredis): silent unless
 * LOG_LEVEL is debug or trace, since a failure reaches the user as one CliError line anyway.
 */
export function clientLogger(config: Pick<CliConfig, 'LOG_LEVEL'>, logger: Logger): Logger {
  return config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace' ? logger : logger.child({}, { level: 'silent' });
}

/** A kafkajs client for a CLI command: quiet unless LOG_LEVEL is debug or trace, few retries. */
export function commandKafka(config: CliConfig, logger: Logger, options: CommandKafkaOptions = {}): Kafka {
  return createKafka({
    brokers: config.endpoints.kafkaBrokers.split(','),
    clientId: 'elephant-cli',
    logger: clientLogger(config, logger),
    security: kafkaSecurityOf(config),
    connectionTimeoutMs: options.connectionTimeoutMs ?? 3000,
    retries: options.retries ?? 2,
  });
}

const KAFKA_CONNECTION_ERRORS = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH']);
const UNAVAILABLE_CODES = new Set(['KAFKA_UNAVAILABLE', 'REDIS_UNAVAILABLE', 'REGISTRY_UNAVAILABLE']);

/** Which service a failure says is unreachable, or undefined for any other failure. Searches the causes kafkajs and Elephant wrap. */
export function unreachableService(error: unknown, depth = 0): 'Kafka' | 'Redis' | 'the Schema Registry' | 'a service' | undefined {
  if (typeof error !== 'object' || error === null || depth > 6) return undefined;
  if (isElephantError(error) && UNAVAILABLE_CODES.has(error.code)) return error.code === 'REDIS_UNAVAILABLE' ? 'Redis' : error.code === 'KAFKA_UNAVAILABLE' ? 'Kafka' : 'the Schema Registry';
  const { name, code, cause, originalError, errors } = error as { name?: unknown; code?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  if (typeof name === 'string' && KAFKA_CONNECTION_ERRORS.has(name)) return 'Kafka';
  for (const inner of [cause, originalError, ...(Array.isArray(errors) ? (errors as unknown[]) : [])]) {
    const found = unreachableService(inner, depth + 1);
    if (found) return found;
  }
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'a service';
  return undefined;
}

const TLS_FAILURE = /certificate|self[- ]signed|ssl|tls|handshake|wrong version number/i;

/**
 * What in a failure (or its causes) says Kafka refused the connection's security: the SASL
 * credentials, or the TLS handshake (an untrusted certificate, TLS against a plaintext
 * listener). Undefined for any other failure.
 */
export function kafkaSecurityFailure(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 6) return undefined;
  const { name, message, cause, originalError, errors } = error as { name?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  if (name === 'KafkaJSSASLAuthenticationError' && typeof message === 'string') return message;
  if (typeof name === 'string' && KAFKA_CONNECTION_ERRORS.has(name) && typeof message === 'string' && TLS_FAILURE.test(message)) return message;
  for (const inner of [cause, originalError, ...(Array.isArray(errors) ? (errors as unknown[]) : [])]) {
    const found = kafkaSecurityFailure(inner, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The CliError for a connection failure: KAFKA_SECURITY (exit 78) when Kafka refused the TLS
 * or SASL settings, UNAVAILABLE (naming the endpoints tried) when a service cannot be reached,
 * else the error itself.
 */
export function explainConnectionFailure(error: unknown, config: CliConfig): unknown {
  if (error instanceof CliError) return error;
  const refused = kafkaSecurityFailure(error);
  if (refused !== undefined) {
    return new CliError('KAFKA_SECURITY', `Kafka refused the connection (KAFKA_BROKERS=${config.endpoints.kafkaBrokers}): ${refused.replace(/\.+$/, '')}. Check KAFKA_SSL, KAFKA_SSL_CA_FILE and the KAFKA_SASL_* settings (docs/operations.md, "A secured Kafka cluster").`, { cause: error });
  }
  const service = unreachableService(error);
  if (service === undefined) return error;
  const where = service === 'Kafka' ? `KAFKA_BROKERS=${config.endpoints.kafkaBrokers}` : service === 'Redis' ? `REDIS_URL=${redactUserInfo(config.endpoints.redisUrl)}` : service === 'the Schema Registry' ? `SCHEMA_REGISTRY_URL=${redactUserInfo(config.endpoints.schemaRegistryUrl)}` : `KAFKA_BROKERS=${config.endpoints.kafkaBrokers}, REDIS_URL=${redactUserInfo(config.endpoints.redisUrl)}`;
  const detail = (error instanceof Error ? error.message : String(error)).replace(/\.+$/, '');
  return new CliError('UNAVAILABLE', `Cannot reach ${service} (${where}): ${detail}. ${UNAVAILABLE_ADVICE}`, { cause: error, retryable: true });
}
