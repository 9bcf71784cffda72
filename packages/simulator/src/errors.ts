import { ElephantError, type ElephantErrorOptions } from '@elephant/errors';

/** Why the simulator refused to run. None is retryable: the options have to change. */
export const SIMULATOR_ERROR_CODES = [
  /** An option is out of range or of the wrong kind; the message names every bad option. */
  'INVALID_OPTIONS',
] as const;
export type SimulatorErrorCode = (typeof SIMULATOR_ERROR_CODES)[number];

export class SimulatorError extends ElephantError<SimulatorErrorCode> {
  constructor(code: SimulatorErrorCode, message: string, options: ElephantErrorOptions = {}) {
    super(code, message, { ...options, retryable: false });
    this.name = 'SimulatorError';
  }
}
