/** Support: calls, chats and tickets in Elephant's support JSON, with satisfaction scores. */
import type { EventType, Identifier } from '@elephant/channels';
import { SUPPORT_TOPICS } from '../catalog.ts';
import { HOUR, id, JUNK_PHONES, MINUTE, seconds, type PersonContext } from '../context.ts';
import { isoSeconds } from '../format.ts';
import type { EventTag } from '../model.ts';

export function support(ctx: PersonContext, kind: 'call' | 'chat' | 'ticket', time: number, phone?: string): void {
  const person = ctx.person;
  const random = ctx.random;
  const at = seconds(time);
  const tags: EventTag[] = [];
  const topic = random.pick(SUPPORT_TOPICS);
  const identifiers: (Identifier | null)[] = [];
  const payload: Record<string, unknown> = { type: kind, id: `${kind}-${String(ctx.nextNumber(kind)).padStart(7, '0')}`, occurredAt: isoSeconds(at) };
  const customer: Record<string, unknown> = {};
  const [email0] = person.emails;
  if (kind === 'call') {
    const number = phone ?? random.pick(person.phones);
    if (number === undefined) return;
    const withheld = phone === undefined && ctx.junk();
    payload.callerPhone = withheld ? 'anonymous' : ctx.phone(number, tags);
    if (withheld) tags.push('junk');
    else identifiers.push(id('phone', number));
    // The agent looks the caller up when the number is new or withheld.
    if (withheld || !ctx.knows('phone', number) || random.chance(0.4)) {
      if (person.crmId !== null) {
        customer.crmId = person.crmId;
        identifiers.push(id('crm_id', person.crmId));
      } else if (email0 !== undefined) {
        customer.email = ctx.email(email0, tags);
        identifiers.push(id('email', email0));
      }
    }
    payload.durationSeconds = random.between(60, 1500);
    payload.queue = topic.queue;
  } else {
    const known = person.emails.filter((candidate) => ctx.knows('email', candidate));
    const email = kind === 'ticket' && known.length > 0 ? random.pick(known) : email0;
    if (email === undefined) return;
    customer.email = ctx.email(email, tags);
    identifiers.push(id('email', email));
    if (kind === 'ticket' && person.userId !== null && random.chance(0.3)) {
      customer.userId = person.userId;
      identifiers.push(id('user_id', person.userId));
    }
    if (ctx.junk()) {
      customer.phone = random.pick(JUNK_PHONES);
      tags.push('junk');
    }
    if (kind === 'ticket') {
      payload.subject = `Re: ${topic.reason}`;
      payload.priority = random.pick(['low', 'normal', 'high']);
    }
  }
  if (Object.keys(customer).length > 0) payload.customer = customer;
  payload.agent = `agent-${String(random.between(1, 40)).padStart(2, '0')}`;
  payload.reason = topic.reason;
  payload.resolution = topic.resolution;
  const score = random.chance(0.75) ? random.weighted([0.05, 0.07, 0.13, 0.35, 0.4]) + 1 : null;
  if (score !== null) payload.satisfactionScore = score;
  const eventType: EventType = kind === 'call' ? 'support_call' : kind === 'chat' ? 'support_chat' : 'support_ticket';
  // Interactions are exported when they close (and tickets later still).
  const lag = kind === 'ticket' ? random.between(10 * MINUTE, 6 * HOUR) : random.between(2, 25) * MINUTE;
  ctx.emit({ channel: 'support', payload, time: at, sourceEventId: String(payload.id), eventType, identifiers, lag, tags, satisfactionScore: score });
}
