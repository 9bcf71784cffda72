import { ElephantError, type ElephantErrorOptions } from '@elephant/errors';

/** Why a profile operation refused its input. None is retryable: the input has to change. */
export const PROFILE_ERROR_CODES = [
  /** A touchpoint or an absorbed profile belongs to another tenant than the profile. */
  'TENANT_MISMATCH',
  /** A stored state is not a profile state this build understands (corrupt or foreign JSON); `details.paths` names the bad fields. */
  'INVALID_STATE',
  /** A stored state has a `stateVersion` this build cannot read (written by a newer build). */
  'UNSUPPORTED_STATE_VERSION',
  /** A merge that cannot be folded: a profile absorbing itself. */
  'INVALID_MERGE',
  /** A function was called with options it cannot work with; the message names the option. */
  'INVALID_OPTIONS',
] as const;
export type ProfileErrorCode = (typeof PROFILE_ERROR_CODES)[number];

export class ProfileError extends ElephantError<ProfileErrorCode> {
  constructor(code: ProfileErrorCode, message: string, options: ElephantErrorOptions = {}) {
    super(code, message, { ...options, retryable: false });
    this.name = 'ProfileError';
  }
}
