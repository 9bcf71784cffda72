import avro from 'avsc';
import { afterAll, describe, expect, it } from 'vitest';
import { adaptMessage, touchpointSchema, type Touchpoint } from '@elephant/channels';
import { AvroRegistry, RegistryError, type AvroSchema } from '@elephant/registry';
import { createTestContext } from '@elephant/testing';
import { CHANNEL_SAMPLES } from './samples.ts';

const ctx = createTestContext('touchpoint-schema');
const registry = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
const subject = `${ctx.topic('touchpoints.v1')}-value`;

type RecordSchema = { type: 'record'; name: string; namespace?: string; fields: object[] };
const v1 = touchpointSchema as unknown as RecordSchema;
const withField = (field: object): AvroSchema => ({ ...v1, fields: [...v1.fields, field] }) as unknown as AvroSchema;

afterAll(async () => {
  await registry.deleteSubject(subject);
});

function sampleTouchpoint(): Touchpoint {
  const result = adaptMessage('web', Buffer.from(CHANNEL_SAMPLES.web[1] ?? ''), { tenant: 'default', ingestTime: 1795400000000, defaultRegion: 'US' });
  if (!result.ok || !result.touchpoints[0]) throw new Error('sample did not adapt');
  return result.touchpoints[0];
}

describe('Touchpoint schema evolution in the registry', () => {
  it('accepts a new optional field with a default, and an old consumer reads the new data', async () => {
    const first = await registry.register(subject, touchpointSchema as unknown as AvroSchema);
    const evolved = await registry.register(subject, withField({ name: 'loyaltyTier', type: ['null', 'string'], default: null, doc: 'added in v2' }));
    expect(evolved.id).not.toBe(first.id);

    const touchpoint = sampleTouchpoint();
    const written = registry.encode(evolved.id, { ...touchpoint, loyaltyTier: 'gold' });
    // An old consumer: its own copy of v1 as reader schema, a fresh client that must fetch
    // the writer schema (v2) by id.
    const oldConsumer = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
    const read = await oldConsumer.decode<Touchpoint>(written, avro.Type.forSchema(touchpointSchema as unknown as AvroSchema));
    expect(read).toEqual(touchpoint);
    expect(read).not.toHaveProperty('loyaltyTier');
  });

  it('refuses an incompatible change (a new required field without default)', async () => {
    await registry.register(subject, touchpointSchema as unknown as AvroSchema);
    const refused = await registry.register(subject, withField({ name: 'region', type: 'string' })).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(RegistryError);
    expect((refused as RegistryError).code).toBe('SCHEMA_INCOMPATIBLE');
  });

  it('refuses a version without a field that has no default (an old reader could not decode its records)', async () => {
    await registry.register(subject, touchpointSchema as unknown as AvroSchema);
    const withoutTenant = { ...v1, fields: v1.fields.filter((field) => (field as { name?: unknown }).name !== 'tenant') } as unknown as AvroSchema;
    expect(v1.fields.length - (withoutTenant as unknown as RecordSchema).fields.length).toBe(1);
    const refused = await registry.register(subject, withoutTenant).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(RegistryError);
    expect((refused as RegistryError).code).toBe('SCHEMA_INCOMPATIBLE');
  });

  it('is registered with FULL_TRANSITIVE compatibility', async () => {
    await registry.register(subject, touchpointSchema as unknown as AvroSchema);
    const response = await fetch(`${ctx.stack.schemaRegistryUrl}/config/${encodeURIComponent(subject)}`);
    expect(((await response.json()) as { compatibilityLevel: string }).compatibilityLevel).toBe('FULL_TRANSITIVE');
  });
});
