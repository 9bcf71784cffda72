import './read-committed.ts';
import './coordinator-cache.ts';
import './fetch.ts';
import './request-queue.ts';
import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Logger } from '@elephant/observability';
import { kafkajsModule } from './internals.ts';

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
  /** @default 5000 */
  readonly connectionTimeoutMs?: number;
  /** @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Retries of one request inside kafkajs before it surfaces an error. @default 8 */
  readonly retries?: number;
  /** TLS and SASL for a secured cluster (kafkaSecurityOf in @elephant/config reads them from the environment). @default plaintext */
  readonly security?: KafkaClientSecurity;
}

/** kafkajs' `ssl` and `sasl` options, as Elephant configures them. */
export interface KafkaClientSecurity {
  readonly ssl?: boolean | ConnectionOptions;
  readonly sasl?: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string };
}

const LEVELS: Record<logLevel, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.NOTHING]: 'debug',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

interface ProtocolErrorCode {
  readonly message: string;
  readonly retriable: boolean;
}

/**
 * The messages of the broker error codes kafkajs retries by itself (not the leader, the
 * coordinator is loading, ...). kafkajs logs every such response at ERROR before retrying it,
 * which on a broker that just started or moved a leader reads like an outage; if the retries
 * run out, the caller gets the error and logs it itself.
 */
const RETRIABLE_PROTOCOL_MESSAGES: ReadonlySet<string> = new Set(
  kafkajsModule<{ errorCodes: readonly ProtocolErrorCode[] }>('protocol/error').errorCodes.filter((code) => code.retriable).map((code) => code.message),
);

/** The pino level of one kafkajs log entry. */
export function levelOf(level: logLevel, message: string, error: unknown): 'error' | 'warn' | 'info' | 'debug' {
  // A transaction begun while the coordinator still completes the previous one: expected
  // with back-to-back transactions and retried after a short backoff (transactions.ts).
  if ([message, typeof error === 'string' ? error : ''].some((text) => text.includes('another concurrent operation on the same transaction'))) return 'debug';
  if (message.startsWith('Response ') && typeof error === 'string' && RETRIABLE_PROTOCOL_MESSAGES.has(error)) return 'debug';
  // Services starting together create the same topics: the connection logs the CreateTopics
  // answer (TOPIC_ALREADY_EXISTS for each) at ERROR before the admin finds that every error is
  // that one and goes on. The line names no topic or error, so it cannot tell a real failure;
  // none is hidden though: the admin throws any other, and ensureTopics (the one caller) throws
  // it unless every topic exists by then, failing the start or the command that asked.
  if (message.startsWith('Response CreateTopics') && error === 'Topic creation errors') return 'debug';
  // The consumer restarts itself after a retriable crash (kafkajs logs the crash, then this).
  if (message.startsWith('Restarting the consumer')) return 'warn';
  const crash = /^Crash: KafkaJSProtocolError: (.*)$/.exec(message);
  if (crash?.[1] !== undefined && RETRIABLE_PROTOCOL_MESSAGES.has(crash[1])) return 'warn';
  return LEVELS[level];
}

/** kafkajs' SASL options: a union by mechanism. */
function saslOptions({ mechanism, username, password }: NonNullable<KafkaClientSecurity['sasl']>): SASLOptions {
  switch (mechanism) {
    case 'plain':
      return { mechanism, username, password };
    case 'scram-sha-256':
      return { mechanism, username, password };
    case 'scram-sha-512':
      return { mechanism, username, password };
  }
}

/** A kafkajs client whose log lines go to the service's pino logger. */
export function createKafka(options: KafkaClientOptions): Kafka {
  const log = options.logger.child({ component: 'kafkajs' });
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 5000,
    requestTimeout: options.requestTimeoutMs ?? 30000,
    retry: { initialRetryTime: 100, maxRetryTime: 5000, retries: options.retries ?? 8 },
    ...(options.security?.ssl !== undefined ? { ssl: options.security.ssl } : {}),
    ...(options.security?.sasl !== undefined ? { sasl: saslOptions(options.security.sasl) } : {}),
    // kafkajs logs at INFO on every join/leave; WARN keeps the signal.
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, label, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        // Elephant's contract is at-least-once with idempotent effects downstream; finite
        // retries are deliberate (a batch that cannot be sent is retried by the runner).
        if (message.startsWith('Limiting retries for the idempotent producer')) return;
        log[levelOf(level, message, rest['error'])]({ kafkajs: label, ...rest }, message);
      },
  };
  return new Kafka(config);
}
