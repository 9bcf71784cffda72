import { describe, expect, it } from 'vitest';
import { adaptEmail, MAX_EVENTS_PER_MESSAGE, MAX_REPORTED_REJECTIONS, SENDGRID_EVENTS, type AdapterResult } from '@elephant/channels';
import { context, expectEncodable, failure } from './helpers.ts';

const base = { email: 'Example@Test.com', timestamp: 1513299569, 'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>', category: 'cat facts', sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0' };

// One of every event the webhook sends, as SendGrid documents them.
const webhookBody = [
  { ...base, event: 'processed', sg_event_id: 'ev-processed' },
  { ...base, event: 'deferred', sg_event_id: 'ev-deferred', response: '400 try again later', attempt: '5' },
  { ...base, event: 'delivered', sg_event_id: 'ev-delivered', response: '250 OK', ip: '168.1.1.1' },
  { ...base, event: 'open', sg_event_id: 'ev-open', useragent: 'Mozilla/4.0', ip: '255.255.255.255', sg_machine_open: false },
  { ...base, event: 'click', sg_event_id: 'ev-click', url: 'https://shop.example/spring', url_offset: { index: 0, type: 'html' } },
  { ...base, event: 'bounce', sg_event_id: 'ev-bounce', reason: '500 unknown recipient', status: '5.0.0', type: 'bounce', bounce_classification: 'Invalid Address' },
  { ...base, event: 'dropped', sg_event_id: 'ev-dropped', reason: 'Bounced Address', status: '5.0.0' },
  { ...base, event: 'spamreport', sg_event_id: 'ev-spam' },
  { ...base, event: 'unsubscribe', sg_event_id: 'ev-unsub' },
  { ...base, event: 'group_unsubscribe', sg_event_id: 'ev-group-unsub', asm_group_id: 10 },
  { ...base, event: 'group_resubscribe', sg_event_id: 'ev-group-resub', asm_group_id: 10 },
];

function touchpoints(result: AdapterResult) {
  if (!result.ok) throw new Error(result.error.message);
  result.touchpoints.forEach(expectEncodable);
  return result.touchpoints;
}

describe('email adapter (SendGrid Event Webhook)', () => {
  it('turns each event of the webhook array into a touchpoint', () => {
    const result = adaptEmail(webhookBody, context);
    const tps = touchpoints(result);
    expect(tps.map((tp) => tp.eventType)).toEqual([
      'email_sent',
      'email_deferred',
      'email_delivered',
      'email_opened',
      'email_clicked',
      'email_bounced',
      'email_dropped',
      'email_spam_reported',
      'email_unsubscribed',
      'email_unsubscribed',
      'email_resubscribed',
    ]);
    expect(result.ok && result.rejected).toEqual([]);
    for (const tp of tps) {
      expect(tp.identifiers).toEqual([{ type: 'email', value: 'example@test.com' }]);
      expect(tp.eventTime).toBe(1513299569000);
      expect(tp.source.system).toBe('sendgrid');
      expect(tp.source.trust).toBe(80);
      expect(tp.email?.messageId).toBe(base.sg_message_id);
    }
  });

  it('maps click url, bounce reason and keeps the rest in properties', () => {
    const [, , , open, click, bounce, , , , groupUnsub] = touchpoints(adaptEmail(webhookBody, context));
    expect(click?.email).toEqual({ messageId: base.sg_message_id, campaign: null, url: 'https://shop.example/spring', reason: null });
    expect(click?.properties).toMatchObject({ event: 'click', 'url_offset.index': '0', 'url_offset.type': 'html', category: 'cat facts', 'smtp-id': base['smtp-id'] });
    expect(bounce?.email?.reason).toBe('500 unknown recipient');
    expect(bounce?.properties).toMatchObject({ type: 'bounce', status: '5.0.0', bounce_classification: 'Invalid Address' });
    expect(open?.properties).toMatchObject({ sg_machine_open: 'false', useragent: 'Mozilla/4.0' });
    expect(groupUnsub?.properties).toMatchObject({ event: 'group_unsubscribe', asm_group_id: '10' });
  });

  it('names the marketing campaign when SendGrid sends one', () => {
    const [tp] = touchpoints(adaptEmail([{ ...base, event: 'open', sg_event_id: 'x', marketing_campaign_id: 12345, marketing_campaign_name: 'Spring' }], context));
    expect(tp?.email?.campaign).toBe('Spring');
    expect(tp?.properties).toMatchObject({ marketing_campaign_id: '12345' });
  });

  it('regression (the campaign read was repeated in properties): the field email.campaign took is not there, an unread one is', () => {
    const [named] = touchpoints(adaptEmail([{ ...base, event: 'open', sg_event_id: 'x', marketing_campaign_id: 12345, marketing_campaign_name: 'Spring' }], context));
    expect(named?.properties).not.toHaveProperty('marketing_campaign_name');
    expect(named?.properties).toHaveProperty('marketing_campaign_id', '12345');
    const [byId] = touchpoints(adaptEmail([{ ...base, event: 'open', sg_event_id: 'y', marketing_campaign_id: 12345 }], context));
    expect(byId?.email?.campaign).toBe('12345');
    expect(byId?.properties).not.toHaveProperty('marketing_campaign_id');
    // A value that is no text is not read: it stays.
    const [other] = touchpoints(adaptEmail([{ ...base, event: 'open', sg_event_id: 'z', marketing_campaign_name: ['a'] }], context));
    expect(other?.email?.campaign).toBeNull();
    expect(other?.properties).toHaveProperty('marketing_campaign_name', '["a"]');
  });

  it('regression (the campaign skipped the clean-up every other text field gets): trimmed, a lone surrogate replaced, blank or non-text skipped', () => {
    const campaignOf = (fields: Record<string, unknown>): string | null | undefined => touchpoints(adaptEmail([{ ...base, event: 'open', sg_event_id: 'x', ...fields }], context))[0]?.email?.campaign;
    expect(campaignOf({ marketing_campaign_name: '  Spring  ' })).toBe('Spring');
    expect(campaignOf({ marketing_campaign_name: 'Spring\ud800' })).toBe('Spring\ufffd');
    expect(campaignOf({ marketing_campaign_name: '   ', marketing_campaign_id: 7 })).toBe('7');
    expect(campaignOf({ marketing_campaign_id: Number.POSITIVE_INFINITY })).toBeNull();
    expect(campaignOf({ marketing_campaign_id: 2 ** 53 + 2 })).toBeNull();
    expect(campaignOf({ marketing_campaign_name: { name: 'Spring' } })).toBeNull();
  });

  it('reads identifiers from custom args when configured', () => {
    const [tp] = touchpoints(adaptEmail([{ ...base, event: 'open', sg_event_id: 'x', uid: '123456', purchase: 'PO1452297845' }], { ...context, sendgridIdentifierArgs: { uid: 'user_id' } }));
    expect(tp?.identifiers).toEqual([
      { type: 'email', value: 'example@test.com' },
      { type: 'user_id', value: '123456' },
    ]);
    expect(tp?.properties.purchase).toBe('PO1452297845');
  });

  it('accepts a single event object as a batch of one', () => {
    expect(touchpoints(adaptEmail({ ...base, event: 'open', sg_event_id: 'x' }, context))).toHaveLength(1);
  });

  it('accepts an empty array as nothing to do', () => {
    expect(adaptEmail([], context)).toEqual({ ok: true, touchpoints: [], dropped: [], droppedOmitted: [], rejected: [] });
  });

  it('rejects only the unusable events of a batch and adapts the rest', () => {
    const result = adaptEmail(
      [
        { ...base, event: 'open', sg_event_id: 'good' },
        { email: 'not an email address', timestamp: 1386636115, reason: 'Invalid', event: 'dropped', sg_event_id: 'bad-address' },
        { event: 'account_status_change', timestamp: 1386636115, sg_event_id: 'acct', type: 'compliance_suspend' },
        { ...base, event: 'open' },
        'junk',
        { ...base, event: 'open', sg_event_id: 'late', timestamp: '1513299569' },
        { ...base, event: 42, sg_event_id: 'n' },
      ],
      context,
    );
    if (!result.ok) throw new Error('expected partial success');
    expect(result.touchpoints.map((tp) => tp.source.eventId)).toEqual(['good']);
    expect(result.rejected.map((entry) => [entry.index, entry.error.code, entry.error.message.split(':')[0]])).toEqual([
      [1, 'MISSING_IDENTIFIER', 'No usable identifier in [1]; dropped'],
      [2, 'UNKNOWN_EVENT_TYPE', '[2].event'],
      [3, 'SCHEMA_VIOLATION', '[3].sg_event_id'],
      [4, 'SCHEMA_VIOLATION', '[4]'],
      [5, 'SCHEMA_VIOLATION', '[5].timestamp'],
      [6, 'SCHEMA_VIOLATION', '[6].event'],
    ]);
  });

  it('fails the whole message only when no event is usable', () => {
    const message = failure(adaptEmail([{ event: 'account_status_change' }, { event: 'open' }], context), 'UNKNOWN_EVENT_TYPE');
    expect(message).toContain('All 2 events rejected');
    // Thousands of bad items: the first MAX_REPORTED_REJECTIONS in full, the rest counted.
    const all = adaptEmail(Array<number>(1000).fill(1), context);
    if (all.ok) throw new Error('expected a failure');
    expect([(all.error.details?.['rejected'] as unknown[]).length, all.error.details?.['rejectedOmitted']]).toEqual([MAX_REPORTED_REJECTIONS, 1000 - MAX_REPORTED_REJECTIONS]);
    expect(failure(adaptEmail(Array<number>(MAX_EVENTS_PER_MESSAGE + 1).fill(1), context), 'MESSAGE_TOO_LARGE')).toBe(`A batch of ${MAX_EVENTS_PER_MESSAGE + 1} events exceeds the limit of ${MAX_EVENTS_PER_MESSAGE} events per message`);
    expect(failure(adaptEmail([{ ...base, event: 'open', sg_event_id: 'x', timestamp: 1.7e12 }], context), 'SCHEMA_VIOLATION')).toContain('[0].timestamp');
    expect(failure(adaptEmail(null, context), 'SCHEMA_VIOLATION')).toBe('(message): expected an array of SendGrid events, got null');
    expect(failure(adaptEmail('[]', context), 'SCHEMA_VIOLATION')).toContain('got a string');
  });

  it('maps every SendGrid event name it knows', () => {
    expect(Object.keys(SENDGRID_EVENTS).sort()).toEqual(['bounce', 'click', 'deferred', 'delivered', 'dropped', 'group_resubscribe', 'group_unsubscribe', 'open', 'processed', 'spamreport', 'unsubscribe']);
  });
});
