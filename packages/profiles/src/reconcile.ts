/**
 * Reconciliation rules: which of two statements of one trait field, or of one consent
 * purpose, the profile keeps. Both are total orders, so the outcome does not depend on the
 * order in which touchpoints or merged profiles arrive.
 */

import { compareStrings, getOwn } from './own.ts';
import type { AppliedTouchpoint, ConsentValue, TraitValue } from './state.ts';

/** Trait fields with a fixed name; preferences add `preferences.<key>`. */
export const TRAIT_FIELDS = [
  'email',
  'phone',
  'firstName',
  'lastName',
  'company',
  'address.street',
  'address.city',
  'address.postalCode',
  'address.region',
  'address.country',
  'birthDate',
  'gender',
] as const;
export type TraitField = (typeof TRAIT_FIELDS)[number];

export const PREFERENCE_PREFIX = 'preferences.';

/**
 * Whether `candidate` replaces `current`: higher trust wins; at equal trust the later event
 * time; at equal time the greater eventId (an arbitrary but deterministic tie-break). So a
 * late event with an older time never overwrites a value of equal or higher trust, while a
 * more trusted source wins even when it is older.
 */
export function traitWins(candidate: TraitValue, current: TraitValue | undefined): boolean {
  if (current === undefined) return true;
  if (candidate.trust !== current.trust) return candidate.trust > current.trust;
  if (candidate.eventTime !== current.eventTime) return candidate.eventTime > current.eventTime;
  return compareStrings(candidate.eventId, current.eventId) > 0;
}

/**
 * Whether `candidate` replaces `current` for one purpose: the later statedAt wins whatever the
 * source; at equal statedAt the greater eventId; within one event a denial beats a grant.
 */
export function consentWins(candidate: ConsentValue, current: ConsentValue | undefined): boolean {
  if (current === undefined) return true;
  if (candidate.statedAt !== current.statedAt) return candidate.statedAt > current.statedAt;
  const byEvent = compareStrings(candidate.eventId, current.eventId);
  if (byEvent !== 0) return byEvent > 0;
  return !candidate.granted && current.granted;
}

/**
 * A purpose as stored: trimmed, lower case, runs of spaces, dots, dashes and slashes as `_`,
 * no leading or trailing `_`, then `aliases` applied. Null when nothing is left.
 */
export function normalizePurpose(purpose: string, aliases: Readonly<Record<string, string>> = {}): string | null {
  const normalized = purpose
    .trim()
    .toLowerCase()
    .replace(/[\s.\-/]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (normalized === '') return null;
  const alias = getOwn(aliases, normalized);
  return alias === undefined ? normalized : (normalizePurpose(alias) ?? normalized);
}

/** The trait values a touchpoint states, as candidates; empty strings state nothing, a `__proto__` preference is dropped. */
export function traitCandidates(touchpoint: AppliedTouchpoint): [string, TraitValue][] {
  const traits = touchpoint.traits;
  if (traits === null) return [];
  const stated: [string, string | null][] = [
    ['email', traits.email],
    ['phone', traits.phone],
    ['firstName', traits.firstName],
    ['lastName', traits.lastName],
    ['company', traits.company],
    ['address.street', traits.address?.street ?? null],
    ['address.city', traits.address?.city ?? null],
    ['address.postalCode', traits.address?.postalCode ?? null],
    ['address.region', traits.address?.region ?? null],
    ['address.country', traits.address?.country ?? null],
    ['birthDate', traits.birthDate],
    ['gender', traits.gender],
    // A key named __proto__ does not survive a subscriber's JavaScript decoder (avsc assigns map
    // entries; @elephant/registry's reader keeps it, others' need not), so it is dropped.
    ...Object.entries(traits.preferences)
      .filter(([key]) => key !== '__proto__')
      .map(([key, value]): [string, string] => [`${PREFERENCE_PREFIX}${key}`, value]),
  ];
  const provenance = { source: touchpoint.source.system, trust: touchpoint.source.trust, eventTime: touchpoint.eventTime, eventId: touchpoint.eventId };
  return stated.filter((entry): entry is [string, string] => entry[1] !== null && entry[1] !== '').map(([field, value]) => [field, { value, ...provenance }]);
}

/** The consent statements a touchpoint carries, keyed by normalized purpose (the winner among duplicates). */
export function consentCandidates(touchpoint: AppliedTouchpoint, aliases: Readonly<Record<string, string>>): Map<string, ConsentValue> {
  const out = new Map<string, ConsentValue>();
  for (const statement of touchpoint.traits?.consent ?? []) {
    const purpose = normalizePurpose(statement.purpose, aliases);
    if (purpose === null) continue;
    const candidate: ConsentValue = { granted: statement.granted, statedAt: statement.statedAt, source: touchpoint.source.system, eventId: touchpoint.eventId };
    if (consentWins(candidate, out.get(purpose))) out.set(purpose, candidate);
  }
  return out;
}
