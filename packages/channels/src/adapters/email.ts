/**
 * E-mail: the SendGrid Event Webhook body, a JSON array of events, one touchpoint each.
 *
 * Batches lose nothing: an event that cannot be adapted (unknown event name such as an
 * account-status event, no sg_event_id, no valid address) is returned in `rejected` with its
 * index while the rest of the batch becomes touchpoints; only when no event is usable is the
 * whole message an error. The normalizer dead-letters the original bytes with the rejected
 * indexes either way, and replaying them is harmless because eventIds are deterministic.
 * A single event object (not in an array) is accepted as a batch of one.
 */
import { ChannelError, schemaViolation } from '../errors.ts';
import { Fields, describeType, isRecord } from '../fields.ts';
import { batch, collectorFor, finish, systemFor, type Built } from '../build.ts';
import { parseUnixSeconds } from '../values.ts';
import { lookup } from './common.ts';
import type { AdapterContext, AdapterResult } from '../context.ts';
import type { EventType } from '../vocabulary.ts';

/** SendGrid event name → event type. */
export const SENDGRID_EVENTS: Readonly<Record<string, EventType>> = {
  processed: 'email_sent',
  deferred: 'email_deferred',
  delivered: 'email_delivered',
  dropped: 'email_dropped',
  bounce: 'email_bounced',
  open: 'email_opened',
  click: 'email_clicked',
  spamreport: 'email_spam_reported',
  unsubscribe: 'email_unsubscribed',
  group_unsubscribe: 'email_unsubscribed',
  group_resubscribe: 'email_resubscribed',
};

function adaptEvent(item: unknown, index: number, context: AdapterContext): Built {
  const event = Fields.of(item, `[${index}]`);
  // Keep the name in properties.event: group_unsubscribe and unsubscribe share an event type.
  const name = event.peek('event');
  if (typeof name !== 'string') {
    throw schemaViolation(event.at('event'), name === undefined || name === null ? 'is required' : `expected a string, got ${describeType(name)}`);
  }
  const eventType = lookup(SENDGRID_EVENTS, name.trim().toLowerCase());
  if (eventType === undefined) {
    throw new ChannelError('UNKNOWN_EVENT_TYPE', `${event.at('event')}: ${JSON.stringify(name)} is not a SendGrid event this adapter maps (${Object.keys(SENDGRID_EVENTS).join(', ')})`, {
      details: { path: event.at('event'), eventType: name },
    });
  }
  const sourceEventId = event.id('sg_event_id');
  const eventTime = parseUnixSeconds(event.take('timestamp'), event.at('timestamp'));
  const ids = collectorFor(context);
  ids.read('email', event, 'email');
  for (const [arg, type] of Object.entries(context.sendgridIdentifierArgs ?? {})) {
    if (event.has(arg)) ids.read(type, event, arg);
  }
  // Read as text the way every other field is (a lone surrogate, Infinity or an id rounded past
  // 2^53 went out as they were). The one read is not repeated in properties (before 2026-12-07
  // it was); the id stays there when the name is read, and a value that is no text stays too.
  const campaign = event.firstText('marketing_campaign_name', 'marketing_campaign_id');
  const email = {
    messageId: event.optString('sg_message_id'),
    campaign,
    url: event.optString('url'),
    reason: event.optString('reason'),
  };
  return finish('email', systemFor('email', context), { sourceEventId, eventType, eventTime, email }, ids, event, context);
}

/** SendGrid Event Webhook body → touchpoints. Never throws. */
export function adaptEmail(raw: unknown, context: AdapterContext): AdapterResult {
  if (!Array.isArray(raw) && !isRecord(raw)) {
    return { ok: false, error: schemaViolation('', `expected an array of SendGrid events, got ${describeType(raw)}`) };
  }
  const items = Array.isArray(raw) ? (raw as readonly unknown[]) : [raw];
  return batch(items, (item, index) => adaptEvent(item, index, context));
}
