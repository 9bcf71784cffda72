import { afterAll, describe, expect, it } from 'vitest';
import { connectRedis, defineScripts, RedisError, type Redis } from '@elephant/redis';
import { createTestContext } from '@elephant/testing';

const ctx = createTestContext('redis');
const clients: Redis[] = [];

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await ctx.cleanup();
});

describe('redis package against a real redis-server', () => {
  it('writes and reads under the test key prefix', async () => {
    const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger, keyPrefix: ctx.keyPrefix });
    clients.push(redis);
    await redis.set('greeting', 'hello');
    expect(await redis.get('greeting')).toBe('hello');
    const raw = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
    clients.push(raw);
    expect(await raw.get(`${ctx.keyPrefix}greeting`)).toBe('hello');
  });

  it('runs Lua scripts by name, also after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger, keyPrefix: ctx.keyPrefix });
    clients.push(redis);
    defineScripts(redis, { incrBy2: { numberOfKeys: 1, lua: "return redis.call('INCRBY', KEYS[1], 2)" } });
    const call = (): Promise<unknown> => (redis as unknown as { incrBy2(key: string): Promise<unknown> }).incrBy2('counter');
    expect(await call()).toBe(2);
    await redis.script('FLUSH');
    expect(await call()).toBe(4);
  });

  it('runs with AOF persistence enabled', async () => {
    const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
    clients.push(redis);
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as [string, string];
    expect(appendonly).toBe(ctx.stack.source === 'environment' ? appendonly : 'yes');
  });

  it('fails fast with a retryable REDIS_UNAVAILABLE when the server cannot be reached', async () => {
    const error = await connectRedis({ url: 'redis://127.0.0.1:1', logger: ctx.logger }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RedisError);
    expect((error as RedisError).code).toBe('REDIS_UNAVAILABLE');
    expect((error as RedisError).retryable).toBe(true);
  });
});
