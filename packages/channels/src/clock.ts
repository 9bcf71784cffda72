/**
 * Source clocks that run ahead. A touchpoint's times (eventTime, each consent's statedAt) are
 * the source's, and a device or an integration with its clock set ahead reports times that
 * have not happened yet. Later-wins rules would let such a statement beat every true one that
 * follows it: a consent granted "in 2030" that no opt-out before 2030 could replace, an
 * unsubscribe no resubscribe could undo, a link or identity seen "last" for years. Whoever
 * orders touchpoints by their times (identity resolution, profile building) therefore uses
 * them bounded by the touchpoint's ingestTime, when its raw message reached Kafka (the raw
 * record's timestamp: nothing the message says happened after it was sent). The touchpoint
 * itself keeps the times as the source reported them.
 */
import type { Consent, Touchpoint } from './generated/touchpoint.ts';

/** `time` (epoch ms) as touchpoints are ordered by it: never after `ingestTime`. */
export function boundedByIngest(time: number, ingestTime: number): number {
  return time > ingestTime ? ingestTime : time;
}

/** Whether a touchpoint states a time after its ingestTime (its eventTime or a consent's statedAt). */
export function statesFutureTime(touchpoint: Pick<Touchpoint, 'eventTime' | 'ingestTime' | 'traits'>): boolean {
  if (touchpoint.eventTime > touchpoint.ingestTime) return true;
  for (const consent of touchpoint.traits?.consent ?? []) if (consent.statedAt > touchpoint.ingestTime) return true;
  return false;
}

/**
 * The touchpoint with its eventTime and consents' statedAt bounded by its ingestTime
 * (boundedByIngest): itself, the same object, when none is later.
 */
export function withTimesBoundedByIngest<T extends Pick<Touchpoint, 'eventTime' | 'ingestTime' | 'traits'>>(touchpoint: T): T {
  if (!statesFutureTime(touchpoint)) return touchpoint;
  const ingestTime = touchpoint.ingestTime;
  const traits = touchpoint.traits;
  return {
    ...touchpoint,
    eventTime: boundedByIngest(touchpoint.eventTime, ingestTime),
    traits: traits === null ? null : { ...traits, consent: traits.consent.map((consent): Consent => (consent.statedAt > ingestTime ? { ...consent, statedAt: ingestTime } : consent)) },
  };
}
