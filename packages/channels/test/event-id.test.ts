import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveEventId, EVENT_ID_NAMESPACE } from '@elephant/channels';

/** UUIDv5 as RFC 9562 defines it, with node:crypto's SHA-1: the reference for the inlined hash. */
function uuidV5(name: string): string {
  const bytes = createHash('sha1').update(Buffer.from(EVENT_ID_NAMESPACE.replaceAll('-', ''), 'hex')).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const expected = (tenant: string, channel: string, system: string, id: string): string => uuidV5(JSON.stringify([tenant, channel, system, id]));

describe('deriveEventId (SHA-1 written out, no call into OpenSSL per event)', () => {
  it('equals node:crypto\'s UUIDv5 at every padding boundary (names of 0 to 200 bytes after the namespace)', () => {
    // 16 namespace bytes + `["a","b","c",""]` (17 bytes) + n: crosses the 55/56/64-byte block edges.
    for (let n = 0; n < 200; n += 1) {
      const id = 'x'.repeat(n);
      expect(deriveEventId('a', 'b', 'c', id), `source id of ${n} bytes`).toBe(expected('a', 'b', 'c', id));
    }
  });

  it('equals node:crypto\'s UUIDv5 for any strings, multi-byte and very long ones included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 3000 }), (tenant, channel, system, id) => {
        expect(deriveEventId(tenant, channel, system, id)).toBe(expected(tenant, channel, system, id));
      }),
      { numRuns: 500 },
    );
  });

  it('with a scope, is the UUIDv5 of the five-element array; without, of the four (eventIds of unscoped events unchanged)', () => {
    expect(deriveEventId('acme', 'ads', 'google_ads', 'gclid-1', 'ad_converted')).toBe(uuidV5(JSON.stringify(['acme', 'ads', 'google_ads', 'gclid-1', 'ad_converted'])));
    expect(deriveEventId('acme', 'ads', 'google_ads', 'gclid-1', null)).toBe(expected('acme', 'ads', 'google_ads', 'gclid-1'));
    expect(deriveEventId('acme', 'ads', 'google_ads', 'gclid-1', 'ad_clicked')).not.toBe(deriveEventId('acme', 'ads', 'google_ads', 'gclid-1', 'ad_converted'));
  });

  it('gives the same id after a long name grew its scratch buffer', () => {
    const before = deriveEventId('acme', 'web', 'segment', 'msg-1');
    deriveEventId('acme', 'web', 'segment', 'é'.repeat(5000));
    expect(deriveEventId('acme', 'web', 'segment', 'msg-1')).toBe(before);
  });
});
