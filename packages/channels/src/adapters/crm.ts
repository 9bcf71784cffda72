/**
 * CRM: contact created / updated / deleted in Elephant's documented JSON (docs/channels.md),
 * the shape CRM change webhooks and CDC feeds reduce to: the contact's id, names, several
 * e-mails and phones, address, consent per purpose, preferences and owner.
 */
import { ChannelError, schemaViolation } from '../errors.ts';
import { Fields, isRecord } from '../fields.ts';
import { collectorFor, finish, single, systemFor, type Built } from '../build.ts';
import { lookup, readKind, readTime, readTraits } from './common.ts';
import type { AdapterContext, AdapterResult } from '../context.ts';
import { DROP_PROBLEMS, type IdentifierCollector } from '../identifiers.ts';
import type { EventType } from '../vocabulary.ts';

const KINDS: Readonly<Record<string, EventType>> = {
  created: 'contact_created',
  updated: 'contact_updated',
  deleted: 'contact_deleted',
  contact_created: 'contact_created',
  contact_updated: 'contact_updated',
  contact_deleted: 'contact_deleted',
};

/**
 * Every e-mail (or phone) of a contact: `key` may be a list of strings or of
 * `{ value, primary?, type? }`. All valid ones become identifiers; the first marked primary
 * (else the first valid one) is the contact detail in traits.
 */
function readContactPoints(contact: Fields, key: string, type: 'email' | 'phone', ids: IdentifierCollector): string | null {
  const raw = contact.peek(key);
  if (!Array.isArray(raw)) return null;
  let primary: string | null = null;
  let first: string | null = null;
  if ((raw as readonly unknown[]).every((item) => !isRecord(item))) {
    contact.take(key);
    for (const [index, item] of (raw as readonly unknown[]).entries()) {
      const value = ids.add(type, item, `${contact.at(key)}[${index}]`);
      first ??= value;
    }
    return first;
  }
  for (const item of contact.objects(key)) {
    const value = ids.add(type, item.take('value'), item.at('value'));
    first ??= value;
    if (item.optBool('primary') === true) primary ??= value;
  }
  return primary ?? first;
}

/**
 * `email` or `phone`: one value, or a list read like `emails`/`phones` (the docs promise both
 * keys take lists; before 2026-12-07 a list here was dropped as wrong_type).
 */
function readContactPoint(contact: Fields, key: string, type: 'email' | 'phone', ids: IdentifierCollector): string | null {
  if (Array.isArray(contact.peek(key))) return readContactPoints(contact, key, type, ids);
  return ids.add(type, contact.take(key), contact.at(key));
}

function adaptContactChange(raw: unknown, context: AdapterContext): Built {
  const change = Fields.of(raw, '');
  const kind = readKind(change);
  const eventType = lookup(KINDS, kind);
  if (eventType === undefined) {
    throw new ChannelError('UNKNOWN_EVENT_TYPE', `type: ${JSON.stringify(kind)} is not a CRM change type (created, updated, deleted)`, { details: { path: 'type', eventType: kind } });
  }
  const sourceEventId = change.id('id');
  const eventTime = readTime(change, 'occurredAt');
  const contact = change.object('contact');
  const ids = collectorFor(context);
  // The raw value, so normalization sees the number itself (an unsafe integer is refused, not rounded).
  const contactId = contact.take('id');
  if (contactId === undefined || contactId === null) throw schemaViolation(contact.at('id'), 'is required');
  const crmId = ids.addResult('crm_id', contactId, contact.at('id'));
  // Required: without it the change would go out keyed by whatever else the contact has.
  if (!crmId.ok) throw schemaViolation(contact.at('id'), `${DROP_PROBLEMS[crmId.reason]} (${crmId.reason})`);
  const listedEmail = readContactPoints(contact, 'emails', 'email', ids);
  const listedPhone = readContactPoints(contact, 'phones', 'phone', ids);
  const email = readContactPoint(contact, 'email', 'email', ids) ?? listedEmail;
  const phone = readContactPoint(contact, 'phone', 'phone', ids) ?? listedPhone;
  for (const item of contact.objects('identifiers')) ids.add(item.string('type'), item.take('value'), item.at('value'));
  ids.add('user_id', contact.take('userId'), contact.at('userId'));
  ids.add('loyalty_card', contact.take('loyaltyCard'), contact.at('loyaltyCard'));
  const traits = readTraits(contact, ids, eventTime, { email, phone, consentKey: 'consents' });
  return finish('crm', systemFor('crm', context), { sourceEventId, eventType, eventTime, traits }, ids, change, context);
}

/** CRM contact change → touchpoint. Never throws. */
export function adaptCrm(raw: unknown, context: AdapterContext): AdapterResult {
  return single(raw, (value) => adaptContactChange(value, context));
}
