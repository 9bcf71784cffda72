import { describe, expect, it } from 'vitest';
import { EXIT_CODES, main } from '@elephant/cli';

describe('elephant run --only', () => {
  it('refuses an unknown part before connecting to anything', async () => {
    const code = await main(['run', '--only', 'normalizers,bogus'], { KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(code).toBe(EXIT_CODES.USAGE);
  });
});
