import { describe, expect, it } from 'vitest';
import { adaptCrm, adaptMessage, MAX_REPORTED_DROPS } from '@elephant/channels';
import { context, failure, one } from './helpers.ts';

const created = {
  type: 'contact.created',
  id: 'chg-1001',
  occurredAt: '2024-04-30T16:20:00Z',
  contact: {
    id: 'C-000123',
    firstName: 'Ann',
    lastName: 'Lee',
    emails: [
      { value: 'ann.lee@work.example', type: 'work' },
      { value: 'Ann@Home.example', type: 'home', primary: true },
    ],
    phones: ['030 1234567', 'n/a'],
    address: { street: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', country: 'de' },
    birthDate: '1990-02-28',
    gender: 'female',
    company: 'Initech',
    owner: 'rep-9',
    consents: [
      { purpose: 'marketing_email', granted: true, statedAt: '2024-04-01T09:00:00Z' },
      { purpose: 'profiling', granted: false },
    ],
    preferences: { language: 'de', channel: 'email', quietHours: [22, 7] },
    identifiers: [{ type: 'erp_customer', value: 'E-77' }],
  },
};

describe('crm adapter', () => {
  it('maps a created contact: every address and number, the primary as contact detail, consent and preferences', () => {
    const result = adaptCrm(created, context);
    const tp = one(result);
    expect(tp).toMatchObject({ eventType: 'contact_created', journeyStage: 'acquire', source: { system: 'crm', eventId: 'chg-1001', trust: 50 } });
    expect(tp.identifiers).toEqual([
      { type: 'crm_id', value: 'C-000123' },
      { type: 'email', value: 'ann.lee@work.example' },
      { type: 'email', value: 'ann@home.example' },
      { type: 'phone', value: '+49301234567' },
      { type: 'erp_customer', value: 'E-77' },
    ]);
    expect(tp.traits).toEqual({
      email: 'ann@home.example',
      phone: '+49301234567',
      firstName: 'Ann',
      lastName: 'Lee',
      company: 'Initech',
      address: { street: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', region: null, country: 'DE' },
      birthDate: '1990-02-28',
      gender: 'female',
      preferences: { language: 'de', channel: 'email', quietHours: '[22,7]' },
      consent: [
        { purpose: 'marketing_email', granted: true, statedAt: Date.parse('2024-04-01T09:00:00Z') },
        { purpose: 'profiling', granted: false, statedAt: tp.eventTime },
      ],
    });
    expect(result.ok && result.dropped).toEqual([{ field: 'contact.phones[1]', type: 'phone', value: 'n/a', reason: 'invalid_phone', eventId: result.ok ? result.touchpoints[0]?.eventId : undefined }]);
    expect(tp.properties).toMatchObject({ 'contact.owner': 'rep-9', 'contact.emails[0].type': 'work', 'contact.phones[1]': 'n/a' });
  });

  it('regression (a plain email won over a list entry marked primary): the first marked primary is the trait, else the first valid one, email before emails', () => {
    const traitsOf = (contact: Record<string, unknown>) => one(adaptCrm({ ...created, contact: { id: 'C-1', ...contact } }, context)).traits;
    expect(traitsOf({ email: 'a@x.example', emails: [{ value: 'b@x.example', primary: true }] })).toMatchObject({ email: 'b@x.example' });
    expect(traitsOf({ phone: '030 111111', phones: [{ value: '030 1234567', primary: true }] })).toMatchObject({ phone: '+49301234567' });
    // No primary: the first valid one, `email` before `emails`; a primary in `email` before one in `emails`.
    expect(traitsOf({ email: 'a@x.example', emails: ['b@x.example'] })).toMatchObject({ email: 'a@x.example' });
    expect(traitsOf({ email: 'nope', emails: ['b@x.example'] })).toMatchObject({ email: 'b@x.example' });
    expect(traitsOf({ email: [{ value: 'a@x.example' }, { value: 'c@x.example', primary: true }], emails: [{ value: 'b@x.example', primary: true }] })).toMatchObject({ email: 'c@x.example' });
    // A primary mark on a dropped value marks nothing.
    expect(traitsOf({ email: 'a@x.example', emails: [{ value: 'nope', primary: true }] })).toMatchObject({ email: 'a@x.example' });
    // The identifiers are all there, in the order they were before.
    expect(one(adaptCrm({ ...created, contact: { id: 'C-1', email: 'a@x.example', emails: [{ value: 'b@x.example', primary: true }] } }, context)).identifiers).toEqual([
      { type: 'crm_id', value: 'C-1' },
      { type: 'email', value: 'b@x.example' },
      { type: 'email', value: 'a@x.example' },
    ]);
  });

  it('regression (a null preference was read and discarded): it is no preference and stays in properties as null', () => {
    const tp = one(adaptCrm({ ...created, contact: { id: 'C-1', preferences: { language: 'de', newsletter: null } } }, context));
    expect(tp.traits?.preferences).toEqual({ language: 'de' });
    expect(tp.properties).toEqual({ 'contact.preferences.newsletter': 'null' });
  });

  it('regression (an empty statedAt failed the change): a consent time given as an empty string counts as absent (the event time)', () => {
    const tp = one(adaptCrm({ ...created, contact: { id: 'C-1', email: 'ann@example.com', consents: [{ purpose: 'marketing_email', granted: true, statedAt: '' }, { purpose: 'profiling', granted: false, statedAt: ' ' }] } }, context));
    expect(tp.traits?.consent).toEqual([
      { purpose: 'marketing_email', granted: true, statedAt: tp.eventTime },
      { purpose: 'profiling', granted: false, statedAt: tp.eventTime },
    ]);
  });

  it('maps an update with a single e-mail field', () => {
    const tp = one(adaptCrm({ type: 'updated', id: 'chg-1002', occurredAt: '2024-05-01T00:00:00Z', contact: { id: 'C-000123', email: 'ANN@new.example', lastName: 'Lee-Smith' } }, context));
    expect(tp.eventType).toBe('contact_updated');
    expect(tp.traits).toMatchObject({ email: 'ann@new.example', lastName: 'Lee-Smith', firstName: null });
  });

  it('regression (one item that was no object among objects, a null or a string, failed the contact with "expected an object"): each item is read by its own type', () => {
    const change = (contact: Record<string, unknown>) => adaptCrm({ type: 'updated', id: 'chg-1', occurredAt: '2024-05-01T00:00:00Z', contact: { id: 'C-1', ...contact } }, context);
    const withNull = change({ emails: [{ value: 'a@b.example', primary: true, type: 'work' }, null] });
    const tp = one(withNull);
    expect(tp.identifiers).toEqual([{ type: 'crm_id', value: 'C-1' }, { type: 'email', value: 'a@b.example' }]);
    expect(tp.traits).toMatchObject({ email: 'a@b.example' });
    // The null item is dropped as empty and kept as null, as in a list of strings.
    expect(withNull.ok && withNull.dropped.map(({ field, reason }) => [field, reason])).toEqual([['contact.emails[1]', 'empty']]);
    expect(tp.properties).toEqual({ 'contact.emails[0].type': 'work', 'contact.emails[1]': 'null' });

    const mixed = change({ emails: ['x@b.example', { value: 'a@b.example', primary: true }, { value: 'nope', type: 'home' }, 42], phones: [{ value: '030 1234567' }, '+1 415 555 2671'] });
    const both = one(mixed);
    expect(both.identifiers).toEqual([
      { type: 'crm_id', value: 'C-1' },
      { type: 'email', value: 'x@b.example' },
      { type: 'email', value: 'a@b.example' },
      { type: 'phone', value: '+49301234567' },
      { type: 'phone', value: '+14155552671' },
    ]);
    expect(both.traits).toMatchObject({ email: 'a@b.example', phone: '+49301234567' });
    expect(both.properties).toEqual({ 'contact.emails[2].value': 'nope', 'contact.emails[2].type': 'home', 'contact.emails[3]': '42' });
  });

  it('regression (a primary flag that was no boolean, 1 or "Y", failed the contact): it marks nothing and stays in properties', () => {
    const tp = one(adaptCrm({ type: 'updated', id: 'chg-1', occurredAt: '2024-05-01T00:00:00Z', contact: { id: 'C-1', emails: [{ value: 'a@b.example' }, { value: 'c@d.example', primary: 1 }, { value: 'e@f.example', primary: 'Y' }, { value: 'g@h.example', primary: 'true' }] } }, context));
    expect(tp.traits).toMatchObject({ email: 'g@h.example' });
    expect(tp.identifiers).toHaveLength(5);
    expect(tp.properties).toEqual({ 'contact.emails[1].primary': '1', 'contact.emails[2].primary': 'Y' });
    // Without any readable mark, the first valid one.
    expect(one(adaptCrm({ type: 'updated', id: 'chg-1', occurredAt: '2024-05-01T00:00:00Z', contact: { id: 'C-1', emails: [{ value: 'a@b.example' }, { value: 'c@d.example', primary: 1 }] } }, context)).traits).toMatchObject({ email: 'a@b.example' });
  });

  it('regression (contact.email and contact.phone given as lists were dropped as wrong_type): reads every item, as for emails and phones', () => {
    const tp = one(
      adaptCrm({ type: 'updated', id: 'chg-1004', occurredAt: '2024-05-01T00:00:00Z', contact: { id: 'C-1', email: ['ann@a.example', 'ann@b.example'], phone: [{ value: '030 1234567', type: 'home' }, { value: '+1 415 555 2671', primary: true }] } }, context),
    );
    expect(tp.identifiers).toEqual([
      { type: 'crm_id', value: 'C-1' },
      { type: 'email', value: 'ann@a.example' },
      { type: 'email', value: 'ann@b.example' },
      { type: 'phone', value: '+49301234567' },
      { type: 'phone', value: '+14155552671' },
    ]);
    expect(tp.traits).toMatchObject({ email: 'ann@a.example', phone: '+14155552671' });
    expect(tp.properties).toEqual({ 'contact.phone[0].type': 'home' });
  });

  it('regression (preference keys differing only by a lone surrogate became one, and a value was lost): keeps each, the next with #2, as properties do', () => {
    const raw = '{"type":"updated","id":"c","occurredAt":"2024-04-30T16:20:00Z","contact":{"id":"C-1","preferences":{"\\ud800":"a","\\udbff":"b","\\ufffd":"c","\\ufffd#2":"d","ok":"e"}}}';
    const tp = one(adaptMessage('crm', new TextEncoder().encode(raw), context));
    expect(tp.traits?.preferences).toEqual({ '\ufffd': 'a', '\ufffd#2': 'b', '\ufffd#3': 'c', '\ufffd#2#2': 'd', ok: 'e' });
  });

  it('regression (integers beyond 2^53 in preferences were rounded): keeps their digits as sent', () => {
    const raw = '{"type":"updated","id":"c","occurredAt":"2024-04-30T16:20:00Z","contact":{"id":"C-1","preferences":{"a":12345678901234567891,"b":[12345678901234567890,1]}}}';
    const tp = one(adaptMessage('crm', new TextEncoder().encode(raw), context));
    expect(tp.traits?.preferences).toEqual({ a: '12345678901234567891', b: '[12345678901234567890,1]' });
  });

  it('maps a deletion that carries only the crm id', () => {
    const tp = one(adaptCrm({ type: 'contact_deleted', id: 'chg-1003', occurredAt: '2024-05-02T00:00:00Z', contact: { id: 98765 } }, context));
    expect(tp.eventType).toBe('contact_deleted');
    expect(tp.identifiers).toEqual([{ type: 'crm_id', value: '98765' }]);
    expect(tp.traits).toBeNull();
  });

  it.each([
    ['an unknown type', { ...created, type: 'merged' }, 'UNKNOWN_EVENT_TYPE', 'type: "merged"'],
    ['no contact', { ...created, contact: undefined }, 'SCHEMA_VIOLATION', 'contact: is required'],
    ['no contact id', { ...created, contact: { firstName: 'Ann' } }, 'SCHEMA_VIOLATION', 'contact.id: is required'],
    ['consent without granted', { ...created, contact: { id: 'c', consents: [{ purpose: 'x' }] } }, 'SCHEMA_VIOLATION', 'contact.consents[0].granted: is required'],
    ['consent granted as text', { ...created, contact: { id: 'c', consents: [{ purpose: 'x', granted: 'yes' }] } }, 'SCHEMA_VIOLATION', 'contact.consents[0].granted: expected a boolean'],
    ['consent with a bad date', { ...created, contact: { id: 'c', consents: [{ purpose: 'x', granted: true, statedAt: 'yesterday' }] } }, 'SCHEMA_VIOLATION', 'contact.consents[0].statedAt'],
    ['a change id beyond 2^53 (JSON parsing rounded it)', { ...created, id: 2 ** 53 }, 'SCHEMA_VIOLATION', 'id: expected a string or an integer between -(2^53-1) and 2^53-1'],
    ['a fractional change id', { ...created, id: 1.5 }, 'SCHEMA_VIOLATION', 'id: expected a string or an integer'],
    ['a contact id beyond 2^53', { ...created, contact: { id: 12345678901234567891, email: 'a@b.example' } }, 'SCHEMA_VIOLATION', 'contact.id: expected a string or an integer between -(2^53-1) and 2^53-1 (wrong_type)'],
    ['a contact id with a control character', { ...created, contact: { id: 'C-1\u0000', email: 'a@b.example' } }, 'SCHEMA_VIOLATION', 'contact.id: contains control or format characters'],
    ['a contact id over 512 characters', { ...created, contact: { id: 'x'.repeat(600), email: 'a@b.example' } }, 'SCHEMA_VIOLATION', 'contact.id: is too long (too_long)'],
    ['a contact id that is an object', { ...created, contact: { id: { value: 'C-1' }, email: 'a@b.example' } }, 'SCHEMA_VIOLATION', 'contact.id: expected a string or an integer'],
    ['an empty contact id', { ...created, contact: { id: '  ', email: 'a@b.example' } }, 'SCHEMA_VIOLATION', 'contact.id: must not be empty'],
  ])('rejects %s', (_name, raw, code, message) => {
    expect(failure(adaptCrm(raw, context), code as 'SCHEMA_VIOLATION')).toContain(message);
  });

  it('regression (unsafe integers were rounded): two contact ids beyond 2^53 no longer become one crm_id', () => {
    // Both parse to 12345678901234567000: written in decimal, they merged two contacts.
    const a = adaptMessage('crm', new TextEncoder().encode('{"type":"created","id":"c-1","occurredAt":"2024-04-30T16:20:00Z","contact":{"id":12345678901234567891}}'), context);
    const b = adaptMessage('crm', new TextEncoder().encode('{"type":"created","id":"c-2","occurredAt":"2024-04-30T16:20:00Z","contact":{"id":12345678901234567890}}'), context);
    expect(failure(a, 'SCHEMA_VIOLATION')).toMatch(/^contact\.id: /);
    expect(failure(b, 'SCHEMA_VIOLATION')).toMatch(/^contact\.id: /);
    // The largest safe integer is still an id, written in decimal.
    expect(one(adaptCrm({ ...created, contact: { id: Number.MAX_SAFE_INTEGER } }, context)).identifiers).toEqual([{ type: 'crm_id', value: '9007199254740991' }]);
  });

  it('regression (an invalid contact id was dropped silently): the change is refused, not keyed by its e-mail', () => {
    const result = adaptCrm({ ...created, contact: { id: 'C-1\u0000', email: 'a@b.example' } }, context);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.details).toEqual({ path: 'contact.id' });
  });

  it('keeps a first name that is a list in properties instead of failing the event', () => {
    const tp = one(adaptCrm({ ...created, contact: { id: 'c', firstName: ['Ann'], lastName: 'Lee' } }, context));
    expect(tp.traits).toMatchObject({ firstName: null, lastName: 'Lee' });
    expect(tp.properties).toMatchObject({ 'contact.firstName': '["Ann"]' });
  });

  it('regression (200,000 junk e-mails overflowed the stack downstream): reports the first 100 drops and counts the rest', () => {
    const emails = Array.from({ length: 999 }, () => 1);
    const result = adaptMessage('crm', new TextEncoder().encode(JSON.stringify({ ...created, contact: { id: 'C-9', emails } })), context);
    const tp = one(result);
    expect(tp.identifiers).toEqual([{ type: 'crm_id', value: 'C-9' }]);
    expect(result.ok && result.dropped).toHaveLength(MAX_REPORTED_DROPS);
    expect(result.ok && result.dropped[0]).toEqual({ field: 'contact.emails[0]', type: 'email', value: '1', reason: 'wrong_type', eventId: tp.eventId });
    expect(result.ok && result.droppedOmitted).toEqual([{ type: 'email', reason: 'wrong_type', count: 999 - MAX_REPORTED_DROPS }]);
    // Since 2026-12-07 dropped values stay in properties: 200,000 of them are past PROPERTY_LIMITS.keys,
    // and the message is refused whole (dead-lettered with its bytes), at the first key past the limit.
    const all = adaptMessage('crm', new TextEncoder().encode(JSON.stringify({ ...created, contact: { id: 'C-9', emails: Array.from({ length: 200_000 }, () => 1) } })), context);
    failure(all, 'PROPERTIES_TOO_LARGE');
    expect(!all.ok && all.error.details).toMatchObject({ reason: 'too_many_keys', keys: 1001 });
  });
});
