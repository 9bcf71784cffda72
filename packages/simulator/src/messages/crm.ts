/** CRM: contact created / updated changes in Elephant's CRM JSON. */
import type { Identifier } from '@elephant/channels';
import { WORK_DOMAINS } from '../catalog.ts';
import { id, JUNK_EMAILS, JUNK_PHONES, SECOND, seconds, type PersonContext } from '../context.ts';
import { isoSeconds } from '../format.ts';
import type { EventTag } from '../model.ts';

/** A CRM change of the person's contact (nothing when the person has no CRM record). */
export function crmContact(
  ctx: PersonContext,
  type: 'contact.created' | 'contact.updated',
  time: number,
  change: { emails?: readonly string[]; phones?: readonly string[]; userId?: string | null; loyaltyCard?: boolean; owner: string; lifecycle?: string; address?: boolean },
): void {
  const person = ctx.person;
  if (person.crmId === null) return;
  const at = seconds(time);
  const tags: EventTag[] = [];
  const identifiers: (Identifier | null)[] = [id('crm_id', person.crmId)];
  const contact: Record<string, unknown> = { id: person.crmId };
  if (type === 'contact.created') {
    contact.firstName = person.firstName;
    contact.lastName = person.lastName;
  }
  if (change.emails !== undefined && change.emails.length > 0) {
    contact.emails = change.emails.map((email, index) => ({ value: ctx.email(email, tags), type: WORK_DOMAINS.some((domain) => email.endsWith(`@${domain}`)) ? 'work' : index === 0 ? 'personal' : 'other', primary: index === 0 }));
    for (const email of change.emails) identifiers.push(id('email', email));
  }
  if (change.phones !== undefined && change.phones.length > 0) {
    contact.phones = change.phones.map((phone) => ctx.phone(phone, tags));
    for (const phone of change.phones) identifiers.push(id('phone', phone));
  }
  if (ctx.junk()) {
    // Staff typed a placeholder into a mandatory field.
    if (Array.isArray(contact.phones) || ctx.random.chance(0.5)) contact.phones = [...((contact.phones as unknown[] | undefined) ?? []), ctx.random.pick(JUNK_PHONES)];
    else contact.emails = [...((contact.emails as unknown[] | undefined) ?? []), { value: ctx.random.pick(JUNK_EMAILS), type: 'other' }];
    tags.push('junk');
  }
  if (change.userId !== undefined && change.userId !== null) {
    contact.userId = change.userId;
    identifiers.push(id('user_id', change.userId));
  }
  if (change.loyaltyCard === true && person.loyalty !== null) {
    contact.loyaltyCard = ctx.card(person.loyalty.card, tags);
    identifiers.push(id('loyalty_card', person.loyalty.card));
  }
  if (change.address === true) {
    contact.address = { street: person.address.street, city: person.address.city, postalCode: person.address.postalCode, region: person.address.state, country: person.address.country };
  }
  if (change.lifecycle !== undefined) contact.lifecycleStage = change.lifecycle;
  contact.owner = change.owner;
  const payload = { type, id: `chg-${String(ctx.nextNumber('crm')).padStart(8, '0')}`, occurredAt: isoSeconds(at), contact };
  ctx.emit({ channel: 'crm', payload, time: at, sourceEventId: payload.id, eventType: type === 'contact.created' ? 'contact_created' : 'contact_updated', identifiers, lag: ctx.random.between(1, 20) * SECOND, tags });
}
