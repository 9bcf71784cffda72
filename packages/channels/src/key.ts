import { IDENTIFIER_TYPES } from './vocabulary.ts';
import type { Touchpoint } from './generated/touchpoint.ts';

const PRIORITY = new Map<string, number>(IDENTIFIER_TYPES.map((type, index) => [type, index]));

/**
 * The Kafka key of a touchpoint: `type:value` of its strongest identifier, by the priority
 * user_id > crm_id > email > phone > loyalty_card > payment_fingerprint > device_id >
 * anonymous_id > custom types (in the order listed). Keying by the strongest identifier sends
 * a person's events to the same partition as often as their identifiers allow. A touchpoint
 * without identifiers (adapters never produce one) is keyed `event:<eventId>`.
 */
export function touchpointKey(touchpoint: Pick<Touchpoint, 'identifiers' | 'eventId'>): string {
  let best: { readonly type: string; readonly value: string } | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const identifier of touchpoint.identifiers) {
    const rank = PRIORITY.get(identifier.type) ?? IDENTIFIER_TYPES.length;
    if (rank < bestRank) {
      best = identifier;
      bestRank = rank;
    }
  }
  return best === undefined ? `event:${touchpoint.eventId}` : `${best.type}:${best.value}`;
}

/**
 * `max.message.bytes` of the touchpoints topic, set by whichever service creates it (the
 * normalizer or the resolver, whichever starts first) rather than left to the broker's default,
 * which an operator may have lowered: the normalizer's TOUCHPOINT_MAX_BYTES and the producer's
 * 900 KiB requests stay below it.
 */
export const TOUCHPOINTS_TOPIC_MAX_BYTES = 1048588;
