import { describe, expect, it } from 'vitest';
import { builderConfig, consumerGroups, loadCliConfig, normalizerConfig, resolverConfig } from '@elephant/cli';

const endpoints = { KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' };

describe('elephant: the services it embeds', () => {
  it('get the partition count of PARTITIONS (every topic they read or write)', () => {
    const config = loadCliConfig({ ...endpoints, PARTITIONS: '12' });
    expect(normalizerConfig(config).TOUCHPOINTS_PARTITIONS).toBe(12);
    expect(resolverConfig(config).PARTITIONS).toBe(12);
    expect(builderConfig(config).PARTITIONS).toBe(12);
  });

  it('get 8 partitions by default', () => {
    const config = loadCliConfig(endpoints);
    expect(normalizerConfig(config).TOUCHPOINTS_PARTITIONS).toBe(8);
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
});
