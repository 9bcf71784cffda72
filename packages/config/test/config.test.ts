import { describe, expect, it } from 'vitest';
import { ConfigError, brokerList, bool, httpUrl, nearMissWarnings, parseEnv, port, positiveInt, redisUrl, z, type ConfigWarning } from '@elephant/config';

const schema = z.object({
  KAFKA_BROKERS: brokerList,
  SCHEMA_REGISTRY_URL: httpUrl,
  REDIS_URL: redisUrl,
  HEALTH_PORT: port.default(8080),
  BATCH_SIZE: positiveInt.default(500),
  DRY_RUN: bool.default(false),
});

function problems(env: Record<string, string>, of: z.ZodObject = schema): ConfigError {
  try {
    parseEnv('test-service', of, env);
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

  it('regression (KAFKA_BROKERS=k:99999 or k:0 passed, and the service retried for 15 s and exited 1): refuses a broker port outside 1-65535, naming the broker', () => {
    for (const [brokers, entry] of [['k:99999', 'k:99999'], ['a:9092, k:0', 'k:0'], ['a:65536', 'a:65536']] as const) {
      const error = problems({ KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: 'http://r', REDIS_URL: 'redis://r' });
      expect(error.issues.map((issue) => issue.variable)).toEqual(['KAFKA_BROKERS']);
      expect(error.message).toContain(`KAFKA_BROKERS: the port of broker "${entry}" must be 1-65535`);
    }
    expect(parseEnv('test-service', schema, { KAFKA_BROKERS: 'a:1,b:65535', SCHEMA_REGISTRY_URL: 'http://r', REDIS_URL: 'redis://r' }).KAFKA_BROKERS).toEqual(['a:1', 'b:65535']);
  });

  it('treats an empty variable as unset', () => {
    const error = problems({ KAFKA_BROKERS: '', SCHEMA_REGISTRY_URL: 'http://r', REDIS_URL: 'redis://r' });
    expect(error.issues).toEqual([{ variable: 'KAFKA_BROKERS', problem: 'is required but not set' }]);
  });
});

describe('parseEnv keeps secrets out of its error (which lands in stderr and container logs)', () => {
  it('redacts the user info of an invalid URL-like value, up to its last @', () => {
    const urls = z.object({ REDIS_URL: redisUrl, CACHE_URL: redisUrl, OTHER_URL: redisUrl });
    const error = problems({ REDIS_URL: 'redis://:pa#ss@redis:6379', CACHE_URL: 'redis://:s3cr/et@host:6379', OTHER_URL: 'redis://user:a@b@cache:port' }, urls);
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(['CACHE_URL', 'OTHER_URL', 'REDIS_URL']);
    for (const secret of ['pa#ss', 'pa#', 's3cr', 'et@', 'user:a', 'a@b']) expect(error.message).not.toContain(secret);
    expect(error.message).toContain('REDIS_URL: must be a redis:// or rediss:// URL (got "redis://***@redis:6379")');
    expect(error.message).toContain('CACHE_URL: must be a redis:// or rediss:// URL (got "redis://***@host:6379")');
    expect(error.message).toContain('OTHER_URL: must be a redis:// or rediss:// URL (got "redis://***@cache:port")');
  });

  it('does not echo the value of a variable named like a secret', () => {
    const secrets = z.object({ REDIS_PASSWORD: z.string().min(12, 'must be at least 12 characters'), API_TOKEN: positiveInt, CLIENT_SECRET: positiveInt, SIGNING_KEY: positiveInt });
    const error = problems({ REDIS_PASSWORD: 'hunter2', API_TOKEN: 'tok-abc', CLIENT_SECRET: 'shh-123', SIGNING_KEY: 'k3y' }, secrets);
    for (const secret of ['hunter2', 'tok-abc', 'shh-123', 'k3y']) expect(error.message).not.toContain(secret);
    expect(error.message).toContain('REDIS_PASSWORD: must be at least 12 characters (value not shown)');
    expect(error.message).toContain('API_TOKEN: must be a number (value not shown)');
    expect(error.message).toContain('CLIENT_SECRET: must be a number (value not shown)');
    expect(error.message).toContain('SIGNING_KEY: must be a number (value not shown)');
  });

  it('still echoes an ordinary bad value as it is', () => {
    const error = problems({ PARTITIONS: 'many', REDIS_URL: 'http://redis:6379', KEY_PREFIX_LENGTH: 'long' }, z.object({ PARTITIONS: positiveInt, REDIS_URL: redisUrl, KEY_PREFIX_LENGTH: positiveInt }));
    expect(error.message).toContain('PARTITIONS: must be a number (got "many")');
    expect(error.message).toContain('KEY_PREFIX_LENGTH: must be a number (got "long")');
    expect(error.message).toContain('REDIS_URL: must be a redis:// or rediss:// URL (got "http://redis:6379")');
  });
});

describe('misspelt variables (regression: a misspelt PARTITIONS was silently ignored and the default applied)', () => {
  const known = ['KAFKA_BROKERS', 'PARTITIONS', 'HEALTH_PORT', 'TENANT', 'LOG_LEVEL', 'CREATE_TOPICS'];

  it('warns of a variable a few edits or only letter case away from one the service reads, naming both', () => {
    const warnings = nearMissWarnings('normalizer', known, { PARTITONS: '16', TENNANT: 'acme', health_port: '9090', KAFKA_BROKERS: 'k:9092', LOG_LEVLE: 'debug' });
    expect(warnings.map(({ variable, suggestion }) => [variable, suggestion])).toEqual([
      ['LOG_LEVLE', 'LOG_LEVEL'],
      ['PARTITONS', 'PARTITIONS'],
      ['TENNANT', 'TENANT'],
      ['health_port', 'HEALTH_PORT'],
    ]);
    expect(warnings[1]?.message).toBe('PARTITONS is ignored by normalizer; did you mean PARTITIONS? (PARTITIONS is not set)');
    expect(warnings[3]?.message).toBe('health_port is ignored by normalizer: variable names are case-sensitive, and HEALTH_PORT is the one it reads (HEALTH_PORT is not set)');
    expect(nearMissWarnings('normalizer', known, { PARTITONS: '16', PARTITIONS: '8' })[0]?.message).toContain('(PARTITIONS is set too)');
  });

  it('leaves alone what is known, unrelated, blank or too far (an environment carries many other variables)', () => {
    const env = { PATH: '/usr/bin', HOME: '/home/u', HOSTNAME: 'pod-1', NODE_ENV: 'production', KUBERNETES_SERVICE_PORT: '443', REDIS_PORT: 'tcp://10.0.0.1:6379', PARTITIONS: '8', PARTITONS: ' ', PARTITIONS_CONCURRENTLY: '4', CREATE_TOPIC_PREFIX: 'x', TENANTS: '' };
    expect(nearMissWarnings('normalizer', known, env)).toEqual([]);
    // Short names match only in letter case: every four-letter name is one edit from another.
    expect(nearMissWarnings('s', ['PORT'], { PART: '1', port: '1' }).map((warning) => warning.variable)).toEqual(['port']);
  });

  it('reaches the caller through parseEnv\'s onWarning, and a required variable that is not set names its near miss', () => {
    const warnings: ConfigWarning[] = [];
    const config = parseEnv('test-service', schema, { KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r', REDIS_URL: 'redis://r', BATCH_SIZ: '50' }, { onWarning: (warning) => warnings.push(warning) });
    expect(config.BATCH_SIZE).toBe(500);
    expect(warnings.map((warning) => warning.message)).toEqual(['BATCH_SIZ is ignored by test-service; did you mean BATCH_SIZE? (BATCH_SIZE is not set)']);
    expect(problems({ KAFKA_BROKER: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r', REDIS_URL: 'redis://r' }).issues).toEqual([{ variable: 'KAFKA_BROKERS', problem: 'is required but not set (KAFKA_BROKER is set: misspelt?)' }]);
  });
});
