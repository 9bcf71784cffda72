/** The published records (schemas/profile-update.avsc, schemas/profile-snapshot.avsc) built from a state. */
import { channelsUsed, preferredChannel } from './computed.ts';
import { compareStrings, getOwn, setOwn } from './own.ts';
import { PREFERENCE_PREFIX } from './reconcile.ts';
import { assertStateVersion, type ProfileState } from './state.ts';
import type { ConsentStatement, ProfileAddress, ProfileSnapshot, TraitProvenance } from './generated/profile-snapshot.ts';
import type { FieldChange, ProfileUpdate } from './generated/profile-update.ts';

/** The kinds of ProfileUpdate. A string on the wire (not an Avro enum), so kinds can be added. */
export const UPDATE_KINDS = ['touchpoint', 'merge', 'erasure'] as const;
export type UpdateKind = (typeof UPDATE_KINDS)[number];

/** What caused an update: `eventId` becomes causeEventId. */
export type UpdateCause =
  /** A touchpoint was applied: its eventId. */
  | { readonly kind: 'touchpoint'; readonly eventId: string }
  /** A merge was folded: the IdentityMerge's mergeId, and the profiles folded in (foldMerge's `folded`). */
  | { readonly kind: 'merge'; readonly eventId: string; readonly mergedProfileIds: readonly string[] };

/** What caused an erasure. */
export interface ErasureCause {
  /** The erasure request's id. */
  readonly eventId: string;
  /** When the erasure was carried out (epoch ms): the update's updatedAt. */
  readonly at: number;
}

/** The full profile as published on the snapshot topic. */
export function snapshotOf(state: ProfileState): ProfileSnapshot {
  assertStateVersion(state);
  const value = (field: string): string | null => getOwn(state.traits, field)?.value ?? null;
  const preferences: Record<string, string> = {};
  const provenance: Record<string, TraitProvenance> = {};
  for (const [field, trait] of Object.entries(state.traits)) {
    setOwn(provenance, field, { source: trait.source, trust: trait.trust, eventTime: trait.eventTime, eventId: trait.eventId });
    if (field.startsWith(PREFERENCE_PREFIX)) setOwn(preferences, field.slice(PREFERENCE_PREFIX.length), trait.value);
  }
  const address: ProfileAddress = {
    street: value('address.street'),
    city: value('address.city'),
    postalCode: value('address.postalCode'),
    region: value('address.region'),
    country: value('address.country'),
  };
  const consent: ConsentStatement[] = Object.entries(state.consent)
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([purpose, statement]) => ({ purpose, granted: statement.granted, statedAt: statement.statedAt, source: statement.source, eventId: statement.eventId }));
  const { computed } = state;
  return {
    profileId: state.profileId,
    tenant: state.tenant,
    version: state.version,
    identities: state.identities.map((identity) => ({ type: identity.type, value: identity.value, lastSeen: identity.lastSeen })),
    traits: {
      email: value('email'),
      phone: value('phone'),
      firstName: value('firstName'),
      lastName: value('lastName'),
      company: value('company'),
      address: Object.values(address).some((part) => part !== null) ? address : null,
      birthDate: value('birthDate'),
      gender: value('gender'),
      preferences,
      provenance,
    },
    consent,
    computed: {
      eventsCount: computed.eventsCount,
      firstSeen: computed.firstSeen,
      lastSeen: computed.lastSeen,
      channels: Object.fromEntries(Object.entries(computed.channels).map(([channel, stats]) => [channel, { events: stats.events, firstSeen: stats.firstSeen, lastSeen: stats.lastSeen }])),
      channelsUsed: channelsUsed(computed.channels),
      preferredChannel: preferredChannel(computed.channels),
      lifetimeValue: { ...computed.lifetimeValue },
      ordersCount: computed.ordersCount,
      returnsCount: computed.returnsCount,
      firstOrderAt: computed.firstOrderAt,
      lastOrderAt: computed.lastOrderAt,
      products: computed.products.map((product) => ({ productId: product.productId, lastPurchasedAt: product.lastPurchasedAt })),
      contentEvents: computed.contentEvents,
      content: computed.content.map((content) => ({ contentId: content.contentId, channel: content.channel, lastAt: content.lastAt })),
      email: { ...computed.email },
      support: {
        contacts: computed.support.contacts,
        lastContactAt: computed.support.lastContactAt,
        lastSatisfactionScore: computed.support.lastSatisfactionScore,
        lastSatisfactionAt: computed.support.lastSatisfactionAt,
      },
      loyalty: { ...computed.loyalty },
      journeyStage: computed.journeyStage,
    },
    mergedFrom: [...state.mergedFrom],
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
}

/** The update announcing `changes` (from applyTouchpoint or foldMerge) at the state's version. */
export function updateOf(state: ProfileState, changes: readonly FieldChange[], cause: UpdateCause): ProfileUpdate {
  return {
    profileId: state.profileId,
    tenant: state.tenant,
    version: state.version,
    kind: cause.kind,
    causeEventId: cause.eventId,
    changes: changes.map((change) => ({ path: change.path, before: change.before, after: change.after })),
    mergedProfileIds: cause.kind === 'merge' ? [...cause.mergedProfileIds] : [],
    updatedAt: state.updatedAt,
  };
}

/**
 * The update announcing an erasure: no changes (it must not repeat the erased person's data);
 * `version` is the erased profile's last version + 1. The snapshot topic gets a tombstone.
 */
export function erasureUpdateOf(profileId: string, tenant: string, version: number, cause: ErasureCause): ProfileUpdate {
  return { profileId, tenant, version, kind: 'erasure', causeEventId: cause.eventId, changes: [], mergedProfileIds: [], updatedAt: cause.at };
}
