import { ConfigError } from '@elephant/config';
import { ElephantError, isElephantError, type ElephantErrorOptions } from '@elephant/errors';
import { KAFKA_CONFIG_ERROR_CODES } from '@elephant/kafka';

export const CLI_ERROR_CODES = ['USAGE', 'FILE_NOT_FOUND', 'INVALID_INPUT', 'DRAIN_TIMEOUT', 'NOT_FOUND', 'UNAVAILABLE', 'QUALITY', 'CANNOT_CREATE', 'KAFKA_SECURITY'] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** Exit codes scripts can rely on (docs/cli.md). */
export const EXIT_CODES: Readonly<Record<Exclude<CliErrorCode, 'KAFKA_SECURITY'> | 'OK' | 'FAILED' | 'CONFIG', number>> = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  DRAIN_TIMEOUT: 3,
  NOT_FOUND: 4,
  /** The demo's identity quality or counters missed their targets. */
  QUALITY: 5,
  FILE_NOT_FOUND: 66,
  INVALID_INPUT: 65,
  /** Kafka, the registry or Redis cannot be reached, or (`stack status`) a component is not ready (sysexits EX_UNAVAILABLE). */
  UNAVAILABLE: 69,
  /** An output file cannot be written (`simulate --out`, `--truth`, `--expectations`; sysexits EX_CANTCREAT). */
  CANNOT_CREATE: 73,
  CONFIG: 78,
};

/**
 * Codes of errors that mean bad configuration (exit 78, CONFIG): an invalid identity rules
 * file, topics whose partition counts do not fit the design, TLS or SASL settings Kafka refused,
 * and what Kafka refuses the principal (an ACL, a topic it will not create: KAFKA_REFUSED).
 */
export const CONFIG_ERROR_CODES: readonly string[] = ['RULES_INVALID', 'KAFKA_SECURITY', ...KAFKA_CONFIG_ERROR_CODES];

/** The exit code for an error a command ended with (docs/cli.md). */
export function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError || isElephantError(error, ...CONFIG_ERROR_CODES)) return EXIT_CODES.CONFIG;
  if (isElephantError(error) && error.code in EXIT_CODES) return EXIT_CODES[error.code as keyof typeof EXIT_CODES];
  return EXIT_CODES.FAILED;
}

export class CliError extends ElephantError<CliErrorCode> {
  constructor(code: CliErrorCode, message: string, options: ElephantErrorOptions = {}) {
    super(code, message, options);
    this.name = 'CliError';
  }
}
