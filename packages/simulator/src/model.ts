import type { Channel, EventType, Identifier, JourneyStage } from '@elephant/channels';

/** What made an event interesting for identity resolution or delivery. */
export const EVENT_TAGS = [
  /** Carries a placeholder value (test@test.com, 0000000000, unknown, an all-zero advertising id) next to real identifiers. */
  'junk',
  /** Carries an e-mail, phone or card in a formatting variant (upper case, spaces, (415) 555-0100). */
  'variant',
  /** Carries the device id of a tablet several household members use. */
  'shared_device',
  /** Delivered 1 hour to 3 days after it happened. */
  'late',
  /** Its raw message was delivered twice. */
  'duplicated',
  /** Its raw message was delivered after a later event of the same person (app flushes, ad-report lag, late delivery). */
  'out_of_order',
] as const;
export type EventTag = (typeof EVENT_TAGS)[number];

/** The money side of a purchase or return, as the adapter will read it. */
export interface CommerceFacts {
  readonly kind: 'purchase' | 'return';
  readonly currency: string;
  /** `commerce.totalMinor`: the message's total (purchases include shipping and tax). */
  readonly totalMinor: number;
  /** Whether the touchpoint carries `loyalty.couponCode`. */
  readonly coupon: boolean;
}

/** Everything the simulator knows about one touchpoint the normalizer will derive. */
export interface EventFacts {
  /** The eventId the normalizer derives (deriveEventId of tenant, channel, source system, source event id; for an ads conversion keyed by its conversion id, the event type too). */
  readonly eventId: string;
  readonly personId: string;
  readonly channel: Channel;
  readonly sourceSystem: string;
  readonly sourceEventId: string;
  readonly eventType: EventType;
  /** The journey stage the simulator generated the event in (not the event type's default stage). */
  readonly stage: JourneyStage;
  /** Epoch ms as the adapter reads it (SendGrid's are whole seconds). */
  readonly eventTime: number;
  /** The person's own identifiers on the touchpoint, normalized; placeholders and shared device ids are left out. */
  readonly identifiers: readonly Identifier[];
  readonly commerce: CommerceFacts | null;
  readonly satisfactionScore: number | null;
  /** Points redeemed (points_redeemed only). */
  readonly points: number | null;
  /** Replaced (not mutated) when a tag is added: events without tags share one empty list. */
  tags: readonly EventTag[];
}

/** One raw message before delivery order is fixed. */
export interface PlannedMessage {
  readonly channel: Channel;
  /** The raw message as JSON text; for e-mail one SendGrid event (batched into arrays at delivery). */
  readonly json: string;
  readonly eventTime: number;
  deliveredAt: number;
  /** Creation order: the tie-breaker that keeps sorting deterministic. */
  readonly seq: number;
  readonly personIndex: number;
  /** null for malformed messages. */
  readonly facts: EventFacts | null;
  readonly kind: 'normal' | 'junk_only' | 'malformed';
  /** For malformed messages: the error code the adapter answers with. */
  readonly expectedError?: string | undefined;
}
