import { describe, expect, it } from 'vitest';
import { IdentifierCollector, normalizeEmail, normalizeIdentifier, normalizePhone } from '@elephant/channels';

describe('normalizeEmail', () => {
  it('trims and lower-cases the whole address', () => {
    expect(normalizeEmail('  Ann.Lee+News@Example.COM ')).toEqual({ ok: true, value: 'ann.lee+news@example.com' });
  });

  it('keeps dots and +tags by default, also for Gmail', () => {
    expect(normalizeEmail('Ann.Lee+shop@gmail.com')).toEqual({ ok: true, value: 'ann.lee+shop@gmail.com' });
  });

  it('folds Gmail dots and +tags only when asked, and only for Google domains', () => {
    expect(normalizeEmail('Ann.Lee+shop@googlemail.com', { foldGmailAddresses: true })).toEqual({ ok: true, value: 'annlee@gmail.com' });
    expect(normalizeEmail('ann.lee+shop@outlook.com', { foldGmailAddresses: true })).toEqual({ ok: true, value: 'ann.lee+shop@outlook.com' });
  });

  it('writes internationalized domains in their ASCII form so both spellings match', () => {
    expect(normalizeEmail('jo@bücher.de')).toEqual(normalizeEmail('jo@xn--bcher-kva.de'));
    expect(normalizeEmail('jo@bücher.de')).toEqual({ ok: true, value: 'jo@xn--bcher-kva.de' });
  });

  it.each([
    ['no at sign', 'ann.example.com'],
    ['two at signs', 'ann@lee@example.com'],
    ['empty local part', '@example.com'],
    ['no top-level domain', 'ann@localhost'],
    ['leading dot', '.ann@example.com'],
    ['double dot', 'ann..lee@example.com'],
    ['space inside', 'ann lee@example.com'],
    ['quoted local part', '"ann lee"@example.com'],
    ['IP literal', 'ann@[10.0.0.1]'],
    ['numeric TLD', 'ann@example.123'],
    ['hyphen at label end', 'ann@example-.com'],
  ])('drops an impossible address (%s)', (_name, raw) => {
    expect(normalizeEmail(raw)).toEqual({ ok: false, reason: 'invalid_email' });
  });

  it('does not judge placeholder addresses: that is identity resolution’s blocklist', () => {
    expect(normalizeEmail('test@test.com')).toEqual({ ok: true, value: 'test@test.com' });
  });

  it('refuses over-long addresses', () => {
    expect(normalizeEmail(`${'a'.repeat(65)}@example.com`)).toEqual({ ok: false, reason: 'invalid_email' });
    expect(normalizeEmail(`a@${'b'.repeat(250)}.com`)).toEqual({ ok: false, reason: 'too_long' });
  });
});

describe('normalizePhone', () => {
  it('writes international numbers in E.164', () => {
    expect(normalizePhone('+49 (30) 123-4567')).toEqual({ ok: true, value: '+49301234567' });
    expect(normalizePhone('+1 415 555 2671')).toEqual({ ok: true, value: '+14155552671' });
  });

  it('reads national numbers in the default region', () => {
    expect(normalizePhone('030 1234567', { defaultRegion: 'DE' })).toEqual({ ok: true, value: '+49301234567' });
    expect(normalizePhone('(415) 555-2671', { defaultRegion: 'us' })).toEqual({ ok: true, value: '+14155552671' });
    expect(normalizePhone('0049 30 1234567', { defaultRegion: 'DE' })).toEqual({ ok: true, value: '+49301234567' });
  });

  it('drops a national number when there is no region to read it in, instead of guessing', () => {
    expect(normalizePhone('030 1234567')).toEqual({ ok: false, reason: 'phone_needs_region' });
    expect(normalizePhone('030 1234567', { defaultRegion: 'XX' })).toEqual({ ok: false, reason: 'phone_needs_region' });
  });

  it.each(['12', '+49 1', 'anonymous', '+1 555 0100 0000 0000', 'call me at +49 30 1234567'])('drops %j as invalid', (raw) => {
    expect(normalizePhone(raw, { defaultRegion: 'DE' })).toEqual({ ok: false, reason: 'invalid_phone' });
  });
});

describe('normalizeIdentifier', () => {
  it('trims ids and keeps their case', () => {
    expect(normalizeIdentifier('user_id', '  U-42a ')).toEqual({ ok: true, value: 'U-42a' });
  });

  it('accepts integer ids, written in decimal', () => {
    expect(normalizeIdentifier('crm_id', 1234)).toEqual({ ok: true, value: '1234' });
    expect(normalizeIdentifier('crm_id', 1.5)).toEqual({ ok: false, reason: 'wrong_type' });
    expect(normalizeIdentifier('phone', 4930123)).toEqual({ ok: false, reason: 'wrong_type' });
  });

  it('drops empty, whitespace-only and non-text values', () => {
    expect(normalizeIdentifier('anonymous_id', '')).toEqual({ ok: false, reason: 'empty' });
    expect(normalizeIdentifier('anonymous_id', ' \t ')).toEqual({ ok: false, reason: 'empty' });
    expect(normalizeIdentifier('anonymous_id', { id: 1 })).toEqual({ ok: false, reason: 'wrong_type' });
    expect(normalizeIdentifier('anonymous_id', true)).toEqual({ ok: false, reason: 'wrong_type' });
  });

  it('drops control characters and over-long values', () => {
    expect(normalizeIdentifier('device_id', 'abc\u0000def')).toEqual({ ok: false, reason: 'invalid_characters' });
    expect(normalizeIdentifier('device_id', 'x'.repeat(513))).toEqual({ ok: false, reason: 'too_long' });
  });

  it('removes the grouping of printed loyalty card numbers', () => {
    expect(normalizeIdentifier('loyalty_card', '6001 2345-6789 0')).toEqual({ ok: true, value: '6001234567890' });
  });

  it('checks hashed identifiers are SHA-256 hex', () => {
    const hash = 'A'.repeat(64);
    expect(normalizeIdentifier('email_sha256', hash)).toEqual({ ok: true, value: 'a'.repeat(64) });
    expect(normalizeIdentifier('email_sha256', 'abc')).toEqual({ ok: false, reason: 'invalid_format' });
  });

  it('accepts custom types and refuses malformed type names', () => {
    expect(normalizeIdentifier('click_id', 'gclid-1')).toEqual({ ok: true, value: 'gclid-1' });
    expect(normalizeIdentifier('Click ID', 'gclid-1')).toEqual({ ok: false, reason: 'invalid_identifier_type' });
  });
});

describe('IdentifierCollector', () => {
  it('deduplicates, ignores absent values, and records every drop with field and reason', () => {
    const ids = new IdentifierCollector({ defaultRegion: 'DE' });
    expect(ids.add('email', 'Ann@Example.com', 'traits.email')).toBe('ann@example.com');
    ids.add('email', 'ann@example.com ', 'context.traits.email');
    ids.add('phone', 'not a phone', 'traits.phone');
    ids.add('user_id', null, 'userId');
    ids.add('user_id', undefined, 'userId');
    expect(ids.identifiers).toEqual([{ type: 'email', value: 'ann@example.com' }]);
    expect(ids.dropped).toEqual([{ field: 'traits.phone', type: 'phone', value: 'not a phone', reason: 'invalid_phone' }]);
  });
});
