import { describe, expect, it } from 'vitest';
import { ConfigError, brokerList, bool, httpUrl, parseEnv, port, positiveInt, redisUrl, z } from '@elephant/config';

const schema = z.object({
  KAFKA_BROKERS: brokerList,
  SCHEMA_REGISTRY_URL: httpUrl,
  REDIS_URL: redisUrl,
  HEALTH_PORT: port.default(8080),
  BATCH_SIZE: positiveInt.default(500),
  DRY_RUN: bool.default(false),
});

function problems(env: Record<string, string>): ConfigError {
  try {
    parseEnv('test-service', schema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnv', () => {
  it('parses a good environment with defaults and conversions', () => {
    const config = parseEnv('test-service', schema, { KAFKA_BROKERS: 'a:9092, b:9093', SCHEMA_REGISTRY_URL: 'http://r:8081', REDIS_URL: 'redis://r:6379', DRY_RUN: 'yes' });
    expect(config).toEqual({ KAFKA_BROKERS: ['a:9092', 'b:9093'], SCHEMA_REGISTRY_URL: 'http://r:8081', REDIS_URL: 'redis://r:6379', HEALTH_PORT: 8080, BATCH_SIZE: 500, DRY_RUN: true });
  });

  it('names every bad or missing variable in one error', () => {
    const error = problems({ KAFKA_BROKERS: 'not-a-broker', REDIS_URL: 'http://wrong', HEALTH_PORT: '70000', BATCH_SIZE: 'many', DRY_RUN: 'maybe' });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.retryable).toBe(false);
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(['BATCH_SIZE', 'DRY_RUN', 'HEALTH_PORT', 'KAFKA_BROKERS', 'REDIS_URL', 'SCHEMA_REGISTRY_URL']);
    expect(error.message).toContain('SCHEMA_REGISTRY_URL: is required but not set');
    expect(error.message).toContain('KAFKA_BROKERS: each broker must be host:port');
    expect(error.message).toContain('"not-a-broker"');
    expect(error.message).toContain('HEALTH_PORT: must be 1-65535');
  });

  it('treats an empty variable as unset', () => {
    const error = problems({ KAFKA_BROKERS: '', SCHEMA_REGISTRY_URL: 'http://r', REDIS_URL: 'redis://r' });
    expect(error.issues).toEqual([{ variable: 'KAFKA_BROKERS', problem: 'is required but not set' }]);
  });
});
