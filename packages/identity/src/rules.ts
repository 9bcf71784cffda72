/**
 * Identity rules: which identifier types are strongest, how many of each a profile may hold,
 * which values never reach the graph, when a value is a super-node, and which types may link
 * profiles at all. One versioned JSON document holds the defaults and per-tenant overrides
 * (config/identity-rules.json); docs/identity.md explains every rule and its default.
 */
import { z } from 'zod';
import { isIdentifierType, normalizeIdentifier, type NormalizeResult } from '@elephant/channels';
import { IdentityRulesError, type RulesIssue } from './errors.ts';

/** The rules-document versions this build reads. */
export const RULES_VERSION = 1;

/** Identifiers one event may take into resolution when its rules do not say (`maxIdentifiersPerEvent`). */
export const DEFAULT_MAX_IDENTIFIERS_PER_EVENT = 100;

/** The highest `maxIdentifiersPerEvent` a rules document may set. */
export const MAX_IDENTIFIERS_PER_EVENT_LIMIT = 1000;

/** Key of `blocked.values` / `blocked.patterns` that applies to every identifier type. */
export const ANY_TYPE = '*';

export interface BlockedRules {
  /**
   * Exact values per identifier type (`*`: every type). Each entry is normalized as an
   * identifier of its type is (`normalizeBlockedValue`: `+44 20 7946 0000` blocks the phone
   * +442079460000, `1234-5678` the card 12345678), then compared with the identifier's
   * normalized value, both trimmed and lower-cased, so `NULL`, `Null` and `null` are one entry.
   * The parser refuses an entry its type's normalizer refuses (it could never match).
   */
  readonly values: Readonly<Record<string, readonly string[]>>;
  /** Regular expressions (JavaScript syntax, matched case-insensitively) per type (`*`: every type). */
  readonly patterns: Readonly<Record<string, readonly string[]>>;
}

export interface QuarantineRules {
  /**
   * A value seen on more than this many distinct live profiles is a super-node and is
   * quarantined. Merged profiles count once (a merge makes them one profile), so the count
   * grows only when the value keeps appearing with profiles it could not be merged with.
   * @default 5
   */
  readonly maxProfilesPerValue: number;
  /**
   * A value that would take part in more than this many merges (absorbed profiles) within
   * `windowMs` of event time is quarantined before the merge that would exceed it.
   * @default 3
   */
  readonly maxMergesPerWindow: number;
  /** @default 86400000 (24 hours) */
  readonly windowMs: number;
}

/** The rules one tenant's events are resolved with: the defaults with the tenant's overrides applied. */
export interface TenantRules {
  /** Identifier types, strongest first. Unlisted types rank after all listed ones, by type name. */
  readonly priority: readonly string[];
  /** Most identifiers of a type one profile may hold. Types without an entry are unlimited. */
  readonly limits: Readonly<Record<string, number>>;
  readonly blocked: BlockedRules;
  readonly quarantine: QuarantineRules;
  /**
   * Types that never link: they are attached to the profile an event resolves to, and an
   * event with nothing else is attributed to their owner, but they never merge two profiles
   * nor bring another identifier into a profile. Default: hardware ids (`device_id`,
   * `advertising_id`), which a household shares.
   */
  readonly nonMergingTypes: readonly string[];
  /**
   * Most distinct, unblocked identifiers of one event that take part in resolution: the
   * strongest by priority are kept, the rest are left out (`too_many_identifiers`), like a
   * limit drop. No person carries hundreds of identifiers in one event; an event that does is
   * a broken integration, and resolving it whole would hold Redis for as long as its
   * identifiers squared (the limits step). At most MAX_IDENTIFIERS_PER_EVENT_LIMIT.
   * @default 100 (DEFAULT_MAX_IDENTIFIERS_PER_EVENT)
   */
  readonly maxIdentifiersPerEvent?: number | undefined;
}

/** What a tenant may override. Objects merge key by key; lists and numbers replace; a `null` limit removes the limit. */
export interface TenantRulesOverride {
  readonly priority?: readonly string[] | undefined;
  readonly limits?: Readonly<Record<string, number | null>> | undefined;
  readonly blocked?:
    | {
        readonly values?: Readonly<Record<string, readonly string[]>> | undefined;
        readonly patterns?: Readonly<Record<string, readonly string[]>> | undefined;
      }
    | undefined;
  readonly quarantine?: Partial<QuarantineRules> | undefined;
  readonly nonMergingTypes?: readonly string[] | undefined;
  readonly maxIdentifiersPerEvent?: number | undefined;
}

export interface RulesDocument {
  readonly version: typeof RULES_VERSION;
  readonly defaults: TenantRules;
  readonly tenants: Readonly<Record<string, TenantRulesOverride>>;
}

// ---------------------------------------------------------------------------------------------
// Schema

const TYPE_PROBLEM = 'must be a built-in identifier type or lower-case snake case (^[a-z][a-z0-9_]{0,63}$)';
const identifierType = z.string().refine(isIdentifierType, TYPE_PROBLEM);
const typeOrAny = z.string().refine((key) => key === ANY_TYPE || isIdentifierType(key), `${TYPE_PROBLEM}, or "*" for every type`);

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, 'i');
    return true;
  } catch {
    return false;
  }
}

const uniqueTypes = z.array(identifierType).superRefine((types, context) => {
  const seen = new Set<string>();
  types.forEach((type, index) => {
    if (seen.has(type)) context.addIssue({ code: 'custom', path: [index], message: `lists "${type}" twice` });
    seen.add(type);
  });
});
const limitValue = z.int('must be an integer').min(1, 'must be at least 1 (leave a type out, or set null in a tenant, for no limit)');
const blockedValue = z.string().trim().min(1, 'must not be empty').max(512, 'must be at most 512 characters');
const pattern = z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters').refine(compiles, 'is not a valid regular expression');
const maxIdentifiersPerEvent = z
  .int('must be an integer')
  .min(1, 'must be at least 1')
  .max(MAX_IDENTIFIERS_PER_EVENT_LIMIT, `must be at most ${MAX_IDENTIFIERS_PER_EVENT_LIMIT}`);
/** Why an entry of `blocked.values` cannot be an identifier of its type, in words (see normalizeBlockedValue). */
function notNormalized(type: string, entry: string, reason: string): string {
  const what = `${JSON.stringify(entry)} is not a valid ${type} (${reason})`;
  const hint =
    reason === 'phone_needs_region'
      ? ': write it in international format, with + and the country code (rules have no default region)'
      : ': identifiers are normalized before they are screened, so it could never match one';
  return `${what}${hint}`;
}

// Each entry normalized as its type's identifiers are; one that does not normalize is an error naming it.
const blockedValues = z.record(typeOrAny, z.array(blockedValue)).transform((record, context) => {
  const out: Record<string, string[]> = {};
  for (const [type, list] of Object.entries(record)) {
    out[type] = list.map((entry, index) => {
      const normalized = normalizeBlockedValue(type, entry);
      if (normalized.ok) return normalized.value;
      // An invalid type is reported by the key's own check.
      if (normalized.reason !== 'invalid_identifier_type') context.addIssue({ code: 'custom', path: [type, index], message: notNormalized(type, entry, normalized.reason) });
      return entry;
    });
  }
  return out;
});
const blockedPatterns = z.record(typeOrAny, z.array(pattern));
const quarantineFields = {
  maxProfilesPerValue: z.int('must be an integer').min(1, 'must be at least 1'),
  maxMergesPerWindow: z.int('must be an integer').min(1, 'must be at least 1'),
  windowMs: z.int('must be an integer').min(1, 'must be at least 1 (milliseconds)'),
};

const tenantRulesSchema = z.strictObject({
  priority: uniqueTypes,
  limits: z.record(identifierType, limitValue),
  blocked: z.strictObject({ values: blockedValues, patterns: blockedPatterns }),
  quarantine: z.strictObject(quarantineFields),
  nonMergingTypes: uniqueTypes,
  maxIdentifiersPerEvent: maxIdentifiersPerEvent.optional(),
});

const overrideSchema = z.strictObject({
  priority: uniqueTypes.optional(),
  limits: z.record(identifierType, limitValue.nullable()).optional(),
  blocked: z.strictObject({ values: blockedValues.optional(), patterns: blockedPatterns.optional() }).optional(),
  quarantine: z.strictObject(quarantineFields).partial().optional(),
  nonMergingTypes: uniqueTypes.optional(),
  maxIdentifiersPerEvent: maxIdentifiersPerEvent.optional(),
});

const documentSchema = z.strictObject({
  version: z.unknown().refine((version) => version === RULES_VERSION, `must be ${RULES_VERSION} (the rules-document version this build reads)`),
  defaults: tenantRulesSchema,
  tenants: z.record(z.string().min(1, 'tenant names must not be empty'), overrideSchema).default({}),
});

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const element of path) {
    if (typeof element === 'number') out += `[${element}]`;
    else {
      const name = String(element);
      out += /^[A-Za-z_$*][\w$-]*$/.test(name) ? `${out === '' ? '' : '.'}${name}` : `[${JSON.stringify(name)}]`;
    }
  }
  return out === '' ? '(document)' : out;
}

function toIssues(error: z.ZodError): RulesIssue[] {
  const issues: RulesIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ path: formatPath([...issue.path, key]), problem: 'is not a known setting' });
    } else if (issue.code === 'invalid_key') {
      issues.push({ path: formatPath(issue.path), problem: `key ${issue.issues.map((inner) => inner.message).join('; ')}` });
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      issues.push({ path: formatPath(issue.path), problem: 'is required' });
    } else {
      issues.push({ path: formatPath(issue.path), problem: issue.message });
    }
  }
  return issues;
}

/**
 * Parses and validates a rules document (the parsed JSON of config/identity-rules.json).
 * Unknown settings are errors, so a misspelt key does not silently fall back to a default.
 * @throws IdentityRulesError (code RULES_INVALID) naming every bad path, e.g. `tenants.acme.limits.email`.
 */
export function parseRulesDocument(json: unknown): RulesDocument {
  const result = documentSchema.safeParse(json);
  if (!result.success) throw new IdentityRulesError(toIssues(result.error));
  return { version: RULES_VERSION, defaults: result.data.defaults, tenants: result.data.tenants };
}

/** Validates one complete rule set (the shape of `defaults`). @throws IdentityRulesError */
export function parseTenantRules(json: unknown): TenantRules {
  const result = tenantRulesSchema.safeParse(json);
  if (!result.success) throw new IdentityRulesError(toIssues(result.error));
  return result.data;
}

function mergeRecord<Value>(base: Readonly<Record<string, Value>>, override: Readonly<Record<string, Value>> | undefined): Record<string, Value> {
  return { ...base, ...override };
}

/** Applies a tenant's overrides to a complete rule set (see TenantRulesOverride for the merge rule). */
export function applyOverrides(base: TenantRules, override: TenantRulesOverride): TenantRules {
  const limits: Record<string, number> = { ...base.limits };
  for (const [type, limit] of Object.entries(override.limits ?? {})) {
    if (limit === null) delete limits[type];
    else limits[type] = limit;
  }
  const maxIdentifiers = override.maxIdentifiersPerEvent ?? base.maxIdentifiersPerEvent;
  return {
    priority: override.priority ?? base.priority,
    limits,
    blocked: {
      values: mergeRecord(base.blocked.values, override.blocked?.values),
      patterns: mergeRecord(base.blocked.patterns, override.blocked?.patterns),
    },
    quarantine: { ...base.quarantine, ...stripUndefined(override.quarantine ?? {}) },
    nonMergingTypes: override.nonMergingTypes ?? base.nonMergingTypes,
    ...(maxIdentifiers === undefined ? {} : { maxIdentifiersPerEvent: maxIdentifiers }),
  };
}

function stripUndefined(quarantine: Partial<QuarantineRules>): Partial<QuarantineRules> {
  return Object.fromEntries(Object.entries(quarantine).filter(([, value]) => value !== undefined));
}

const resolvedCache = new WeakMap<RulesDocument, Map<string, TenantRules>>();

/**
 * The rules for `tenant`: the document's defaults deep-merged with the tenant's overrides (none:
 * the defaults). Memoized per document and tenant, so calling it per event costs a lookup and
 * the compiled form (screening's lookups) is built once.
 */
export function resolveRules(document: RulesDocument, tenant: string): TenantRules {
  let byTenant = resolvedCache.get(document);
  if (byTenant === undefined) {
    byTenant = new Map();
    resolvedCache.set(document, byTenant);
  }
  const cached = byTenant.get(tenant);
  if (cached !== undefined) return cached;
  const override = Object.hasOwn(document.tenants, tenant) ? document.tenants[tenant] : undefined;
  const rules = override === undefined ? document.defaults : applyOverrides(document.defaults, override);
  byTenant.set(tenant, rules);
  return rules;
}

// ---------------------------------------------------------------------------------------------
// Compiled form: lookups the hot path needs, built once per rules object.

/**
 * A `blocked.values` entry as the identifiers it is compared with are written: for an identifier
 * type, what `@elephant/channels`' `normalizeIdentifier` (the normalizer's, default options) makes
 * of it (e-mails lower-cased with an ASCII domain, phones in E.164 (so written with their
 * country code), loyalty cards without spaces and hyphens, `_sha256` values lower-cased hex,
 * everything trimmed); for `*` (every type), trimmed. Not lower-cased: matching folds case.
 */
export function normalizeBlockedValue(type: string, entry: string): NormalizeResult {
  if (type === ANY_TYPE) {
    const trimmed = entry.trim();
    return trimmed === '' ? { ok: false, reason: 'empty' } : { ok: true, value: trimmed };
  }
  return normalizeIdentifier(type, entry);
}

/** A blocked-value rule that matched, e.g. `email "test@test.com"` or `phone /^\+?(\d)\1{6,}$/`. */
export interface BlockMatch {
  readonly reason: 'blocked_value' | 'blocked_pattern';
  readonly rule: string;
}

export interface CompiledRules {
  readonly rules: TenantRules;
  /** Sort key of a type: listed types by position, unlisted after them. */
  rank(type: string): number;
  /** Per-type limit, undefined when unlimited. */
  limit(type: string): number | undefined;
  /** Whether identifiers of `type` may link profiles (not in nonMergingTypes). */
  links(type: string): boolean;
  /** The blocking rule `value` of `type` matches, if any. */
  blocked(type: string, value: string): BlockMatch | undefined;
  /** `maxIdentifiersPerEvent`, or its default. */
  readonly maxIdentifiers: number;
}

const compiledCache = new WeakMap<TenantRules, CompiledRules>();

/** The compiled form of `rules`, cached per rules object. */
export function compileRules(rules: TenantRules): CompiledRules {
  const cached = compiledCache.get(rules);
  if (cached !== undefined) return cached;
  const ranks = new Map(rules.priority.map((type, index) => [type, index]));
  const nonMerging = new Set(rules.nonMergingTypes);
  const values = new Map<string, Set<string>>();
  // Parsed rules hold normalized entries already; rules built in code may not, and an entry that
  // does not normalize (it can never match) stays as written.
  const fold = (type: string, entry: string): string => {
    const normalized = normalizeBlockedValue(type, entry);
    return (normalized.ok ? normalized.value : entry.trim()).toLowerCase();
  };
  for (const [type, list] of Object.entries(rules.blocked.values)) values.set(type, new Set(list.map((entry) => fold(type, entry))));
  const patterns = new Map<string, { source: string; regex: RegExp }[]>();
  for (const [type, list] of Object.entries(rules.blocked.patterns)) patterns.set(type, list.map((source) => ({ source, regex: new RegExp(source, 'i') })));
  const anyValues = values.get(ANY_TYPE);
  const anyPatterns = patterns.get(ANY_TYPE) ?? [];
  const compiled: CompiledRules = {
    rules,
    rank: (type) => ranks.get(type) ?? rules.priority.length,
    limit: (type) => (Object.hasOwn(rules.limits, type) ? rules.limits[type] : undefined),
    links: (type) => !nonMerging.has(type),
    maxIdentifiers: rules.maxIdentifiersPerEvent ?? DEFAULT_MAX_IDENTIFIERS_PER_EVENT,
    blocked(type, value) {
      const folded = value.trim().toLowerCase();
      if (values.get(type)?.has(folded) === true) return { reason: 'blocked_value', rule: `${type} ${JSON.stringify(folded)}` };
      if (anyValues?.has(folded) === true) return { reason: 'blocked_value', rule: `${ANY_TYPE} ${JSON.stringify(folded)}` };
      for (const [scope, list] of [[type, patterns.get(type) ?? []], [ANY_TYPE, anyPatterns]] as const) {
        for (const { source, regex } of list) if (regex.test(value)) return { reason: 'blocked_pattern', rule: `${scope} /${source}/` };
      }
      return undefined;
    },
  };
  compiledCache.set(rules, compiled);
  return compiled;
}

/** Compares two identifier types by priority: negative when `a` is stronger. */
export function compareTypes(rules: TenantRules, a: string, b: string): number {
  const compiled = compileRules(rules);
  const byRank = compiled.rank(a) - compiled.rank(b);
  if (byRank !== 0) return byRank;
  return a === b ? 0 : a < b ? -1 : 1;
}
