import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Field paths that carry personal data. Logs are shipped to systems with weaker access
 * control than the profile store, so these values never reach them.
 */
export const REDACTED_PATHS: readonly string[] = [
  'email',
  'phone',
  'firstName',
  'lastName',
  'address',
  'ip',
  '*.email',
  '*.phone',
  '*.firstName',
  '*.lastName',
  '*.address',
  '*.ip',
  'identifier.value',
  'identifiers[*].value',
  '*.identifiers[*].value',
  'traits',
  '*.traits',
  'payload',
  '*.payload',
];

export interface LoggerConfig {
  /** Service or component name, logged as `service`. */
  readonly name: string;
  /** @default 'info' */
  readonly level?: LoggerOptions['level'];
  /** Where lines go; @default stdout. */
  readonly destination?: DestinationStream;
}

/** A JSON logger (one line per entry, to stdout) that redacts personal data fields. */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { service: config.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  return config.destination === undefined ? pino(options) : pino(options, config.destination);
}
