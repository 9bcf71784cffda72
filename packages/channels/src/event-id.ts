import { hash } from 'node:crypto';

/** UUID namespace of Elephant touchpoint ids. Changing it changes every eventId: never do. */
export const EVENT_ID_NAMESPACE = '25b6dc4f-3910-40f8-aec5-f0b9bb5eb6a7';
const NAMESPACE_BYTES = Buffer.from(EVENT_ID_NAMESPACE.replaceAll('-', ''), 'hex');

/** The namespace followed by the name, hashed in one call (no Hash object per event). */
let scratch = Buffer.allocUnsafe(1024);
NAMESPACE_BYTES.copy(scratch);

/**
 * The deterministic eventId of a touchpoint: a UUIDv5 (RFC 9562) of the tenant, channel,
 * source system and the source's own event id. The name is the JSON array of the four, so
 * no choice of separator can make two different tuples collide. A re-sent message yields
 * the same id, which is what lets every consumer apply it at most once.
 */
export function deriveEventId(tenant: string, channel: string, sourceSystem: string, sourceEventId: string): string {
  const name = JSON.stringify([tenant, channel, sourceSystem, sourceEventId]);
  if (16 + name.length * 3 > scratch.length) {
    scratch = Buffer.allocUnsafe(Math.max(16 + name.length * 3, scratch.length * 2));
    NAMESPACE_BYTES.copy(scratch);
  }
  const length = 16 + scratch.write(name, 16);
  const bytes = hash('sha1', scratch.subarray(0, length), 'buffer').subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
