import { ElephantError, type ElephantErrorOptions } from '@elephant/errors';

export const CLI_ERROR_CODES = ['USAGE', 'FILE_NOT_FOUND', 'INVALID_INPUT', 'DRAIN_TIMEOUT', 'NOT_FOUND', 'UNAVAILABLE', 'QUALITY'] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** Exit codes scripts can rely on (docs/cli.md). */
export const EXIT_CODES: Readonly<Record<CliErrorCode | 'OK' | 'FAILED' | 'CONFIG', number>> = {
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
  CONFIG: 78,
};

export class CliError extends ElephantError<CliErrorCode> {
  constructor(code: CliErrorCode, message: string, options: ElephantErrorOptions = {}) {
    super(code, message, options);
    this.name = 'CliError';
  }
}
