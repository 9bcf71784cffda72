/**
 * Support: calls, chats and tickets in Elephant's documented JSON (docs/channels.md), the
 * fields contact-centre and helpdesk exports carry. The caller's number (ANI) identifies a
 * call when the agent did not look the customer up; withheld numbers are dropped.
 */
import { ChannelError } from '../errors.ts';
import { Fields } from '../fields.ts';
import { collectorFor, finish, single, systemFor, type Built } from '../build.ts';
import { lookup, readCustomer, readKind, readTime } from './common.ts';
import type { AdapterContext, AdapterResult } from '../context.ts';
import type { EventType } from '../vocabulary.ts';

const KINDS: Readonly<Record<string, EventType>> = { call: 'support_call', chat: 'support_chat', ticket: 'support_ticket' };

function adaptInteraction(raw: unknown, context: AdapterContext): Built {
  const interaction = Fields.of(raw, '');
  const kind = readKind(interaction);
  const eventType = lookup(KINDS, kind);
  if (eventType === undefined) {
    throw new ChannelError('UNKNOWN_EVENT_TYPE', `type: ${JSON.stringify(kind)} is not a support interaction type (call, chat, ticket)`, { details: { path: 'type', eventType: kind } });
  }
  const sourceEventId = interaction.id('id');
  const eventTime = readTime(interaction, 'occurredAt');
  const ids = collectorFor(context);
  readCustomer(interaction.optObject('customer'), ids);
  ids.read('phone', interaction, 'callerPhone');
  const support = {
    interactionId: interaction.optString('interactionId') ?? sourceEventId,
    kind,
    agent: interaction.optString('agent'),
    reason: interaction.optString('reason'),
    resolution: interaction.optString('resolution'),
    satisfactionScore: interaction.optInt('satisfactionScore', -2147483648, 2147483647),
  };
  return finish('support', systemFor('support', context), { sourceEventId, eventType, eventTime, support }, ids, interaction, context);
}

/** Support call, chat or ticket → touchpoint. Never throws. */
export function adaptSupport(raw: unknown, context: AdapterContext): AdapterResult {
  return single(raw, (value) => adaptInteraction(value, context));
}
