import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv, positiveInt, redisUrl, z } from '@elephant/config';

function problems(schema: z.ZodObject, env: Record<string, string>): ConfigError {
  try {
    parseEnv('test-service', schema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnv keeps secrets out of its error (which lands in stderr and container logs)', () => {
  it('redacts the user info of an invalid URL-like value, up to its last @', () => {
    const schema = z.object({ REDIS_URL: redisUrl, CACHE_URL: redisUrl, OTHER_URL: redisUrl });
    const error = problems(schema, { REDIS_URL: 'redis://:pa#ss@redis:6379', CACHE_URL: 'redis://:s3cr/et@host:6379', OTHER_URL: 'redis://user:a@b@cache:port' });
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(['CACHE_URL', 'OTHER_URL', 'REDIS_URL']);
    for (const secret of ['pa#ss', 'pa#', 's3cr', 'et@', 'user:a', 'a@b']) expect(error.message).not.toContain(secret);
    expect(error.message).toContain('REDIS_URL: must be a redis:// or rediss:// URL (got "redis://***@redis:6379")');
    expect(error.message).toContain('CACHE_URL: must be a redis:// or rediss:// URL (got "redis://***@host:6379")');
    expect(error.message).toContain('OTHER_URL: must be a redis:// or rediss:// URL (got "redis://***@cache:port")');
  });

  it('does not echo the value of a variable named like a secret', () => {
    const schema = z.object({ REDIS_PASSWORD: z.string().min(12, 'must be at least 12 characters'), API_TOKEN: positiveInt, CLIENT_SECRET: positiveInt, SIGNING_KEY: positiveInt });
    const error = problems(schema, { REDIS_PASSWORD: 'hunter2', API_TOKEN: 'tok-abc', CLIENT_SECRET: 'shh-123', SIGNING_KEY: 'k3y' });
    for (const secret of ['hunter2', 'tok-abc', 'shh-123', 'k3y']) expect(error.message).not.toContain(secret);
    expect(error.message).toContain('REDIS_PASSWORD: must be at least 12 characters (value not shown)');
    expect(error.message).toContain('API_TOKEN: must be a number (value not shown)');
    expect(error.message).toContain('CLIENT_SECRET: must be a number (value not shown)');
    expect(error.message).toContain('SIGNING_KEY: must be a number (value not shown)');
  });

  it('still echoes an ordinary bad value as it is', () => {
    const error = problems(z.object({ PARTITIONS: positiveInt, REDIS_URL: redisUrl, KEY_PREFIX_LENGTH: positiveInt }), { PARTITIONS: 'many', REDIS_URL: 'http://redis:6379', KEY_PREFIX_LENGTH: 'long' });
    expect(error.message).toContain('PARTITIONS: must be a number (got "many")');
    expect(error.message).toContain('KEY_PREFIX_LENGTH: must be a number (got "long")');
    expect(error.message).toContain('REDIS_URL: must be a redis:// or rediss:// URL (got "http://redis:6379")');
  });
});
