/**
 * @elephant/profiles — the unified profile model: the stored state, applying touchpoints
 * (trait reconciliation, consent, computed traits), folding merges, and the published
 * ProfileUpdate / ProfileSnapshot records. Pure: no I/O; docs/profiles.md is the reference.
 */
export { applyTouchpoint, mergeConsent, mergeIdentities, mergeTraits, type ApplyOptions, type ProfileChange } from './apply.ts';
export { diffProfiles, profileFields } from './changes.ts';
export { channelsUsed, contentKey, EXPAND_ORDERS, furtherStage, preferredChannel } from './computed.ts';
export { PROFILE_ERROR_CODES, ProfileError, type ProfileErrorCode } from './errors.ts';
export { foldMerge, type MergeOptions, type MergeResult } from './merge.ts';
export { consentWins, normalizePurpose, PREFERENCE_PREFIX, TRAIT_FIELDS, traitWins, type TraitField } from './reconcile.ts';
export { erasureUpdateOf, snapshotOf, UPDATE_KINDS, updateOf, type ErasureCause, type UpdateCause, type UpdateKind } from './records.ts';
export {
  DEFAULT_MAX_CONTENT,
  DEFAULT_MAX_IDENTITIES,
  DEFAULT_MAX_PRODUCTS,
  emptyProfile,
  parseProfileState,
  STATE_VERSION,
  type AppliedTouchpoint,
  type ChannelStats,
  type ComputedState,
  type ConsentValue,
  type ContentEntry,
  type EmailState,
  type IdentityEntry,
  type LoyaltyState,
  type ProductEntry,
  type ProfileOptions,
  type ProfileState,
  type SupportState,
  type TraitValue,
} from './state.ts';
export { profileSnapshotSchema } from './generated/profile-snapshot.ts';
export { profileUpdateSchema, type AvroRecordSchemaJson } from './generated/profile-update.ts';
export type {
  ChannelActivity,
  ComputedTraits,
  ConsentStatement,
  ContentConsumed,
  EmailEngagement,
  LoyaltyActivity,
  ProductPurchase,
  ProfileAddress,
  ProfileIdentity,
  ProfileSnapshot,
  ProfileTraits,
  SupportHistory,
  TraitProvenance,
} from './generated/profile-snapshot.ts';
export type { FieldChange, ProfileUpdate } from './generated/profile-update.ts';
