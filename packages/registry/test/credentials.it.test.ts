import { afterAll, describe, expect, it } from 'vitest';
import { AvroRegistry, RegistryError, readSchemaId, type AvroSchema } from '@elephant/registry';
import { createTestContext } from '@elephant/testing';

const ctx = createTestContext('registry-credentials');
const subjects: string[] = [];

/** The stack's registry URL with user info, as a registry behind basic auth is configured. */
function withUserInfo(url: string, username: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = username;
  parsed.password = password;
  return parsed.href;
}

const schema: AvroSchema = { type: 'record', name: 'Credentialed', namespace: 'dev.elephant.test', fields: [{ name: 'id', type: 'string' }] };

/** The messages of an error and of its causes, as a logger prints them. */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let current = error; current instanceof Error; current = current.cause) parts.push(current.message);
  return parts.join(' | ');
}

afterAll(async () => {
  const registry = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
  await Promise.all(subjects.map((name) => registry.deleteSubject(name)));
  await ctx.cleanup();
});

describe('AvroRegistry with user info in SCHEMA_REGISTRY_URL', () => {
  it('registers and fetches a schema through a URL with credentials (regression: fetch refused every request)', async () => {
    const url = withUserInfo(ctx.stack.schemaRegistryUrl, 'elephant', 'p@ss:w/rd');
    expect(url).toContain('@'); // the credentials really are in the URL
    const subject = `${ctx.topic('credentials')}-value`;
    subjects.push(subject);
    const writer = new AvroRegistry({ url });
    const { id } = await writer.register(subject, schema);
    expect(writer.url).not.toContain('elephant:');
    const bytes = writer.encode(id, { id: 'c-1' });
    // A fresh client fetches the writer schema by id, through the same kind of URL.
    const reader = new AvroRegistry({ url });
    expect(readSchemaId(bytes)).toBe(id);
    expect(await reader.decode(bytes)).toEqual({ id: 'c-1' });
  });

  it('keeps the password out of the error for an unreachable registry', async () => {
    const registry = new AvroRegistry({ url: 'http://u:secret@127.0.0.1:1/apis/ccompat/v7' });
    const error = await registry.typeOf(1).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('REGISTRY_UNAVAILABLE');
    expect((error as RegistryError).retryable).toBe(true);
    expect(messages(error)).not.toContain('secret');
    expect(JSON.stringify(error)).not.toContain('secret');
    expect((error as RegistryError).message).toContain('http://127.0.0.1:1/apis/ccompat/v7');
  });
});
