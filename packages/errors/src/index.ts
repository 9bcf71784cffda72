/**
 * The one error type every Elephant package throws.
 *
 * Each error carries a machine-readable `code` and whether retrying the same work can
 * succeed (`retryable`). Callers branch on `code`, never on message text: a retryable error
 * is retried with backoff, a non-retryable one about input is dead-lettered, and a
 * non-retryable one about configuration stops the process.
 */
export interface ElephantErrorOptions {
  readonly retryable?: boolean;
  readonly cause?: unknown;
  /** Structured context (field names, offsets, ...) for logs and dead-letter headers. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class ElephantError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, options: ElephantErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ElephantError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, retryable: this.retryable, message: this.message, details: this.details };
  }
}

/** True when `error` is an ElephantError, optionally with one of the given codes. */
export function isElephantError<Code extends string>(
  error: unknown,
  ...codes: readonly Code[]
): error is ElephantError<Code> {
  if (!(error instanceof ElephantError)) return false;
  return codes.length === 0 || codes.some((code) => code === error.code);
}

/** Whether work that failed with `error` may succeed if tried again. Unknown errors are not. */
export function isRetryable(error: unknown): boolean {
  return error instanceof ElephantError && error.retryable;
}

/** A readable one-line description of anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof ElephantError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * `text` with the user info of every URL in it replaced by `***` (`redis://:pw@host` →
 * `redis://***@host`): everything between `://` and the last `@` before the next whitespace, as
 * a password may hold `/`, `#` or `@` itself. For messages, logs and output that name an
 * endpoint a credential may be written into (REDIS_URL, SCHEMA_REGISTRY_URL).
 */
export function redactUserInfo(text: string): string {
  return text.replace(/:\/\/\S*@/g, '://***@');
}
