/** What `properties` keeps of the fields no typed Touchpoint field took (fields.ts rest()). */
import { describe, expect, it } from 'vitest';
import { adaptMessage, PROPERTY_LIMITS, touchpointSchema } from '@elephant/channels';
import avro from 'avsc';
import { context, failure, one } from './helpers.ts';

const base = { type: 'track', event: 'Signed Up', messageId: 'm-1', anonymousId: 'anon-1', timestamp: '2024-05-01T10:00:00Z' };
const web = (message: Record<string, unknown>) => adaptMessage('web', Buffer.from(JSON.stringify({ ...base, ...message })), context);
const touchpointType = avro.Type.forSchema(touchpointSchema as avro.Schema);

/** `{"a":{"v":1,"a":{"v":1,"a":...}}}`, `depth` levels deep. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { v: 1 };
  for (let i = 0; i < depth; i += 1) value = { v: 1, a: value };
  return value;
}

describe('properties', () => {
  it('keeps JSON nulls as the text null (they used to be dropped)', () => {
    const touchpoint = one(web({ properties: { plan: null, nested: { gone: null } }, context: { ip: null } }));
    expect(touchpoint.properties['properties.plan']).toBe('null');
    expect(touchpoint.properties['properties.nested.gone']).toBe('null');
    expect(touchpoint.properties['context.ip']).toBe('null');
  });

  it('keeps both fields when a dotted top-level key collides with a nested path (the later one gets #2)', () => {
    const touchpoint = one(web({ properties: { x: 'nested' }, 'properties.x': 'top-level' }));
    expect(touchpoint.properties['properties.x']).toBe('nested');
    expect(touchpoint.properties['properties.x#2']).toBe('top-level');
  });

  it('takes the next free suffix when #2 is itself a key', () => {
    const touchpoint = one(web({ properties: { x: 'a', 'x#2': 'b' }, 'properties.x': 'c' }));
    expect(touchpoint.properties).toMatchObject({ 'properties.x': 'a', 'properties.x#2': 'b', 'properties.x#3': 'c' });
  });

  it('JSON-encodes arrays of values and empty objects, flattens arrays of objects the adapter reads by index', () => {
    const touchpoint = one(
      web({ event: 'Order Completed', properties: { order_id: 'o-1', currency: 'USD', tags: ['a', 'b'], empty: {}, products: [{ product_id: 'p-1', price: 1, brand: 'Acme' }] } }),
    );
    expect(touchpoint.properties['properties.tags']).toBe('["a","b"]');
    expect(touchpoint.properties['properties.empty']).toBe('{}');
    expect(touchpoint.properties['properties.products[0].brand']).toBe('Acme');
  });

  it('regression (oversized touchpoint): a 5.6 KB message of nested objects stays near its own size instead of growing to 808 KB', () => {
    const raw = { ...base, properties: nested(450) };
    const bytes = Buffer.from(JSON.stringify(raw));
    expect(bytes.length).toBeGreaterThan(5000);
    const touchpoint = one(adaptMessage('web', bytes, context));
    const keys = Object.keys(touchpoint.properties);
    expect(Math.max(...keys.map((key) => key.length))).toBeLessThanOrEqual(PROPERTY_LIMITS.keyLength);
    expect(touchpointType.toBuffer(touchpoint).length).toBeLessThan(bytes.length * 10);
    // Nothing lost: the deepest object kept is the JSON of the rest of the message.
    const encoded = keys.filter((key) => touchpoint.properties[key]?.startsWith('{'));
    expect(encoded).toHaveLength(1);
    const [deepest = ''] = encoded;
    expect(deepest.endsWith('.a')).toBe(true);
    const depthKept = deepest.split('.').length - 1;
    let rest = JSON.parse(touchpoint.properties[deepest] ?? '') as Record<string, unknown>;
    let depth = depthKept;
    while (rest['a'] !== undefined) {
      rest = rest['a'] as Record<string, unknown>;
      depth += 1;
    }
    expect(depth).toBe(450);
  });

  it('refuses more properties than the limit as PROPERTIES_TOO_LARGE', () => {
    const many = Object.fromEntries(Array.from({ length: PROPERTY_LIMITS.keys + 1 }, (_, i) => [`k${i}`, 'v']));
    expect(failure(web({ properties: many }), 'PROPERTIES_TOO_LARGE')).toMatch(/properties exceed the limit of 1000/);
  });

  it('refuses properties of more bytes than the limit as PROPERTIES_TOO_LARGE', () => {
    const result = web({ properties: { blob: 'é'.repeat(PROPERTY_LIMITS.bytes / 2 + 1) } });
    expect(failure(result, 'PROPERTIES_TOO_LARGE')).toMatch(/bytes exceed/);
  });

  it('keeps an object whose fields would have too long keys JSON-encoded under its own key', () => {
    const long = 'k'.repeat(PROPERTY_LIMITS.keyLength);
    const touchpoint = one(web({ context: { extra: { [long]: 'v' } } }));
    expect(touchpoint.properties['context.extra']).toBe(JSON.stringify({ [long]: 'v' }));
  });

  it('refuses an unread top-level key longer than the key limit as PROPERTIES_TOO_LARGE', () => {
    const result = web({ ['k'.repeat(PROPERTY_LIMITS.keyLength + 1)]: 'v' });
    expect(result.ok ? undefined : result.error.details).toMatchObject({ reason: 'key_too_long' });
  });

  it('regression (fields that flatten to one key took quadratic time, 31 s for 262 KB): refuses them as soon as the key limit is passed', () => {
    // properties: { "a": ..., "a.a": ..., "a.a.a": ... }, recursively: every leaf flattens to one key.
    const tree = (parts: number): Record<string, unknown> => {
      const value: Record<string, unknown> = {};
      for (let i = 1; i <= parts; i += 1) value[Array.from({ length: i }, () => 'a').join('.')] = i === parts ? 1 : tree(parts - i);
      return value;
    };
    const message = Buffer.from(JSON.stringify({ ...base, properties: tree(15) }));
    expect(message.length).toBeGreaterThan(250_000);
    const started = performance.now();
    const result = adaptMessage('web', message, context);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(result.ok ? undefined : result.error.details).toEqual({ reason: 'too_many_keys', keys: PROPERTY_LIMITS.keys + 1, limit: PROPERTY_LIMITS.keys });
  });

  it('gives fields that reach one key the first free #n, skipping suffixes a field already has', () => {
    const touchpoint = one(web({ properties: { x: 'nested', y: { z: 'y' } }, 'properties.x': 'second', 'properties.x#2': 'literal', 'properties.x#3': 'literal 3', 'properties.y.z': 'y2' }));
    // Message order: properties.x, properties.y.z, then the top-level keys.
    expect(touchpoint.properties).toEqual({
      event: 'Signed Up',
      'properties.x': 'nested',
      'properties.y.z': 'y',
      'properties.x#2': 'second',
      'properties.x#2#2': 'literal',
      'properties.x#3': 'literal 3',
      'properties.y.z#2': 'y2',
    });
  });

  it('counts the byte limit as properties are added and stops at the first one past it', () => {
    const half = 'é'.repeat(PROPERTY_LIMITS.bytes / 4);
    const result = web({ properties: { a: half, b: half, c: half } });
    const details = result.ok ? undefined : result.error.details;
    expect(details).toMatchObject({ reason: 'too_many_bytes', limit: PROPERTY_LIMITS.bytes });
    expect((details as { bytes: number }).bytes).toBeLessThan(PROPERTY_LIMITS.bytes + 100);
  });

  it('regression (deep nesting overflowed JSON.stringify and read as an adapter bug): refuses it as PROPERTIES_TOO_LARGE (too_deep)', () => {
    const depth = 300_000;
    const arrays = Buffer.from(`{"type":"track","event":"x","messageId":"m","anonymousId":"a","timestamp":"2024-05-01T10:00:00Z","properties":{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}}`);
    const result = adaptMessage('web', arrays, context);
    expect(failure(result, 'PROPERTIES_TOO_LARGE')).toMatch(/^field properties\.deep nests arrays or objects deeper than the limit of 1000/);
    expect(result.ok ? undefined : result.error.details).toEqual({ reason: 'too_deep', limit: PROPERTY_LIMITS.depth });
    // Objects too, where their keys would get too long and they are kept JSON-encoded.
    const objects = Buffer.from(`{"type":"track","event":"x","messageId":"m","anonymousId":"a","timestamp":"2024-05-01T10:00:00Z","properties":{"deep":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`);
    expect(adaptMessage('web', objects, context)).toMatchObject({ ok: false, error: { code: 'PROPERTIES_TOO_LARGE', details: { reason: 'too_deep' } } });
    // With 16 digits in a row too (parsed with a reviver, which recursed: INVALID_JSON until 2026-12-07).
    const digits = Buffer.from(`{"type":"call","id":"c1","occurredAt":"2024-05-03T08:15:00Z","customer":{"crmId":"C1"},"x":${'['.repeat(20_000)}${']'.repeat(20_000)},"n":"1234567890123456"}`);
    expect(adaptMessage('support', digits, context)).toMatchObject({ ok: false, error: { code: 'PROPERTIES_TOO_LARGE', details: { reason: 'too_deep' } } });
    // An ads conversion's name, JSON-encoded into its event id's scope (ADAPTER_FAILED until 2026-12-07).
    const name = Buffer.from(`{"type":"conversion","platform":"google_ads","clickId":"g","occurredAt":1714560000000,"conversion":{"id":"g","name":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`);
    expect(adaptMessage('ads', name, context)).toMatchObject({ ok: false, error: { code: 'PROPERTIES_TOO_LARGE', message: expect.stringContaining('field conversion.name nests') as string, details: { reason: 'too_deep' } } });
    // As deep as the limit is kept.
    const atLimit = one(web({ properties: { deep: JSON.parse(`${'['.repeat(PROPERTY_LIMITS.depth)}${']'.repeat(PROPERTY_LIMITS.depth)}`) as unknown } }));
    expect(atLimit.properties['properties.deep']).toHaveLength(2 * PROPERTY_LIMITS.depth);
  });

  it('regression (integers beyond 2^53 were rounded: 12345678901234567891 and ...890 both became 12345678901234567000): keeps the digits sent', () => {
    const raw =
      '{"type":"track","event":"x","messageId":"m","anonymousId":"a","timestamp":"2024-05-01T10:00:00Z",' +
      '"properties":{"orderNumber":12345678901234567891,"a":12345678901234567890,"negative":-9007199254740993,"list":[9007199254740993,{"n":99999999999999999999}],' +
      '"big":1e21,"safe":9007199254740991,"fraction":1.5,"text":"12345678901234567891"}}';
    const touchpoint = one(adaptMessage('web', Buffer.from(raw), context));
    expect(touchpoint.properties).toEqual({
      event: 'x',
      'properties.orderNumber': '12345678901234567891',
      'properties.a': '12345678901234567890',
      'properties.negative': '-9007199254740993',
      'properties.list': '[9007199254740993,{"n":99999999999999999999}]',
      // Not digits beyond 2^53 as sent: written as JSON.stringify writes the number, as in every message.
      'properties.big': '1e+21',
      'properties.safe': '9007199254740991',
      'properties.fraction': '1.5',
      'properties.text': '12345678901234567891',
    });
    // Typed fields still refuse such a number: they see the parsed (rounded) value.
    expect(failure(adaptMessage('web', Buffer.from(raw.replace('"messageId":"m"', '"messageId":12345678901234567891')), context), 'SCHEMA_VIOLATION')).toMatch(/^messageId: /);
  });

  it('keeps the digits of an integer beyond 2^53 wherever it is in the message (the scan for 16 digits looks at every 16th character)', () => {
    for (let pad = 0; pad < 34; pad += 1) {
      const raw = `{"type":"track","event":"x","messageId":"m","anonymousId":"a","timestamp":"2024-05-01T10:00:00Z","properties":{"pad":"${'p'.repeat(pad)}","n":9007199254740993}}`;
      expect(one(adaptMessage('web', Buffer.from(raw), context)).properties['properties.n']).toBe('9007199254740993');
    }
  });

  it('regression (lone surrogates were corrupted by Avro): replaces them by U+FFFD in keys and values, keeping both of two keys they would merge', () => {
    const raw = '{"type":"track","event":"x","messageId":"m","anonymousId":"a","timestamp":"2024-05-01T10:00:00Z","properties":{"k\\ud800":"v\\udc00","k\\udc00":"w","ok":"\\ud83d\\ude00"}}';
    const touchpoint = one(adaptMessage('web', Buffer.from(raw), context));
    expect(touchpoint.properties).toEqual({ event: 'x', 'properties.k\ufffd': 'v\ufffd', 'properties.k\ufffd#2': 'w', 'properties.ok': '\u{1f600}' });
  });
});
