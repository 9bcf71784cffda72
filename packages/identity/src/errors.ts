import { ElephantError, type ElephantErrorOptions } from '@elephant/errors';

/** Why an identity operation refused its input. None is retryable: the input has to change. */
export const IDENTITY_ERROR_CODES = [
  /** The identity-rules document is invalid; `issues` (and `details.paths`) name every bad path. */
  'RULES_INVALID',
  /** A query on a resolver that holds several tenants did not say which one. */
  'TENANT_REQUIRED',
  /** A function was called with options it cannot work with; the message names the option. */
  'INVALID_OPTIONS',
  /**
   * The graph found an event whose limits no identifier could satisfy: impossible with valid
   * rules and consistent counts, so it points at corrupt graph state. The event is dead-lettered.
   */
  'LIMITS_UNSATISFIABLE',
] as const;
export type IdentityErrorCode = (typeof IDENTITY_ERROR_CODES)[number];

export class IdentityError extends ElephantError<IdentityErrorCode> {
  constructor(code: IdentityErrorCode, message: string, options: ElephantErrorOptions = {}) {
    super(code, message, { ...options, retryable: false });
    this.name = 'IdentityError';
  }
}

/** One problem in a rules document: `path` is dotted (`tenants.acme.limits.email`), `[i]` for list entries. */
export interface RulesIssue {
  readonly path: string;
  readonly problem: string;
}

/** A RULES_INVALID error listing every problem of the document at once. */
export class IdentityRulesError extends IdentityError {
  readonly issues: readonly RulesIssue[];

  /** `source`: where the document came from (a file name), for the message. */
  constructor(issues: readonly RulesIssue[], source?: string) {
    const lines = issues.map((issue) => `  - ${issue.path}: ${issue.problem}`);
    super('RULES_INVALID', `Invalid identity rules${source === undefined ? '' : ` in ${source}`} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, {
      details: { paths: issues.map((issue) => issue.path), ...(source === undefined ? {} : { source }) },
    });
    this.name = 'IdentityRulesError';
    this.issues = issues;
  }
}
