import { describe, expect, it } from 'vitest';
import { ConfigError } from '@elephant/config';
import { loadBenchConfig } from '@elephant/bench';

describe('benchmark configuration', () => {
  it('takes the cluster whole or not at all: one or two of its three endpoints name the missing ones (regression: the local stack was benchmarked instead, silently)', () => {
    expect(loadBenchConfig({}).KAFKA_BROKERS).toBeUndefined();
    expect(loadBenchConfig({ KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r:8081', REDIS_URL: 'redis://r:6379' }).KAFKA_BROKERS).toEqual(['k:9092']);
    let caught: unknown;
    try {
      loadBenchConfig({ KAFKA_BROKERS: 'k:9092' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).issues.map((issue) => issue.variable)).toEqual(['SCHEMA_REGISTRY_URL', 'REDIS_URL']);
    expect((caught as ConfigError).message).toContain('is required with KAFKA_BROKERS');
  });

  it('refuses the Kafka TLS and SASL settings, which its own clients would not use while the stages it starts would', () => {
    expect(() => loadBenchConfig({ KAFKA_SASL_MECHANISM: 'plain' })).toThrow(/KAFKA_SASL_MECHANISM: is not supported by the benchmark/);
  });
});
