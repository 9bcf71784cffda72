/**
 * The documented default rules. config/identity-rules.json ships the same values (a unit test
 * keeps the two equal); docs/identity.md explains each one.
 */
import { RULES_VERSION, type RulesDocument, type TenantRules } from './rules.ts';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export const DEFAULT_RULES: TenantRules = deepFreeze({
  priority: [
    'user_id',
    'crm_id',
    'email',
    'phone',
    'loyalty_card',
    'loyalty_member_id',
    'payment_fingerprint',
    'click_id',
    'advertising_id',
    'device_id',
    'anonymous_id',
  ],
  limits: {
    user_id: 1,
    crm_id: 1,
    email: 5,
    phone: 5,
    loyalty_card: 3,
    payment_fingerprint: 5,
    device_id: 10,
    anonymous_id: 50,
  },
  blocked: {
    values: {
      '*': [
        'unknown',
        'null',
        'undefined',
        'nil',
        'none',
        'n/a',
        'na',
        'nan',
        '0',
        '-',
        '-1',
        '(null)',
        'null null',
        '[object object]',
        'true',
        'false',
        '[]',
        '{}',
        '""',
        "''",
        '#n/a',
        'test',
        'anonymous',
        'guest',
        'not available',
        'not provided',
        'not set',
        '(not set)',
      ],
      email: [
        'test@test.com',
        'test@example.com',
        'example@example.com',
        'email@example.com',
        'user@example.com',
        'noemail@noemail.com',
        'no@email.com',
        'none@none.com',
        'null@null.com',
        'unknown@unknown.com',
        'a@a.com',
        'x@x.com',
        'asdf@asdf.com',
        'email@email.com',
        'xxx@xxx.com',
      ],
      // Android: the ANDROID_ID a batch of devices shipped with (Android 2.2), and the MAC address every app reads since Android 6.
      device_id: ['9774d56d682e549c', '02:00:00:00:00:00'],
      // No exact phones: an entry must be a valid number (as the normalizer would write it), and
      // the usual placeholders (+10000000000, +11234567890, +15555555555) are not; the patterns
      // below catch them, in case one reaches the resolver without the normalizer.
    },
    patterns: {
      // All zeros and dashes ("0", "-", "0000000000", the all-zero advertising id of a device with
      // tracking limited); one character repeated; template placeholders sent unrendered
      // ({{user_id}}, ${userId}).
      '*': ['^[0-]+$', '^(.)\\1{5,}$', '\\{\\{.*\\}\\}', '\\$\\{.*\\}'],
      email: [
        '^(no[-._]?reply|do[-._]?not[-._]?reply|mailer-daemon|postmaster|bounces?)(\\+[^@]*)?@',
        '^(test\\d*|fake|none|null|nobody|noemail|nomail|unknown|asdf)@',
        '@(example\\.(com|org|net)|test\\.com|localhost)$',
      ],
      phone: ['^\\+?(\\d)\\1{6,}$', '^\\+\\d{1,3}(\\d)\\1{6,}$', '^\\+\\d{1,3}(0?123456789|1234567890|9876543210?)$'],
      // The all-ones UUID some SDKs send when the id is unavailable (all zeros: the '*' pattern).
      device_id: ['^f{8}-f{4}-f{4}-f{4}-f{12}$'],
      advertising_id: ['^f{8}-f{4}-f{4}-f{4}-f{12}$'],
    },
  },
  quarantine: {
    maxProfilesPerValue: 5,
    maxMergesPerWindow: 3,
    windowMs: 86_400_000,
  },
  nonMergingTypes: ['device_id', 'advertising_id'],
});

/** DEFAULT_RULES as a rules document without tenant overrides (what config/identity-rules.json holds). */
export const DEFAULT_RULES_DOCUMENT: RulesDocument = deepFreeze({ version: RULES_VERSION, defaults: DEFAULT_RULES, tenants: {} });
