import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import '@elephant/registry';

/** What a channel's JSON may hold: any key, `__proto__` included (an own property, as JSON.parse makes it). */
const properties = JSON.parse('{"plan":"gold","__proto__":"x","constructor":"y","":"empty"}') as Record<string, string>;

describe('avsc map reader', () => {
  const record = avro.Type.forSchema({ type: 'record', name: 'WithMap', fields: [{ name: 'id', type: 'string' }, { name: 'properties', type: { type: 'map', values: 'string' } }] });

  it('regression (a map\'s __proto__ entry was encoded, then lost by every reader): decodes every key as an own entry, the prototype untouched', () => {
    const decoded = record.fromBuffer(record.toBuffer({ id: 'e1', properties })) as { properties: Record<string, string> };
    expect(Object.entries(decoded.properties)).toEqual(Object.entries(properties));
    expect(Object.getPrototypeOf(decoded.properties)).toBe(Object.prototype);
    expect(JSON.stringify(decoded.properties)).toBe(JSON.stringify(properties));
  });

  it('does the same through a reader schema (a projection), and for maps written in blocks with their byte sizes', () => {
    const reader = avro.Type.forSchema({ type: 'record', name: 'WithMap', fields: [{ name: 'properties', type: { type: 'map', values: 'string' } }] });
    const decoded = reader.fromBuffer(record.toBuffer({ id: 'e1', properties }), reader.createResolver(record)) as { properties: Record<string, string> };
    expect(Object.entries(decoded.properties)).toEqual(Object.entries(properties));
    // A block written with a negative count and its size (as other Avro writers may): -2, size, two entries, then 0.
    const map = avro.Type.forSchema({ type: 'map', values: 'string' });
    const entries = Buffer.concat([Buffer.from([0x12, 0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f, 0x02, 0x78]), Buffer.from([0x02, 0x61, 0x02, 0x62])]);
    const blocked = Buffer.concat([Buffer.from([0x03]), Buffer.from([entries.length * 2]), entries, Buffer.from([0x00])]);
    expect(Object.entries(map.fromBuffer(blocked) as Record<string, string>)).toEqual([['__proto__', 'x'], ['a', 'b']]);
  });
});
