/**
 * CRM: contact created / updated / deleted in Elephant's documented JSON (docs/channels.md),
 * the shape CRM change webhooks and CDC feeds reduce to: the contact's id, names, several
 * e-mails and phones, address, consent per purpose, preferences and owner.
 */
import { ChannelError, schemaViolation } from '../errors.ts';
import { Fields, isRecord } from '../fields.ts';
import { collectorFor, finish, single, systemFor, type Built } from '../build.ts';
import { lookup, readKind, readListedIdentifier, readTime, readTraits } from './common.ts';
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

/** The e-mails (or phones) one key of a contact gave: the first marked primary, the first valid one. */
interface ContactPoints {
  readonly primary: string | null;
  readonly first: string | null;
}

const NO_CONTACT_POINTS: ContactPoints = { primary: null, first: null };

/**
 * The e-mails (or phones) of `contact[key]` when it is a list of strings and of
 * `{ value, primary?, type? }`, each item read by its own type (before 2026-12-07 one item
 * that was no object among objects, a `null` or a string, failed the contact): every valid one
 * becomes an identifier. What normalization drops stays in properties under its path: an item
 * that is no object as `key[i]` (a null item is dropped as `empty` and kept as `null`), an
 * object item's `value` and `primary` as `key[i].value`, `key[i].primary` (its other fields are
 * never read). A `primary` that is no boolean (`1`, `"Y"`) marks nothing and stays in
 * properties (before 2026-12-07 it failed the contact). Anything else in `key` is left unread.
 */
function readContactPoints(contact: Fields, key: string, type: 'email' | 'phone', ids: IdentifierCollector): ContactPoints {
  if (!Array.isArray(contact.peek(key))) return NO_CONTACT_POINTS;
  let primary: string | null = null;
  let first: string | null = null;
  for (const [index, raw] of contact.items(key).entries()) {
    if (!isRecord(raw)) {
      const result = ids.addResult(type, raw, `${contact.at(key)}[${index}]`);
      if (result.ok) first ??= result.value;
      else contact.leaveItem(key, index);
      continue;
    }
    const item = contact.itemObject(key, index);
    const value = ids.read(type, item, 'value');
    if (value === null) {
      // Nothing of the item was used: it stays whole, its primary flag with the value it marked
      // and a null value as `null` (as in every property), not a flag marking nothing.
      item.leave('value');
      continue;
    }
    first ??= value;
    if (item.optFlag('primary') === true) primary ??= value;
  }
  return { primary, first };
}

/**
 * `email` or `phone`: one value, or a list read like `emails`/`phones` (the docs promise both
 * keys take lists; before 2026-12-07 a list here was dropped as wrong_type). A dropped single
 * value stays in properties.
 */
function readContactPoint(contact: Fields, key: string, type: 'email' | 'phone', ids: IdentifierCollector): ContactPoints {
  if (Array.isArray(contact.peek(key))) return readContactPoints(contact, key, type, ids);
  return { primary: null, first: ids.read(type, contact, key) };
}

/**
 * The contact's e-mail (or phone) for traits: the first marked primary in `email` then
 * `emails` (`phone`, `phones`), else the first valid one, `email` before `emails`. Before
 * 2026-12-07 a plain `email` won over a list entry marked primary.
 */
function chosen(single: ContactPoints, listed: ContactPoints): string | null {
  return single.primary ?? listed.primary ?? single.first ?? listed.first;
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
  // The lists first: the identifiers' order (and so the touchpoint's) is as it was.
  const listedEmails = readContactPoints(contact, 'emails', 'email', ids);
  const listedPhones = readContactPoints(contact, 'phones', 'phone', ids);
  const email = chosen(readContactPoint(contact, 'email', 'email', ids), listedEmails);
  const phone = chosen(readContactPoint(contact, 'phone', 'phone', ids), listedPhones);
  for (const item of contact.objects('identifiers')) readListedIdentifier(item, ids);
  ids.read('user_id', contact, 'userId');
  ids.read('loyalty_card', contact, 'loyaltyCard');
  const traits = readTraits(contact, ids, eventTime, { email, phone, consentKey: 'consents' });
  return finish('crm', systemFor('crm', context), { sourceEventId, eventType, eventTime, traits }, ids, change, context);
}

/** CRM contact change → touchpoint. Never throws. */
export function adaptCrm(raw: unknown, context: AdapterContext): AdapterResult {
  return single(raw, (value) => adaptContactChange(value, context));
}
