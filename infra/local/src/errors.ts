import { ElephantError, type ElephantErrorOptions } from '@elephant/errors';

export const STACK_ERROR_CODES = ['STACK_TOOL_MISSING', 'STACK_PORT_IN_USE', 'STACK_DOWNLOAD_FAILED', 'STACK_START_FAILED', 'STACK_NOT_READY'] as const;
export type StackErrorCode = (typeof STACK_ERROR_CODES)[number];

export class StackError extends ElephantError<StackErrorCode> {
  constructor(code: StackErrorCode, message: string, options: ElephantErrorOptions = {}) {
    super(code, message, options);
    this.name = 'StackError';
  }
}
