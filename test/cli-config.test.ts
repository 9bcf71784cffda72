import { describe, expect, it } from 'vitest';
import { builderConfig, consumerGroups, deployedConsumerGroups, loadCliConfig, normalizedIdentifier, normalizerConfig, PASSED_SETTINGS, resolverConfig, type CliConfig } from '@elephant/cli';

const endpoints = { KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' };

describe('elephant: the services it embeds', () => {
  it('get the partition count of PARTITIONS (every topic they read or write)', () => {
    const config = loadCliConfig({ ...endpoints, PARTITIONS: '12' });
    expect(normalizerConfig(config).PARTITIONS).toBe(12);
    expect(resolverConfig(config).PARTITIONS).toBe(12);
    expect(builderConfig(config).PARTITIONS).toBe(12);
  });

  it('get 8 partitions by default', () => {
    const config = loadCliConfig(endpoints);
    expect(normalizerConfig(config).PARTITIONS).toBe(8);
    expect(builderConfig(config).PARTITIONS).toBe(8);
  });

  it('names PARTITIONS when it is not a positive integer', () => {
    expect(() => loadCliConfig({ ...endpoints, PARTITIONS: 'many' })).toThrow(/PARTITIONS/);
  });

  it('give the profile builder PROCESSING_GUARANTEE (at_least_once by default), and name it when it is neither mode', () => {
    expect(builderConfig(loadCliConfig(endpoints)).PROCESSING_GUARANTEE).toBe('at_least_once');
    expect(builderConfig(loadCliConfig({ ...endpoints, PROCESSING_GUARANTEE: 'exactly_once' })).PROCESSING_GUARANTEE).toBe('exactly_once');
    expect(() => loadCliConfig({ ...endpoints, PROCESSING_GUARANTEE: 'once' })).toThrow(/PROCESSING_GUARANTEE/);
  });
});

describe('elephant: CONSUMER_GROUP_PREFIX', () => {
  it('prefixes every embedded consumer group, and drain reads the same names', () => {
    const config = loadCliConfig({ ...endpoints, CONSUMER_GROUP_PREFIX: 'e2e-7.' });
    const groups = consumerGroups(config).map(({ group }) => group);
    expect(groups).toEqual(['e2e-7.elephant-normalizer-web.email.ads.pos.support.crm.loyalty.content', 'e2e-7.elephant-identity-resolver', 'e2e-7.elephant-profile-builder']);
    expect(resolverConfig(config).CONSUMER_GROUP).toBe('e2e-7.elephant-identity-resolver');
  });

  it('leaves the services\' own names without it (what deployments without the CLI use)', () => {
    expect(consumerGroups(loadCliConfig(endpoints)).map(({ group }) => group)).toEqual(['elephant-normalizer-web.email.ads.pos.support.crm.loyalty.content', 'elephant-identity-resolver', 'elephant-profile-builder']);
  });

  it('regression (TOPIC_PREFIX did not start the services\' groups: environments on one cluster joined the same ones): without it, the groups are the services\' defaults, which TOPIC_PREFIX starts', () => {
    const config = loadCliConfig({ ...endpoints, TOPIC_PREFIX: 'prod.' });
    expect(consumerGroups(config).map(({ group }) => group)).toEqual(['prod.elephant-normalizer-web.email.ads.pos.support.crm.loyalty.content', 'prod.elephant-identity-resolver', 'prod.elephant-profile-builder']);
    expect([normalizerConfig(config).CONSUMER_GROUP, resolverConfig(config).CONSUMER_GROUP, builderConfig(config).CONSUMER_GROUP]).toEqual([undefined, 'prod.elephant-identity-resolver', 'prod.elephant-profile-builder']);
  });

  it('takes the place of TOPIC_PREFIX in the group names when set (the names it gave before stay)', () => {
    const config = loadCliConfig({ ...endpoints, TOPIC_PREFIX: 'prod.', CONSUMER_GROUP_PREFIX: 'e2e-7.' });
    expect(consumerGroups(config).map(({ group }) => group)).toEqual(['e2e-7.elephant-normalizer-web.email.ads.pos.support.crm.loyalty.content', 'e2e-7.elephant-identity-resolver', 'e2e-7.elephant-profile-builder']);
    expect(consumerGroups(config)[1]?.topics).toEqual(['prod.touchpoints.v1']);
  });
});

describe('elephant: the services\' own settings', () => {
  /** A valid value other than the default for each setting `run` passes on. */
  const SAMPLES: Record<(typeof PASSED_SETTINGS)[number], string> = {
    PARTITIONS_CONCURRENTLY: '3',
    CREATE_TOPICS: 'false',
    REDIS_SOCKET_TIMEOUT_MS: '1234',
    FOLD_GMAIL_ADDRESSES: 'true',
    MAX_MESSAGE_BYTES: '2048',
    TOUCHPOINT_MAX_BYTES: '4096',
    NORMALIZER_TRUST: '{"crm":55}',
    SEGMENT_PREVIOUS_ID_TYPE: 'user_id',
    SENDGRID_IDENTIFIER_ARGS: '{"uid":"user_id"}',
    EVENT_TTL_SECONDS: '600',
    COMMIT_INTERVAL_MS: '250',
    OUTBOX_TTL_SECONDS: '700',
    APPLIED_TTL_SECONDS: '800',
    TRANSACTION_TIMEOUT_MS: '20000',
    TRANSACTION_INTERVAL_MS: '5',
    TRANSACTIONAL_ID_PREFIX: 'tx-e2e',
    STATE_CACHE_PROFILES: '99',
    STATE_CACHE_MAX_BYTES: '4096',
    MAX_PROFILE_BYTES: '5000',
    MAX_RECORD_BYTES: '6000',
    CONSENT_PURPOSE_ALIASES: '{"Marketing Email":"email_marketing"}',
    PROFILE_MAX_IDENTITIES: '10',
    PROFILE_MAX_PRODUCTS: '20',
    PROFILE_MAX_CONTENT: '30',
  };
  const configsOf = (config: CliConfig): Record<string, unknown>[] => [normalizerConfig(config), resolverConfig(config), builderConfig(config)];

  it('reach every embedded service that has them, each setting changing at least one', () => {
    const defaults = configsOf(loadCliConfig(endpoints));
    const configured = configsOf(loadCliConfig({ ...endpoints, ...SAMPLES }));
    for (const name of PASSED_SETTINGS) {
      const changed = configured.filter((config, index) => name in config && JSON.stringify(config[name]) !== JSON.stringify(defaults[index]?.[name]));
      expect(changed.length, name).toBeGreaterThan(0);
      // a service that has the setting gets it, none keeps its default
      expect(changed.length, name).toBe(configured.filter((config) => name in config).length);
    }
    expect(builderConfig(loadCliConfig({ ...endpoints, ...SAMPLES })).MAX_PROFILE_BYTES).toBe(5000);
    expect(resolverConfig(loadCliConfig({ ...endpoints, ...SAMPLES })).REDIS_SOCKET_TIMEOUT_MS).toBe(1234);
  });

  it('include the Kafka connection\'s TLS and SASL settings, which reach every embedded service', () => {
    const config = loadCliConfig({ ...endpoints, KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'pw' });
    for (const service of configsOf(config)) expect([service['KAFKA_SSL'], service['KAFKA_SASL_MECHANISM'], service['KAFKA_SASL_USERNAME'], service['KAFKA_SASL_PASSWORD']]).toEqual([true, 'scram-sha-256', 'svc', 'pw']);
    expect(() => loadCliConfig({ ...endpoints, KAFKA_SASL_MECHANISM: 'plain' })).toThrow(/KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM=plain/);
    // And Redis' CA, for a rediss:// URL, to the two services with Redis.
    const ca = new URL('../infra/local/tls/ca.pem', import.meta.url).pathname;
    const tls = loadCliConfig({ ...endpoints, REDIS_URL: 'rediss://r:6380', REDIS_TLS_CA_FILE: ca });
    expect([resolverConfig(tls).REDIS_TLS_CA_FILE, builderConfig(tls).REDIS_TLS_CA_FILE].map((file) => file?.toString().startsWith('-----BEGIN CERTIFICATE-----'))).toEqual([true, true]);
  });

  it('are refused by the service that reads them, naming the variable (exit 78)', () => {
    const config = loadCliConfig({ ...endpoints, MAX_PROFILE_BYTES: 'big' });
    expect(() => builderConfig(config)).toThrow(/profile-builder.*MAX_PROFILE_BYTES|MAX_PROFILE_BYTES.*profile-builder/s);
    expect(() => resolverConfig(config)).not.toThrow();
  });

  it('stop at what would clash between services sharing one environment', () => {
    const config = loadCliConfig({ ...endpoints, CONSUMER_GROUP: 'mine', DLQ_TOPIC: 'dlq.mine', HEALTH_PORT: '9464', KAFKA_CLIENT_ID: 'mine' });
    expect(resolverConfig(config).CONSUMER_GROUP).toBe('elephant-identity-resolver');
    expect(builderConfig(config).CONSUMER_GROUP).toBe('elephant-profile-builder');
    expect(builderConfig(config).DLQ_TOPIC).not.toBe('dlq.mine');
    expect(resolverConfig(config).DLQ_TOPIC).not.toBe('dlq.mine');
    expect(builderConfig(config).HEALTH_PORT).toBe(0);
    expect(resolverConfig(config).KAFKA_CLIENT_ID).not.toBe('mine');
  });
});

describe('elephant: FOLD_GMAIL_ADDRESSES', () => {
  it('folds Gmail dots and +tags in the identifiers of profile and erase when true, as the normalizer it gives it to does', () => {
    const config = loadCliConfig({ ...endpoints, FOLD_GMAIL_ADDRESSES: 'true' });
    expect(config.FOLD_GMAIL_ADDRESSES).toBe(true);
    expect(normalizedIdentifier(config, 'email', 'A.B+x@GoogleMail.com')).toEqual({ type: 'email', value: 'ab@gmail.com' });
    expect(normalizerConfig(config).FOLD_GMAIL_ADDRESSES).toBe(true);
    // other providers keep their dots and +tags
    expect(normalizedIdentifier(config, 'email', 'a.b+x@example.com')).toEqual({ type: 'email', value: 'a.b+x@example.com' });
  });

  it('does not fold by default, like the normalizer', () => {
    const config = loadCliConfig(endpoints);
    expect(config.FOLD_GMAIL_ADDRESSES).toBe(false);
    expect(normalizedIdentifier(config, 'email', 'a.b+x@gmail.com')).toEqual({ type: 'email', value: 'a.b+x@gmail.com' });
    expect(normalizerConfig(config).FOLD_GMAIL_ADDRESSES).toBe(false);
    expect(normalizedIdentifier(loadCliConfig({ ...endpoints, FOLD_GMAIL_ADDRESSES: 'no' }), 'email', 'a.b+x@gmail.com').value).toBe('a.b+x@gmail.com');
  });

  it('names FOLD_GMAIL_ADDRESSES when it is not a boolean', () => {
    expect(() => loadCliConfig({ ...endpoints, FOLD_GMAIL_ADDRESSES: 'maybe' })).toThrow(/FOLD_GMAIL_ADDRESSES: must be true or false/);
  });
});

describe('elephant drain: the consumer groups it waits for', () => {
  it('regression (drain waited for the CLI\'s all-channel normalizer group, which a deployment of one normalizer per channel never has: it always timed out): takes the normalizer groups that exist, each with the raw topics of its channels, and the CLI\'s group only for channels none serves', () => {
    const config = loadCliConfig({ ...endpoints, TOPIC_PREFIX: 'prod.' });
    const existing = ['prod.elephant-normalizer-web', 'prod.elephant-normalizer-email.ads', 'prod.elephant-normalizer-fax', 'someone-else', 'stg.elephant-normalizer-pos', 'prod.elephant-identity-resolver', 'prod.elephant-profile-builder'];
    const groups = deployedConsumerGroups(config, existing);
    expect(groups.map((entry) => entry.group)).toEqual(['prod.elephant-normalizer-email.ads', 'prod.elephant-normalizer-web', 'prod.elephant-normalizer-web.email.ads.pos.support.crm.loyalty.content', 'prod.elephant-identity-resolver', 'prod.elephant-profile-builder']);
    expect(groups[0]?.topics).toEqual(['prod.raw.email', 'prod.raw.ads']);
    expect(groups[1]?.topics).toEqual(['prod.raw.web']);
    expect(groups[2]?.topics).toEqual(['prod.raw.pos', 'prod.raw.support', 'prod.raw.crm', 'prod.raw.loyalty', 'prod.raw.content']);
    // Nothing deployed yet, or the CLI's own `run`: the CLI's groups, as before.
    expect(deployedConsumerGroups(config, [])).toEqual(consumerGroups(config));
    // Without a TOPIC_PREFIX, the names as they always were.
    const plain = loadCliConfig(endpoints);
    expect(deployedConsumerGroups(plain, ['elephant-normalizer-web', 'prod.elephant-normalizer-email']).map((entry) => entry.group)).toEqual(['elephant-normalizer-web', 'elephant-normalizer-web.email.ads.pos.support.crm.loyalty.content', 'elephant-identity-resolver', 'elephant-profile-builder']);
    // CONSUMER_GROUP_PREFIX applies to the groups looked for, in place of TOPIC_PREFIX.
    const prefixed = loadCliConfig({ ...endpoints, TOPIC_PREFIX: 'prod.', CONSUMER_GROUP_PREFIX: 'staging.' });
    expect(deployedConsumerGroups(prefixed, ['elephant-normalizer-web', 'prod.elephant-normalizer-web', 'staging.elephant-normalizer-web']).map((entry) => entry.group)[0]).toBe('staging.elephant-normalizer-web');
  });

  it('regression (drain read an unprefixed group, e.g. elephant-identity-resolver, where the prefixed name did not exist: that is also the current group of an environment without TOPIC_PREFIX on the same cluster, such as the demo): waits for exactly the names its configuration gives', () => {
    const config = loadCliConfig({ ...endpoints, TOPIC_PREFIX: 'prod.' });
    // The demo's (or a pre-upgrade deployment's) groups, and one new-style group of this environment.
    const existing = ['elephant-normalizer-web', 'elephant-normalizer-email.ads', 'elephant-normalizer-web.email.ads.pos.support.crm.loyalty.content', 'prod.elephant-normalizer-email', 'elephant-identity-resolver', 'elephant-profile-builder'];
    expect(deployedConsumerGroups(config, existing).map((entry) => [entry.group, entry.topics])).toEqual([
      ['prod.elephant-normalizer-email', ['prod.raw.email']],
      ['prod.elephant-normalizer-web.email.ads.pos.support.crm.loyalty.content', ['prod.raw.web', 'prod.raw.ads', 'prod.raw.pos', 'prod.raw.support', 'prod.raw.crm', 'prod.raw.loyalty', 'prod.raw.content']],
      ['prod.elephant-identity-resolver', ['prod.touchpoints.v1']],
      ['prod.elephant-profile-builder', ['prod.touchpoints.resolved.v1', 'prod.identity.merges.v1', 'prod.profiles.erasures.v1']],
    ]);
    // Only the unprefixed groups on the cluster: the CLI's own names all the same.
    expect(deployedConsumerGroups(config, existing.filter((group) => !group.startsWith('prod.')))).toEqual(consumerGroups(config));
    // With CONSUMER_GROUP_PREFIX, its names, whatever else exists.
    const prefixed = loadCliConfig({ ...endpoints, TOPIC_PREFIX: 'prod.', CONSUMER_GROUP_PREFIX: 'staging.' });
    expect(deployedConsumerGroups(prefixed, existing).map((entry) => entry.group)).toEqual(['staging.elephant-normalizer-web.email.ads.pos.support.crm.loyalty.content', 'staging.elephant-identity-resolver', 'staging.elephant-profile-builder']);
  });
});
