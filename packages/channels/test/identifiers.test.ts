import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IdentifierCollector, MAX_REPORTED_DROPS, normalizeEmail, normalizeIdentifier, normalizePhone } from '@elephant/channels';

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

  it('NFC-normalizes the local part (since 2026-12-06), so composed and decomposed spellings are one address', () => {
    const composed = normalizeEmail('Jos\u00e9@example.com');
    expect(composed).toEqual({ ok: true, value: 'jos\u00e9@example.com' });
    expect(normalizeEmail('Jose\u0301@example.com')).toEqual(composed);
    expect(normalizeEmail('JOSE\u0301@EXAMPLE.com')).toEqual(composed);
  });

  it.each([
    ['a C1 control (U+0085)', 'ann\u0085x@example.com'],
    ['a zero-width space (U+200B)', 'ann\u200b@example.com'],
    ['a right-to-left override (U+202E)', 'ann\u202e@example.com'],
    ['a soft hyphen (U+00AD)', 'an\u00adn@example.com'],
    ['a line separator (U+2028)', 'an\u2028n@example.com'],
    ['a paragraph separator (U+2029)', 'an\u2029n@example.com'],
  ])('drops an address with %s in its local part (since 2026-12-06)', (_name, raw) => {
    expect(normalizeEmail(raw)).toEqual({ ok: false, reason: 'invalid_email' });
  });

  it('drops an address with a lone UTF-16 surrogate as invalid_characters', () => {
    expect(normalizeEmail('ann\ud800@example.com')).toEqual({ ok: false, reason: 'invalid_characters' });
    expect(normalizeEmail('ann@exa\udc00mple.com')).toEqual({ ok: false, reason: 'invalid_characters' });
  });

  it('refuses over-long addresses', () => {
    expect(normalizeEmail(`${'a'.repeat(65)}@example.com`)).toEqual({ ok: false, reason: 'invalid_email' });
    expect(normalizeEmail(`a@${'b'.repeat(250)}.com`)).toEqual({ ok: false, reason: 'too_long' });
  });

  it('regression (the length was checked before punycode): judges a Unicode-domain address by its ASCII form, as its punycode spelling', () => {
    // 130 characters in Unicode, 277 with the domain in punycode.
    const unicode = `${'a'.repeat(64)}@${Array(7).fill('中文域名测试网站').join('.')}.de`;
    const ascii = `${'a'.repeat(64)}@${Array(7).fill(domainToASCII('中文域名测试网站')).join('.')}.de`;
    expect(ascii.length).toBe(277);
    expect(normalizeEmail(unicode)).toEqual({ ok: false, reason: 'too_long' });
    expect(normalizeEmail(ascii)).toEqual({ ok: false, reason: 'too_long' });
    // Six labels: 241 characters in ASCII, accepted in both spellings, as the same address.
    const short = `${'a'.repeat(64)}@${Array(6).fill('中文域名测试网站').join('.')}.de`;
    const accepted = normalizeEmail(short);
    expect(accepted).toEqual({ ok: true, value: `${'a'.repeat(64)}@${Array(6).fill(domainToASCII('中文域名测试网站')).join('.')}.de` });
    expect(accepted.ok && normalizeEmail(accepted.value)).toEqual(accepted);
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

  it('regression (tel: URIs were dropped as phone_needs_region): reads an RFC 3966 URI as its number (since 2026-12-06)', () => {
    const us = { ok: true, value: '+12015550123' };
    expect(normalizePhone('tel:+1-201-555-0123')).toEqual(us);
    expect(normalizeIdentifier('phone', ' TEL:+1-201-555-0123 ')).toEqual(us);
    // Parameters are not part of the number: an extension, a subaddress, anything else.
    expect(normalizePhone('tel:+1-201-555-0123;ext=1234')).toEqual(us);
    expect(normalizePhone('Tel:+1.201.555.0123;isub=12')).toEqual(us);
    expect(normalizePhone('tel:+1(201)555-0123;foo=bar;ext=9')).toEqual(us);
    // A local number takes a global phone-context as its prefix, in any region.
    expect(normalizePhone('tel:555-0123;phone-context=+1-201', { defaultRegion: 'DE' })).toEqual(us);
    expect(normalizePhone('tel:201-555-0123;ext=7;Phone-Context=+1')).toEqual(us);
    // A local number without a context is a national number like any other.
    expect(normalizePhone('tel:030-1234567', { defaultRegion: 'DE' })).toEqual({ ok: true, value: '+49301234567' });
    expect(normalizePhone('tel:030-1234567')).toEqual({ ok: false, reason: 'phone_needs_region' });
  });

  it.each([
    ['a private number of a domain', 'tel:7042;phone-context=example.com'],
    ['no number', 'tel:'],
    ['only parameters', 'tel:;ext=12'],
    ['only a phone-context (review: was read as the context alone)', 'tel:;phone-context=+12015550123'],
    ['text after the number', 'tel:+1-201-555-0123 call me'],
    ['an invalid number', 'tel:+49 1'],
  ])('drops a tel: URI with %s as invalid_phone', (_name, raw) => {
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

  it.each([
    ['C1 control U+0085', 'abc\u0085def'],
    ['C1 control U+009F', 'abc\u009fdef'],
    ['zero-width space U+200B', 'u\u200b1'],
    ['right-to-left override U+202E', 'u\u202e1'],
    ['byte order mark inside', 'u\ufeff1'],
    ['line separator U+2028', 'abc\u2028def'],
    ['paragraph separator U+2029', 'abc\u2029def'],
  ])('drops an id with a %s as invalid_characters (since 2026-12-06)', (_name, raw) => {
    expect(normalizeIdentifier('user_id', raw)).toEqual({ ok: false, reason: 'invalid_characters' });
  });

  it('regression (three users became one in Avro): drops ids with a lone UTF-16 surrogate as invalid_characters', () => {
    for (const raw of ['u\ud800', 'u\udbff', 'u\udc00', '\udc00\ud800']) {
      expect(normalizeIdentifier('user_id', raw)).toEqual({ ok: false, reason: 'invalid_characters' });
      expect(normalizeIdentifier('loyalty_card', raw)).toEqual({ ok: false, reason: 'invalid_characters' });
    }
    expect(normalizeIdentifier('phone', '+49 30 1234567\ud800')).toEqual({ ok: false, reason: 'invalid_characters' });
    expect(normalizePhone('+49 30 1234567\ud800')).toEqual({ ok: false, reason: 'invalid_characters' });
    // A well-formed pair (an emoji) is text like any other.
    expect(normalizeIdentifier('user_id', 'u\ud83d\ude00')).toEqual({ ok: true, value: 'u\u{1f600}' });
  });

  it('refuses integers beyond 2^53-1 as wrong_type instead of writing a rounded value', () => {
    expect(normalizeIdentifier('crm_id', Number.MAX_SAFE_INTEGER)).toEqual({ ok: true, value: '9007199254740991' });
    expect(normalizeIdentifier('crm_id', 2 ** 53)).toEqual({ ok: false, reason: 'wrong_type' });
    expect(normalizeIdentifier('crm_id', 1e21)).toEqual({ ok: false, reason: 'wrong_type' });
  });

  it('removes the grouping of printed loyalty card numbers', () => {
    expect(normalizeIdentifier('loyalty_card', '6001 2345-6789 0')).toEqual({ ok: true, value: '6001234567890' });
  });

  it.each([
    ['an en dash U+2013', '6001\u20132345\u20136789'],
    ['a hyphen U+2010 and a non-breaking hyphen U+2011', '6001\u20102345\u20116789'],
    ['a figure dash U+2012, an em dash U+2014, a horizontal bar U+2015', '6001\u20122345\u2014\u20156789'],
    ['a minus sign U+2212', '6001\u22122345\u22126789'],
    ['small and fullwidth hyphen-minus U+FE63, U+FF0D, small em dash U+FE58', '6001\ufe632345\uff0d\ufe586789'],
    ['a no-break space U+00A0', '6001\u00a02345\u00a06789'],
    ['thin spaces U+2009 and U+202F', '6001\u20092345\u202f6789'],
  ])('regression (Unicode separators became part of the card): removes %s from loyalty cards (since 2026-12-06)', (_name, raw) => {
    expect(normalizeIdentifier('loyalty_card', raw)).toEqual({ ok: true, value: '600123456789' });
  });

  it('drops a loyalty card of separators only as empty', () => {
    expect(normalizeIdentifier('loyalty_card', '\u2013\u2014 -')).toEqual({ ok: false, reason: 'empty' });
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

  it(`reports the first ${MAX_REPORTED_DROPS} drops one by one and only counts the rest, by type and reason`, () => {
    const ids = new IdentifierCollector({});
    for (let i = 0; i < 250; i += 1) ids.add('email', i, `emails[${i}]`);
    for (let i = 0; i < 3; i += 1) ids.add('user_id', '', `users[${i}]`);
    expect(ids.dropped).toHaveLength(MAX_REPORTED_DROPS);
    expect(ids.dropped.at(-1)).toEqual({ field: `emails[${MAX_REPORTED_DROPS - 1}]`, type: 'email', value: String(MAX_REPORTED_DROPS - 1), reason: 'wrong_type' });
    expect(ids.omitted).toEqual([
      { type: 'email', reason: 'wrong_type', count: 250 - MAX_REPORTED_DROPS },
      { type: 'user_id', reason: 'empty', count: 3 },
    ]);
  });

  it('regression (a deeply nested id overflowed the stack and lost the message): describes it by its type', () => {
    const ids = new IdentifierCollector({});
    let deep: unknown = 'x';
    for (let i = 0; i < 300_000; i += 1) deep = [deep];
    expect(ids.add('user_id', deep, 'userId')).toBeNull();
    expect(ids.dropped).toEqual([{ field: 'userId', type: 'user_id', value: 'an array nested deeper than 100', reason: 'wrong_type' }]);
    ids.add('user_id', [[1, 2]], 'other');
    expect(ids.dropped[1]?.value).toBe('[[1,2]]');
  });
});
