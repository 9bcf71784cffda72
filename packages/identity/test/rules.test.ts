import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElephantError } from '@elephant/errors';
import {
  compareTypes,
  compileRules,
  applyOverrides,
  DEFAULT_RULES,
  DEFAULT_RULES_DOCUMENT,
  IdentityRulesError,
  parseRulesDocument,
  parseTenantRules,
  resolveRules,
  screenIdentifiers,
  type RulesIssue,
} from '@elephant/identity';

const configFile = new URL('../../../config/identity-rules.json', import.meta.url);

/** A deep copy of the default document to break in one place. */
function documentWith(change: (document: { defaults: Record<string, unknown>; tenants: Record<string, unknown>; version: unknown }) => void): unknown {
  const document = structuredClone(DEFAULT_RULES_DOCUMENT) as unknown as { defaults: Record<string, unknown>; tenants: Record<string, unknown>; version: unknown };
  change(document);
  return document;
}

function issuesOf(json: unknown): readonly RulesIssue[] {
  try {
    parseRulesDocument(json);
  } catch (error) {
    if (error instanceof IdentityRulesError) return error.issues;
    throw error;
  }
  throw new Error('expected the document to be rejected');
}

describe('the shipped rules', () => {
  it('config/identity-rules.json holds exactly DEFAULT_RULES and no tenant overrides', () => {
    const parsed = parseRulesDocument(JSON.parse(readFileSync(configFile, 'utf8')));
    expect(parsed).toEqual(DEFAULT_RULES_DOCUMENT);
    expect(parsed.defaults).toEqual(DEFAULT_RULES);
  });

  it('DEFAULT_RULES is itself a valid rule set and cannot be changed by accident', () => {
    expect(parseTenantRules(DEFAULT_RULES)).toEqual(DEFAULT_RULES);
    expect(Object.isFrozen(DEFAULT_RULES.limits)).toBe(true);
    expect(Object.isFrozen(DEFAULT_RULES.blocked.values)).toBe(true);
  });

  it('has the documented priority, limits, quarantine thresholds and non-merging types', () => {
    expect(DEFAULT_RULES.priority).toEqual([
      'user_id', 'crm_id', 'email', 'phone', 'loyalty_card', 'loyalty_member_id', 'payment_fingerprint', 'click_id', 'advertising_id', 'device_id', 'anonymous_id',
    ]);
    expect(DEFAULT_RULES.limits).toEqual({ user_id: 1, crm_id: 1, email: 5, phone: 5, loyalty_card: 3, payment_fingerprint: 5, device_id: 10, anonymous_id: 50 });
    expect(DEFAULT_RULES.quarantine).toEqual({ maxProfilesPerValue: 5, maxMergesPerWindow: 3, windowMs: 86_400_000 });
    expect(DEFAULT_RULES.nonMergingTypes).toEqual(['device_id', 'advertising_id']);
  });
});

describe('parseRulesDocument', () => {
  it('accepts a document without tenants', () => {
    const { tenants: _tenants, ...withoutTenants } = DEFAULT_RULES_DOCUMENT;
    expect(parseRulesDocument(withoutTenants).tenants).toEqual({});
  });

  it('rejects another version, naming it', () => {
    expect(issuesOf(documentWith((document) => (document.version = 2)))).toEqual([{ path: 'version', problem: 'must be 1 (the rules-document version this build reads)' }]);
  });

  it('throws a non-retryable ElephantError with code RULES_INVALID', () => {
    let caught: unknown;
    try {
      parseRulesDocument({});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ElephantError);
    expect(caught).toMatchObject({ code: 'RULES_INVALID', retryable: false });
    expect((caught as IdentityRulesError).message).toContain('defaults: is required');
  });

  it('names every bad path at once', () => {
    const issues = issuesOf(
      documentWith((document) => {
        const defaults = document.defaults as { limits: Record<string, unknown>; priority: string[]; blocked: { patterns: Record<string, string[]> }; quarantine?: unknown };
        defaults.limits.email = 0;
        defaults.priority = ['user_id', 'email', 'user_id'];
        defaults.blocked.patterns.phone = ['^(unclosed'];
        delete defaults.quarantine;
        document.defaults.maxIdentifiersPerEvent = 5000;
        document.tenants = {
          acme: { limit: { email: 2 }, limits: { Email: 2, phone: 1.5 }, quarantine: { windowMs: -1 }, maxIdentifiersPerEvent: 0 },
          'eu.shop': { nonMergingTypes: ['device id'] },
        };
      }),
    );
    expect(issues.map((issue) => issue.path).sort()).toEqual(
      [
        'defaults.limits.email',
        'defaults.priority[2]',
        'defaults.blocked.patterns.phone[0]',
        'defaults.quarantine',
        'defaults.maxIdentifiersPerEvent',
        'tenants.acme.limit',
        'tenants.acme.maxIdentifiersPerEvent',
        'tenants.acme.limits.Email',
        'tenants.acme.limits.phone',
        'tenants.acme.quarantine.windowMs',
        'tenants["eu.shop"].nonMergingTypes[0]',
      ].sort(),
    );
    const problem = (path: string): string | undefined => issues.find((issue) => issue.path === path)?.problem;
    expect(problem('defaults.priority[2]')).toBe('lists "user_id" twice');
    expect(problem('defaults.blocked.patterns.phone[0]')).toBe('is not a valid regular expression');
    expect(problem('defaults.quarantine')).toBe('is required');
    expect(problem('tenants.acme.limit')).toBe('is not a known setting');
    expect(problem('tenants.acme.limits.Email')).toMatch(/^key must be a built-in identifier type/);
    expect(problem('defaults.limits.email')).toMatch(/at least 1/);
    expect(problem('defaults.maxIdentifiersPerEvent')).toBe('must be at most 1000');
    expect(problem('tenants.acme.maxIdentifiersPerEvent')).toBe('must be at least 1');
  });
});

describe('blocked values are normalized like the identifiers they block', () => {
  const SHA = '9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08';
  const tenantBlocking = (values: Record<string, string[]>): unknown => ({ ...DEFAULT_RULES_DOCUMENT, tenants: { acme: { blocked: { values } } } });

  it('writes each entry as the normalizer writes its type (regression: a tenant blocking "+44 20 7946 0000" or "1234-5678" never matched)', () => {
    const document = parseRulesDocument(tenantBlocking({ phone: ['+44 20 7946 0000'], loyalty_card: ['1234-5678', '1234 5678'], email: [' Shop@BÜCHER.example '], email_sha256: [SHA], user_id: ['  guest-user '], '*': ['  Walk-In  '] }));
    expect(document.tenants.acme?.blocked?.values).toEqual({
      phone: ['+442079460000'],
      loyalty_card: ['12345678', '12345678'],
      email: ['shop@xn--bcher-kva.example'],
      email_sha256: [SHA.toLowerCase()],
      user_id: ['guest-user'],
      '*': ['Walk-In'],
    });
    const rules = resolveRules(document, 'acme');
    const identifiers = [
      { type: 'phone', value: '+442079460000' },
      { type: 'loyalty_card', value: '12345678' },
      { type: 'email', value: 'shop@xn--bcher-kva.example' },
      { type: 'email_sha256', value: SHA.toLowerCase() },
      { type: 'user_id', value: 'guest-user' },
      { type: 'crm_id', value: 'walk-in' },
    ];
    const screened = screenIdentifiers(identifiers, rules);
    expect(screened.kept).toEqual([]);
    expect(screened.blocked.map(({ type, value, reason }) => ({ type, value, reason }))).toEqual(identifiers.map((identifier) => ({ ...identifier, reason: 'blocked_value' })));
  });

  it('refuses an entry that does not normalize, naming it and why (it could never match an identifier)', () => {
    const issues = issuesOf(tenantBlocking({ phone: ['+442079460000', '020 7946 0000', '+1 555 0100'], email: ['none@none', 'ok@shop.example'], email_sha256: ['abc'] }));
    expect(issues).toEqual([
      { path: 'tenants.acme.blocked.values.phone[1]', problem: '"020 7946 0000" is not a valid phone (phone_needs_region): write it in international format, with + and the country code (rules have no default region)' },
      { path: 'tenants.acme.blocked.values.phone[2]', problem: '"+1 555 0100" is not a valid phone (invalid_phone): identifiers are normalized before they are screened, so it could never match one' },
      { path: 'tenants.acme.blocked.values.email[0]', problem: '"none@none" is not a valid email (invalid_email): identifiers are normalized before they are screened, so it could never match one' },
      { path: 'tenants.acme.blocked.values.email_sha256[0]', problem: '"abc" is not a valid email_sha256 (invalid_format): identifiers are normalized before they are screened, so it could never match one' },
    ]);
    const defaults = issuesOf(documentWith((document) => ((document.defaults as { blocked: { values: Record<string, string[]> } }).blocked.values.phone = ['+15555555555'])));
    expect(defaults).toEqual([{ path: 'defaults.blocked.values.phone[0]', problem: '"+15555555555" is not a valid phone (invalid_phone): identifiers are normalized before they are screened, so it could never match one' }]);
  });

  it('normalizes the entries of rules built in code too, when they are compiled', () => {
    const rules = applyOverrides(DEFAULT_RULES, { blocked: { values: { phone: ['+44 20 7946 0000'], loyalty_card: ['1234-5678'] } } });
    expect(compileRules(rules).blocked('phone', '+442079460000')).toEqual({ reason: 'blocked_value', rule: 'phone "+442079460000"' });
    expect(compileRules(rules).blocked('loyalty_card', '12345678')).toEqual({ reason: 'blocked_value', rule: 'loyalty_card "12345678"' });
  });

  it('ships only entries in normalized form', () => {
    // The shipped file parses to DEFAULT_RULES (above), and parsing normalizes: so DEFAULT_RULES is normalized.
    expect(parseTenantRules(DEFAULT_RULES).blocked.values).toEqual(DEFAULT_RULES.blocked.values);
  });
});

describe('resolveRules', () => {
  const document = parseRulesDocument(
    documentWith((draft) => {
      draft.tenants = {
        acme: {
          priority: ['crm_id', 'user_id', 'email'],
          limits: { email: 2, phone: null, loyalty_member_id: 1 },
          blocked: { values: { phone: ['+442079460000'] } },
          quarantine: { windowMs: 3_600_000 },
        },
        globex: { nonMergingTypes: [], maxIdentifiersPerEvent: 20 },
      };
    }),
  );

  it('gives a tenant without overrides the defaults', () => {
    expect(resolveRules(document, 'initech')).toBe(document.defaults);
  });

  it('merges objects key by key, replaces lists and numbers, and removes a limit set to null', () => {
    const rules = resolveRules(document, 'acme');
    expect(rules.priority).toEqual(['crm_id', 'user_id', 'email']);
    expect(rules.limits).toEqual({ user_id: 1, crm_id: 1, email: 2, loyalty_card: 3, loyalty_member_id: 1, payment_fingerprint: 5, device_id: 10, anonymous_id: 50 });
    expect(rules.blocked.values.phone).toEqual(['+442079460000']);
    expect(rules.blocked.values.email).toEqual(DEFAULT_RULES.blocked.values.email);
    expect(rules.blocked.patterns).toEqual(DEFAULT_RULES.blocked.patterns);
    expect(rules.quarantine).toEqual({ maxProfilesPerValue: 5, maxMergesPerWindow: 3, windowMs: 3_600_000 });
    expect(rules.nonMergingTypes).toEqual(DEFAULT_RULES.nonMergingTypes);
    expect(resolveRules(document, 'globex').nonMergingTypes).toEqual([]);
    expect(resolveRules(document, 'globex').maxIdentifiersPerEvent).toBe(20);
    expect(rules.maxIdentifiersPerEvent).toBeUndefined(); // the default, 100
  });

  it('returns the same object for the same document and tenant', () => {
    expect(resolveRules(document, 'acme')).toBe(resolveRules(document, 'acme'));
  });

  it('leaves the defaults untouched', () => {
    resolveRules(document, 'acme');
    expect(document.defaults).toEqual(DEFAULT_RULES);
  });
});

describe('compareTypes', () => {
  it('orders listed types by priority and unlisted ones after them, by name', () => {
    const types = ['anonymous_id', 'zeta_id', 'email', 'email_sha256', 'user_id', 'device_id'];
    expect(types.sort((a, b) => compareTypes(DEFAULT_RULES, a, b))).toEqual(['user_id', 'email', 'device_id', 'anonymous_id', 'email_sha256', 'zeta_id']);
  });
});
