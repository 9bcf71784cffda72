import { CHANNELS, DEFAULT_SOURCE_SYSTEMS, type Channel } from '@elephant/channels';
import { SimulatorError } from './errors.ts';

export interface SimulationOptions {
  /** Seed of the pseudo-random generator: the same seed and options give byte-identical output. */
  readonly seed: number;
  /** Number of people simulated. @default 1000 */
  readonly people?: number | undefined;
  /**
   * Tenant the normalizer deployment runs as (its TENANT); part of every eventId, so it must
   * match the deployment for the ground truth to line up. @default 'default' (the services' default)
   */
  readonly tenant?: string | undefined;
  /** The earliest possible event: epoch milliseconds or an ISO 8601 timestamp with offset. @default '2025-01-01T00:00:00Z' */
  readonly start?: number | string | undefined;
  /** Days over which the population's journeys spread. @default 90 */
  readonly spanDays?: number | undefined;
  /**
   * Share of account holders who live in a household of 2-4 sharing a tablet: one Segment
   * `context.device.id` for all of them, an anonymousId each. @default 0.25
   */
  readonly householdShare?: number | undefined;
  /** Share of messages that carry a placeholder value (test@test.com, 0000000000, unknown) next to real identifiers. @default 0.03 */
  readonly junkRate?: number | undefined;
  /**
   * Share of store purchases whose only identifiers are placeholders (the clerk typed
   * test@test.com and a dummy card for a cash customer). They adapt fine but no identity rule
   * can resolve them: they are listed in `unresolvable`, not in the truth. @default 0
   */
  readonly junkOnlyRate?: number | undefined;
  /** Share of raw messages delivered a second time, byte for byte (same eventIds). @default 0.02 */
  readonly duplicateRate?: number | undefined;
  /** Share of raw messages delivered 1 hour to 3 days after the event (offline tills, app flushes, webhook retries). @default 0.03 */
  readonly lateRate?: number | undefined;
  /** Share of e-mail addresses and phone numbers written in a formatting variant that normalizes to the same value. @default 0.35 */
  readonly variantRate?: number | undefined;
  /**
   * Share of additional malformed messages (each fails its adapter, or for SendGrid one bad
   * event in an otherwise good batch). They are listed in `malformed`, never in the truth. @default 0
   */
  readonly badRate?: number | undefined;
  /**
   * The normalizer deployment's DEFAULT_REGION (ISO 3166-1 alpha-2). The simulated people have
   * North American numbers: with `US` or `CA` they are also written in national formats
   * ((415) 555-0100); with another region or null every number carries its +1, so the
   * deployment still reads them all. @default 'US'
   */
  readonly defaultRegion?: string | null | undefined;
  /**
   * The normalizer deployment's DEFAULT_CURRENCY (ISO 4217). When set, some store tills in
   * that currency leave `currency` out of their transactions, as tills configured with a
   * house currency do; unset, every message states its currency. @default undefined
   */
  readonly defaultCurrency?: string | null | undefined;
  /**
   * Source system per channel as the normalizer deployments are configured
   * (NORMALIZER_SOURCE_SYSTEM); part of every eventId. Unset channels use the adapters'
   * defaults (segment, sendgrid, the ad platform, else the channel name). @default {}
   */
  readonly sourceSystems?: Partial<Record<Channel, string>> | undefined;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly seed: number;
  readonly people: number;
  readonly tenant: string;
  readonly start: number;
  readonly spanDays: number;
  readonly householdShare: number;
  readonly junkRate: number;
  readonly junkOnlyRate: number;
  readonly duplicateRate: number;
  readonly lateRate: number;
  readonly variantRate: number;
  readonly badRate: number;
  readonly defaultRegion: string | null;
  /** Whether phone numbers may be written without +1 (defaultRegion is US or CA). */
  readonly nationalPhones: boolean;
  readonly defaultCurrency: string | null;
  readonly sourceSystems: Readonly<Partial<Record<Channel, string>>>;
}

export const DEFAULT_START = Date.UTC(2025, 0, 1);

/** Validates every option at once (the error lists each bad one) and applies the defaults. */
export function resolveOptions(options: SimulationOptions): ResolvedOptions {
  const problems: string[] = [];
  const integer = (name: string, value: number | undefined, min: number, max: number): void => {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) problems.push(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  };
  const share = (name: string, value: number | undefined): void => {
    if (value !== undefined && !(value >= 0 && value <= 1)) problems.push(`${name} must be a share between 0 and 1 (got ${String(value)})`);
  };
  // Required (docs/simulator.md): a missing seed was not checked and ran as 0 (before 2026-12-07).
  if ((options.seed as number | undefined) === undefined) problems.push(`seed is required (an integer from ${-(2 ** 31)} to ${2 ** 32 - 1})`);
  else integer('seed', options.seed, -(2 ** 31), 2 ** 32 - 1);
  integer('people', options.people, 0, 10_000_000);
  integer('spanDays', options.spanDays, 30, 3650);
  share('householdShare', options.householdShare);
  share('junkRate', options.junkRate);
  share('junkOnlyRate', options.junkOnlyRate);
  share('duplicateRate', options.duplicateRate);
  share('lateRate', options.lateRate);
  share('variantRate', options.variantRate);
  share('badRate', options.badRate);
  if (options.tenant !== undefined && options.tenant.trim() === '') problems.push('tenant must not be empty');
  let start = DEFAULT_START;
  if (typeof options.start === 'number') {
    if (!Number.isSafeInteger(options.start) || options.start < 1e11) problems.push(`start must be epoch milliseconds (got ${options.start})`);
    else start = options.start;
  } else if (typeof options.start === 'string') {
    const parsed = /(Z|[+-]\d\d:?\d\d)$/i.test(options.start) ? Date.parse(options.start) : Number.NaN;
    if (Number.isNaN(parsed)) problems.push(`start must be an ISO 8601 timestamp with offset, e.g. 2025-01-01T00:00:00Z (got ${JSON.stringify(options.start)})`);
    else start = parsed;
  }
  if (options.defaultRegion !== undefined && options.defaultRegion !== null && !/^[A-Z]{2}$/.test(options.defaultRegion)) {
    problems.push(`defaultRegion must be an ISO 3166-1 alpha-2 code like US, or null (got ${JSON.stringify(options.defaultRegion)})`);
  }
  if (options.defaultCurrency !== undefined && options.defaultCurrency !== null && !/^[A-Z]{3}$/.test(options.defaultCurrency)) {
    problems.push(`defaultCurrency must be an ISO 4217 code like USD, or null (got ${JSON.stringify(options.defaultCurrency)})`);
  }
  for (const [channel, system] of Object.entries(options.sourceSystems ?? {})) {
    if (!(CHANNELS as readonly string[]).includes(channel)) problems.push(`sourceSystems.${channel}: not a channel (${CHANNELS.join(', ')})`);
    else if (typeof system !== 'string' || system.trim() === '') problems.push(`sourceSystems.${channel}: must be a non-empty string`);
  }
  const defaultRegion = options.defaultRegion === undefined ? 'US' : options.defaultRegion;
  if (problems.length > 0) throw new SimulatorError('INVALID_OPTIONS', `Invalid simulation options: ${problems.join('; ')}`, { details: { problems } });
  return {
    seed: options.seed,
    people: options.people ?? 1000,
    tenant: options.tenant ?? 'default',
    start,
    spanDays: options.spanDays ?? 90,
    householdShare: options.householdShare ?? 0.25,
    junkRate: options.junkRate ?? 0.03,
    junkOnlyRate: options.junkOnlyRate ?? 0,
    duplicateRate: options.duplicateRate ?? 0.02,
    lateRate: options.lateRate ?? 0.03,
    variantRate: options.variantRate ?? 0.35,
    badRate: options.badRate ?? 0,
    defaultRegion,
    nationalPhones: defaultRegion === 'US' || defaultRegion === 'CA',
    defaultCurrency: options.defaultCurrency ?? null,
    sourceSystems: { ...options.sourceSystems },
  };
}

/**
 * The source system the adapter will report for a message of `channel`: the deployment's
 * override, else the ad platform (ads), else the channel's default. Mirrors the adapters'
 * `systemFor`, because the eventId is derived from it.
 */
export function sourceSystemOf(options: ResolvedOptions, channel: Channel, platform?: string): string {
  return options.sourceSystems[channel] ?? (channel === 'ads' && platform !== undefined ? platform.toLowerCase() : DEFAULT_SOURCE_SYSTEMS[channel]);
}
