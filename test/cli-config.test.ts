import { describe, expect, it } from 'vitest';
import { builderConfig, loadCliConfig, normalizerConfig, resolverConfig } from '@elephant/cli';

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
});
