import { describe, expect, it } from 'vitest';
import { adaptSupport } from '@elephant/channels';
import { context, failure, one } from './helpers.ts';

const call = {
  type: 'call',
  id: 'call-8812',
  occurredAt: '2024-05-03T08:15:00Z',
  callerPhone: '+49 30 1234567',
  agent: 'agent-17',
  reason: 'delivery late',
  resolution: 'refund issued',
  satisfactionScore: 4,
  durationSeconds: 312,
  queue: 'orders',
};

describe('support adapter', () => {
  it('maps a call with caller id', () => {
    const tp = one(adaptSupport(call, context));
    expect(tp).toMatchObject({
      eventType: 'support_call',
      journeyStage: 'retain',
      source: { system: 'support', eventId: 'call-8812', trust: 60 },
      identifiers: [{ type: 'phone', value: '+49301234567' }],
      support: { interactionId: 'call-8812', kind: 'call', agent: 'agent-17', reason: 'delivery late', resolution: 'refund issued', satisfactionScore: 4 },
    });
    expect(tp.properties).toEqual({ durationSeconds: '312', queue: 'orders' });
  });

  it('maps a chat and a ticket with the customer the agent looked up', () => {
    const chat = one(adaptSupport({ type: 'chat', id: 'chat-1', occurredAt: '2024-05-03T08:15:00Z', customer: { email: 'Ann@Example.com', crmId: 'crm-7' } }, context));
    expect(chat.eventType).toBe('support_chat');
    expect(chat.identifiers).toEqual([
      { type: 'crm_id', value: 'crm-7' },
      { type: 'email', value: 'ann@example.com' },
    ]);
    const ticket = one(adaptSupport({ type: 'ticket', id: 'evt-5', interactionId: 'T-1001', occurredAt: '2024-05-03T08:15:00Z', customer: { userId: 'u-1' }, satisfactionScore: '9' }, context));
    expect(ticket.support).toMatchObject({ interactionId: 'T-1001', kind: 'ticket', satisfactionScore: 9, agent: null });
  });

  it.each([
    ['an unknown type', { ...call, type: 'letter' }, 'UNKNOWN_EVENT_TYPE', 'type: "letter"'],
    ['a withheld caller number only', { ...call, callerPhone: 'anonymous' }, 'MISSING_IDENTIFIER', 'callerPhone (invalid_phone)'],
    ['a score that is no integer', { ...call, satisfactionScore: 'great' }, 'SCHEMA_VIOLATION', 'satisfactionScore: expected an integer'],
    ['an agent that is an object', { ...call, agent: { id: 1 } }, 'SCHEMA_VIOLATION', 'agent: expected a string'],
    ['a type that is a number', { ...call, type: 7 }, 'UNKNOWN_EVENT_TYPE', 'type: "7"'],
  ])('rejects %s', (_name, raw, code, message) => {
    expect(failure(adaptSupport(raw, context), code as 'SCHEMA_VIOLATION')).toContain(message);
  });
});
