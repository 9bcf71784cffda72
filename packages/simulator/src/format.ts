/**
 * How values look in the raw messages: timestamps in each source's own style, money as
 * decimals, ids in each system's shape, and the formatting variants people and systems
 * produce for the same e-mail address, phone number or card.
 */
import type { SeededRandom } from '@elephant/identity';

/** ISO 8601 UTC with milliseconds (Segment's style). */
export function isoMillis(ms: number): string {
  return new Date(ms).toISOString();
}

/** ISO 8601 UTC to the second. */
export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** ISO 8601 in a local time with its offset (a store's till): `2025-01-05T14:03:11-08:00`. */
export function isoLocal(ms: number, offsetMinutes: number): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const magnitude = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(magnitude / 60)).padStart(2, '0')}:${String(magnitude % 60).padStart(2, '0')}`;
}

/** Minor units of a two-decimal currency as the decimal number sources send (2599 → 25.99). */
export function decimal(minor: number): number {
  return minor / 100;
}

/** A random version-4 UUID (lower-case). */
export function uuid(random: SeededRandom): string {
  const hex = random.hex(32);
  const variant = '89ab'[random.int(4)] ?? '8';
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `length` characters of base64url alphabet (SendGrid event ids, click ids). */
export function base64Chars(random: SeededRandom, length: number): string {
  let out = '';
  for (let index = 0; index < length; index += 1) out += BASE64URL[random.int(64)] ?? 'A';
  return out;
}

function capitalize(word: string): string {
  return word.length === 0 ? word : `${(word[0] ?? '').toUpperCase()}${word.slice(1)}`;
}

/**
 * An e-mail address as a person or system might write it; every variant normalizes to the
 * same address (trimmed, lower-cased). With probability `1 - rate` it is written as is.
 */
export function emailVariant(random: SeededRandom, email: string, rate: number): string {
  if (!random.chance(rate)) return email;
  const [local = '', domain = ''] = email.split('@');
  switch (random.int(4)) {
    case 0:
      return email.toUpperCase();
    case 1:
      return `${local.split('.').map(capitalize).join('.')}@${capitalize(domain)}`;
    case 2:
      return ` ${email} `;
    default:
      return `${local}@${domain.toUpperCase()}`;
  }
}

/**
 * A North American number (E.164 `+1AAAEEELLLL`) in one of the ways people and systems write
 * it. National formats (no +1) only when `national`: a normalizer reads them only with
 * DEFAULT_REGION set.
 */
export function phoneVariant(random: SeededRandom, e164: string, rate: number, national: boolean): string {
  if (!random.chance(rate)) return e164;
  const area = e164.slice(2, 5);
  const exchange = e164.slice(5, 8);
  const line = e164.slice(8, 12);
  const international = [`+1 ${area}-${exchange}-${line}`, `+1 (${area}) ${exchange}-${line}`, `+1.${area}.${exchange}.${line}`, `+1 ${area} ${exchange} ${line}`];
  const nationals = [`(${area}) ${exchange}-${line}`, `${area}-${exchange}-${line}`, `${area}.${exchange}.${line}`, `1-${area}-${exchange}-${line}`, `${area}${exchange}${line}`];
  return random.pick(national ? [...international, ...nationals] : international);
}

/** A loyalty card number (16 digits) as printed, typed or scanned: spaces and hyphens are removed by normalization. */
export function cardVariant(random: SeededRandom, card: string, rate: number): string {
  if (!random.chance(rate)) return card;
  const groups = card.match(/.{1,4}/g) ?? [card];
  return random.chance(0.5) ? groups.join(' ') : groups.join('-');
}

/** A plausible public IPv4 address (documentation ranges are avoided on purpose: they look fake in a demo). */
export function ipAddress(random: SeededRandom): string {
  return `${random.pick([24, 50, 67, 71, 73, 98, 99, 104, 108, 174])}.${random.between(1, 254)}.${random.between(1, 254)}.${random.between(1, 254)}`;
}
