import { describe, expect, it } from 'vitest';
import type { Identifier } from '@elephant/channels';
import { applyOverrides, DEFAULT_MAX_IDENTIFIERS_PER_EVENT, DEFAULT_RULES, generatePopulation, JUNK_IDENTIFIERS, screenIdentifiers } from '@elephant/identity';

const id = (type: string, value: string): Identifier => ({ type, value });
const SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const NO_REPLY = '^(no[-._]?reply|do[-._]?not[-._]?reply|mailer-daemon|postmaster|bounces?)(\\+[^@]*)?@';
const TEST_LOCAL = '^(test\\d*|fake|none|null|nobody|noemail|nomail|unknown|asdf)@';

describe('screenIdentifiers with the default rules', () => {
  it.each([
    ['email', 'test@test.com', 'blocked_value', 'email "test@test.com"'],
    ['anonymous_id', 'UNKNOWN', 'blocked_value', '* "unknown"'],
    ['user_id', ' N/A ', 'blocked_value', '* "n/a"'],
    ['crm_id', 'null', 'blocked_value', '* "null"'],
    ['phone', '+10000000000', 'blocked_pattern', 'phone /^\\+\\d{1,3}(\\d)\\1{6,}$/'],
    ['phone', '+11234567890', 'blocked_pattern', 'phone /^\\+\\d{1,3}(0?123456789|1234567890|9876543210?)$/'],
    ['phone', '+4477777777777', 'blocked_pattern', 'phone /^\\+\\d{1,3}(\\d)\\1{6,}$/'],
    ['phone', '5555555', 'blocked_pattern', 'phone /^\\+?(\\d)\\1{6,}$/'],
    ['email', 'NoReply@shop.com', 'blocked_pattern', `email /${NO_REPLY}/`],
    ['email', 'ann@example.com', 'blocked_pattern', 'email /@(example\\.(com|org|net)|test\\.com|localhost)$/'],
    ['loyalty_card', '0000000000', 'blocked_pattern', '* /^[0-]+$/'],
    ['advertising_id', '00000000-0000-0000-0000-000000000000', 'blocked_pattern', '* /^[0-]+$/'],
    ['device_id', 'aaaaaaaa', 'blocked_pattern', '* /^(.)\\1{5,}$/'],
    // Junk the defaults let through before (regression).
    ['user_id', '-1', 'blocked_value', '* "-1"'],
    ['user_id', '#N/A', 'blocked_value', '* "#n/a"'],
    ['user_id', 'false', 'blocked_value', '* "false"'],
    ['user_id', 'TRUE', 'blocked_value', '* "true"'],
    ['user_id', '[]', 'blocked_value', '* "[]"'],
    ['user_id', '{}', 'blocked_value', '* "{}"'],
    ['user_id', 'NULL NULL', 'blocked_value', '* "null null"'],
    ['user_id', '{{user_id}}', 'blocked_pattern', '* /\\{\\{.*\\}\\}/'],
    ['crm_id', 'crm-{{ contact.id }}', 'blocked_pattern', '* /\\{\\{.*\\}\\}/'],
    ['user_id', '${userId}', 'blocked_pattern', '* /\\$\\{.*\\}/'],
    ['anonymous_id', '(not set)', 'blocked_value', '* "(not set)"'],
    ['email', 'email@email.com', 'blocked_value', 'email "email@email.com"'],
    ['email', 'xxx@xxx.com', 'blocked_value', 'email "xxx@xxx.com"'],
    ['email', 'test1@gmail.com', 'blocked_pattern', `email /${TEST_LOCAL}/`],
    ['email', 'test123@shop.de', 'blocked_pattern', `email /${TEST_LOCAL}/`],
    ['email', 'no.reply@company.com', 'blocked_pattern', `email /${NO_REPLY}/`],
    ['email', 'no_reply@company.com', 'blocked_pattern', `email /${NO_REPLY}/`],
    ['email', 'do_not_reply@company.com', 'blocked_pattern', `email /${NO_REPLY}/`],
    ['email', 'do.not.reply@company.com', 'blocked_pattern', `email /${NO_REPLY}/`],
    ['device_id', '9774d56d682e549c', 'blocked_value', 'device_id "9774d56d682e549c"'],
    ['device_id', '9774D56D682E549C', 'blocked_value', 'device_id "9774d56d682e549c"'],
    ['device_id', '02:00:00:00:00:00', 'blocked_value', 'device_id "02:00:00:00:00:00"'],
    ['device_id', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'blocked_pattern', 'device_id /^f{8}-f{4}-f{4}-f{4}-f{12}$/'],
    ['advertising_id', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'blocked_pattern', 'advertising_id /^f{8}-f{4}-f{4}-f{4}-f{12}$/'],
  ])('blocks %s %j (%s)', (type, value, reason, rule) => {
    expect(screenIdentifiers([id(type, value)], DEFAULT_RULES)).toEqual({ kept: [], blocked: [{ type, value, reason, rule }] });
  });

  it.each([
    ['email', 'ann.lee@gmail.com'],
    ['email', 'noah.smith@web.de'],
    ['phone', '+447700900123'],
    ['user_id', 'u-97980cfea0067'],
    ['loyalty_card', '6000001053340'],
    ['anonymous_id', '507f191e810c19729de860ea'],
    ['crm_id', '0042'],
    ['user_id', '-17'],
    ['user_id', 'true-blue'],
    ['email', 'testa.rossi@gmail.com'],
    ['email', 'tester@shop.de'],
    ['email', 'noah.reply@web.de'],
    ['email', 'donna.reply@web.de'],
    ['device_id', '9774d56d682e549d'],
    ['device_id', '02:00:00:00:00:01'],
    ['user_id', 'u-{12}'],
  ])('keeps a real %s %j', (type, value) => {
    expect(screenIdentifiers([id(type, value)], DEFAULT_RULES).kept).toEqual([id(type, value)]);
  });

  it("keeps every person's own identifier of a generated population (the defaults cost it no recall)", () => {
    const population = generatePopulation({ seed: 20240501, people: 1500, storePhoneRate: 0.05 });
    expect(population.people.flatMap((person) => person.identifiers).length).toBeGreaterThan(10_000);
    expect(population.people.flatMap((person) => screenIdentifiers(person.identifiers, DEFAULT_RULES).blocked)).toEqual([]);
  });

  it('blocks every placeholder the population generator uses', () => {
    const { kept, blocked } = screenIdentifiers(JUNK_IDENTIFIERS, DEFAULT_RULES);
    expect(kept).toEqual([]);
    expect(blocked).toHaveLength(JUNK_IDENTIFIERS.length);
  });

  it('drops repeats and orders the rest strongest first, keeping the event order within a type', () => {
    const result = screenIdentifiers(
      [
        id('anonymous_id', 'a1'),
        id('email_sha256', SHA),
        id('email', 'b@x.org'),
        id('device_id', 'd1'),
        id('email', 'a@x.org'),
        id('anonymous_id', 'a1'),
        id('click_id', 'c1'),
        id('user_id', 'u1'),
        id('email', 'test@test.com'),
        id('email', 'test@test.com'),
      ],
      DEFAULT_RULES,
    );
    expect(result.kept).toEqual([
      id('user_id', 'u1'),
      id('email', 'b@x.org'),
      id('email', 'a@x.org'),
      id('click_id', 'c1'),
      id('device_id', 'd1'),
      id('anonymous_id', 'a1'),
      id('email_sha256', SHA),
    ]);
    expect(result.blocked).toEqual([{ type: 'email', value: 'test@test.com', reason: 'blocked_value', rule: 'email "test@test.com"' }]);
  });

  it("blocks a tenant's own values, such as a store's phone number", () => {
    const rules = applyOverrides(DEFAULT_RULES, { blocked: { values: { phone: ['+442079460000'] } } });
    expect(screenIdentifiers([id('phone', '+442079460000'), id('loyalty_card', '6000001')], rules)).toEqual({
      kept: [id('loyalty_card', '6000001')],
      blocked: [{ type: 'phone', value: '+442079460000', reason: 'blocked_value', rule: 'phone "+442079460000"' }],
    });
  });

  it('keeps the strongest 100 identifiers of an event and reports the rest as too_many_identifiers, the weakest, after blocking and de-duplication', () => {
    expect(DEFAULT_MAX_IDENTIFIERS_PER_EVENT).toBe(100);
    const cookies = Array.from({ length: 10_000 }, (_, index) => id('anonymous_id', `c-${index}`));
    const result = screenIdentifiers([...cookies, id('email', 'test@test.com'), id('user_id', 'u1'), id('user_id', 'u1')], DEFAULT_RULES);
    expect(result.kept).toEqual([id('user_id', 'u1'), ...cookies.slice(0, 99)]);
    expect(result.blocked).toHaveLength(1 + 10_000 - 99);
    expect(result.blocked[0]).toEqual({ type: 'email', value: 'test@test.com', reason: 'blocked_value', rule: 'email "test@test.com"' });
    expect(result.blocked[1]).toEqual({ type: 'anonymous_id', value: 'c-99', reason: 'too_many_identifiers', rule: 'maxIdentifiersPerEvent 100' });
    expect(result.blocked.at(-1)).toEqual({ type: 'anonymous_id', value: 'c-9999', reason: 'too_many_identifiers', rule: 'maxIdentifiersPerEvent 100' });
  });

  it("takes a tenant's maxIdentifiersPerEvent", () => {
    const rules = applyOverrides(DEFAULT_RULES, { maxIdentifiersPerEvent: 2 });
    expect(screenIdentifiers([id('anonymous_id', 'a1'), id('email', 'a@x.org'), id('user_id', 'u1')], rules)).toEqual({
      kept: [id('user_id', 'u1'), id('email', 'a@x.org')],
      blocked: [{ type: 'anonymous_id', value: 'a1', reason: 'too_many_identifiers', rule: 'maxIdentifiersPerEvent 2' }],
    });
    expect(screenIdentifiers([id('anonymous_id', 'a1'), id('email', 'a@x.org')], rules).blocked).toEqual([]);
  });
});
