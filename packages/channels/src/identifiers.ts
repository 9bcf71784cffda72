/**
 * Identifier normalization: the one place that decides what an e-mail, a phone number or an
 * id looks like once it enters Elephant. Identity resolution matches on exact strings, so two
 * spellings of the same identifier must normalize to the same value here, and a value that
 * cannot be an identifier must never reach the graph.
 *
 * Policy
 * - E-mail: trimmed, lower-cased as a whole and NFC-normalized (so a composed `é` and `e` +
 *   combining accent are one address; since 2026-12-06, the domain always was). RFC 5321 lets the local part be case-sensitive,
 *   but no mainstream provider treats it so, and matching `Ann@x.com` to `ann@x.com` is what
 *   people expect. The domain is converted to its ASCII (punycode) form so Unicode and
 *   punycode spellings match. Dot-atom syntax only: quoted local parts, comments and IP-literal
 *   domains are rejected (they do not occur in consumer addresses, and accepting them would
 *   mostly admit junk). Provider-specific folding is NOT applied by default: removing dots and
 *   `+tags` is only correct for providers that ignore them (Gmail does; many do not, where
 *   `a.b@` and `ab@` are different mailboxes). `foldGmailAddresses` opts in to folding for
 *   gmail.com/googlemail.com only: dots removed, `+tag` removed, domain gmail.com.
 * - Phone: parsed with libphonenumber (full metadata, so validity is checked per numbering
 *   plan, not only by length) and written in E.164. A number without a `+` country prefix is
 *   read in `defaultRegion`; without one it is dropped rather than guessed. Extensions are
 *   not part of the identifier. An RFC 3966 `tel:` URI is read as its number (since 2026-12-06).
 * - loyalty_card: spaces and dashes removed, Unicode ones too (NBSP, thin spaces, en dash, minus
 *   sign, ...): cards are printed in groups; the digits are the id.
 * - Hashed identifiers (types ending in `_sha256`): 64 hex digits, lower-cased.
 * - Every other type: trimmed; integers are accepted and written in decimal (numeric CRM ids).
 * - Dropped, with a reason, never repaired: empty or whitespace-only values, wrong JSON types
 *   (numbers too, unless safe integers: a larger one was already rounded by JSON parsing),
 *   control and format characters (Unicode Cc and Cf: C0/C1 controls, zero-width and bidi
 *   marks) and line/paragraph separators, lone UTF-16 surrogates (not encodable in UTF-8, so
 *   in Avro: repairing them could make different ids one), values over MAX_IDENTIFIER_LENGTH,
 *   syntactically impossible e-mails and phones. Placeholder values that are syntactically fine (`test@test.com`, all-zero device
 *   ids) are identity resolution's blocklist to judge, not this module's.
 */
import { domainToASCII } from 'node:url';
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { CUSTOM_IDENTIFIER_TYPE, IDENTIFIER_TYPES } from './vocabulary.ts';
import { describeType, nestedDeeperThan, type Fields } from './fields.ts';
import type { Identifier } from './generated/touchpoint.ts';

export const DROP_REASONS = [
  'empty',
  'wrong_type',
  'too_long',
  /** Control or format characters, line separators, or a lone UTF-16 surrogate. */
  'invalid_characters',
  'invalid_email',
  'invalid_phone',
  /** A phone number without a country prefix and no default region to read it in. */
  'phone_needs_region',
  'invalid_format',
  'invalid_identifier_type',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** What each drop reason means, for error messages. */
export const DROP_PROBLEMS: Readonly<Record<DropReason, string>> = {
  empty: 'must not be empty',
  wrong_type: 'expected a string or an integer between -(2^53-1) and 2^53-1',
  too_long: 'is too long',
  invalid_characters: 'contains control or format characters, or a lone UTF-16 surrogate',
  invalid_email: 'is not an e-mail address',
  invalid_phone: 'is not a valid phone number',
  phone_needs_region: 'is a national phone number and no default region is configured',
  invalid_format: 'has not the format of its type',
  invalid_identifier_type: 'has an invalid identifier type',
};

/** Most drops one event reports one by one; past it they are only counted (by type and reason). */
export const MAX_REPORTED_DROPS = 100;

/** Drops past MAX_REPORTED_DROPS, counted by type and reason. */
export interface OmittedDrops {
  readonly type: string;
  readonly reason: DropReason;
  readonly count: number;
}

/** An identifier that did not survive normalization, reported next to the touchpoints. */
export interface DroppedIdentifier {
  /** Where it was in the raw message (dotted path, [i] for array elements). */
  readonly field: string;
  readonly type: string;
  /** The raw value as text, cut to 200 characters. */
  readonly value: string;
  readonly reason: DropReason;
  /** The touchpoint that went on without it (set in AdapterResult.dropped, absent while collecting). */
  readonly eventId?: string;
}

export interface NormalizeOptions {
  /** ISO 3166-1 alpha-2 region to read phone numbers without a country prefix in, e.g. `DE`. */
  readonly defaultRegion?: string | undefined;
  /**
   * Fold gmail.com/googlemail.com addresses (drop dots and +tags). Off because it is only
   * right for Google's mailboxes; see the module comment.
   * @default false
   */
  readonly foldGmailAddresses?: boolean | undefined;
}

export type NormalizeResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly reason: DropReason };

export const MAX_IDENTIFIER_LENGTH = 512;

// Cc: C0 and C1 controls (U+0000-001F, U+007F-009F); Cf: format characters (U+00AD, U+200B-200F,
// U+202A-202E, U+2060-2064, U+FEFF, ...), invisible or reordering text; U+2028/2029: line breaks.
const CONTROL = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
// One dot-atom label of a local part: any character except specials, space (\s includes
// U+2028/2029), control and format characters, and dot.
const LOCAL_PART = /^[^\s"(),:;<>@[\\\]\p{Cc}\p{Cf}.]+(\.[^\s"(),:;<>@[\\\]\p{Cc}\p{Cf}.]+)*$/u;
const ASCII_DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const GMAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);
const ASCII_ONLY = /^[\x00-\x7f]*$/;
// RFC 3966 URIs: the scheme is case-insensitive.
const TEL_SCHEME = /^tel:/i;
// A phone-context of global number digits: `+`, digits and visual separators.
const TEL_GLOBAL_CONTEXT = /^\+[\d().-]*\d[\d().-]*$/;
// Separators printed in loyalty card numbers: whitespace (Unicode: NBSP, thin and other
// spaces included) and dashes: hyphen-minus, U+2010-2015 (hyphen to horizontal bar), U+2212
// minus, U+FE58/FE63/FF0D (small and fullwidth forms). One character class without the `u`
// flag or property escapes: as cheap as the ASCII-only `[\s-]` it replaced.
const LOYALTY_SEPARATORS = /[\s\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d]+/g;
const NO_OMITTED: readonly OmittedDrops[] = Object.freeze([]);

const ok = (value: string): NormalizeResult => ({ ok: true, value });
const fail = (reason: DropReason): NormalizeResult => ({ ok: false, reason });

/** Normalizes an e-mail address (see the module comment for the policy). */
export function normalizeEmail(raw: string, options: NormalizeOptions = {}): NormalizeResult {
  const trimmed = raw.trim();
  if (trimmed === '') return fail('empty');
  if (!trimmed.isWellFormed()) return fail('invalid_characters');
  const lower = trimmed.toLowerCase();
  // NFC changes nothing in ASCII, which most addresses are: skipped there (it costs a copy).
  const text = ASCII_ONLY.test(lower) ? lower : lower.normalize('NFC');
  // Only a bound on the work below (domainToASCII takes ~20 ms for a megabyte): the 254 limit
  // applies to the address with its domain in ASCII, which a Unicode domain can pass.
  if (text.length > MAX_IDENTIFIER_LENGTH) return fail('too_long');
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return fail('invalid_email');
  let local = text.slice(0, at);
  let domain = domainToASCII(text.slice(at + 1));
  // After the conversion, so the Unicode and punycode spellings of one address are judged alike.
  if (at + 1 + domain.length > 254) return fail('too_long');
  if (local.length > 64 || !LOCAL_PART.test(local) || !ASCII_DOMAIN.test(domain)) return fail('invalid_email');
  if (options.foldGmailAddresses === true && GMAIL_DOMAINS.has(domain)) {
    local = local.split('+', 1)[0]?.replaceAll('.', '') ?? '';
    if (local === '') return fail('invalid_email');
    domain = 'gmail.com';
  }
  return ok(`${local}@${domain}`);
}

/**
 * The number of an RFC 3966 `tel:` URI (`tel:+1-201-555-0123;ext=12`), without its
 * parameters: an extension is not part of the identifier, and `isub` and other parameters
 * are not part of the number. A local number (no `+`) with a `phone-context` of global
 * digits (`tel:555-0123;phone-context=+1-201`) gets them as its prefix (RFC 3966 5.1.5); with a
 * domain as its context it is a private number of that domain: null. A local number without
 * a context (not RFC 3966, but common in web links) is read like any national number.
 */
function telUriNumber(uri: string): string | null {
  const end = uri.indexOf(';');
  const number = uri.slice(4, end === -1 ? uri.length : end).trim();
  // RFC 3966 requires digits before any parameter: `tel:;phone-context=+1...` is no number.
  if (number === '') return null;
  if (end === -1 || number.startsWith('+')) return number;
  let context: string | undefined;
  for (const parameter of uri.slice(end + 1).split(';')) {
    if (parameter.slice(0, 14).toLowerCase() === 'phone-context=') context = parameter.slice(14);
  }
  if (context === undefined) return number;
  return TEL_GLOBAL_CONTEXT.test(context) ? context + number : null;
}

/**
 * Normalizes a phone number to E.164, reading national numbers in `options.defaultRegion`.
 * An RFC 3966 `tel:` URI is read as its number (see telUriNumber).
 */
export function normalizePhone(raw: string, options: NormalizeOptions = {}): NormalizeResult {
  let text = raw.trim();
  if (text === '') return fail('empty');
  if (!text.isWellFormed()) return fail('invalid_characters');
  if (text.length > 64) return fail('too_long');
  // First character checked before the regex: most numbers start with `+`, `0` or a digit.
  if ((text.charCodeAt(0) | 0x20) === 0x74 && TEL_SCHEME.test(text)) {
    const number = telUriNumber(text);
    if (number === null || number === '') return fail('invalid_phone');
    text = number;
  }
  const region = options.defaultRegion?.toUpperCase();
  const defaultCountry = region !== undefined && isSupportedCountry(region) ? region : undefined;
  // `00` is the international prefix in most regions but not all (011 in North America), so
  // only `+` counts as international without a region.
  if (!text.startsWith('+') && defaultCountry === undefined) return fail('phone_needs_region');
  // extract: false — the whole value must be a phone number; finding one inside text would be a guess.
  const parsed = parsePhoneNumberFromString(text, { extract: false, ...(defaultCountry === undefined ? {} : { defaultCountry }) });
  if (parsed === undefined || !parsed.isValid()) return fail('invalid_phone');
  return ok(parsed.number);
}

/** True when `region` is a region code the phone normalizer knows, e.g. for validating configuration. */
export function isSupportedRegion(region: string): boolean {
  return isSupportedCountry(region.toUpperCase());
}

/** True for a built-in identifier type or a well-formed custom one. */
export function isIdentifierType(type: string): boolean {
  return (IDENTIFIER_TYPES as readonly string[]).includes(type) || CUSTOM_IDENTIFIER_TYPE.test(type);
}

/** Normalizes one identifier of any type from a raw JSON value. */
export function normalizeIdentifier(type: string, raw: unknown, options: NormalizeOptions = {}): NormalizeResult {
  if (!isIdentifierType(type)) return fail('invalid_identifier_type');
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' && Number.isSafeInteger(raw) && type !== 'email' && type !== 'phone') text = String(raw);
  else return fail(raw === null || raw === undefined ? 'empty' : 'wrong_type');
  if (text.trim() === '') return fail('empty');
  if (!text.isWellFormed()) return fail('invalid_characters');
  if (type === 'email') return normalizeEmail(text, options);
  if (type === 'phone') return normalizePhone(text, options);
  let value = text.trim();
  if (CONTROL.test(value)) return fail('invalid_characters');
  if (value.length > MAX_IDENTIFIER_LENGTH) return fail('too_long');
  if (type === 'loyalty_card') value = value.replace(LOYALTY_SEPARATORS, '');
  if (type.endsWith('_sha256')) {
    value = value.toLowerCase();
    if (!SHA256_HEX.test(value)) return fail('invalid_format');
  }
  return value === '' ? fail('empty') : ok(value);
}

// Deeper values are described by their type: JSON.stringify recurses and would overflow the stack.
const DESCRIBED_DEPTH = 100;

function describeRaw(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : nestedDeeperThan(raw, DESCRIBED_DEPTH) ? `${describeType(raw)} nested deeper than ${DESCRIBED_DEPTH}` : (JSON.stringify(raw) ?? String(raw));
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/**
 * Collects the identifiers of one event: normalizes each, keeps the first of duplicates, and
 * records each drop with its field and reason: the first MAX_REPORTED_DROPS of them, the rest
 * only counted by type and reason (a list of 200,000 junk values in one message would
 * otherwise become 200,000 drop records, log lines and dead-letter details). Adapters read
 * fields with `read`, which leaves a dropped value to the touchpoint's properties.
 */
export class IdentifierCollector {
  readonly #options: NormalizeOptions;
  readonly #identifiers: Identifier[] = [];
  readonly #seen = new Set<string>();
  readonly #dropped: DroppedIdentifier[] = [];
  /** Made at the first drop past MAX_REPORTED_DROPS (most events have none). */
  #omitted: Map<string, { type: string; reason: DropReason; count: number }> | undefined;

  constructor(options: NormalizeOptions) {
    this.#options = options;
  }

  /**
   * Adds `raw` as an identifier of `type` found at `field`. Absent values (undefined, null)
   * are ignored silently: only a value that was there and failed is a drop.
   * @returns the normalized value, or null when absent or dropped.
   */
  add(type: string, raw: unknown, field: string): string | null {
    if (raw === undefined || raw === null) return null;
    const result = this.addResult(type, raw, field);
    return result.ok ? result.value : null;
  }

  /**
   * Reads `fields[key]` as an identifier of `type` (see `add`). A value normalization drops is
   * left unread, so the touchpoint's properties keep it under its field path: the drop is
   * reported without losing the value. Absent and null values are consumed (a typed field
   * given as null reads as absent).
   * @returns the normalized value, or null when absent or dropped.
   */
  read(type: string, fields: Fields, key: string): string | null {
    const raw = fields.take(key);
    if (raw === undefined || raw === null) return null;
    const result = this.addResult(type, raw, fields.at(key));
    if (result.ok) return result.value;
    fields.leave(key);
    return null;
  }

  /** Like `add`, for a present value, but says why it was dropped. */
  addResult(type: string, raw: unknown, field: string): NormalizeResult {
    const result = normalizeIdentifier(type, raw, this.#options);
    if (!result.ok) {
      this.#drop(type, raw, field, result.reason);
      return result;
    }
    const key = `${type}\u0000${result.value}`;
    if (!this.#seen.has(key)) {
      this.#seen.add(key);
      this.#identifiers.push({ type, value: result.value });
    }
    return result;
  }

  #drop(type: string, raw: unknown, field: string, reason: DropReason): void {
    if (this.#dropped.length < MAX_REPORTED_DROPS) {
      this.#dropped.push({ field, type, value: describeRaw(raw), reason });
      return;
    }
    const key = `${type}\u0000${reason}`;
    this.#omitted ??= new Map();
    const entry = this.#omitted.get(key);
    if (entry) entry.count += 1;
    else this.#omitted.set(key, { type, reason, count: 1 });
  }

  get identifiers(): readonly Identifier[] {
    return this.#identifiers;
  }

  /** The first MAX_REPORTED_DROPS drops. */
  get dropped(): readonly DroppedIdentifier[] {
    return this.#dropped;
  }

  /** Drops past the first MAX_REPORTED_DROPS, counted by type and reason (empty when there were no more). */
  get omitted(): readonly OmittedDrops[] {
    if (this.#omitted === undefined) return NO_OMITTED;
    return [...this.#omitted.values()].map((entry) => ({ ...entry }));
  }
}
