import { describe, expect, it } from 'vitest';
import {
  adaptMessage,
  ADAPTERS,
  CHANNELS,
  checkAdapterContext,
  deriveEventId,
  EVENT_TYPE_STAGES,
  EVENT_TYPES,
  JOURNEY_STAGES,
  touchpointKey,
  type Adapter,
  type Channel,
} from '@elephant/channels';
import { bytes, context, failure, one } from './helpers.ts';

const page = { type: 'page', messageId: 'msg-1', anonymousId: 'anon-1', timestamp: '2024-05-01T10:00:00Z' };

describe('adaptMessage', () => {
  it('parses the bytes and runs the channel adapter', () => {
    expect(one(adaptMessage('web', bytes(page), context)).eventType).toBe('page_viewed');
  });

  it('refuses bytes that are not JSON', () => {
    expect(failure(adaptMessage('web', new TextEncoder().encode('{"type": "page",'), context), 'INVALID_JSON')).toContain('not valid JSON');
    failure(adaptMessage('web', new Uint8Array(), context), 'INVALID_JSON');
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(failure(adaptMessage('web', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), context), 'INVALID_JSON')).toContain('UTF-8');
  });

  it('refuses messages over the size limit before parsing them', () => {
    const big = new TextEncoder().encode(`"${'x'.repeat(2000)}"`);
    const result = adaptMessage('web', big, { ...context, maxMessageBytes: 1000 });
    expect(failure(result, 'MESSAGE_TOO_LARGE')).toContain('2002 bytes exceeds the limit of 1000');
    expect(!result.ok && result.error.details).toEqual({ size: 2002, limit: 1000 });
    failure(adaptMessage('web', new Uint8Array(1024 * 1024 + 1).fill(0x20), context), 'MESSAGE_TOO_LARGE');
  });

  it('throws only for a channel that does not exist (configuration bug)', () => {
    expect(() => adaptMessage('fax' as Channel, bytes(page), context)).toThrow(RangeError);
  });
});

describe('eventId', () => {
  it('is the same when the same message is sent again', () => {
    const first = one(adaptMessage('web', bytes(page), context));
    const again = one(adaptMessage('web', bytes({ ...page, sentAt: '2024-05-01T11:00:00Z' }), { ...context, ingestTime: context.ingestTime + 60_000 }));
    expect(again.eventId).toBe(first.eventId);
    const email = [{ email: 'a@b.example', event: 'open', sg_event_id: 'sg-1', timestamp: 1714557600 }];
    expect(one(adaptMessage('email', bytes(email), context)).eventId).toBe(one(adaptMessage('email', bytes(email), context)).eventId);
  });

  it('differs by tenant, channel, source system and source id', () => {
    const ids = new Set([
      deriveEventId('acme', 'web', 'segment', 'm1'),
      deriveEventId('acme2', 'web', 'segment', 'm1'),
      deriveEventId('acme', 'email', 'segment', 'm1'),
      deriveEventId('acme', 'web', 'segment2', 'm1'),
      deriveEventId('acme', 'web', 'segment', 'm2'),
      // A separator in a value must not make two tuples collide.
      deriveEventId('acme:web', 'segment', 'x', 'm1'),
      deriveEventId('acme', 'web:segment', 'x', 'm1'),
    ]);
    expect(ids.size).toBe(7);
    expect(one(adaptMessage('web', bytes(page), { ...context, tenant: 'other' })).eventId).not.toBe(one(adaptMessage('web', bytes(page), context)).eventId);
  });

  it('is a version 5 UUID', () => {
    expect(deriveEventId('acme', 'web', 'segment', 'm1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('is stable across releases: UUIDv5 of the JSON tuple in the Elephant namespace (pinned value)', () => {
    // Same as Python's uuid.uuid5(UUID(EVENT_ID_NAMESPACE), '["acme","web","segment","msg-1"]').
    expect(deriveEventId('acme', 'web', 'segment', 'msg-1')).toBe('b4345453-6cb7-57a8-9dba-6c74d1e25e27');
  });
});

describe('touchpointKey', () => {
  const key = (...types: string[]) => touchpointKey({ eventId: 'e', identifiers: types.map((type) => ({ type, value: `${type}-v` })) });

  it('picks the strongest identifier by the documented priority', () => {
    expect(key('anonymous_id', 'device_id', 'payment_fingerprint', 'loyalty_card', 'phone', 'email', 'crm_id', 'user_id')).toBe('user_id:user_id-v');
    expect(key('anonymous_id', 'email', 'crm_id')).toBe('crm_id:crm_id-v');
    expect(key('phone', 'email')).toBe('email:email-v');
    expect(key('payment_fingerprint', 'phone', 'loyalty_card')).toBe('phone:phone-v');
    expect(key('payment_fingerprint', 'loyalty_card')).toBe('loyalty_card:loyalty_card-v');
    expect(key('device_id', 'payment_fingerprint')).toBe('payment_fingerprint:payment_fingerprint-v');
    expect(key('anonymous_id', 'device_id')).toBe('device_id:device_id-v');
    expect(key('click_id', 'anonymous_id')).toBe('anonymous_id:anonymous_id-v');
  });

  it('ranks custom types last, in the order listed', () => {
    expect(key('click_id', 'email_sha256')).toBe('click_id:click_id-v');
  });

  it('falls back to the event id for a touchpoint without identifiers', () => {
    expect(key()).toBe('event:e');
  });
});

describe('vocabularies', () => {
  it('lists the eight channels', () => {
    expect(CHANNELS).toEqual(['web', 'email', 'ads', 'pos', 'support', 'crm', 'loyalty', 'content']);
  });

  it('gives every event type a journey stage from the list', () => {
    expect(EVENT_TYPES.length).toBeGreaterThan(30);
    for (const type of EVENT_TYPES) expect(JOURNEY_STAGES).toContain(EVENT_TYPE_STAGES[type]);
  });
});

describe('checkAdapterContext', () => {
  it('accepts a good context', () => {
    expect(checkAdapterContext({ ...context, defaultCurrency: 'EUR', trust: { pos: 95 }, sendgridIdentifierArgs: { uid: 'user_id' } })).toEqual([]);
  });

  it('names every bad setting', () => {
    expect(checkAdapterContext({ tenant: ' ', ingestTime: -1, defaultRegion: 'XX', defaultCurrency: 'eur', trust: { pos: 101, crm: 2.5 }, maxMessageBytes: 0, sendgridIdentifierArgs: { uid: 'User Id' } })).toEqual([
      'tenant: must not be empty',
      'ingestTime: must be epoch milliseconds',
      'defaultRegion: XX is not a supported region code',
      'defaultCurrency: must be an upper-case ISO 4217 code',
      'trust.pos: must be an integer 0-100',
      'trust.crm: must be an integer 0-100',
      'maxMessageBytes: must be a positive integer',
      'sendgridIdentifierArgs.uid: User Id is not an identifier type',
    ]);
  });

  it('turns anything an adapter throws into ADAPTER_FAILED, never a throw', () => {
    const adapters = ADAPTERS as Record<Channel, Adapter>;
    const original = adapters.web;
    adapters.web = () => {
      throw new RangeError('Maximum call stack size exceeded');
    };
    try {
      expect(failure(adaptMessage('web', bytes(page), context), 'ADAPTER_FAILED')).toBe('Adapter failed on the message: Maximum call stack size exceeded');
    } finally {
      adapters.web = original;
    }
  });
});
