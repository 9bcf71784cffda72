/**
 * Reading untrusted JSON with paths. Every read names the field it failed on, and every field
 * read is remembered, so what no typed Touchpoint field took can be kept verbatim in
 * `properties` (`rest()`): an adapter maps what it understands and loses nothing else.
 */
import { schemaViolation } from './errors.ts';

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

const DECIMAL = /^[+-]?\d+(\.\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

export class Fields {
  /** Path of this object in the raw message, for error messages ('' for the root). */
  readonly path: string;
  readonly #value: JsonRecord;
  readonly #consumed = new Set<string>();
  readonly #children = new Map<string, Fields | readonly Fields[]>();

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

  /** The raw value of `key`, without consuming it. */
  peek(key: string): unknown {
    return Object.hasOwn(this.#value, key) ? this.#value[key] : undefined;
  }

  /** The raw value of `key`, consumed (it will not appear in `rest()`). */
  take(key: string): unknown {
    this.#consumed.add(key);
    return this.peek(key);
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

  /** An optional text field, trimmed; absent, null and empty all read as null. */
  optString(key: string): string | null {
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value !== 'string') throw schemaViolation(this.at(key), `expected a string, got ${describeType(value)}`);
    const trimmed = value.trim();
    return trimmed === '' ? null : trimmed;
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

  /** An optional integer within `min`..`max`; integer strings are accepted. */
  optInt(key: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | null {
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
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw schemaViolation(this.at(key), `expected a boolean, got ${describeType(value)}`);
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
   * strings as-is, objects flattened into their fields, arrays and other values JSON-encoded.
   * Consumed objects are searched recursively for what was not read in them.
   */
  rest(into: Record<string, string> = {}, prefix = ''): Record<string, string> {
    for (const [key, value] of Object.entries(this.#value)) {
      const name = prefix === '' ? key : `${prefix}.${key}`;
      if (!this.#consumed.has(key)) {
        flatten(value, name, into);
        continue;
      }
      const child = this.#children.get(key);
      if (child instanceof Fields) child.rest(into, name);
      else if (child) child.forEach((item, index) => item.rest(into, `${name}[${index}]`));
    }
    return into;
  }
}

function flatten(value: unknown, name: string, into: Record<string, string>): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') setOwn(into, name, value);
  else if (isRecord(value) && Object.keys(value).length > 0) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, `${name}.${key}`, into);
  } else setOwn(into, name, JSON.stringify(value));
}
