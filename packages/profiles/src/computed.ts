/**
 * Computed traits: how one touchpoint changes them, and how two profiles' computed traits
 * combine on a merge. Counters only ever grow by applying a touchpoint (the builder applies
 * each once) or by summing two profiles that never shared a touchpoint; every other field is
 * a max or min under a total order, so the result does not depend on arrival order.
 * docs/profiles.md holds the exact definitions.
 */
import { CHANNELS, JOURNEY_STAGES, MAX_AMOUNT_MINOR } from '@elephant/channels';
import { compareStrings, getOwn, isSorted, maxTime, minTime, setOwn, sortedRecord, type Mutable } from './own.ts';
import type { AppliedTouchpoint, ChannelStats, ComputedState, ContentEntry, EmailState, ProductEntry, ResolvedOptions, SupportState } from './state.ts';

/** Event types that set `email.unsubscribed` to true (or false for resubscribe). */
const UNSUBSCRIBING = new Set(['email_unsubscribed', 'email_spam_reported']);
const RESUBSCRIBING = 'email_resubscribed';

/**
 * The channel names as this module's own string constants. A touchpoint's channel is a string
 * decoded from its record; once used as a property key (`channels[channel]`) V8 turns it into
 * a "thin" reference to the key's internalized copy, which JSON.stringify serializes off its
 * fast path. Content entries keep their channel in the state, so they keep the constant
 * instead (docs/benchmarks.md: serializing a just-built state took twice as long as one parsed).
 */
const CHANNEL_NAMES = new Map<string, string>(CHANNELS.map((name) => [name, name]));

/** Orders from which on a customer counts as `expand` (a repeat purchase). */
export const EXPAND_ORDERS = 2;

function stageIndex(stage: string | null): number {
  return stage === null ? -1 : (JOURNEY_STAGES as readonly string[]).indexOf(stage);
}

/** The further of two journey stages; unknown stages never win. */
export function furtherStage(a: string | null, b: string | null): string | null {
  const ia = stageIndex(a);
  const ib = stageIndex(b);
  if (ia < 0 && ib < 0) return null;
  return ib > ia ? b : a;
}

function journeyStage(stage: string | null, ordersCount: number): string | null {
  return ordersCount >= EXPAND_ORDERS ? furtherStage(stage, 'expand') : stage;
}

/** Channels with at least one touchpoint, sorted. */
export function channelsUsed(channels: Readonly<Record<string, ChannelStats>>): string[] {
  return Object.keys(channels).sort(compareStrings);
}

/** Most touchpoints; tie: latest lastSeen; tie: first by name. Null without touchpoints. */
export function preferredChannel(channels: Readonly<Record<string, ChannelStats>>): string | null {
  let best: string | undefined;
  let bestStats: ChannelStats | undefined;
  // One pass in any key order (no sorted copy): the name breaks a full tie.
  for (const name of Object.keys(channels)) {
    const stats = getOwn(channels, name);
    if (stats === undefined) continue;
    if (
      best === undefined ||
      bestStats === undefined ||
      stats.events > bestStats.events ||
      (stats.events === bestStats.events && (stats.lastSeen > bestStats.lastSeen || (stats.lastSeen === bestStats.lastSeen && compareStrings(name, best) < 0)))
    ) {
      best = name;
      bestStats = stats;
    }
  }
  return best ?? null;
}

function byRecentProduct(a: ProductEntry, b: ProductEntry): number {
  return b.lastPurchasedAt - a.lastPurchasedAt || compareStrings(a.productId, b.productId);
}

function byRecentContent(a: ContentEntry, b: ContentEntry): number {
  return b.lastAt - a.lastAt || compareStrings(a.channel, b.channel) || compareStrings(a.contentId, b.contentId);
}

/** Products merged per id (latest purchase), most recent `max` kept. */
function mergeProducts(lists: readonly (readonly ProductEntry[])[], max: number): ProductEntry[] {
  const latest = new Map<string, number>();
  for (const entry of lists.flat()) latest.set(entry.productId, Math.max(latest.get(entry.productId) ?? entry.lastPurchasedAt, entry.lastPurchasedAt));
  return [...latest].map(([productId, lastPurchasedAt]) => ({ productId, lastPurchasedAt })).sort(byRecentProduct).slice(0, max);
}

/** Content merged per (channel, contentId) (latest time), most recent `max` kept. */
function mergeContent(lists: readonly (readonly ContentEntry[])[], max: number): ContentEntry[] {
  const latest = new Map<string, ContentEntry>();
  for (const entry of lists.flat()) {
    const key = `${entry.channel}\u0000${entry.contentId}`;
    const seen = latest.get(key);
    if (seen === undefined || entry.lastAt > seen.lastAt) latest.set(key, entry);
  }
  return [...latest.values()].sort(byRecentContent).slice(0, max);
}

/** How a bounded "most recent" list is kept: its order, and which entries stand for the same key. */
interface RecentList<T> {
  readonly order: (a: T, b: T) => number;
  readonly sameKey: (a: T, b: T) => boolean;
  /** Whether `a` replaces `b` of the same key. */
  readonly later: (a: T, b: T) => boolean;
}

const PRODUCTS: RecentList<ProductEntry> = {
  order: byRecentProduct,
  sameKey: (a, b) => a.productId === b.productId,
  later: (a, b) => a.lastPurchasedAt > b.lastPurchasedAt,
};

const CONTENT: RecentList<ContentEntry> = {
  order: byRecentContent,
  sameKey: (a, b) => a.contentId === b.contentId && a.channel === b.channel,
  later: (a, b) => a.lastAt > b.lastAt,
};

/**
 * A touchpoint's few entries merged into a list kept in `kind.order` with one entry per key
 * and at most `max` (what mergeProducts and mergeContent make): the same result as theirs
 * without a map, key strings and a sort of the whole list per touchpoint. Entries that did
 * not change stay the same objects, and the list itself when nothing changed, so diffProfiles
 * compares only what moved. Undefined when `list` is not such a list (then merge in full).
 */
function mergeRecent<T>(kind: RecentList<T>, list: readonly T[], additions: readonly T[], max: number): T[] | undefined {
  if (list.length > max) return undefined;
  for (let i = 1; i < list.length; i += 1) if (kind.order(list[i - 1] as T, list[i] as T) >= 0) return undefined;
  let out: T[] | undefined;
  for (const entry of additions) {
    const current: readonly T[] = out ?? list;
    const at = current.findIndex((held) => kind.sameKey(held, entry));
    if (at >= 0 && !kind.later(entry, current[at] as T)) continue;
    out ??= list.slice();
    if (at >= 0) out.splice(at, 1);
    let position = 0;
    while (position < out.length && kind.order(out[position] as T, entry) < 0) position += 1;
    out.splice(position, 0, entry);
    if (out.length > max) out.length = max;
  }
  // The list unchanged is returned as it is (typed for applyComputed's mutable view, which
  // never writes into it), so that diffProfiles skips it.
  return out ?? (list as T[]);
}

/** The later of two subscription changes; on a tie, unsubscribed. */
type Subscription = Pick<EmailState, 'unsubscribed' | 'subscriptionChangedAt'>;

function laterSubscription(a: Subscription, b: Subscription): Subscription {
  const pick = (state: Subscription): Subscription => ({ unsubscribed: state.unsubscribed, subscriptionChangedAt: state.subscriptionChangedAt });
  if (a.subscriptionChangedAt === null) return pick(b);
  if (b.subscriptionChangedAt === null) return pick(a);
  if (a.subscriptionChangedAt !== b.subscriptionChangedAt) return pick(a.subscriptionChangedAt > b.subscriptionChangedAt ? a : b);
  return { unsubscribed: a.unsubscribed || b.unsubscribed, subscriptionChangedAt: a.subscriptionChangedAt };
}

type Satisfaction = Pick<SupportState, 'lastSatisfactionScore' | 'lastSatisfactionAt' | 'lastSatisfactionEventId'>;

/** The satisfaction of the later contact (greater eventId on a tie). */
function laterSatisfaction(a: Satisfaction, b: Satisfaction): Satisfaction {
  if (a.lastSatisfactionAt === null) return b;
  if (b.lastSatisfactionAt === null) return a;
  if (a.lastSatisfactionAt !== b.lastSatisfactionAt) return a.lastSatisfactionAt > b.lastSatisfactionAt ? a : b;
  return compareStrings(a.lastSatisfactionEventId ?? '', b.lastSatisfactionEventId ?? '') >= 0 ? a : b;
}

function satisfactionOf(support: SupportState): Satisfaction {
  return { lastSatisfactionScore: support.lastSatisfactionScore, lastSatisfactionAt: support.lastSatisfactionAt, lastSatisfactionEventId: support.lastSatisfactionEventId };
}

/** What identifies consumed content: content.contentId, else content.url; null when neither. */
export function contentKey(touchpoint: AppliedTouchpoint): string | null {
  const content = touchpoint.content;
  if (content === null) return null;
  if (content.contentId !== null && content.contentId !== '') return content.contentId;
  if (content.url !== null && content.url !== '') return content.url;
  return null;
}

/** Computed traits after one more touchpoint. */
export function applyComputed(computed: ComputedState, touchpoint: AppliedTouchpoint, options: ResolvedOptions): ComputedState {
  // Copies of what this function writes; untouched lists keep their identity (diffProfiles skips them).
  const next = { ...computed, email: { ...computed.email }, support: { ...computed.support }, loyalty: { ...computed.loyalty } } as Mutable<ComputedState>;
  const at = touchpoint.eventTime;

  next.eventsCount += 1;
  next.firstSeen = minTime(next.firstSeen, at);
  next.lastSeen = maxTime(next.lastSeen, at);
  next.channels = { ...computed.channels };
  const channel = getOwn(next.channels, touchpoint.channel);
  setOwn(
    next.channels,
    touchpoint.channel,
    channel === undefined ? { events: 1, firstSeen: at, lastSeen: at } : { events: channel.events + 1, firstSeen: Math.min(channel.firstSeen, at), lastSeen: Math.max(channel.lastSeen, at) },
  );

  const commerce = touchpoint.commerce;
  if (commerce !== null && (commerce.kind === 'purchase' || commerce.kind === 'return')) {
    const sign = commerce.kind === 'purchase' ? 1 : -1;
    next.lifetimeValue = { ...computed.lifetimeValue };
    setOwn(next.lifetimeValue, commerce.currency, addBounded(getOwn(next.lifetimeValue, commerce.currency) ?? 0, sign * commerce.totalMinor));
    if (commerce.kind === 'purchase') {
      next.ordersCount += 1;
      next.firstOrderAt = minTime(next.firstOrderAt, at);
      next.lastOrderAt = maxTime(next.lastOrderAt, at);
      const bought = commerce.lineItems.map((item) => ({ productId: item.productId, lastPurchasedAt: at }));
      if (bought.length > 0) next.products = mergeRecent(PRODUCTS, next.products, bought, options.maxProducts) ?? mergeProducts([next.products, bought], options.maxProducts);
    } else {
      next.returnsCount += 1;
    }
  }

  const key = contentKey(touchpoint);
  if (key !== null) {
    next.contentEvents += 1;
    const entry: ContentEntry = { contentId: key, channel: CHANNEL_NAMES.get(touchpoint.channel) ?? touchpoint.channel, lastAt: at };
    next.content = mergeRecent(CONTENT, next.content, [entry], options.maxContent) ?? mergeContent([next.content, [entry]], options.maxContent);
  }

  const email = next.email;
  switch (touchpoint.eventType) {
    case 'email_delivered':
      email.delivered += 1;
      break;
    case 'email_opened':
      email.opens += 1;
      email.lastEngagedAt = maxTime(email.lastEngagedAt, at);
      break;
    case 'email_clicked':
      email.clicks += 1;
      email.lastEngagedAt = maxTime(email.lastEngagedAt, at);
      break;
    case 'email_bounced':
      email.bounces += 1;
      break;
    default:
      break;
  }
  if (UNSUBSCRIBING.has(touchpoint.eventType) || touchpoint.eventType === RESUBSCRIBING) {
    Object.assign(email, laterSubscription(email, { unsubscribed: touchpoint.eventType !== RESUBSCRIBING, subscriptionChangedAt: at }));
  }

  const support = touchpoint.support;
  if (support !== null) {
    next.support.contacts += 1;
    next.support.lastContactAt = maxTime(next.support.lastContactAt, at);
    if (support.satisfactionScore !== null) {
      Object.assign(
        next.support,
        laterSatisfaction(satisfactionOf(next.support), { lastSatisfactionScore: support.satisfactionScore, lastSatisfactionAt: at, lastSatisfactionEventId: touchpoint.eventId }),
      );
    }
  }

  const loyalty = touchpoint.loyalty;
  if (loyalty !== null) {
    if (loyalty.couponCode !== null && loyalty.couponCode !== '' && commerce?.kind !== 'return') next.loyalty.couponsRedeemed += 1;
    if (loyalty.pointsDelta !== null) next.loyalty.pointsDelta = addBounded(next.loyalty.pointsDelta, loyalty.pointsDelta);
  }

  next.journeyStage = journeyStage(furtherStage(next.journeyStage, touchpoint.journeyStage), next.ordersCount);
  // A channel seen before keeps its place among the keys (sorted already).
  if (channel === undefined || !isSorted(next.channels)) next.channels = sortedRecord(next.channels);
  if (next.lifetimeValue !== computed.lifetimeValue) next.lifetimeValue = sortedRecord(next.lifetimeValue);
  return next;
}

/**
 * a + b held to ±MAX_AMOUNT_MINOR (2^52). Each touchpoint's amount is within it, but their sum
 * need not be: a state holding a larger one could not be encoded exactly (an Avro long) nor
 * read back, and every later batch of its partition would fail the same way. A sum that reaches the bound
 * stays there (and comes back down with amounts of the other sign).
 */
function addBounded(a: number, b: number): number {
  const sum = a + b;
  return sum > MAX_AMOUNT_MINOR ? MAX_AMOUNT_MINOR : sum < -MAX_AMOUNT_MINOR ? -MAX_AMOUNT_MINOR : sum;
}

function sumRecords(records: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const record of records) for (const [key, value] of Object.entries(record)) setOwn(out, key, addBounded(getOwn(out, key) ?? 0, value));
  return out;
}

/** Computed traits of profiles that never shared a touchpoint, combined: counters summed, times min/max, lists merged. */
export function mergeComputed(states: readonly ComputedState[], options: ResolvedOptions): ComputedState {
  const [first, ...rest] = states;
  if (first === undefined) throw new TypeError('mergeComputed needs at least one state');
  let merged: ComputedState = first;
  for (const other of rest) {
    const channels: Record<string, ChannelStats> = { ...merged.channels };
    for (const [name, stats] of Object.entries(other.channels)) {
      const seen = getOwn(channels, name);
      setOwn(
        channels,
        name,
        seen === undefined ? stats : { events: seen.events + stats.events, firstSeen: Math.min(seen.firstSeen, stats.firstSeen), lastSeen: Math.max(seen.lastSeen, stats.lastSeen) },
      );
    }
    const ordersCount = merged.ordersCount + other.ordersCount;
    merged = {
      eventsCount: merged.eventsCount + other.eventsCount,
      firstSeen: minTime(merged.firstSeen, other.firstSeen),
      lastSeen: maxTime(merged.lastSeen, other.lastSeen),
      channels: sortedRecord(channels),
      lifetimeValue: sortedRecord(sumRecords([merged.lifetimeValue, other.lifetimeValue])),
      ordersCount,
      returnsCount: merged.returnsCount + other.returnsCount,
      firstOrderAt: minTime(merged.firstOrderAt, other.firstOrderAt),
      lastOrderAt: maxTime(merged.lastOrderAt, other.lastOrderAt),
      products: mergeProducts([merged.products, other.products], options.maxProducts),
      contentEvents: merged.contentEvents + other.contentEvents,
      content: mergeContent([merged.content, other.content], options.maxContent),
      email: {
        delivered: merged.email.delivered + other.email.delivered,
        opens: merged.email.opens + other.email.opens,
        clicks: merged.email.clicks + other.email.clicks,
        bounces: merged.email.bounces + other.email.bounces,
        ...laterSubscription(merged.email, other.email),
        lastEngagedAt: maxTime(merged.email.lastEngagedAt, other.email.lastEngagedAt),
      },
      support: {
        contacts: merged.support.contacts + other.support.contacts,
        lastContactAt: maxTime(merged.support.lastContactAt, other.support.lastContactAt),
        ...laterSatisfaction(satisfactionOf(merged.support), satisfactionOf(other.support)),
      },
      loyalty: {
        couponsRedeemed: merged.loyalty.couponsRedeemed + other.loyalty.couponsRedeemed,
        pointsDelta: addBounded(merged.loyalty.pointsDelta, other.loyalty.pointsDelta),
      },
      journeyStage: journeyStage(furtherStage(merged.journeyStage, other.journeyStage), ordersCount),
    };
  }
  return merged;
}
