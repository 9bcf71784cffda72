import type { ChannelError } from './errors.ts';
import type { DroppedIdentifier, OmittedDrops } from './identifiers.ts';
import { isSupportedRegion, isIdentifierType } from './identifiers.ts';
import { isValidTrust } from './trust.ts';
import type { Touchpoint } from './generated/touchpoint.ts';

/** What an adapter needs besides the raw message. Built once per deployment, plus ingestTime per message. */
export interface AdapterContext {
  /** Tenant every touchpoint is attributed to. */
  readonly tenant: string;
  /**
   * Epoch ms the raw message was ingested; use the raw record's Kafka timestamp (not the
   * clock), so re-processing a message reproduces the same touchpoint.
   */
  readonly ingestTime: number;
  /** ISO 3166-1 alpha-2 region for phone numbers without a country prefix, e.g. `DE`. Without it such numbers are dropped. */
  readonly defaultRegion?: string | undefined;
  /** ISO 4217 currency for amounts whose message names none. Without it such messages are SCHEMA_VIOLATION. */
  readonly defaultCurrency?: string | undefined;
  /** Fold Gmail dots and +tags (see identifiers.ts). @default false */
  readonly foldGmailAddresses?: boolean | undefined;
  /** Source system name to report instead of the channel's default (DEFAULT_SOURCE_SYSTEMS); part of the eventId. */
  readonly sourceSystem?: string | undefined;
  /** Trust per source system, overriding DEFAULT_SOURCE_TRUST (integers 0-100). */
  readonly trust?: Readonly<Record<string, number>> | undefined;
  /** @default 1048576 (1 MiB) */
  readonly maxMessageBytes?: number | undefined;
  /** Identifier type of a Segment alias call's previousId. @default 'anonymous_id' (Segment's documented use) */
  readonly segmentPreviousIdType?: 'anonymous_id' | 'user_id' | undefined;
  /** SendGrid custom args (unique_args) that carry identifiers: arg name → identifier type, e.g. `{ uid: 'user_id' }`. */
  readonly sendgridIdentifierArgs?: Readonly<Record<string, string>> | undefined;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** One event of a batch message (SendGrid) that could not be adapted while others could. */
export interface RejectedEvent {
  /** Position in the batch. */
  readonly index: number;
  readonly error: ChannelError;
}

/**
 * An adapter's answer. `ok: false` means no touchpoint at all came out: dead-letter the
 * message. `ok: true` may still carry `rejected` events of a batch: the touchpoints are
 * good, and the message should also be dead-lettered with the rejected indexes and errors
 * (replaying it whole is safe, since eventIds are deterministic).
 */
export type AdapterResult =
  | {
      readonly ok: true;
      readonly touchpoints: readonly Touchpoint[];
      /** Identifiers removed by normalization from the emitted touchpoints (at most MAX_REPORTED_DROPS per touchpoint). */
      readonly dropped: readonly DroppedIdentifier[];
      /** Drops past MAX_REPORTED_DROPS of a touchpoint, only counted by type and reason. */
      readonly droppedOmitted: readonly OmittedDrops[];
      readonly rejected: readonly RejectedEvent[];
    }
  | { readonly ok: false; readonly error: ChannelError };

export type Adapter = (raw: unknown, context: AdapterContext) => AdapterResult;

/**
 * Problems with a context, one line each, for the service to report at start-up
 * (as a configuration error) instead of failing on every message.
 */
export function checkAdapterContext(context: AdapterContext): readonly string[] {
  const problems: string[] = [];
  if (context.tenant.trim() === '') problems.push('tenant: must not be empty');
  if (!Number.isSafeInteger(context.ingestTime) || context.ingestTime < 0) problems.push('ingestTime: must be epoch milliseconds');
  if (context.defaultRegion !== undefined && !isSupportedRegion(context.defaultRegion)) problems.push(`defaultRegion: ${context.defaultRegion} is not a supported region code`);
  if (context.defaultCurrency !== undefined && !/^[A-Z]{3}$/.test(context.defaultCurrency)) problems.push('defaultCurrency: must be an upper-case ISO 4217 code');
  if (context.sourceSystem?.trim() === '') problems.push('sourceSystem: must not be empty');
  for (const [system, trust] of Object.entries(context.trust ?? {})) {
    if (!isValidTrust(trust)) problems.push(`trust.${system}: must be an integer 0-100`);
  }
  if (context.maxMessageBytes !== undefined && (!Number.isSafeInteger(context.maxMessageBytes) || context.maxMessageBytes <= 0)) problems.push('maxMessageBytes: must be a positive integer');
  for (const [arg, type] of Object.entries(context.sendgridIdentifierArgs ?? {})) {
    if (!isIdentifierType(type)) problems.push(`sendgridIdentifierArgs.${arg}: ${type} is not an identifier type`);
  }
  return problems;
}
