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
  it('sends the pipelines and commands of one event-loop turn in one write, and answers each', async () => {
    const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger, keyPrefix: ctx.keyPrefix });
    clients.push(redis);
    // Counts what reaches the kernel: one _writev (or _write) call per system call.
    const socket = redis.stream as unknown as { _writev: (...args: unknown[]) => unknown; _write: (...args: unknown[]) => unknown };
    let writes = 0;
    for (const method of ['_writev', '_write'] as const) {
      const original = socket[method].bind(socket);
      socket[method] = (...args: unknown[]) => {
        writes += 1;
        return original(...args);
      };
    }
    const turn = async () =>
      Promise.all([
        redis.pipeline().set('a', '1').get('a').exec(),
        redis.pipeline().set('b', '2').get('b').exec(),
        redis.incr('c'),
        // A continuation of the same turn writes with them.
        Promise.resolve().then(() => redis.get('a')),
      ]);
    const [first, second, incremented, read] = await turn();
    expect(writes).toBe(1);
    expect(first).toEqual([[null, 'OK'], [null, '1']]);
    expect(second).toEqual([[null, 'OK'], [null, '2']]);
    expect([incremented, read]).toEqual([1, '1']);
    // Each turn its own write.
    await turn();
    await redis.get('b');
    expect(writes).toBe(3);
  });

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
