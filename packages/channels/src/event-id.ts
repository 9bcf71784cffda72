/** UUID namespace of Elephant touchpoint ids. Changing it changes every eventId: never do. */
export const EVENT_ID_NAMESPACE = '25b6dc4f-3910-40f8-aec5-f0b9bb5eb6a7';
const NAMESPACE_BYTES = Buffer.from(EVENT_ID_NAMESPACE.replaceAll('-', ''), 'hex');

/**
 * The namespace followed by the name, with room for SHA-1's padding (at most 72 bytes), kept
 * across calls: no allocation per event.
 */
let scratch = Buffer.allocUnsafe(1024);
NAMESPACE_BYTES.copy(scratch);

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const schedule = new Int32Array(80);
const digest = new Int32Array(5);

/**
 * SHA-1 (FIPS 180-4) of `bytes[0, length)` into `digest`, padding in place: `bytes` must hold
 * `length + 72` bytes. Written out here because the event id is derived for every message and
 * `crypto.hash` costs a call into OpenSSL each time: in the normalizer's CPU profile it was 7% of
 * the busy time (about 3.7 µs per message), this is about 0.5 µs. SHA-1 serves here as the
 * name hash RFC 9562 prescribes for UUIDv5, not for security. Tested against node:crypto.
 */
function sha1(bytes: Buffer, length: number): void {
  const blocks = ((length + 8) >>> 6) + 1;
  const padded = blocks * 64;
  bytes[length] = 0x80;
  bytes.fill(0, length + 1, padded - 4);
  // Message length in bits, big-endian; names are far below 2^29 bytes, so the top word is 0.
  bytes.writeUInt32BE((length * 8) >>> 0, padded - 4);
  let h0 = 0x67452301;
  let h1 = 0xefcdab89 | 0;
  let h2 = 0x98badcfe | 0;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0 | 0;
  const w = schedule;
  for (let block = 0; block < padded; block += 64) {
    for (let i = 0; i < 16; i += 1) w[i] = bytes.readInt32BE(block + i * 4);
    for (let i = 16; i < 80; i += 1) {
      const x = (w[i - 3] as number) ^ (w[i - 8] as number) ^ (w[i - 14] as number) ^ (w[i - 16] as number);
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let i = 0; i < 80; i += 1) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc | 0;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6 | 0;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + (w[i] as number)) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  digest[0] = h0;
  digest[1] = h1;
  digest[2] = h2;
  digest[3] = h3;
  digest[4] = h4;
}

/** Byte `index` (0-15) of the digest, big-endian. */
function byteAt(index: number): number {
  return ((digest[index >>> 2] as number) >>> (24 - (index & 3) * 8)) & 0xff;
}

/**
 * The deterministic eventId of a touchpoint: a UUIDv5 (RFC 9562) of the tenant, channel,
 * source system and the source's own event id. The name is the JSON array of the four, so
 * no choice of separator can make two different tuples collide. A re-sent message yields
 * the same id, which is what lets every consumer apply it at most once.
 *
 * `scope`, when given, is a fifth element: for a source event id that is not the event's own
 * but may be another event's (an ads conversion's `conversion.id`: Google keys offline
 * conversions by the gclid, the click's id), the event type, so that a click and a conversion
 * with the same id do not become one event. Without it the name is the four-element array.
 */
export function deriveEventId(tenant: string, channel: string, sourceSystem: string, sourceEventId: string, scope: string | null = null): string {
  const name = JSON.stringify(scope === null ? [tenant, channel, sourceSystem, sourceEventId] : [tenant, channel, sourceSystem, sourceEventId, scope]);
  const room = 16 + name.length * 3 + 72;
  if (room > scratch.length) {
    scratch = Buffer.allocUnsafe(Math.max(room, scratch.length * 2));
    NAMESPACE_BYTES.copy(scratch);
  }
  sha1(scratch, 16 + scratch.write(name, 16));
  let id = '';
  for (let i = 0; i < 16; i += 1) {
    let byte = byteAt(i);
    if (i === 6) byte = (byte & 0x0f) | 0x50; // version 5
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // variant 10
    id += HEX[byte] as string;
    if (i === 3 || i === 5 || i === 7 || i === 9) id += '-';
  }
  return id;
}

/** A touchpoint's eventId from what its adapter (or the simulator) read: `sourceEventScope` is deriveEventId's scope. */
export function touchpointEventId(tenant: string, channel: string, sourceSystem: string, event: { readonly sourceEventId: string; readonly sourceEventScope?: string | undefined }): string {
  return deriveEventId(tenant, channel, sourceSystem, event.sourceEventId, event.sourceEventScope ?? null);
}

/**
 * The scope of an ads conversion keyed by its conversion id (no `id` of its own): Google keys
 * an offline conversion by its gclid, the conversion action and its time, so one click's
 * conversions (a lead, then a purchase) share the id. `name` is `conversion.name` as sent (any
 * JSON value; absent is null), `eventTime` the conversion's epoch milliseconds.
 */
export function conversionScope(name: unknown, eventTime: number): string {
  return JSON.stringify(['ad_converted', name ?? null, eventTime]);
}
