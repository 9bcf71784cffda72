/**
 * What a correct profile of each simulated person must show: the computed counters, derived
 * from the person's touchpoints. The definitions are written against the Touchpoint contract
 * (any Touchpoint is a CounterEvent), so the same function can score real profiles' events.
 */
import { JOURNEY_STAGES, type Identifier, type JourneyStage } from '@elephant/channels';

/** The part of a Touchpoint the counters read. */
export interface CounterEvent {
  readonly eventId: string;
  readonly channel: string;
  readonly eventType: string;
  readonly eventTime: number;
  /** The touchpoint's journeyStage (its event type's default stage). */
  readonly journeyStage: string;
  readonly commerce: { readonly kind: string; readonly currency: string; readonly totalMinor: number } | null;
  readonly support: { readonly satisfactionScore: number | null } | null;
  readonly loyalty: { readonly couponCode: string | null; readonly pointsDelta: number | null } | null;
  readonly content: { readonly contentId: string | null; readonly url: string | null } | null;
}

/** Per channel: distinct touchpoints and their first and last event time. */
export interface ChannelCounters {
  readonly events: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
}

/**
 * Computed counters of one person. Every counter counts distinct touchpoints (distinct
 * `eventId`s): a raw message delivered twice yields the same eventIds and counts once.
 * Only the person's resolvable touchpoints count (the truth); junk-only and malformed
 * messages belong to no profile.
 */
export interface PersonCounters {
  /** Distinct touchpoints of any type. */
  readonly touchpoints: number;
  /** Purchases: `order_completed` (web Order Completed) + `store_purchase` (POS purchase). Ad conversions are not orders. */
  readonly ordersCount: number;
  /** Returns: `order_refunded` (web Order Refunded) + `store_return` (POS return). */
  readonly returnsCount: number;
  /**
   * Per ISO 4217 currency, in minor units: Σ `commerce.totalMinor` of purchases − Σ
   * `commerce.totalMinor` of returns (`commerce.kind` says which; totals are magnitudes and
   * include shipping and tax as the source reported them). A currency appears once the person
   * has a purchase or return in it. Ad conversion values (`campaign.valueMinor`) are not money
   * received and do not count.
   */
  readonly lifetimeValue: Readonly<Record<string, number>>;
  /** Smallest / greatest `eventTime` of the purchases; null without purchases. */
  readonly firstOrderAt: number | null;
  readonly lastOrderAt: number | null;
  /** Purchases (as in ordersCount) whose touchpoint carries `loyalty.couponCode`. */
  readonly ordersWithCoupon: number;
  /** `support_call` + `support_chat` + `support_ticket`. */
  readonly supportContacts: number;
  /** Greatest `eventTime` of those support touchpoints; null without any. */
  readonly lastSupportContactAt: number | null;
  /**
   * `support.satisfactionScore` of the support touchpoint with the greatest `eventTime` among
   * those that carry a score (ties: the greater eventId); null when none does. Event time, not
   * arrival order: a late survey result must not override a newer one.
   */
  readonly lastSatisfactionScore: number | null;
  /** `eventTime` of that support touchpoint; null when none has a score. */
  readonly lastSatisfactionAt: number | null;
  /** `coupon_redeemed` touchpoints (loyalty channel). A coupon code on an order is counted by ordersWithCoupon, not here. */
  readonly couponsRedeemed: number;
  /** Σ −`loyalty.pointsDelta` over `points_redeemed` touchpoints (points redeemed, a positive number). */
  readonly pointsRedeemed: number;
  /** `email_opened` touchpoints (machine opens included: the ESP reports them as opens). */
  readonly emailOpens: number;
  /** `email_clicked` touchpoints. */
  readonly emailClicks: number;
  /** `email_delivered` touchpoints. */
  readonly emailDelivered: number;
  /** `email_bounced` touchpoints. */
  readonly emailBounces: number;
  /** `email_unsubscribed` touchpoints (unsubscribe and group_unsubscribe; the simulator sends no resubscribes). */
  readonly emailUnsubscribes: number;
  /** Greatest `eventTime` of those unsubscribes; null without any (the profile's `email.subscriptionChangedAt`, as nothing else changes a subscription here). */
  readonly lastUnsubscribedAt: number | null;
  /** Greatest `eventTime` of `email_opened` and `email_clicked`; null without any. */
  readonly lastEmailEngagedAt: number | null;
  /** `content_downloaded` touchpoints (form submissions are counted separately). */
  readonly contentDownloads: number;
  /** `form_submitted` touchpoints. */
  readonly formSubmissions: number;
  /**
   * Touchpoints whose `content` names a `contentId` or a `url`: page views (url), product
   * views (product id), downloads and form submissions. App screens name neither.
   */
  readonly contentEvents: number;
  /** Smallest `eventTime` (epoch ms) of any touchpoint; null without touchpoints. */
  readonly firstSeen: number | null;
  /** Greatest `eventTime` (epoch ms) of any touchpoint; null without touchpoints. */
  readonly lastSeen: number | null;
  /** Distinct channels of the touchpoints, sorted. */
  readonly channels: readonly string[];
  /** Per channel (keys sorted): distinct touchpoints, first and last event time. */
  readonly perChannel: Readonly<Record<string, ChannelCounters>>;
  /**
   * The furthest `journeyStage` of the touchpoints in lifecycle order (aware → … → expand);
   * null without touchpoints. No event type defaults to expand: a profile that promotes
   * repeat buyers shows `ordersCount >= 2 ? 'expand' : furthestTouchpointStage`.
   */
  readonly furthestTouchpointStage: JourneyStage | null;
  /** Distinct touchpoints per eventType, keys sorted. */
  readonly eventTypes: Readonly<Record<string, number>>;
}

/** Everything the ground truth says about one person. */
export interface PersonExpectation {
  readonly personId: string;
  readonly household: string | null;
  /** How the person became known: online, store, lead or anonymous. */
  readonly path: string;
  /** The journey stages the person's events were generated in, in lifecycle order. */
  readonly stages: readonly JourneyStage[];
  /**
   * The person's own identifiers on their touchpoints, normalized, sorted by type then value:
   * what a correct profile holds. Placeholders (blocked by the identity rules) and the
   * household tablet's device id (non-merging and shared: it ends up on one member's profile
   * only) are left out; the latter is in sharedDeviceIds.
   */
  readonly identifiers: readonly Identifier[];
  readonly sharedDeviceIds: readonly string[];
  readonly counters: PersonCounters;
}

const sortedRecord = (entries: Map<string, number>): Record<string, number> => Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** The counters of one person's touchpoints (see PersonCounters for each definition). */
export function computeCounters(events: Iterable<CounterEvent>): PersonCounters {
  const seen = new Set<string>();
  let ordersCount = 0;
  let returnsCount = 0;
  let ordersWithCoupon = 0;
  let firstOrderAt: number | null = null;
  let lastOrderAt: number | null = null;
  let supportContacts = 0;
  let lastSupportContactAt: number | null = null;
  let emailDelivered = 0;
  let emailBounces = 0;
  let emailUnsubscribes = 0;
  let lastUnsubscribedAt: number | null = null;
  let contentEvents = 0;
  let lastEmailEngagedAt: number | null = null;
  let furthest = -1;
  let couponsRedeemed = 0;
  let pointsRedeemed = 0;
  let emailOpens = 0;
  let emailClicks = 0;
  let contentDownloads = 0;
  let formSubmissions = 0;
  let firstSeen: number | null = null;
  let lastSeen: number | null = null;
  let lastScore: { time: number; eventId: string; score: number } | null = null;
  const lifetimeValue = new Map<string, number>();
  const channels = new Set<string>();
  const eventTypes = new Map<string, number>();
  const perChannel = new Map<string, ChannelCounters>();
  for (const event of events) {
    if (seen.has(event.eventId)) continue;
    seen.add(event.eventId);
    channels.add(event.channel);
    furthest = Math.max(furthest, (JOURNEY_STAGES as readonly string[]).indexOf(event.journeyStage));
    const stats = perChannel.get(event.channel);
    perChannel.set(event.channel, stats === undefined ? { events: 1, firstSeen: event.eventTime, lastSeen: event.eventTime } : { events: stats.events + 1, firstSeen: Math.min(stats.firstSeen, event.eventTime), lastSeen: Math.max(stats.lastSeen, event.eventTime) });
    if (event.content !== null && ((event.content.contentId ?? '') !== '' || (event.content.url ?? '') !== '')) contentEvents += 1;
    eventTypes.set(event.eventType, (eventTypes.get(event.eventType) ?? 0) + 1);
    firstSeen = firstSeen === null ? event.eventTime : Math.min(firstSeen, event.eventTime);
    lastSeen = lastSeen === null ? event.eventTime : Math.max(lastSeen, event.eventTime);
    switch (event.eventType) {
      case 'order_completed':
      case 'store_purchase':
        ordersCount += 1;
        firstOrderAt = firstOrderAt === null ? event.eventTime : Math.min(firstOrderAt, event.eventTime);
        lastOrderAt = lastOrderAt === null ? event.eventTime : Math.max(lastOrderAt, event.eventTime);
        if ((event.loyalty?.couponCode ?? null) !== null) ordersWithCoupon += 1;
        break;
      case 'order_refunded':
      case 'store_return':
        returnsCount += 1;
        break;
      case 'support_call':
      case 'support_chat':
      case 'support_ticket': {
        supportContacts += 1;
        lastSupportContactAt = lastSupportContactAt === null ? event.eventTime : Math.max(lastSupportContactAt, event.eventTime);
        const score = event.support?.satisfactionScore ?? null;
        if (score !== null && (lastScore === null || event.eventTime > lastScore.time || (event.eventTime === lastScore.time && event.eventId > lastScore.eventId))) {
          lastScore = { time: event.eventTime, eventId: event.eventId, score };
        }
        break;
      }
      case 'coupon_redeemed':
        couponsRedeemed += 1;
        break;
      case 'points_redeemed':
        pointsRedeemed += -(event.loyalty?.pointsDelta ?? 0);
        break;
      case 'email_opened':
        emailOpens += 1;
        lastEmailEngagedAt = lastEmailEngagedAt === null ? event.eventTime : Math.max(lastEmailEngagedAt, event.eventTime);
        break;
      case 'email_clicked':
        emailClicks += 1;
        lastEmailEngagedAt = lastEmailEngagedAt === null ? event.eventTime : Math.max(lastEmailEngagedAt, event.eventTime);
        break;
      case 'email_delivered':
        emailDelivered += 1;
        break;
      case 'email_bounced':
        emailBounces += 1;
        break;
      case 'email_unsubscribed':
        emailUnsubscribes += 1;
        lastUnsubscribedAt = lastUnsubscribedAt === null ? event.eventTime : Math.max(lastUnsubscribedAt, event.eventTime);
        break;
      case 'content_downloaded':
        contentDownloads += 1;
        break;
      case 'form_submitted':
        formSubmissions += 1;
        break;
      default:
        break;
    }
    const commerce = event.commerce;
    if (commerce !== null && (event.eventType === 'order_completed' || event.eventType === 'store_purchase' || event.eventType === 'order_refunded' || event.eventType === 'store_return')) {
      const sign = commerce.kind === 'return' ? -1 : 1;
      lifetimeValue.set(commerce.currency, (lifetimeValue.get(commerce.currency) ?? 0) + sign * commerce.totalMinor);
    }
  }
  return {
    touchpoints: seen.size,
    ordersCount,
    returnsCount,
    lifetimeValue: sortedRecord(lifetimeValue),
    firstOrderAt,
    lastOrderAt,
    ordersWithCoupon,
    supportContacts,
    lastSupportContactAt,
    lastSatisfactionScore: lastScore?.score ?? null,
    lastSatisfactionAt: lastScore?.time ?? null,
    couponsRedeemed,
    pointsRedeemed,
    emailOpens,
    emailClicks,
    emailDelivered,
    emailBounces,
    emailUnsubscribes,
    lastUnsubscribedAt,
    lastEmailEngagedAt,
    contentDownloads,
    formSubmissions,
    contentEvents,
    firstSeen,
    lastSeen,
    channels: [...channels].sort(),
    furthestTouchpointStage: JOURNEY_STAGES[furthest] ?? null,
    perChannel: Object.fromEntries([...perChannel].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    eventTypes: sortedRecord(eventTypes),
  };
}
