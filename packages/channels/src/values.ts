/** Parsing of the value formats sources use for time, money, currencies and places. */
import { schemaViolation } from './errors.ts';
import { describeType } from './fields.ts';

// Anything smaller is before 1973-03-03 in milliseconds: almost surely seconds sent by mistake.
const MIN_EPOCH_MS = 1e11;
// 10^14 ms is the year 5138; microseconds since 1973 are all at least that.
const MAX_EPOCH_MS = 1e14;
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)$/;
const ISO_DATE_PREFIX = /^(\d{4})-(\d{2})-(\d{2})(?:$|[Tt ])/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function validDate(year: number, month: number, day: number): boolean {
  return year >= 1900 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** ISO 8601 date-time with an explicit offset → epoch ms, or null when it is not one. */
export function parseIsoTimestamp(text: string): number | null {
  const match = ISO_TIMESTAMP.exec(text.trim());
  if (!match) return null;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s ?? '0');
  if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMins = Number(digits.slice(2) || '0');
    if (offsetHours > 23 || offsetMins > 59) return null;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const millis = Number((fraction ?? '0').padEnd(3, '0').slice(0, 3));
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
}

/**
 * A point in time: an ISO 8601 string with an offset (`Z` or `+01:00`) or epoch milliseconds.
 * Strings without an offset are refused: their time zone would be a guess. Milliseconds with
 * a fraction (Python's `time.time() * 1000`) are rounded to the millisecond, as unix seconds
 * are (parseUnixSeconds); before 2026-12-07 they were refused.
 * @throws SCHEMA_VIOLATION naming `path`
 */
export function parseTimestamp(value: unknown, path: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw schemaViolation(path, `expected epoch milliseconds, got ${String(value)}`);
    // The range holds for the time as read, rounded: 10^14 − 0.4 is 10^14.
    const millis = Math.round(value);
    if (millis < MIN_EPOCH_MS) throw schemaViolation(path, `${value} is not epoch milliseconds (seconds by mistake?)`);
    if (millis >= MAX_EPOCH_MS) throw schemaViolation(path, `${value} is not epoch milliseconds (microseconds by mistake?)`);
    return millis;
  }
  if (typeof value === 'string') {
    const parsed = parseIsoTimestamp(value);
    if (parsed === null) throw schemaViolation(path, `expected an ISO 8601 timestamp with offset, e.g. 2024-05-01T12:00:00Z, got ${JSON.stringify(value.slice(0, 40))}`);
    return parsed;
  }
  throw schemaViolation(path, value === undefined || value === null ? 'is required' : `expected a timestamp, got ${describeType(value)}`);
}

/** Unix seconds (SendGrid's `timestamp`) → epoch ms. @throws SCHEMA_VIOLATION */
export function parseUnixSeconds(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw schemaViolation(path, value === undefined || value === null ? 'is required' : `expected unix seconds, got ${describeType(value)}`);
  }
  if (value <= 0 || value >= MIN_EPOCH_MS) throw schemaViolation(path, `${value} is not unix seconds`);
  return Math.round(value * 1000);
}

/** A calendar date YYYY-MM-DD from a date or date-time string (date part as written), or null. */
export function parseCalendarDate(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const match = ISO_DATE_PREFIX.exec(value.trim());
  if (!match) return null;
  const [, y, m, d] = match;
  return validDate(Number(y), Number(m), Number(d)) ? `${y}-${m}-${d}` : null;
}

/** ISO 3166-1 alpha-2 codes are upper-cased; anything else is the source's own text. */
export function normalizeCountry(value: string): string {
  return /^[a-z]{2}$/i.test(value) ? value.toUpperCase() : value;
}

// ISO 4217 minor-unit exponents other than 2.
const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/** Digits after the decimal point in `currency`'s minor unit (2 unless ISO 4217 says otherwise). */
export function currencyExponent(currency: string): number {
  return CURRENCY_EXPONENTS[currency] ?? 2;
}

/**
 * A currency code: three ASCII letters in any case, upper-cased. Checked before upper-casing:
 * Unicode upper-casing turns some other text into ASCII letters (`ßa` into `SSA`).
 * @throws SCHEMA_VIOLATION
 */
export function parseCurrency(value: string, path: string): string {
  const code = value.trim();
  if (!/^[A-Za-z]{3}$/.test(code)) throw schemaViolation(path, `expected an ISO 4217 currency code, got ${JSON.stringify(value.slice(0, 20))}`);
  return code.toUpperCase();
}

/**
 * The largest magnitude of an amount in minor units (2^52): an Avro long of avsc (the
 * project's Avro library) round-trips every integer up to it, of either sign; beyond it,
 * avsc's zig-zag arithmetic in doubles turns some negative values positive. Amounts are
 * refused above it here, and profile sums held to it (@elephant/profiles).
 */
export const MAX_AMOUNT_MINOR = 2 ** 52;

const DECIMAL_PARTS = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/**
 * A decimal amount (number or numeric string, e.g. 19.99 or "19.99") → minor units of
 * `currency`, as a magnitude. Strings are converted digit by digit, so no binary floating
 * point error creeps in; extra digits round half away from zero.
 * @throws SCHEMA_VIOLATION
 */
export function toMinorUnits(value: unknown, currency: string, path: string): number {
  let text: string;
  if (typeof value === 'number' && Number.isFinite(value)) text = Math.abs(value).toString();
  else if (typeof value === 'string') text = value.trim();
  else throw schemaViolation(path, value === undefined || value === null ? 'is required' : `expected an amount, got ${describeType(value)}`);
  const exponent = currencyExponent(currency);
  const parts = DECIMAL_PARTS.exec(text);
  let minor: bigint;
  if (parts) {
    const [, , whole = '0', fraction = ''] = parts;
    const kept = fraction.padEnd(exponent, '0').slice(0, exponent);
    minor = BigInt(`${whole}${kept}`) + ((fraction[exponent] ?? '0') >= '5' ? 1n : 0n);
  } else if (typeof value === 'number') {
    // Exponent notation (1e21): beyond any real amount, so the range check below refuses it.
    minor = BigInt(Math.round(Math.abs(value))) * 10n ** BigInt(exponent);
  } else {
    throw schemaViolation(path, `expected a decimal amount, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (minor > BigInt(MAX_AMOUNT_MINOR)) throw schemaViolation(path, `amount is too large (over ${MAX_AMOUNT_MINOR} minor units)`);
  return Number(minor);
}

/**
 * Whether an amount as sent (a number or a numeric string) is below zero: `-49.9`, `"-5"`.
 * For amounts that have no direction field beside them to carry the sign, which toMinorUnits
 * and minorUnits would turn into magnitudes. `-0` and `"-0.00"` are zero, not negative;
 * anything that is no amount is left to those to refuse.
 */
export function isNegativeAmount(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && value < 0;
  if (typeof value !== 'string') return false;
  const parts = DECIMAL_PARTS.exec(value.trim());
  return parts !== null && parts[1] === '-' && /[1-9]/.test(`${parts[2] ?? ''}${parts[3] ?? ''}`);
}

/** An amount already in minor units (an integer), as a magnitude. @throws SCHEMA_VIOLATION */
export function minorUnits(value: unknown, path: string): number {
  const number = typeof value === 'string' && /^[+-]?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) throw schemaViolation(path, `expected an integer amount in minor units, got ${describeType(value)}`);
  if (Math.abs(number) > MAX_AMOUNT_MINOR) throw schemaViolation(path, `amount is too large (over ${MAX_AMOUNT_MINOR} minor units)`);
  return Math.abs(number);
}
