import { createRequire } from 'node:module';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { avscStringWriters } from '@elephant/registry';

const require = createRequire(import.meta.url);
const { Tap } = require('avsc/lib/utils.js') as { Tap: new (buf: Buffer, pos?: number) => { buf: Buffer; pos: number } };

const samples = ['', 'a', 'web', 'Order Completed', '3f2a9c1e-8b7d-4e6f-a5c4-000000000123', 'jane.doe+promo@example.com', '+14155550123', 'München', 'é€😀', '\ud800x', 'x\udc00', 'a'.repeat(63), 'a'.repeat(64), 'a'.repeat(65), `${'a'.repeat(63)}é`, `é${'a'.repeat(63)}`, 'a'.repeat(500), '\u007f\u0080', 'x'.repeat(15), 'x'.repeat(16), 'https://shop.example/products/1301-boots', `${'a'.repeat(20)}é`, 'é'.repeat(20), `${'b'.repeat(30)}\ud800`, `${'c'.repeat(17)}😀`];

function written(writer: (this: { buf: Buffer; pos: number }, value: string) => void, values: readonly string[], size: number): { pos: number; bytes: Buffer } {
  const tap = new Tap(Buffer.alloc(size, 0xee));
  for (const value of values) writer.call(tap, value);
  return { pos: tap.pos, bytes: Buffer.from(tap.buf) };
}

describe('avsc string writer', () => {
  it('is installed in avsc', () => {
    expect(Object.getPrototypeOf(new Tap(Buffer.alloc(1)))).toHaveProperty('writeString', avscStringWriters.installed);
  });

  it('writes the bytes avsc\'s own writer writes, one string or many, ASCII or not', () => {
    const installed = avscStringWriters.installed as typeof avscStringWriters.original;
    for (const value of samples) expect(written(installed, [value], 2048), JSON.stringify(value)).toEqual(written(avscStringWriters.original, [value], 2048));
    expect(written(installed, samples, 4096)).toEqual(written(avscStringWriters.original, samples, 4096));
  });

  it('overflows a short buffer the way avsc expects (position past the end, so encode() reports the size needed)', () => {
    const installed = avscStringWriters.installed as typeof avscStringWriters.original;
    for (const size of [0, 1, 3, 10, 17, 40, 50, 70, 100]) {
      for (const value of samples) expect(written(installed, [value], size).pos, `${JSON.stringify(value)} into ${size}`).toBe(written(avscStringWriters.original, [value], size).pos);
    }
  });

  it('round-trips through a schema (well-formed strings: a lone surrogate is not one)', () => {
    const wellFormed = samples.filter((sample) => sample.isWellFormed());
    const type = avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'values', type: { type: 'array', items: 'string' } }, { name: 'map', type: { type: 'map', values: 'string' } }] });
    const value = { values: wellFormed, map: Object.fromEntries(wellFormed.map((sample, index) => [sample, String(index)])) };
    expect(type.fromBuffer(type.toBuffer(value))).toEqual(value);
  });
});
