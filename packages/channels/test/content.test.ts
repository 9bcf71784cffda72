import { describe, expect, it } from 'vitest';
import { adaptContent } from '@elephant/channels';
import { context, failure, one } from './helpers.ts';

const form = {
  type: 'form',
  id: 'sub-5521',
  occurredAt: '2024-05-01T11:00:00Z',
  anonymousId: '507f191e810c19729de860ea',
  formId: 'demo-request',
  contentTitle: 'Request a demo',
  url: 'https://www.example/demo',
  email: 'Ann@Example.com',
  firstName: 'Ann',
  lastName: 'Lee',
  company: 'Initech',
  phone: '+1 415 555 2671',
  consents: [{ purpose: 'newsletter', granted: true }],
  fields: { employees: '50-200', message: 'Call me' },
};

describe('content adapter', () => {
  it('maps a form submission: self-declared traits, anonymous id, the form', () => {
    const tp = one(adaptContent(form, context));
    expect(tp).toMatchObject({
      eventType: 'form_submitted',
      journeyStage: 'acquire',
      source: { system: 'content', trust: 40 },
      identifiers: [
        { type: 'anonymous_id', value: '507f191e810c19729de860ea' },
        { type: 'email', value: 'ann@example.com' },
        { type: 'phone', value: '+14155552671' },
      ],
      traits: { email: 'ann@example.com', phone: '+14155552671', firstName: 'Ann', lastName: 'Lee', company: 'Initech', consent: [{ purpose: 'newsletter', granted: true }] },
      content: { contentId: 'demo-request', title: 'Request a demo', kind: 'form', url: 'https://www.example/demo' },
    });
    expect(tp.properties).toEqual({ 'fields.employees': '50-200', 'fields.message': 'Call me' });
  });

  it('regression (a numeric company was left unread while numeric names were read): reads a safe integer as its text', () => {
    const tp = one(adaptContent({ ...form, company: 42, firstName: 7 }, context));
    expect(tp.traits).toMatchObject({ company: '42', firstName: '7' });
    expect(tp.properties).toEqual({ 'fields.employees': '50-200', 'fields.message': 'Call me' });
    // An unsafe integer is no text (JSON parsing has rounded it): it stays in properties.
    expect(one(adaptContent({ ...form, company: 2 ** 60 }, context)).properties).toMatchObject({ company: String(2 ** 60) });
  });

  it('maps a download', () => {
    const tp = one(adaptContent({ type: 'download', id: 'dl-1', occurredAt: '2024-05-01T11:00:00Z', anonymousId: 'a-1', contentId: 'wp-cdp', contentTitle: 'CDP whitepaper', contentKind: 'whitepaper' }, context));
    expect(tp.eventType).toBe('content_downloaded');
    expect(tp.content).toEqual({ contentId: 'wp-cdp', title: 'CDP whitepaper', kind: 'whitepaper', url: null });
    expect(tp.traits).toBeNull();
  });

  it.each([
    ['an unknown type', { ...form, type: 'webinar' }, 'UNKNOWN_EVENT_TYPE', 'type: "webinar"'],
    ['no identifier that survives', { type: 'download', id: 'd', occurredAt: '2024-05-01T11:00:00Z', email: 'ann(at)example.com' }, 'MISSING_IDENTIFIER', 'email (invalid_email)'],
    ['consents that are not a list', { ...form, consents: { newsletter: true } }, 'SCHEMA_VIOLATION', 'consents: expected an array'],
    ['no id', { ...form, id: null }, 'SCHEMA_VIOLATION', 'id: is required'],
    ['a boolean id', { ...form, id: true }, 'SCHEMA_VIOLATION', 'id: expected a string'],
  ])('rejects %s', (_name, raw, code, message) => {
    expect(failure(adaptContent(raw, context), code as 'SCHEMA_VIOLATION')).toContain(message);
  });
});
