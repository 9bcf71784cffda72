/** Applying one touchpoint to a profile. */
import { withTimesBoundedByIngest, type Identifier } from '@elephant/channels';
import { diffProfiles } from './changes.ts';
import { applyComputed } from './computed.ts';
import { ProfileError } from './errors.ts';
import { compareStrings, getOwn, isSorted, setOwn, sortedRecord } from './own.ts';
import { consentCandidates, consentWins, normalizePurpose, traitCandidates, traitWins } from './reconcile.ts';
import { assertStateVersion, resolveOptions, type AppliedTouchpoint, type ConsentValue, type IdentityEntry, type ProfileOptions, type ProfileState, type TraitValue } from './state.ts';
import type { FieldChange } from './generated/profile-update.ts';

export interface ApplyOptions extends ProfileOptions {
  /**
   * When the builder applies the touchpoint (epoch ms); the profile's updatedAt becomes the
   * later of it and the previous updatedAt. Pass a replay-stable time to keep replays identical.
   * @default touchpoint.ingestTime
   */
  readonly now?: number | undefined;
  /**
   * Identifiers identity resolution left out (blocked, over a limit, quarantined: the
   * ResolvedTouchpoint's excludedIdentifiers). They are not recorded as the profile's identities.
   * @default []
   */
  readonly excludedIdentifiers?: readonly Identifier[] | undefined;
}

export interface ProfileChange {
  readonly state: ProfileState;
  /** Fields whose value changed, sorted by path; empty when nothing changed. */
  readonly changes: readonly FieldChange[];
}

const identityKey = (type: string, value: string): string => `${type}\u0000${value}`;

/** Identities merged per (type, value) (latest lastSeen); the `max` most recently seen kept, sorted by type and value. */
export function mergeIdentities(lists: readonly (readonly IdentityEntry[])[], max: number): IdentityEntry[] {
  const [held, seen] = lists;
  if (lists.length === 2 && held !== undefined && seen !== undefined && held.length <= max) {
    const updated = seenAgain(held, seen);
    if (updated !== undefined) return updated;
  }
  const latest = new Map<string, IdentityEntry>();
  for (const entry of lists.flat()) {
    const key = identityKey(entry.type, entry.value);
    const seen = latest.get(key);
    if (seen === undefined || entry.lastSeen > seen.lastSeen) latest.set(key, { type: entry.type, value: entry.value, lastSeen: entry.lastSeen });
  }
  const kept = [...latest.values()]
    .sort((a, b) => b.lastSeen - a.lastSeen || compareStrings(a.type, b.type) || compareStrings(a.value, b.value))
    .slice(0, max);
  return kept.sort((a, b) => compareStrings(a.type, b.type) || compareStrings(a.value, b.value));
}

/**
 * The common case of applying a touchpoint: every identity it carries is held already. `held`
 * (a state's list: sorted by type and value, at most `max`) with the later lastSeen of each,
 * in its order, without sorting; undefined when something new must be merged (or `held` is
 * not in that order). Entries that did not change stay the same objects.
 */
function seenAgain(held: readonly IdentityEntry[], seen: readonly IdentityEntry[]): IdentityEntry[] | undefined {
  const order = (a: IdentityEntry, b: IdentityEntry): number => compareStrings(a.type, b.type) || compareStrings(a.value, b.value);
  for (let i = 1; i < held.length; i += 1) if (order(held[i - 1] as IdentityEntry, held[i] as IdentityEntry) >= 0) return undefined;
  let out: IdentityEntry[] | undefined;
  for (const entry of seen) {
    // Binary search of the sorted list: no key strings, no map per touchpoint.
    let low = 0;
    let high = held.length - 1;
    let at = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const found = order(held[middle] as IdentityEntry, entry);
      if (found === 0) {
        at = middle;
        break;
      }
      if (found < 0) low = middle + 1;
      else high = middle - 1;
    }
    if (at < 0) return undefined;
    const current = (out ?? held)[at] as IdentityEntry;
    if (entry.lastSeen > current.lastSeen) {
      out ??= held.slice();
      out[at] = { type: current.type, value: current.value, lastSeen: entry.lastSeen };
    }
  }
  return out ?? held.slice();
}

/** Trait records reconciled field by field. */
export function mergeTraits(records: readonly Readonly<Record<string, TraitValue>>[]): Record<string, TraitValue> {
  const out: Record<string, TraitValue> = {};
  for (const record of records) {
    for (const [field, candidate] of Object.entries(record)) if (traitWins(candidate, getOwn(out, field))) setOwn(out, field, candidate);
  }
  return sortedRecord(out);
}

/**
 * A consent record with the purposes `aliases` renames held under their new names (where both
 * names are held, the statement consentWins keeps), so that an alias configured after statements
 * were stored under the old name replaces that name instead of standing beside it. The same
 * object when no held purpose is renamed.
 */
export function renamePurposes(consent: Readonly<Record<string, ConsentValue>>, aliases: Readonly<Record<string, string>>): Readonly<Record<string, ConsentValue>> {
  const purposes = Object.keys(consent);
  if (!purposes.some((purpose) => normalizePurpose(purpose, aliases) !== purpose)) return consent;
  const out: Record<string, ConsentValue> = {};
  for (const purpose of purposes) {
    const value = getOwn(consent, purpose);
    const name = normalizePurpose(purpose, aliases) ?? purpose;
    if (value !== undefined && consentWins(value, getOwn(out, name))) setOwn(out, name, value);
  }
  return sortedRecord(out);
}

/** Consent records reconciled purpose by purpose. */
export function mergeConsent(records: readonly Readonly<Record<string, ConsentValue>>[]): Record<string, ConsentValue> {
  const out: Record<string, ConsentValue> = {};
  for (const record of records) {
    for (const [purpose, candidate] of Object.entries(record)) if (consentWins(candidate, getOwn(out, purpose))) setOwn(out, purpose, candidate);
  }
  return sortedRecord(out);
}

/**
 * Applies one touchpoint: identities, traits (reconciled per field), consent (per purpose),
 * computed traits. Returns the new state with `version + 1` and `changes` listing every field
 * whose value changed. Every touchpoint changes at least `computed.eventsCount`, so the version
 * always moves; the caller must apply each touchpoint once (the builder deduplicates by eventId).
 * Its eventTime and consents' statedAt count as at most its ingestTime (withTimesBoundedByIngest).
 * @throws TENANT_MISMATCH when the touchpoint belongs to another tenant; UNSUPPORTED_STATE_VERSION; INVALID_OPTIONS
 */
export function applyTouchpoint(state: ProfileState, reported: AppliedTouchpoint, options: ApplyOptions = {}): ProfileChange {
  assertStateVersion(state);
  // Its times as profiles order them: none after its ingestTime (a source clock set ahead
  // would otherwise win every later statement; @elephant/channels, clock.ts).
  const touchpoint = withTimesBoundedByIngest(reported);
  const resolved = resolveOptions(options);
  if (touchpoint.tenant !== state.tenant) {
    throw new ProfileError('TENANT_MISMATCH', `Touchpoint ${touchpoint.eventId} of tenant ${touchpoint.tenant} cannot be applied to profile ${state.profileId} of tenant ${state.tenant}`, {
      details: { profileId: state.profileId, eventId: touchpoint.eventId },
    });
  }

  const excluded = new Set((options.excludedIdentifiers ?? []).map((identifier) => identityKey(identifier.type, identifier.value)));
  const seen = touchpoint.identifiers
    .filter((identifier) => !excluded.has(identityKey(identifier.type, identifier.value)))
    .map((identifier) => ({ type: identifier.type, value: identifier.value, lastSeen: touchpoint.eventTime }));

  // Most touchpoints state no trait and no consent: the state's records (sorted already) are
  // kept as they are, the same objects, which diffProfiles then skips.
  const traitStatements = traitCandidates(touchpoint);
  const consentStatements = consentCandidates(touchpoint, resolved.purposeAliases);
  const traits = traitStatements.length === 0 && isSorted(state.traits) ? state.traits : mergeTraits([state.traits, Object.fromEntries(traitStatements)]);
  // Purposes held under a name an alias has since renamed move to the new name.
  const held = Object.keys(resolved.purposeAliases).length === 0 ? state.consent : renamePurposes(state.consent, resolved.purposeAliases);
  const consent = consentStatements.size === 0 && held === state.consent && isSorted(state.consent) ? state.consent : mergeConsent([held, Object.fromEntries(consentStatements)]);

  const next: ProfileState = {
    ...state,
    version: state.version + 1,
    updatedAt: Math.max(state.updatedAt, options.now ?? touchpoint.ingestTime),
    identities: seen.length === 0 ? state.identities : mergeIdentities([state.identities, seen], resolved.maxIdentities),
    traits,
    consent,
    computed: applyComputed(state.computed, touchpoint, resolved),
  };
  return { state: next, changes: diffProfiles(state, next) };
}
