/** Folding absorbed profiles into the survivor of an identity merge. */
import { diffProfiles } from './changes.ts';
import { mergeComputed } from './computed.ts';
import { ProfileError } from './errors.ts';
import { compareStrings } from './own.ts';
import { mergeConsent, mergeIdentities, mergeTraits, renamePurposes, type ProfileChange } from './apply.ts';
import { assertStateVersion, resolveOptions, type ProfileOptions, type ProfileState } from './state.ts';

export interface MergeOptions extends ProfileOptions {
  /**
   * When the builder applies the merge (epoch ms); updatedAt becomes the latest of it and the
   * folded states' updatedAt.
   * @default the latest updatedAt of the folded states
   */
  readonly now?: number | undefined;
}

export interface MergeResult extends ProfileChange {
  /** Ids of the absorbed states actually folded, sorted (those already in survivor.mergedFrom are skipped). */
  readonly folded: readonly string[];
}

/**
 * Folds absorbed profiles into the survivor: traits reconciled by the same rules as
 * touchpoints, consent by recency, counters summed, first/last times min/max, lists merged and
 * de-duplicated (then bounded), journey stage the furthest, mergedFrom extended with each
 * absorbed id and its own mergedFrom. createdAt becomes the earliest.
 *
 * Summing is right because each touchpoint was applied to exactly one of the states (the
 * builder guarantees it). An absorbed state whose id is already in survivor.mergedFrom was
 * folded before (a redelivered merge) and is skipped, as is one in another absorbed state's
 * mergedFrom (folded into it before), so nothing is counted twice; when all
 * are skipped the survivor comes back unchanged with no changes. Otherwise the version is
 * survivor.version + 1.
 * @throws TENANT_MISMATCH when an absorbed profile belongs to another tenant; INVALID_MERGE when the survivor absorbs itself
 */
export function foldMerge(survivor: ProfileState, absorbed: readonly ProfileState[], options: MergeOptions = {}): MergeResult {
  assertStateVersion(survivor);
  const resolved = resolveOptions(options);
  const already = new Set(survivor.mergedFrom);
  // An absorbed state already folded into another absorbed state (its id in that one's
  // mergedFrom) is counted through that one: folding it too counted it twice.
  for (const state of absorbed) for (const id of state.mergedFrom) already.add(id);
  const fresh: ProfileState[] = [];
  for (const state of absorbed) {
    assertStateVersion(state);
    if (state.tenant !== survivor.tenant) {
      throw new ProfileError('TENANT_MISMATCH', `Profile ${state.profileId} of tenant ${state.tenant} cannot be merged into ${survivor.profileId} of tenant ${survivor.tenant}`, {
        details: { survivor: survivor.profileId, absorbed: state.profileId },
      });
    }
    if (state.profileId === survivor.profileId) {
      throw new ProfileError('INVALID_MERGE', `Profile ${survivor.profileId} cannot absorb itself`, { details: { survivor: survivor.profileId } });
    }
    if (already.has(state.profileId)) continue;
    already.add(state.profileId);
    fresh.push(state);
  }
  if (fresh.length === 0) return { state: survivor, changes: [], folded: [] };

  const all = [survivor, ...fresh];
  const mergedFrom = new Set(survivor.mergedFrom);
  for (const state of fresh) {
    mergedFrom.add(state.profileId);
    for (const id of state.mergedFrom) mergedFrom.add(id);
  }
  mergedFrom.delete(survivor.profileId);
  const next: ProfileState = {
    ...survivor,
    version: survivor.version + 1,
    createdAt: Math.min(...all.map((state) => state.createdAt)),
    updatedAt: Math.max(...all.map((state) => state.updatedAt), options.now ?? Number.NEGATIVE_INFINITY),
    identities: mergeIdentities(
      all.map((state) => state.identities),
      resolved.maxIdentities,
    ),
    traits: mergeTraits(all.map((state) => state.traits)),
    consent: mergeConsent(all.map((state) => renamePurposes(state.consent, resolved.purposeAliases))),
    computed: mergeComputed(
      all.map((state) => state.computed),
      resolved,
    ),
    mergedFrom: [...mergedFrom].sort(compareStrings),
  };
  return {
    state: next,
    changes: diffProfiles(survivor, next),
    folded: fresh.map((state) => state.profileId).sort(compareStrings),
  };
}
