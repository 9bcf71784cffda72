/** What all adapters share: assembling a Touchpoint and turning throws into results. */
import { ChannelError } from './errors.ts';
import { touchpointEventId } from './event-id.ts';
import { IdentifierCollector, type DroppedIdentifier, type OmittedDrops } from './identifiers.ts';
import { sourceTrust, DEFAULT_SOURCE_SYSTEMS } from './trust.ts';
import { defaultJourneyStage, type Channel, type EventType } from './vocabulary.ts';
import type { AdapterContext, AdapterResult, RejectedEvent } from './context.ts';
import type { Fields } from './fields.ts';
import type { Campaign, Commerce, Content, Email, Loyalty, Store, Support, Touchpoint, Traits } from './generated/touchpoint.ts';

/** The channel-specific part of a touchpoint; everything else is derived. */
export interface TouchpointDraft {
  readonly sourceEventId: string;
  /**
   * Set when `sourceEventId` is not the event's own id but one other events may share (an ads
   * conversion's id, which can be its click's gclid, shared by every conversion of the click):
   * it then enters the eventId (touchpointEventId), while `source.eventId` stays the id as sent.
   */
  readonly sourceEventScope?: string;
  readonly eventType: EventType;
  readonly eventTime: number;
  readonly traits?: Traits | null;
  readonly commerce?: Commerce | null;
  readonly campaign?: Campaign | null;
  readonly content?: Content | null;
  readonly email?: Email | null;
  readonly support?: Support | null;
  readonly loyalty?: Loyalty | null;
  readonly store?: Store | null;
}

export interface Built {
  readonly touchpoint: Touchpoint;
  readonly dropped: readonly DroppedIdentifier[];
  /** Drops past the reported ones (IdentifierCollector.omitted). */
  readonly droppedOmitted: readonly OmittedDrops[];
}

export function collectorFor(context: AdapterContext): IdentifierCollector {
  return new IdentifierCollector({ defaultRegion: context.defaultRegion, foldGmailAddresses: context.foldGmailAddresses });
}

/**
 * Completes a touchpoint: deterministic eventId, source and trust, identifiers, and every
 * field of `fields` no one consumed as properties. Call it last, after all reads.
 * @throws MISSING_IDENTIFIER when no identifier survived normalization
 */
export function finish(channel: Channel, system: string, draft: TouchpointDraft, ids: IdentifierCollector, fields: Fields, context: AdapterContext): Built {
  if (ids.identifiers.length === 0) {
    const reasons = ids.dropped.map((drop) => `${drop.field} (${drop.reason})`);
    const omitted = ids.omitted;
    const more = omitted.reduce((sum, entry) => sum + entry.count, 0);
    if (more > 0) reasons.push(`and ${more} more`);
    throw new ChannelError('MISSING_IDENTIFIER', `No usable identifier${fields.path === '' ? '' : ` in ${fields.path}`}${reasons.length > 0 ? `; dropped: ${reasons.join(', ')}` : ''}`, {
      // Without the values: personal data, and in the dead letter's original bytes already. The
      // details travel in a header every reader of the dead-letter topic sees (and, before
      // 2026-12-07, the CLI's listing printed them).
      details: { path: fields.path === '' ? '(message)' : fields.path, dropped: ids.dropped.map(({ field, type, reason }) => ({ field, type, reason })), ...(more > 0 ? { droppedOmitted: omitted } : {}) },
    });
  }
  const touchpoint: Touchpoint = {
    eventId: touchpointEventId(context.tenant, channel, system, draft),
    tenant: context.tenant,
    channel,
    source: { system, eventId: draft.sourceEventId, trust: sourceTrust(channel, system, context.trust) },
    eventType: draft.eventType,
    journeyStage: defaultJourneyStage(draft.eventType),
    eventTime: draft.eventTime,
    ingestTime: context.ingestTime,
    identifiers: ids.identifiers,
    traits: draft.traits ?? null,
    commerce: draft.commerce ?? null,
    campaign: draft.campaign ?? null,
    content: draft.content ?? null,
    email: draft.email ?? null,
    support: draft.support ?? null,
    loyalty: draft.loyalty ?? null,
    store: draft.store ?? null,
    properties: fields.rest(),
  };
  // Each drop names its touchpoint, so that it can be logged and traced without its raw value.
  return { touchpoint, dropped: ids.dropped.map((drop) => ({ ...drop, eventId: touchpoint.eventId })), droppedOmitted: ids.omitted };
}

/** The source system name: the deployment's, else `fallback`, else the channel default. */
export function systemFor(channel: Channel, context: AdapterContext, fallback?: string | null): string {
  return context.sourceSystem ?? fallback ?? DEFAULT_SOURCE_SYSTEMS[channel];
}

function unexpected(error: unknown, where: string): ChannelError {
  if (error instanceof ChannelError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ChannelError('ADAPTER_FAILED', `Adapter failed on ${where}: ${message}`, { cause: error });
}

/** Runs a one-event adapter body; every throw becomes an `ok: false` result. */
export function single(raw: unknown, body: (raw: unknown) => Built): AdapterResult {
  try {
    const built = body(raw);
    return { ok: true, touchpoints: [built.touchpoint], dropped: built.dropped, droppedOmitted: built.droppedOmitted, rejected: [] };
  } catch (error) {
    return { ok: false, error: unexpected(error, 'the message') };
  }
}

/**
 * Events one batch message (a SendGrid webhook's array) may hold. A webhook posts a few
 * thousand at most (a batch is cut by size, and MAX_MESSAGE_BYTES bounds it at 1 MiB); a
 * megabyte of tiny junk items (`[1,1,1,...]`, half a million) made one rejection each, took
 * seconds and most of a gigabyte, and a normalizer with a 512 MiB limit was killed on it at
 * every restart: its partition stopped.
 */
export const MAX_EVENTS_PER_MESSAGE = 10_000;

/** Rejected events reported in full in a dead letter's details; the rest are counted. */
export const MAX_REPORTED_REJECTIONS = 100;

/**
 * Runs a batch adapter body per item. Items that fail are `rejected` while the others become
 * touchpoints; only when no item succeeds is the whole message `ok: false` (with the first
 * item's error, the first MAX_REPORTED_REJECTIONS in `details.rejected`, how many more in
 * `details.rejectedOmitted`). An empty batch is an empty success; one of more than
 * MAX_EVENTS_PER_MESSAGE items is refused whole (MESSAGE_TOO_LARGE).
 */
export function batch(items: readonly unknown[], body: (item: unknown, index: number) => Built): AdapterResult {
  if (items.length > MAX_EVENTS_PER_MESSAGE) {
    return { ok: false, error: new ChannelError('MESSAGE_TOO_LARGE', `A batch of ${items.length} events exceeds the limit of ${MAX_EVENTS_PER_MESSAGE} events per message`, { details: { events: items.length, limit: MAX_EVENTS_PER_MESSAGE } }) };
  }
  const touchpoints: Touchpoint[] = [];
  const dropped: DroppedIdentifier[] = [];
  const droppedOmitted: OmittedDrops[] = [];
  const rejected: RejectedEvent[] = [];
  items.forEach((item, index) => {
    try {
      const built = body(item, index);
      touchpoints.push(built.touchpoint);
      // A loop, not push(...): spreading a long array passes each element as an argument and overflows the stack.
      for (const drop of built.dropped) dropped.push(drop);
      for (const entry of built.droppedOmitted) droppedOmitted.push(entry);
    } catch (error) {
      rejected.push({ index, error: unexpected(error, `item ${index}`) });
    }
  });
  const first = rejected[0];
  if (touchpoints.length === 0 && first !== undefined) {
    if (rejected.length === 1) return { ok: false, error: first.error };
    const { error } = first;
    const reported = rejected.slice(0, MAX_REPORTED_REJECTIONS).map((entry) => ({ index: entry.index, code: entry.error.code, message: entry.error.message }));
    const omitted = rejected.length - reported.length;
    return {
      ok: false,
      error: new ChannelError(error.code, `All ${items.length} events rejected; first: ${error.message}`, { cause: error, details: { ...error.details, rejected: reported, ...(omitted > 0 ? { rejectedOmitted: omitted } : {}) } }),
    };
  }
  return { ok: true, touchpoints, dropped, droppedOmitted, rejected };
}
