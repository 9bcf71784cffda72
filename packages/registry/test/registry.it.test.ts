import avro from 'avsc';
import { afterAll, describe, expect, it } from 'vitest';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { AvroRegistry, RegistryError, projection, projectionWithout, readSchemaId, type AvroSchema, type RecordSchemaJson } from '@elephant/registry';
import { BatchProducer } from '@elephant/kafka';
import { createTestContext, readTopic } from '@elephant/testing';

const ctx = createTestContext('registry');
const registry = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
const subjects: string[] = [];

function subject(name: string): string {
  const value = `${ctx.topic(name)}-value`;
  subjects.push(value);
  return value;
}

const v1: AvroSchema = {
  type: 'record',
  name: 'Ping',
  namespace: 'dev.elephant.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'count', type: 'long' },
  ],
};

afterAll(async () => {
  await Promise.all(subjects.map((name) => registry.deleteSubject(name)));
  await ctx.cleanup();
});

describe('AvroRegistry against the real registry', () => {
  it('round-trips an Avro message through the registry and a real Kafka topic', async () => {
    const topic = ctx.topic('pings');
    await ctx.createTopics([{ topic, partitions: 1 }]);
    const { id } = await registry.register(subject('pings'), v1);
    const value = { id: 'p-1', at: 1795400000123, count: 2 ** 52 + 1 };
    const producer = await BatchProducer.connect(ctx.kafka);
    await producer.send([{ topic, messages: [{ key: 'p-1', value: registry.encode(id, value) }] }]);
    await producer.disconnect();

    const [message] = await readTopic(ctx.kafka, topic, 1);
    const bytes = message?.value ?? Buffer.alloc(0);
    expect(bytes[0]).toBe(0);
    expect(readSchemaId(bytes)).toBe(id);
    // A fresh client knows nothing: it must fetch the writer schema by id.
    const reader = new AvroRegistry({ url: ctx.stack.schemaRegistryUrl });
    expect(await reader.decode(bytes)).toEqual(value);
  });

  it('encodes records of any size exactly as avsc does, the scratch space kept or not (1 KiB, 64 KiB, 5 MiB)', async () => {
    const { id } = await registry.register(subject('sizes'), v1);
    const type = avro.Type.forSchema(v1);
    for (const length of [10, 1500, 70000, 5 * 1024 * 1024, 20]) {
      const value = { id: 'x'.repeat(length), at: 1795400000123, count: length };
      const bytes = registry.encode(id, value);
      expect(bytes.subarray(5).equals(type.toBuffer(value)), `${length} characters`).toBe(true);
      expect(readSchemaId(bytes)).toBe(id);
      expect(await registry.decode(bytes)).toEqual(value);
    }
  });

  it('works with @kafkajs/confluent-schema-registry unchanged (register, encode, decode, compatibility)', async () => {
    const client = new SchemaRegistry({ host: ctx.stack.schemaRegistryUrl });
    const name = subject('library');
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject: name });
    const encoded = await client.encode(id, { id: 'x', at: 1, count: 2 });
    expect(await client.decode(encoded)).toEqual({ id: 'x', at: 1, count: 2 });
    // Our client decodes what the library wrote, and the other way round.
    expect(await registry.decode(encoded)).toEqual({ id: 'x', at: 1, count: 2 });
    expect(await client.getLatestSchemaId(name)).toBe(id);
    // Registering again is idempotent and the library's compatibility check passes.
    expect((await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject: name })).id).toBe(id);
  });

  it('accepts a backward-compatible evolution and refuses an incompatible one', async () => {
    const name = subject('evolution');
    const first = await registry.register(name, v1);
    const v2: AvroSchema = { ...v1, fields: [...(v1 as { fields: object[] }).fields, { name: 'note', type: ['null', 'string'], default: null }] } as AvroSchema;
    const second = await registry.register(name, v2);
    expect(second.id).not.toBe(first.id);
    const v3: AvroSchema = { ...v1, fields: [...(v1 as { fields: object[] }).fields, { name: 'required', type: 'int' }] } as AvroSchema;
    const refused = await registry.register(name, v3).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(RegistryError);
    expect((refused as RegistryError).code).toBe('SCHEMA_INCOMPATIBLE');
  });

  it('refuses longs that would lose precision and names the field', async () => {
    const { id } = await registry.register(subject('longs'), v1);
    const error = (() => {
      try {
        registry.encode(id, { id: 'x', at: 1, count: 2 ** 60 });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect((error as RegistryError).code).toBe('AVRO_VALUE_INVALID');
    expect((error as RegistryError).message).toContain('count');
  });

  it('reports bad framing and unknown schema ids per message instead of failing the batch', async () => {
    const { id } = await registry.register(subject('batch'), v1);
    const good = registry.encode(id, { id: 'ok', at: 5, count: 6 });
    const unknownId = Buffer.from(good);
    unknownId.writeUInt32BE(987654321, 1);
    const results = await registry.decodeMany([good, Buffer.from('{"json":true}'), unknownId, good.subarray(0, 7)]);
    expect(results.map((result) => (result.ok ? 'ok' : result.error.code))).toEqual(['ok', 'WIRE_FORMAT_INVALID', 'SCHEMA_NOT_FOUND', 'AVRO_DECODE_FAILED']);
  });

  it('regression (a schema avsc cannot build, one with references as Confluent serializers write them, threw a plain Error: the whole batch failed as a bug, the service stopped on every restart): reports it per message as SCHEMA_UNREADABLE', async () => {
    const { id } = await registry.register(subject('readable'), v1);
    const good = registry.encode(id, { id: 'ok', at: 5, count: 6 });
    // A type of its own subject, and a schema that names it through a reference (deleted here,
    // the referencing one first: the registry refuses to delete a subject still referenced).
    const customer = `${ctx.topic('customer')}-value`;
    const order = `${ctx.topic('order')}-value`;
    try {
      await registry.register(customer, { type: 'record', name: 'Customer', namespace: 'shop', fields: [{ name: 'email', type: 'string' }] });
      const response = await fetch(`${ctx.stack.schemaRegistryUrl}/subjects/${encodeURIComponent(order)}/versions`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({
          schemaType: 'AVRO',
          schema: JSON.stringify({ type: 'record', name: 'Order', namespace: 'shop', fields: [{ name: 'customer', type: 'shop.Customer' }] }),
          references: [{ name: 'shop.Customer', subject: customer, version: 1 }],
        }),
      });
      expect(response.status).toBe(200);
      const withReference = ((await response.json()) as { id: number }).id;
      const framed = Buffer.from(good);
      framed.writeUInt32BE(withReference, 1);
      const results = await registry.decodeMany([good, framed]);
      expect(results.map((result) => (result.ok ? 'ok' : result.error.code))).toEqual(['ok', 'SCHEMA_UNREADABLE']);
      expect(results[1]?.ok === false ? results[1].error.message : '').toMatch(new RegExp(`^Schema id ${String(withReference)} cannot be read as Avro: .*shop\\.Customer`));
    } finally {
      await registry.deleteSubject(order);
      await registry.deleteSubject(customer);
    }
  });
});

describe('registration by replicas starting together', () => {
  it('gives every concurrent register() of one subject the same id (regression: Apicurio answers 409 to a concurrent PUT /config)', async () => {
    const name = subject('concurrent');
    const clients = Array.from({ length: 8 }, () => new AvroRegistry({ url: ctx.stack.schemaRegistryUrl }));
    const ids = await Promise.all(clients.map(async (client) => (await client.register(name, v1)).id));
    expect(new Set(ids).size).toBe(1);
  });
});

describe('carrying an encoded record inside another', () => {
  const outer = (inner: AvroSchema): AvroSchema => ({ type: 'record', name: 'Envelope', namespace: 'dev.elephant.test', fields: [{ name: 'key', type: 'string' }, { name: 'ping', type: inner }, { name: 'notes', type: { type: 'array', items: 'string' } }, { name: 'at', type: 'long' }] }) as unknown as AvroSchema;
  const v2: AvroSchema = { ...(v1 as object), fields: [...(v1 as unknown as RecordSchemaJson).fields, { name: 'tag', type: ['null', 'string'], default: null }] } as unknown as AvroSchema;

  it('splices a payload written with the embedded schema: the same bytes as encoding the whole value', async () => {
    const ping = (await registry.register(subject('inner'), v1)).id;
    const envelope = (await registry.register(subject('envelope'), outer(v1))).id;
    const value = { id: 'p-1', at: 1795400000123, count: 7 };
    const payload = registry.encode(ping, value).subarray(5);
    expect(registry.embeds(envelope, 'ping', ping)).toBe(true);
    const rest = { key: 'k'.repeat(3), notes: ['a', 'é'.repeat(40000)], at: 99 }; // larger than the scratch buffer
    const spliced = registry.encodeSpliced(envelope, rest, 'ping', payload);
    expect(spliced.equals(registry.encode(envelope, { ...rest, ping: value }))).toBe(true);
    expect(await registry.decode(spliced)).toEqual({ ...rest, ping: value });
    expect(() => registry.encodeSpliced(envelope, { ...rest, at: 'soon' }, 'ping', payload)).toThrow(/invalid at/);
    expect(() => registry.encodeSpliced(envelope, rest, 'nothing', payload)).toThrow(/no field|with a field nothing/);
  });

  it('does not call a payload of another schema embeddable, even a compatible one', async () => {
    const name = subject('evolving');
    const first = (await registry.register(name, v1)).id;
    const second = (await registry.register(name, v2)).id;
    const envelope = (await registry.register(subject('envelope-2'), outer(v1))).id;
    expect(registry.embeds(envelope, 'ping', first)).toBe(true);
    expect(registry.embeds(envelope, 'ping', second)).toBe(false);
    expect(registry.embeds(envelope, 'ping', 123456789)).toBe(false); // unknown to this process
  });

  it('decodes only the fields a projection keeps, from writers of any compatible version', async () => {
    const name = subject('projected');
    const second = (await registry.register(name, v2)).id;
    const keys = projection(v2 as unknown as RecordSchemaJson, ['id', 'tag']);
    expect(await registry.decode(registry.encode(second, { id: 'p-2', at: 1, count: 2, tag: 't' }), keys)).toEqual({ id: 'p-2', tag: 't' });
    const nested = projection(outer(v2) as unknown as RecordSchemaJson, ['key', 'ping.count']);
    const envelope = (await registry.register(subject('envelope-3'), outer(v2))).id;
    expect(await registry.decode(registry.encode(envelope, { key: 'k', ping: { id: 'p', at: 1, count: 3, tag: null }, notes: [], at: 5 }), nested)).toEqual({ key: 'k', ping: { count: 3 } });
    expect(() => projection(v1 as unknown as RecordSchemaJson, ['missing'])).toThrow(/has no field missing/);
    // All but the dropped fields, at any depth.
    const without = projectionWithout(outer(v2) as unknown as RecordSchemaJson, ['notes', 'ping.count']);
    expect(await registry.decode(registry.encode(envelope, { key: 'k', ping: { id: 'p', at: 1, count: 3, tag: null }, notes: ['n'], at: 5 }), without)).toEqual({ key: 'k', ping: { id: 'p', at: 1, tag: null }, at: 5 });
    expect(() => projectionWithout(v1 as unknown as RecordSchemaJson, ['ping.missing'])).toThrow(/has no field ping.missing/);
  });
});
