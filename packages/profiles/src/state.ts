/**
 * The stored profile state: one JSON document per profile (Redis), compact and versioned by
 * `stateVersion`. It holds what the published records are derived from (provenance of each
 * trait, the tie-breakers reconciliation needs) and nothing derivable that could drift
 * (channelsUsed and preferredChannel are computed when records are built). The set of applied
 * event ids is not here: the builder keeps it next to the state.
 */
import type { Touchpoint } from '@elephant/channels';
import { z } from 'zod';
import { ProfileError } from './errors.ts';

/**
 * What applying a touchpoint reads: all of it but its free-form `properties`, which the profile
 * does not keep (so a consumer may decode touchpoints without them).
 */
export type AppliedTouchpoint = Omit<Touchpoint, 'properties'>;

/** The state format this build reads and writes. */
export const STATE_VERSION = 1;

/** A trait value with where it came from; reconciliation compares these. */
export interface TraitValue {
  readonly value: string;
  /** The source system (touchpoint `source.system`). */
  readonly source: string;
  /** The source's trust, 0-100 (touchpoint `source.trust`). */
  readonly trust: number;
  readonly eventTime: number;
  readonly eventId: string;
}

/** The winning statement for one consent purpose. */
export interface ConsentValue {
  readonly granted: boolean;
  readonly statedAt: number;
  readonly source: string;
  readonly eventId: string;
}

export interface IdentityEntry {
  readonly type: string;
  readonly value: string;
  /** Latest event time of a touchpoint that carried it. */
  readonly lastSeen: number;
}

export interface ChannelStats {
  readonly events: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
}

export interface ProductEntry {
  readonly productId: string;
  readonly lastPurchasedAt: number;
}

export interface ContentEntry {
  readonly contentId: string;
  readonly channel: string;
  readonly lastAt: number;
}

export interface EmailState {
  readonly delivered: number;
  readonly opens: number;
  readonly clicks: number;
  readonly bounces: number;
  readonly unsubscribed: boolean;
  readonly subscriptionChangedAt: number | null;
  readonly lastEngagedAt: number | null;
}

export interface SupportState {
  readonly contacts: number;
  readonly lastContactAt: number | null;
  readonly lastSatisfactionScore: number | null;
  readonly lastSatisfactionAt: number | null;
  /** Tie-breaker between two scored contacts at the same time (the greater event id wins). */
  readonly lastSatisfactionEventId: string | null;
}

export interface LoyaltyState {
  readonly couponsRedeemed: number;
  readonly pointsDelta: number;
}

/** Computed traits as stored; docs/profiles.md defines each field. */
export interface ComputedState {
  readonly eventsCount: number;
  readonly firstSeen: number | null;
  readonly lastSeen: number | null;
  readonly channels: Readonly<Record<string, ChannelStats>>;
  readonly lifetimeValue: Readonly<Record<string, number>>;
  readonly ordersCount: number;
  readonly returnsCount: number;
  readonly firstOrderAt: number | null;
  readonly lastOrderAt: number | null;
  /** Sorted latest purchase first, then by productId; bounded by `maxProducts`. */
  readonly products: readonly ProductEntry[];
  readonly contentEvents: number;
  /** Sorted latest first, then by channel and contentId; bounded by `maxContent`. */
  readonly content: readonly ContentEntry[];
  readonly email: EmailState;
  readonly support: SupportState;
  readonly loyalty: LoyaltyState;
  readonly journeyStage: string | null;
}

/** One profile, as the builder stores it. JSON-serializable; every function returns a new object. */
export interface ProfileState {
  readonly stateVersion: typeof STATE_VERSION;
  readonly profileId: string;
  readonly tenant: string;
  /** 0 for a profile nothing was applied to; +1 per applied touchpoint and per merge. */
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Sorted by type, then value; bounded by `maxIdentities` (the most recently seen kept). */
  readonly identities: readonly IdentityEntry[];
  /** Keyed by trait field: email, phone, firstName, lastName, company, address.<part>, birthDate, gender, preferences.<key>. */
  readonly traits: Readonly<Record<string, TraitValue>>;
  /** Keyed by normalized purpose. */
  readonly consent: Readonly<Record<string, ConsentValue>>;
  readonly computed: ComputedState;
  /** Profile ids folded into this one (directly or through an absorbed profile), sorted. */
  readonly mergedFrom: readonly string[];
}

/** Bounds and naming choices shared by applyTouchpoint and foldMerge; pass the same to both. */
export interface ProfileOptions {
  /** Identities kept per profile (the most recently seen). @default 100 */
  readonly maxIdentities?: number | undefined;
  /** Products kept in computed.products (the most recently bought). @default 200 */
  readonly maxProducts?: number | undefined;
  /** Entries kept in computed.content (the most recently consumed). @default 100 */
  readonly maxContent?: number | undefined;
  /**
   * Consent purpose aliases, applied after normalization (lower case, separators as `_`),
   * e.g. `{ marketing_email: 'email_marketing', advertising: 'ads' }`.
   * @default {}
   */
  readonly purposeAliases?: Readonly<Record<string, string>> | undefined;
}

export interface ResolvedOptions {
  readonly maxIdentities: number;
  readonly maxProducts: number;
  readonly maxContent: number;
  readonly purposeAliases: Readonly<Record<string, string>>;
}

export const DEFAULT_MAX_IDENTITIES = 100;
export const DEFAULT_MAX_PRODUCTS = 200;
export const DEFAULT_MAX_CONTENT = 100;

function bound(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new ProfileError('INVALID_OPTIONS', `${name} must be a positive integer, got ${String(value)}`, { details: { option: name } });
  return value;
}

export function resolveOptions(options: ProfileOptions = {}): ResolvedOptions {
  return {
    maxIdentities: bound('maxIdentities', options.maxIdentities, DEFAULT_MAX_IDENTITIES),
    maxProducts: bound('maxProducts', options.maxProducts, DEFAULT_MAX_PRODUCTS),
    maxContent: bound('maxContent', options.maxContent, DEFAULT_MAX_CONTENT),
    purposeAliases: options.purposeAliases ?? {},
  };
}

/** A fresh profile: version 0, nothing applied. */
export function emptyProfile(profileId: string, tenant: string, now: number): ProfileState {
  return {
    stateVersion: STATE_VERSION,
    profileId,
    tenant,
    version: 0,
    createdAt: now,
    updatedAt: now,
    identities: [],
    traits: {},
    consent: {},
    computed: emptyComputed(),
    mergedFrom: [],
  };
}

export function emptyComputed(): ComputedState {
  return {
    eventsCount: 0,
    firstSeen: null,
    lastSeen: null,
    channels: {},
    lifetimeValue: {},
    ordersCount: 0,
    returnsCount: 0,
    firstOrderAt: null,
    lastOrderAt: null,
    products: [],
    contentEvents: 0,
    content: [],
    email: { delivered: 0, opens: 0, clicks: 0, bounces: 0, unsubscribed: false, subscriptionChangedAt: null, lastEngagedAt: null },
    support: { contacts: 0, lastContactAt: null, lastSatisfactionScore: null, lastSatisfactionAt: null, lastSatisfactionEventId: null },
    loyalty: { couponsRedeemed: 0, pointsDelta: 0 },
    journeyStage: null,
  };
}

/** Throws unless `state` is in the format this build reads (checked by every operation). */
export function assertStateVersion(state: ProfileState): void {
  if ((state.stateVersion as number) !== STATE_VERSION) {
    throw new ProfileError('UNSUPPORTED_STATE_VERSION', `Profile ${state.profileId} has stateVersion ${String(state.stateVersion)}; this build reads ${STATE_VERSION}`, {
      details: { profileId: state.profileId, stateVersion: state.stateVersion },
    });
  }
}

const count = z.number().int().nonnegative();
const time = z.number().int();
const nullableTime = time.nullable();

const stateSchema = z.object({
  stateVersion: z.literal(STATE_VERSION),
  profileId: z.string().min(1),
  tenant: z.string().min(1),
  version: count,
  createdAt: time,
  updatedAt: time,
  identities: z.array(z.object({ type: z.string(), value: z.string(), lastSeen: time })),
  traits: z.record(z.string(), z.object({ value: z.string(), source: z.string(), trust: z.number().int(), eventTime: time, eventId: z.string() })),
  consent: z.record(z.string(), z.object({ granted: z.boolean(), statedAt: time, source: z.string(), eventId: z.string() })),
  computed: z.object({
    eventsCount: count,
    firstSeen: nullableTime,
    lastSeen: nullableTime,
    channels: z.record(z.string(), z.object({ events: count, firstSeen: time, lastSeen: time })),
    lifetimeValue: z.record(z.string(), z.number().int()),
    ordersCount: count,
    returnsCount: count,
    firstOrderAt: nullableTime,
    lastOrderAt: nullableTime,
    products: z.array(z.object({ productId: z.string(), lastPurchasedAt: time })),
    contentEvents: count,
    content: z.array(z.object({ contentId: z.string(), channel: z.string(), lastAt: time })),
    email: z.object({
      delivered: count,
      opens: count,
      clicks: count,
      bounces: count,
      unsubscribed: z.boolean(),
      subscriptionChangedAt: nullableTime,
      lastEngagedAt: nullableTime,
    }),
    support: z.object({
      contacts: count,
      lastContactAt: nullableTime,
      lastSatisfactionScore: z.number().int().nullable(),
      lastSatisfactionAt: nullableTime,
      lastSatisfactionEventId: z.string().nullable(),
    }),
    loyalty: z.object({ couponsRedeemed: count, pointsDelta: z.number().int() }),
    journeyStage: z.string().nullable(),
  }),
  mergedFrom: z.array(z.string()),
});

/**
 * Checks a state read back from storage (after JSON.parse) and returns it typed.
 * @throws UNSUPPORTED_STATE_VERSION when it was written by a newer format; INVALID_STATE when it is not a profile state
 */
export function parseProfileState(value: unknown): ProfileState {
  if (typeof value === 'object' && value !== null && 'stateVersion' in value && value.stateVersion !== STATE_VERSION && typeof value.stateVersion === 'number') {
    throw new ProfileError('UNSUPPORTED_STATE_VERSION', `Stored profile state has stateVersion ${value.stateVersion}; this build reads ${STATE_VERSION}`, {
      details: { stateVersion: value.stateVersion },
    });
  }
  const result = stateSchema.safeParse(value);
  if (!result.success) {
    const paths = result.error.issues.map((issue) => issue.path.map(String).join('.') || '(root)');
    throw new ProfileError('INVALID_STATE', `Not a profile state: ${result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ')}`, {
      details: { paths },
    });
  }
  return result.data;
}
