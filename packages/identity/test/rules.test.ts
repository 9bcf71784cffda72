import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElephantError } from '@elephant/errors';
import {
  compareTypes,
  DEFAULT_RULES,
  DEFAULT_RULES_DOCUMENT,
  IdentityRulesError,
  parseRulesDocument,
  parseTenantRules,
  resolveRules,
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
