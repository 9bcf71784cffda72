/**
 * Reading untrusted JSON with paths. Every read names the field it failed on, and every field
 * read is remembered, so what no typed Touchpoint field took can be kept verbatim in
 * `properties` (`rest()`): an adapter maps what it understands and loses nothing else.
 */
import { ChannelError, schemaViolation } from './errors.ts';

/**
 * Bounds of `properties`, so that what a message becomes stays near its own size. Without
 * them a 5.6 KB message of nested objects became an 808 KB touchpoint: flattening repeats
 * the whole dotted path for every leaf, which grows with the square of the depth.
 */
export const PROPERTY_LIMITS = {
  /** Longest key; an object whose fields would get longer keys is kept JSON-encoded under its own. */
  keyLength: 256,
  /** Most entries; more is PROPERTIES_TOO_LARGE. */
  keys: 1000,
  /** Most UTF-8 bytes of keys and values together; more is PROPERTIES_TOO_LARGE. */
  bytes: 512 * 1024,
  /**
   * Deepest nesting of arrays and objects in a value kept JSON-encoded; deeper is
   * PROPERTIES_TOO_LARGE (`too_deep`). JSON.stringify recurses, so an unbounded depth (a
   * 1 MiB message holds half a million nested `[`) would overflow the stack.
   */
  depth: 1000,
} as const;

export type JsonRecord = Readonly<Record<string, unknown>>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Sets an own property even for keys like `__proto__`, which plain assignment would turn into
 * a prototype change (and so silently lose the value).
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  // Only `__proto__` is an accessor on Object.prototype; any other key (`constructor`
  // included, a writable data property there) becomes an own entry by assignment.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * Source text of the integers JSON.parse rounded (beyond 2^53: `12345678901234567891` and
 * `12345678901234567890` both parse as 12345678901234567000), by the object or array holding
 * them, then by key. Filled by parseJson only; typed fields still see the rounded number (and
 * refuse it), `properties` writes these digits instead.
 */
const exactIntegers = new WeakMap<object, Map<string, string>>();
/** Objects and arrays holding such an integer at any depth: those are JSON-encoded exactly. */
const holdsExactInteger = new WeakSet<object>();
const INTEGER_SOURCE = /^-?\d+$/;

/** Node 24 passes revivers the source text of primitives (TypeScript's lib does not declare it yet). */
interface ReviverContext {
  readonly source?: string;
}

function rememberExactIntegers(this: object, key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value === 'number') {
    const source = context?.source;
    if (!Number.isSafeInteger(value) && source !== undefined && INTEGER_SOURCE.test(source)) {
      let byKey = exactIntegers.get(this);
      if (byKey === undefined) {
        byKey = new Map<string, string>();
        exactIntegers.set(this, byKey);
      }
      byKey.set(key, source);
      holdsExactInteger.add(this);
    }
  } else if (typeof value === 'object' && value !== null && holdsExactInteger.has(value)) holdsExactInteger.add(this);
  return value;
}

function isDigit(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 48 && code <= 57;
}

/**
 * True when `text` has 16 ASCII digits in a row (2^53 has 16 digits, so text without them has
 * no integer JSON.parse rounds). Every run of 16 covers one index 15, 31, 47, ...: only those
 * are looked at, and the run around a digit found there is measured. A sixth of the time of
 * /\d{16}/, which looks at every character.
 */
function hasSixteenDigits(text: string): boolean {
  for (let index = 15; index < text.length; index += 16) {
    if (!isDigit(text, index)) continue;
    let start = index;
    while (start > 0 && isDigit(text, start - 1)) start -= 1;
    let end = index;
    while (end + 1 < text.length && isDigit(text, end + 1)) end += 1;
    if (end - start + 1 >= 16) return true;
    // The next run starts after end + 1 (no digit): end + 16 is in its first 16 characters.
    index = end;
  }
  return false;
}

/**
 * JSON text → value, remembering the source digits of integers beyond 2^53 for `properties`.
 * Only text with 16 digits in a row is parsed with a reviver (several times slower than plain
 * JSON.parse, which every other message gets).
 * @throws SyntaxError for text that is no JSON
 */
export function parseJson(text: string): unknown {
  // Nesting too deep for the reviver is refused later as PROPERTIES_TOO_LARGE (too_deep), as
  // without the digits; before 2026-12-07 it read as INVALID_JSON.
  return hasSixteenDigits(text) ? parseRevived(text, rememberExactIntegers) : JSON.parse(text);
}

/**
 * JSON.parse with `reviver`, or plainly for text nested too deep for it: V8 applies a reviver
 * recursively (plain JSON.parse is not), and text nested some thousand levels deep overflows
 * the stack there. @throws SyntaxError for text that is no JSON
 */
function parseRevived(text: string, reviver: (this: object, key: string, value: unknown, context?: ReviverContext) => unknown): unknown {
  try {
    return JSON.parse(text, reviver);
  } catch (error) {
    if (error instanceof RangeError) return JSON.parse(text);
    throw error;
  }
}

/** JSON.rawJSON (Node 21+; not in TypeScript's lib yet): a value JSON.stringify writes as the given text. */
const rawJson = (JSON as unknown as { readonly rawJSON: (this: void, text: string) => unknown }).rawJSON;

function keepNumberText(this: object, _key: string, value: unknown, context?: ReviverContext): unknown {
  const source = context?.source;
  return typeof value === 'number' && source !== undefined && String(value) !== source ? rawJson(source) : value;
}

/**
 * JSON text → value whose numbers JSON.stringify writes as the text wrote them (integers beyond
 * 2^53, `1.10`, `1e2`), for a tool that passes JSON on (the CLI's `publish`): parsed and written
 * again plainly, they came out rounded or reformatted. Text nested too deep for a reviver is
 * parsed plainly. @throws SyntaxError for text that is no JSON
 */
export function parseJsonKeepingNumbers(text: string): unknown {
  return parseRevived(text, keepNumberText);
}

function exactIntegerReplacer(this: unknown, key: string, value: unknown): unknown {
  if (typeof value !== 'number' || typeof this !== 'object' || this === null) return value;
  const source = exactIntegers.get(this)?.get(key);
  return source === undefined ? value : rawJson(source);
}

/**
 * `value`, found at `holder[key]`, JSON-encoded, with integers beyond 2^53 in the source's own
 * digits when parseJson read it. The caller bounds the nesting (JSON.stringify recurses).
 */
export function jsonText(value: unknown, holder: object, key: string): string {
  if (typeof value === 'number') return exactIntegers.get(holder)?.get(key) ?? JSON.stringify(value);
  if (typeof value === 'object' && value !== null && holdsExactInteger.has(value)) return JSON.stringify(value, exactIntegerReplacer);
  return JSON.stringify(value);
}

const DECIMAL = /^[+-]?\d+(\.\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

export class Fields {
  /** Path of this object in the raw message, for error messages ('' for the root). */
  readonly path: string;
  readonly #value: JsonRecord;
  readonly #consumed = new Set<string>();
  readonly #children = new Map<string, Fields | readonly Fields[] | LeftItems>();

  constructor(value: JsonRecord, path: string) {
    this.#value = value;
    this.path = path;
  }

  /** Wraps `value`, which must be a JSON object. @throws SCHEMA_VIOLATION */
  static of(value: unknown, path: string): Fields {
    if (!isRecord(value)) throw schemaViolation(path, `expected an object, got ${describeType(value)}`);
    return new Fields(value, path);
  }

  /** Path of `key` in the raw message. */
  at(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  /** The keys present in this object. */
  keys(): string[] {
    return Object.keys(this.#value);
  }

  /** True when `key` is present and not null. */
  has(key: string): boolean {
    const value = this.#value[key];
    return value !== undefined && value !== null;
  }

  /** True when `key` is present, not null and not a blank string (which counts as absent, as in text fields). */
  hasValue(key: string): boolean {
    return hasValue(this.#value[key]);
  }

  /** The raw value of `key`, without consuming it. */
  peek(key: string): unknown {
    return Object.hasOwn(this.#value, key) ? this.#value[key] : undefined;
  }

  /** The raw value of `key`, consumed (it will not appear in `rest()`). */
  take(key: string): unknown {
    this.#consumed.add(key);
    return this.peek(key);
  }

  /**
   * Marks `key` unread again after a read that used nothing of it (an identifier normalization
   * dropped): `rest()` keeps it as it keeps any unread field.
   */
  leave(key: string): void {
    this.#consumed.delete(key);
    this.#children.delete(key);
  }

  /**
   * An optional array read item by item (absent or null read as empty), consumed; items handed
   * to `leaveItem` are kept by `rest()` under `key[index]`, as unread fields are.
   * @throws SCHEMA_VIOLATION when `key` holds no array
   */
  items(key: string): readonly unknown[] {
    const value = this.take(key);
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw schemaViolation(this.at(key), `expected an array, got ${describeType(value)}`);
    const items = value as readonly unknown[];
    this.#children.set(key, new LeftItems(items));
    return items;
  }

  /** Keeps item `index` of the array `items(key)` returned in `rest()` (see `items`). */
  leaveItem(key: string, index: number): void {
    this.#leftItems(key, 'leaveItem').indexes.add(index);
  }

  /**
   * Item `index` of the array `items(key)` returned, read as an object (for lists whose items
   * are objects or not, each read by its own type): its unread fields are kept by `rest()`
   * under `key[index].field`, as `objects` keeps them.
   * @throws SCHEMA_VIOLATION when the item is no object
   */
  itemObject(key: string, index: number): Fields {
    const left = this.#leftItems(key, 'itemObject');
    const child = Fields.of(left.items[index], `${this.at(key)}[${index}]`);
    left.objects.set(index, child);
    return child;
  }

  #leftItems(key: string, caller: string): LeftItems {
    const child = this.#children.get(key);
    if (!(child instanceof LeftItems)) throw new Error(`${caller}: ${this.at(key)} was not read with items()`);
    return child;
  }

  /** Consumes keys on purpose without using them (secrets that must not travel on). */
  skip(...keys: readonly string[]): void {
    for (const key of keys) this.#consumed.add(key);
  }

  /** A required text field. Numbers are accepted and written in decimal (numeric ids). */
  string(key: string): string {
    const value = this.optString(key);
    if (value === null) throw schemaViolation(this.at(key), this.has(key) ? 'must not be empty' : 'is required');
    return value;
  }

  /**
   * An optional text field, trimmed; absent, null and empty all read as null. Numbers are
   * accepted and written in decimal (numeric ids, a version sent as 1.5), but integers only
   * when safe (|n| < 2^53): a larger one was already rounded by JSON parsing, and two
   * different ids would read alike. Lone UTF-16 surrogates (not encodable in UTF-8, so in
   * Avro) become U+FFFD.
   * @throws SCHEMA_VIOLATION for any other type, and for unsafe integers
   */
  optString(key: string): string | null {
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value) || (Number.isFinite(value) && !Number.isInteger(value))) return String(value);
      throw schemaViolation(this.at(key), `expected a string or an integer between -(2^53-1) and 2^53-1, got ${String(value)}, beyond 2^53-1, where JSON numbers are rounded (send such ids as strings)`);
    }
    if (typeof value !== 'string') throw schemaViolation(this.at(key), `expected a string, got ${describeType(value)}`);
    const trimmed = value.trim();
    if (trimmed === '') return null;
    return trimmed.isWellFormed() ? trimmed : trimmed.toWellFormed();
  }

  /**
   * A required id (the source's event id): like `string`, but text with a lone UTF-16
   * surrogate is refused rather than repaired, since repairing could make two ids one.
   * @throws SCHEMA_VIOLATION
   */
  id(key: string): string {
    const value = this.optId(key);
    if (value === null) throw schemaViolation(this.at(key), this.has(key) ? 'must not be empty' : 'is required');
    return value;
  }

  /** An optional id; see `id`. @throws SCHEMA_VIOLATION */
  optId(key: string): string | null {
    const raw = this.peek(key);
    if (typeof raw === 'string' && !raw.isWellFormed()) {
      this.take(key);
      throw schemaViolation(this.at(key), 'contains a lone UTF-16 surrogate (not valid Unicode text)');
    }
    if (typeof raw === 'number' && !Number.isInteger(raw)) {
      this.take(key);
      // 1.50 and 1.5 parse alike: two ids would read as one.
      throw schemaViolation(this.at(key), `expected a string or an integer, got the fractional number ${String(raw)} (send such ids as strings)`);
    }
    return this.optString(key);
  }

  /**
   * An optional text field read only when it holds text (a string, a safe integer or a fraction): any
   * other value is left unread, so it stays in properties instead of failing the event.
   * For fields whose value is a nice-to-have (person traits).
   */
  optText(key: string): string | null {
    return isText(this.peek(key)) ? this.optString(key) : null;
  }

  /** The first of `keys` that holds text (see `optText`; only that one is consumed), or null. */
  firstText(...keys: readonly string[]): string | null {
    for (const key of keys) {
      const value = this.optText(key);
      if (value !== null) return value;
    }
    return null;
  }

  /** The first of `keys` that has a text value (only that one is consumed), or null. */
  firstString(...keys: readonly string[]): string | null {
    for (const key of keys) {
      if (this.has(key)) {
        const value = this.optString(key);
        if (value !== null) return value;
      }
    }
    return null;
  }

  /** An optional number; numeric strings are accepted. */
  optNumber(key: string): number | null {
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value === 'string' && DECIMAL.test(value.trim())) return Number(value.trim());
    throw schemaViolation(this.at(key), `expected a number, got ${describeType(value)}`);
  }

  /**
   * An optional integer within `min`..`max`; integer strings are accepted. A blank string counts
   * as absent, as in text fields (left unread: it stays in properties).
   */
  optInt(key: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | null {
    const stated = this.peek(key);
    if (typeof stated === 'string' && stated.trim() === '') return null;
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    const number = typeof value === 'string' && INTEGER.test(value.trim()) ? Number(value.trim()) : value;
    if (typeof number !== 'number' || !Number.isSafeInteger(number)) throw schemaViolation(this.at(key), `expected an integer, got ${describeType(value)}`);
    if (number < min || number > max) throw schemaViolation(this.at(key), `must be between ${min} and ${max}, got ${number}`);
    return number;
  }

  /** An optional boolean; the strings "true" and "false" are accepted. */
  optBool(key: string): boolean | null {
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    const flag = booleanOf(value);
    if (flag === undefined) throw schemaViolation(this.at(key), `expected a boolean, got ${describeType(value)}`);
    return flag;
  }

  /**
   * An optional boolean read only when it is one (see `optBool`: `"true"` and `"false"` too):
   * any other value (`1`, `"Y"`) is left unread, so it stays in properties instead of failing
   * the event. For flags whose value is a nice-to-have (a CRM e-mail's `primary`), as `optText`.
   */
  optFlag(key: string): boolean | null {
    const value = this.peek(key);
    return value === null || booleanOf(value) !== undefined ? this.optBool(key) : null;
  }

  /** A required nested object. */
  object(key: string): Fields {
    const child = this.optObject(key);
    if (child === null) throw schemaViolation(this.at(key), 'is required');
    return child;
  }

  /** An optional nested object; its unread fields are kept by `rest()`. */
  optObject(key: string): Fields | null {
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    const child = Fields.of(value, this.at(key));
    this.#children.set(key, child);
    return child;
  }

  /** An optional array of objects (absent reads as empty); their unread fields are kept by `rest()`. */
  objects(key: string): readonly Fields[] {
    const value = this.take(key);
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw schemaViolation(this.at(key), `expected an array, got ${describeType(value)}`);
    const children = (value as readonly unknown[]).map((item, index) => Fields.of(item, `${this.at(key)}[${index}]`));
    this.#children.set(key, children);
    return children;
  }

  /**
   * Every field nobody consumed, keyed by its dotted path relative to this object, as text:
   * strings as-is, JSON null as the text `null`, non-empty objects flattened into their fields
   * (unless their fields' keys would pass PROPERTY_LIMITS.keyLength: then JSON-encoded whole),
   * everything else (arrays, numbers, booleans, `{}`) JSON-encoded, integers beyond 2^53 in the
   * digits sent when parseJson read the message (see jsonText). Consumed objects and the
   * items of consumed arrays of objects are searched recursively for what was not read in
   * them (`products[0].brand`). When two fields reach the same key (a top-level
   * `"properties.x"` and `properties: { x }`), the first in message order keeps it and the
   * next ones get `#2`, `#3`, ... appended, so neither is lost. Lone UTF-16 surrogates in keys
   * and values become U+FFFD. The limits are checked as each entry is added.
   * @throws PROPERTIES_TOO_LARGE past PROPERTY_LIMITS (too many keys, too many bytes, an unread key longer than the key limit, or a value nested too deep to JSON-encode)
   */
  rest(): Record<string, string> {
    const into = new Properties();
    this.#restInto(into, '');
    return into.entries;
  }

  /**
   * Most of a message's fields were consumed and have no children: they are passed over
   * without building their path (in the adapters' profile, building `rest()` was a quarter of
   * their time, most of it paths and entry pairs of fields that were read).
   */
  #restInto(into: Properties, prefix: string): void {
    const value = this.#value;
    const consumed = this.#consumed;
    const children = this.#children;
    for (const key of Object.keys(value)) {
      if (consumed.has(key)) {
        if (children.size === 0) continue;
        const child = children.get(key);
        if (child === undefined) continue;
        const name = prefix === '' ? key : `${prefix}.${key}`;
        if (child instanceof Fields) child.#restInto(into, name);
        else if (child instanceof LeftItems) {
          // Each item in its place, by index: an item read as an object (itemObject) keeps its
          // unread fields, one left whole (leaveItem) is kept as it is.
          const { items, objects, indexes } = child;
          for (let index = 0; index < items.length; index += 1) {
            const object = objects.get(index);
            if (object !== undefined) object.#restInto(into, `${name}[${index}]`);
            else if (indexes.has(index)) flatten(items[index], `${name}[${index}]`, into, items, String(index));
          }
        } else child.forEach((item, index) => item.#restInto(into, `${name}[${index}]`));
        continue;
      }
      const name = prefix === '' ? key : `${prefix}.${key}`;
      // A null states nothing: under a key too long to keep it is left out, not a reason to
      // refuse the message (a CRM preference or consent purpose whose same key with a value is
      // a trait).
      if (name.length > PROPERTY_LIMITS.keyLength && value[key] === null) continue;
      if (name.length > PROPERTY_LIMITS.keyLength) throw propertiesTooLarge(`field ${name.slice(0, 64)}... has a key of ${name.length} characters, over the limit of ${PROPERTY_LIMITS.keyLength}`, { reason: 'key_too_long', length: name.length, limit: PROPERTY_LIMITS.keyLength });
      flatten(value[key], name, into, value, key);
    }
  }
}

/** A value that states something: not absent, not null, not a blank string (Fields#hasValue). */
export function hasValue(value: unknown): boolean {
  return value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === '');
}

/** A boolean as sources send one: `true`/`false`, or the strings `"true"`/`"false"`; undefined for anything else. */
export function booleanOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

/**
 * An array read item by item (Fields.items): the indexes of the items left unread, and the
 * items read as objects (Fields.itemObject), whose own unread fields are kept.
 */
class LeftItems {
  readonly items: readonly unknown[];
  readonly indexes = new Set<number>();
  readonly objects = new Map<number, Fields>();

  constructor(items: readonly unknown[]) {
    this.items = items;
  }
}

function propertiesTooLarge(message: string, details: Record<string, unknown>): ChannelError {
  return new ChannelError('PROPERTIES_TOO_LARGE', message, { details });
}

/** A string, or a number `optString` reads as text (a safe integer or a fraction). */
function isText(value: unknown): boolean {
  return typeof value === 'string' || Number.isSafeInteger(value) || (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value));
}

/**
 * The properties being built, with PROPERTY_LIMITS checked as each entry is added: a message
 * that passes them fails at that entry, not after building all of them (with fields that all
 * reach one key, building them first took minutes).
 */
class Properties {
  readonly entries: Record<string, string> = {};
  /** Per key taken, the next `#n` suffix to try when another field reaches the same key. */
  #next: Map<string, number> | undefined;
  #count = 0;
  /** UTF-16 units of keys and values so far. */
  #units = 0;
  /** UTF-8 bytes of keys and values so far, counted exactly once `#units` can pass the limit (-1 before). */
  #bytes = -1;

  /**
   * Sets `name`, or the first free `name#2`, `name#3`, ... when another field already took it.
   * Lone UTF-16 surrogates in the key or value become U+FFFD (Avro strings are UTF-8).
   * @throws PROPERTIES_TOO_LARGE past PROPERTY_LIMITS.keys or .bytes
   */
  put(raw: string, text: string): void {
    const name = raw.isWellFormed() ? raw : raw.toWellFormed();
    const value = text.isWellFormed() ? text : text.toWellFormed();
    const entries = this.entries;
    let key = name;
    if (Object.hasOwn(entries, key)) {
      // Resume where the last collision on `name` stopped: every suffix below it is taken.
      this.#next ??= new Map();
      let n = this.#next.get(name) ?? 2;
      key = `${name}#${n}`;
      while (Object.hasOwn(entries, key)) {
        n += 1;
        key = `${name}#${n}`;
      }
      this.#next.set(name, n + 1);
    }
    this.#count += 1;
    if (this.#count > PROPERTY_LIMITS.keys) throw propertiesTooLarge(`${this.#count} properties exceed the limit of ${PROPERTY_LIMITS.keys} (counting stops there)`, { reason: 'too_many_keys', keys: this.#count, limit: PROPERTY_LIMITS.keys });
    this.#units += key.length + value.length;
    // A UTF-16 unit is 1-3 UTF-8 bytes: count exactly only when it can matter.
    if (this.#bytes >= 0) this.#bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    else if (this.#units * 3 > PROPERTY_LIMITS.bytes) {
      let bytes = Buffer.byteLength(key) + Buffer.byteLength(value);
      for (const [other, otherValue] of Object.entries(entries)) bytes += Buffer.byteLength(other) + Buffer.byteLength(otherValue);
      this.#bytes = bytes;
    }
    if (this.#bytes > PROPERTY_LIMITS.bytes) throw propertiesTooLarge(`properties of ${this.#bytes} bytes exceed the limit of ${PROPERTY_LIMITS.bytes} (counting stops there)`, { reason: 'too_many_bytes', bytes: this.#bytes, limit: PROPERTY_LIMITS.bytes });
    setOwn(entries, key, value);
  }
}

/**
 * True when `value` nests arrays and objects deeper than `limit` (a scalar is depth 0, `[]`
 * and `[1]` depth 1). Iterative, so any depth can be measured without a stack overflow.
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  // Two parallel stacks (values, their depths): no object per visited value.
  const values: object[] = [value];
  const depths: number[] = [1];
  for (let top = values.pop(); top !== undefined; top = values.pop()) {
    const depth = depths.pop() ?? 1;
    if (depth > limit) return true;
    const items: readonly unknown[] = Array.isArray(top) ? (top as readonly unknown[]) : Object.values(top);
    for (const item of items) {
      if (typeof item === 'object' && item !== null) {
        values.push(item);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/**
 * `value` (`holder[key]`) JSON-encoded (see jsonText).
 * @throws PROPERTIES_TOO_LARGE (`too_deep`) when it nests deeper than PROPERTY_LIMITS.depth
 */
function encodeJson(value: unknown, name: string, holder: object, key: string): string {
  refuseTooDeep(value, name);
  return jsonText(value, holder, key);
}

/** @throws PROPERTIES_TOO_LARGE (`too_deep`), naming the field, when `value` nests deeper than PROPERTY_LIMITS.depth (JSON.stringify recurses) */
export function refuseTooDeep(value: unknown, name: string): void {
  if (nestedDeeperThan(value, PROPERTY_LIMITS.depth)) {
    throw propertiesTooLarge(`field ${name.slice(0, 64)} nests arrays or objects deeper than the limit of ${PROPERTY_LIMITS.depth}`, { reason: 'too_deep', limit: PROPERTY_LIMITS.depth });
  }
}

/** Puts `value`, found at `holder[key]`, under `name`, flattening non-empty objects. */
function flatten(value: unknown, name: string, into: Properties, holder: object, key: string): void {
  if (value === undefined) return;
  if (typeof value === 'string') into.put(name, value);
  else if (isRecord(value) && Object.keys(value).length > 0) {
    let longest = 0;
    for (const inner of Object.keys(value)) longest = Math.max(longest, inner.length);
    if (name.length + 1 + longest > PROPERTY_LIMITS.keyLength) {
      into.put(name, encodeJson(value, name, holder, key));
      return;
    }
    for (const [inner, innerValue] of Object.entries(value)) flatten(innerValue, `${name}.${inner}`, into, value, inner);
  } else into.put(name, encodeJson(value, name, holder, key));
}
