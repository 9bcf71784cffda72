import { describe, expect, it } from 'vitest';
import { ConfigError } from '@elephant/config';
import { loadConfig, profileOptionsOf } from '@elephant/profile-builder';

const base = { KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r:8081', REDIS_URL: 'redis://r:6379' };

/** The ConfigError loadConfig throws for `env` (fails the test when it throws none, or another error). */
function refused(env: Record<string, string>): ConfigError {
  let caught: unknown;
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  return caught as ConfigError;
}

describe('profile builder configuration', () => {
  it('regression (environments sharing a cluster joined one group, whose leader assigned only its own topics: the other environment\'s builders got no partitions, still ready): TOPIC_PREFIX starts the default consumer group; CONSUMER_GROUP overrides it; no prefix leaves the name as it was', () => {
    expect(loadConfig({ ...base, TOPIC_PREFIX: 'prod.' }).CONSUMER_GROUP).toBe('prod.elephant-profile-builder');
    expect(loadConfig({ ...base, TOPIC_PREFIX: 'stg.' }).CONSUMER_GROUP).toBe('stg.elephant-profile-builder');
    expect(loadConfig({ ...base, TOPIC_PREFIX: 'prod.', CONSUMER_GROUP: 'elephant-profile-builder' }).CONSUMER_GROUP).toBe('elephant-profile-builder');
    expect(loadConfig(base).CONSUMER_GROUP).toBe('elephant-profile-builder');
    expect(loadConfig({ ...base, TOPIC_PREFIX: '' }).CONSUMER_GROUP).toBe('elephant-profile-builder');
  });

  it('refuses a REDIS_KEY_PREFIX with a brace, naming it (each tenant adds the hash tag {<tenant>} after the prefix)', () => {
    for (const prefix of ['a{b}:', 'elephant}:', '{']) {
      const error = refused({ REDIS_KEY_PREFIX: prefix });
      expect(error.issues.map((issue) => [issue.variable, issue.problem])).toEqual([['REDIS_KEY_PREFIX', `must not contain { or } (each tenant adds its hash tag {<tenant>} after it) (got ${JSON.stringify(prefix)})`]]);
    }
    expect(loadConfig({ ...base, REDIS_KEY_PREFIX: 'prod:cdp:' }).REDIS_KEY_PREFIX).toBe('prod:cdp:');
  });

  it('reads TRANSACTION_INTERVAL_MS (0 by default) and names it when it is not a whole number of ms', () => {
    expect(loadConfig(base).TRANSACTION_INTERVAL_MS).toBe(0);
    expect(loadConfig({ ...base, TRANSACTION_INTERVAL_MS: '25' }).TRANSACTION_INTERVAL_MS).toBe(25);
    for (const bad of ['-1', '2.5', 'soon']) {
      expect(refused({ TRANSACTION_INTERVAL_MS: bad }).issues.map((issue) => issue.variable)).toEqual(['TRANSACTION_INTERVAL_MS']);
    }
  });

  it('reads PROCESSING_GUARANTEE (at_least_once by default) and names it when it is neither mode', () => {
    expect(loadConfig(base).PROCESSING_GUARANTEE).toBe('at_least_once');
    expect(loadConfig({ ...base, PROCESSING_GUARANTEE: 'exactly_once' }).PROCESSING_GUARANTEE).toBe('exactly_once');
    const error = refused({ PROCESSING_GUARANTEE: 'exactly_once_v2' });
    expect(error.issues.map((issue) => issue.variable)).toEqual(['PROCESSING_GUARANTEE']);
    expect(error.message).toContain('must be exactly_once or at_least_once');
  });

  it('reads MAX_RECORD_BYTES (1,000,000 by default) and refuses a MAX_PROFILE_BYTES above it, naming both', () => {
    expect(loadConfig(base).MAX_RECORD_BYTES).toBe(1000000);
    expect(loadConfig({ ...base, MAX_RECORD_BYTES: '2000000', MAX_PROFILE_BYTES: '1500000' }).MAX_PROFILE_BYTES).toBe(1500000);
    const error = refused({ MAX_RECORD_BYTES: '100000' });
    expect(error.issues.map((issue) => issue.variable)).toEqual(['MAX_PROFILE_BYTES']);
    expect(error.message).toContain('must be at most MAX_RECORD_BYTES (100000)');
  });

  it('reads the profile options: CONSENT_PURPOSE_ALIASES (names normalized like purposes) and the list bounds, the library\'s defaults without them', () => {
    expect(profileOptionsOf(loadConfig(base))).toEqual({ maxIdentities: 100, maxProducts: 200, maxContent: 100, purposeAliases: {} });
    const options = profileOptionsOf(loadConfig({ ...base, CONSENT_PURPOSE_ALIASES: '{"Marketing Email":"Email-Marketing","ads":"advertising"}', PROFILE_MAX_IDENTITIES: '20', PROFILE_MAX_PRODUCTS: '5', PROFILE_MAX_CONTENT: '7' }));
    expect(options).toEqual({ maxIdentities: 20, maxProducts: 5, maxContent: 7, purposeAliases: { marketing_email: 'email_marketing', ads: 'advertising' } });
  });

  it('refuses CONSENT_PURPOSE_ALIASES that is no JSON object of strings, or names no purpose, naming the variable', () => {
    for (const bad of ['marketing=email', '["ads"]', '{"ads":1}', '{" - ":"ads"}', '{"ads":"__"}']) {
      const error = refused({ CONSENT_PURPOSE_ALIASES: bad });
      expect(error.issues.map((issue) => issue.variable), bad).toEqual(['CONSENT_PURPOSE_ALIASES']);
    }
    expect(refused({ CONSENT_PURPOSE_ALIASES: '{" - ":"ads"}' }).message).toContain('" - " is no purpose');
    expect(refused({ PROFILE_MAX_IDENTITIES: '0' }).issues.map((issue) => issue.variable)).toEqual(['PROFILE_MAX_IDENTITIES']);
    expect(refused({ CONSENT_PURPOSE_ALIASES: '{"a":"b","B":"a"}' }).message).toContain('CONSENT_PURPOSE_ALIASES: renames in a circle: a → b → a');
  });

  it('follows an alias whose target is renamed too to its last name (regression: one hop, a and b stayed two purposes)', () => {
    expect(profileOptionsOf(loadConfig({ ...base, CONSENT_PURPOSE_ALIASES: '{"a":"b","b":"c","d":"d"}' })).purposeAliases).toEqual({ a: 'c', b: 'c' });
  });
});
