/**
 * The closed vocabularies of the Touchpoint contract. They travel as Avro strings (see the
 * schema's doc for why not enums); these arrays are the single place that defines them.
 */

export const CHANNELS = ['web', 'email', 'ads', 'pos', 'support', 'crm', 'loyalty', 'content'] as const;
export type Channel = (typeof CHANNELS)[number];

export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

/** Customer-lifecycle stages, in lifecycle order. */
export const JOURNEY_STAGES = ['aware', 'acquire', 'onboard', 'engage', 'retain', 'expand'] as const;
export type JourneyStage = (typeof JOURNEY_STAGES)[number];

/**
 * Every event type with its default journey stage. The default is what the event means
 * without history (a purchase acquires; whether it was the first is the profile's call, so
 * profile building may move a repeat purchase to `expand`).
 */
export const EVENT_TYPE_STAGES = {
  // web / mobile (Segment Spec)
  page_viewed: 'aware',
  screen_viewed: 'engage',
  product_viewed: 'aware',
  order_completed: 'acquire',
  order_refunded: 'retain',
  identified: 'acquire',
  aliased: 'acquire',
  grouped: 'engage',
  /** A Segment track call whose name is not in the e-commerce mapping; the name is kept in properties.event. */
  custom_event: 'engage',
  // e-mail (ESP events)
  email_sent: 'engage',
  email_deferred: 'engage',
  email_delivered: 'engage',
  email_dropped: 'engage',
  email_bounced: 'engage',
  email_opened: 'engage',
  email_clicked: 'engage',
  email_unsubscribed: 'retain',
  email_resubscribed: 'retain',
  email_spam_reported: 'retain',
  // ads
  ad_clicked: 'aware',
  ad_converted: 'acquire',
  // store point of sale
  store_purchase: 'acquire',
  store_return: 'retain',
  // support
  support_call: 'retain',
  support_chat: 'retain',
  support_ticket: 'retain',
  // crm
  contact_created: 'acquire',
  contact_updated: 'engage',
  contact_deleted: 'retain',
  // loyalty
  coupon_redeemed: 'retain',
  points_redeemed: 'retain',
  // content
  form_submitted: 'acquire',
  content_downloaded: 'aware',
} as const satisfies Record<string, JourneyStage>;

export type EventType = keyof typeof EVENT_TYPE_STAGES;
export const EVENT_TYPES = Object.keys(EVENT_TYPE_STAGES) as readonly EventType[];

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(EVENT_TYPE_STAGES, value);
}

/** The default journey stage of an event type. */
export function defaultJourneyStage(eventType: EventType): JourneyStage {
  return EVENT_TYPE_STAGES[eventType];
}

/**
 * Built-in identifier types, strongest first: the order is the priority `touchpointKey`
 * uses. Custom types (lower-case snake case) are allowed and rank after all of these.
 */
export const IDENTIFIER_TYPES = ['user_id', 'crm_id', 'email', 'phone', 'loyalty_card', 'payment_fingerprint', 'device_id', 'anonymous_id'] as const;
export type BuiltInIdentifierType = (typeof IDENTIFIER_TYPES)[number];

/** Shape a custom identifier type must have (e.g. click_id, advertising_id, email_sha256). */
export const CUSTOM_IDENTIFIER_TYPE = /^[a-z][a-z0-9_]{0,63}$/;
