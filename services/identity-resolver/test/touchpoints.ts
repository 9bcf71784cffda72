/** Minimal Touchpoints for resolver tests: what resolution reads, nothing else. */
import type { Touchpoint } from '@elephant/channels';

export interface EventLike {
  readonly eventId: string;
  readonly tenant: string;
  readonly channel?: string | undefined;
  readonly eventTime: number;
  /** @default eventTime */
  readonly ingestTime?: number | undefined;
  readonly identifiers: readonly { readonly type: string; readonly value: string }[];
}

export function touchpointOf(event: EventLike): Touchpoint {
  return {
    eventId: event.eventId,
    tenant: event.tenant,
    channel: event.channel ?? 'web',
    source: { system: 'test', trust: 50, eventId: event.eventId },
    eventType: 'custom_event',
    journeyStage: 'engage',
    eventTime: event.eventTime,
    ingestTime: event.ingestTime ?? event.eventTime,
    identifiers: event.identifiers.map((id) => ({ type: id.type, value: id.value })),
    traits: null,
    commerce: null,
    campaign: null,
    content: null,
    email: null,
    support: null,
    loyalty: null,
    store: null,
    properties: {},
  };
}
