/**
 * Field changes: a profile seen as a flat map of path → JSON-encoded value, and the difference
 * of two such maps. Provenance (which source, trust, event) and bookkeeping (updatedAt,
 * identities' lastSeen, tie-breakers) are not fields: subscribers learn about values, and the
 * snapshot carries the provenance.
 */
import { channelsUsed, preferredChannel } from './computed.ts';
import { compareStrings, getOwn } from './own.ts';
import type { FieldChange } from './generated/profile-update.ts';
import type { ContentEntry, ProductEntry, ProfileState } from './state.ts';

type Value = string | number | boolean | readonly string[] | null;

/** JSON of a field value; a number or boolean is its own JSON, so JSON.stringify is only needed for strings and lists. */
function encode(value: Value): string | null {
  if (value === null) return null;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

const SCALARS = ['eventsCount', 'firstSeen', 'lastSeen', 'ordersCount', 'returnsCount', 'firstOrderAt', 'lastOrderAt', 'contentEvents', 'journeyStage'] as const;
const EMAIL_FIELDS = ['delivered', 'opens', 'clicks', 'bounces', 'unsubscribed', 'subscriptionChangedAt', 'lastEngagedAt'] as const;
/** lastSatisfactionEventId is a tie-breaker, not a field. */
const SUPPORT_FIELDS = ['contacts', 'lastContactAt', 'lastSatisfactionScore', 'lastSatisfactionAt'] as const;
const LOYALTY_FIELDS = ['couponsRedeemed', 'pointsDelta'] as const;

/**
 * Every field of the profile that a change can name, with its JSON-encoded value; a field
 * whose value is null is absent. diffProfiles gives the same result as comparing these maps
 * (a property test holds them equal) without building them.
 *
 * Paths: `identities.<type>.<value>`, `traits.<field>`, `consent.<purpose>` (true/false),
 * `computed.<name>` (nested: `computed.email.opens`, `computed.channels.<channel>.events`,
 * `computed.lifetimeValue.<currency>`, `computed.products.<productId>` (last purchase time),
 * `computed.content.<channel>.<contentId>` (last time)), `mergedFrom.<profileId>`. Everything
 * after a keyed collection's prefix is the key, which may itself contain dots.
 */
export function profileFields(state: ProfileState): Map<string, string> {
  const fields = new Map<string, string>();
  const put = (path: string, value: Value): void => {
    const encoded = encode(value);
    if (encoded !== null) fields.set(path, encoded);
  };
  for (const identity of state.identities) put(`identities.${identity.type}.${identity.value}`, identity.value);
  for (const [field, trait] of Object.entries(state.traits)) put(`traits.${field}`, trait.value);
  for (const [purpose, consent] of Object.entries(state.consent)) put(`consent.${purpose}`, consent.granted);
  const { computed } = state;
  for (const [channel, stats] of Object.entries(computed.channels)) {
    for (const part of ['events', 'firstSeen', 'lastSeen'] as const) put(`computed.channels.${channel}.${part}`, stats[part]);
  }
  put('computed.channelsUsed', channelsUsed(computed.channels));
  put('computed.preferredChannel', preferredChannel(computed.channels));
  for (const [currency, amount] of Object.entries(computed.lifetimeValue)) put(`computed.lifetimeValue.${currency}`, amount);
  for (const product of computed.products) put(`computed.products.${product.productId}`, product.lastPurchasedAt);
  for (const content of computed.content) put(`computed.content.${content.channel}.${content.contentId}`, content.lastAt);
  for (const key of SCALARS) put(`computed.${key}`, computed[key]);
  for (const key of EMAIL_FIELDS) put(`computed.email.${key}`, computed.email[key]);
  for (const key of SUPPORT_FIELDS) put(`computed.support.${key}`, computed.support[key]);
  for (const key of LOYALTY_FIELDS) put(`computed.loyalty.${key}`, computed.loyalty[key]);
  for (const id of state.mergedFrom) put(`mergedFrom.${id}`, id);
  return fields;
}

/**
 * The fields whose value differs between two profiles, sorted by path: the same as comparing
 * profileFields of both (a property test holds them equal), computed section by section
 * without building a path for any field that did not change, and skipping sections the
 * functions kept by reference, so a profile with long lists stays cheap to update.
 */
export function diffProfiles(before: ProfileState, after: ProfileState): FieldChange[] {
  const changes: FieldChange[] = [];
  const push = (path: string, was: string | null, is: string | null): void => {
    if (was !== is) changes.push({ path, before: was, after: is });
  };
  const field = (path: string, was: Value, is: Value): void => {
    if (was !== is) push(path, encode(was), encode(is));
  };
  /** Entries of two records compared by `value`; unchanged entries are usually the same object. */
  const records = <T>(prefix: string, was: Readonly<Record<string, T>>, is: Readonly<Record<string, T>>, value: (entry: T) => Value): void => {
    if (was === is) return;
    for (const key of Object.keys(is)) {
      const prior = getOwn(was, key);
      const current = is[key] as T;
      if (prior !== current) field(`${prefix}${key}`, prior === undefined ? null : value(prior), value(current));
    }
    for (const key of Object.keys(was)) if (!Object.hasOwn(is, key)) field(`${prefix}${key}`, value(was[key] as T), null);
  };
  /** Keyed lists compared by key → value. */
  const keyed = (prefix: string, was: Map<string, number>, is: Map<string, number>): void => {
    for (const [key, value] of is) field(`${prefix}${key}`, was.get(key) ?? null, value);
    for (const [key, value] of was) if (!is.has(key)) field(`${prefix}${key}`, value, null);
  };

  if (before.identities !== after.identities) {
    // Both sorted by type, then value: one merge walk, no keys built.
    const was = before.identities;
    const is = after.identities;
    let i = 0;
    let j = 0;
    while (i < was.length || j < is.length) {
      const a = was[i];
      const b = is[j];
      const order = a === undefined ? 1 : b === undefined ? -1 : compareStrings(a.type, b.type) || compareStrings(a.value, b.value);
      if (order === 0) {
        i += 1;
        j += 1;
      } else if (order < 0 && a !== undefined) {
        field(`identities.${a.type}.${a.value}`, a.value, null);
        i += 1;
      } else if (b !== undefined) {
        field(`identities.${b.type}.${b.value}`, null, b.value);
        j += 1;
      }
    }
  }
  records('traits.', before.traits, after.traits, (trait) => trait.value);
  records('consent.', before.consent, after.consent, (consent) => consent.granted);

  const was = before.computed;
  const is = after.computed;
  if (was.channels !== is.channels) {
    for (const channel of new Set([...Object.keys(was.channels), ...Object.keys(is.channels)])) {
      const prior = getOwn(was.channels, channel);
      const current = getOwn(is.channels, channel);
      if (prior === current) continue;
      for (const part of ['events', 'firstSeen', 'lastSeen'] as const) field(`computed.channels.${channel}.${part}`, prior?.[part] ?? null, current?.[part] ?? null);
    }
    field('computed.channelsUsed', channelsUsed(was.channels), channelsUsed(is.channels));
    field('computed.preferredChannel', preferredChannel(was.channels), preferredChannel(is.channels));
  }
  records('computed.lifetimeValue.', was.lifetimeValue, is.lifetimeValue, (amount) => amount);
  if (was.products !== is.products) {
    const [before, after] = unshared(was.products, is.products);
    const byKey = (list: readonly ProductEntry[]): Map<string, number> => new Map(list.map((product) => [product.productId, product.lastPurchasedAt]));
    keyed('computed.products.', byKey(before), byKey(after));
  }
  if (was.content !== is.content) {
    const [before, after] = unshared(was.content, is.content);
    const byKey = (list: readonly ContentEntry[]): Map<string, number> => new Map(list.map((content) => [`${content.channel}.${content.contentId}`, content.lastAt]));
    keyed('computed.content.', byKey(before), byKey(after));
  }
  if (was !== is) {
    for (const key of SCALARS) field(`computed.${key}`, was[key], is[key]);
    for (const key of EMAIL_FIELDS) field(`computed.email.${key}`, was.email[key], is.email[key]);
    for (const key of SUPPORT_FIELDS) field(`computed.support.${key}`, was.support[key], is.support[key]);
    for (const key of LOYALTY_FIELDS) field(`computed.loyalty.${key}`, was.loyalty[key], is.loyalty[key]);
  }
  if (before.mergedFrom !== after.mergedFrom) {
    const prior = new Set(before.mergedFrom);
    const current = new Set(after.mergedFrom);
    for (const id of current) if (!prior.has(id)) field(`mergedFrom.${id}`, null, id);
    for (const id of prior) if (!current.has(id)) field(`mergedFrom.${id}`, id, null);
  }
  return sortByPath(changes);
}

/**
 * The entries of two keyed lists that are not the same object in both: a list a touchpoint
 * updated keeps its other entries as they were (mergeRecent in computed.ts), so only these can
 * differ. An entry is in each list once; the walk pairs them in list order (both lists are
 * kept in the same order, which only makes it find more pairs), and an entry it did not pair
 * is returned on both sides, where comparing it by key finds no change.
 */
function unshared<T>(was: readonly T[], is: readonly T[]): [T[], T[]] {
  const before: T[] = [];
  const after: T[] = [];
  let i = 0;
  let j = 0;
  while (i < was.length && j < is.length) {
    const a = was[i] as T;
    const b = is[j] as T;
    if (a === b) {
      i += 1;
      j += 1;
    } else if (is[j + 1] === a) {
      after.push(b); // inserted before a
      j += 1;
    } else {
      before.push(a); // moved or dropped
      i += 1;
    }
  }
  for (; i < was.length; i += 1) before.push(was[i] as T);
  for (; j < is.length; j += 1) after.push(is[j] as T);
  return [before, after];
}

/**
 * Sorted by path in place. A touchpoint changes a handful of fields: an insertion sort of a
 * short list allocates nothing, where Array#sort copies it into a work array first.
 */
function sortByPath(changes: FieldChange[]): FieldChange[] {
  if (changes.length > 32) return changes.sort((a, b) => compareStrings(a.path, b.path));
  for (let i = 1; i < changes.length; i += 1) {
    const change = changes[i] as FieldChange;
    let j = i - 1;
    while (j >= 0 && compareStrings((changes[j] as FieldChange).path, change.path) > 0) {
      changes[j + 1] = changes[j] as FieldChange;
      j -= 1;
    }
    changes[j + 1] = change;
  }
  return changes;
}
