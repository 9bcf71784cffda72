import { afterEach, describe, expect, it, vi } from 'vitest';
import { AvroRegistry, RegistryError } from '@elephant/registry';

interface Call {
  readonly url: string;
  readonly headers: Headers;
}

/** Replaces fetch (the registry client's only way out) with one that records each request. */
function recordRequests(): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal('fetch', async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, headers: new Headers(init?.headers) });
    return Response.json({ schema: JSON.stringify('string') });
  });
  return calls;
}

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof RegistryError)) throw new Error(`expected a RegistryError, got ${String(error)}`);
  return error;
}

/** The messages of an error and of its causes, as a logger prints them. */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let current = error; current instanceof Error; current = current.cause) parts.push(current.message);
  return parts.join(' | ');
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('AvroRegistry with user info in its URL', () => {
  it('sends it as a Basic Authorization header (percent-decoded) and requests the URL without it', async () => {
    const calls = recordRequests();
    const registry = new AvroRegistry({ url: 'http://user:p%40ss@registry:8081/apis/ccompat/v7/' });
    expect(registry.url).toBe('http://registry:8081/apis/ccompat/v7');
    await registry.typeOf(7);
    await registry.deleteSubject('orders-value');
    expect(calls.map((call) => call.url)).toEqual(['http://registry:8081/apis/ccompat/v7/schemas/ids/7', 'http://registry:8081/apis/ccompat/v7/subjects/orders-value', 'http://registry:8081/apis/ccompat/v7/subjects/orders-value?permanent=true']);
    // base64("user:p@ss")
    for (const call of calls) expect(call.headers.get('authorization')).toBe('Basic dXNlcjpwQHNz');
  });

  it('sends a user without a password as user: (as curl does)', async () => {
    const calls = recordRequests();
    await new AvroRegistry({ url: 'https://api-key@registry.example/apis/ccompat/v7' }).typeOf(1);
    expect(calls[0]?.url).toBe('https://registry.example/apis/ccompat/v7/schemas/ids/1');
    expect(calls[0]?.headers.get('authorization')).toBe(`Basic ${Buffer.from('api-key:').toString('base64')}`);
  });

  it('sends no Authorization header and keeps the URL as written without user info', async () => {
    const calls = recordRequests();
    const registry = new AvroRegistry({ url: 'http://Registry:8081/apis/ccompat/v7//' });
    expect(registry.url).toBe('http://Registry:8081/apis/ccompat/v7');
    await registry.typeOf(3);
    expect(calls[0]?.url).toBe('http://Registry:8081/apis/ccompat/v7/schemas/ids/3');
    expect(calls[0]?.headers.has('authorization')).toBe(false);
  });

  it('does not put the password of a URL that does not parse into the error or its cause', async () => {
    // No request is made: fetch refuses the URL itself (and quotes it in its message).
    const error = await failure(new AvroRegistry({ url: 'http://u:s3cr/et@registry:port/apis' }).typeOf(1));
    expect(error.code).toBe('REGISTRY_UNAVAILABLE');
    expect(messages(error)).not.toContain('s3cr');
    expect(messages(error)).not.toContain('et@');
    expect(error.message).toContain('***@');
  });
});
