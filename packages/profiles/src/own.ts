/**
 * Own-property access for records keyed by outside data (preference keys, purposes, product
 * ids): a key such as `constructor` or `__proto__` must read and write a plain entry, never
 * Object.prototype.
 */
import { setOwn } from '@elephant/channels';

export function getOwn<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export { setOwn };

/** Code-unit order: locale-independent, so every process sorts the same way. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Deep-mutable view of a readonly state type, for building a new state in place. */
export type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;

/** Later of two optional times. */
export function maxTime(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/** Earlier of two optional times. */
export function minTime(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** The same record with keys in code-unit order, so equal states serialize to identical JSON. */
export function sortedRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(record).sort(compareStrings)) setOwn(out, key, record[key] as T);
  return out;
}

/** Whether a record's keys iterate in code-unit order (what sortedRecord makes). */
export function isSorted(record: Readonly<Record<string, unknown>>): boolean {
  const keys = Object.keys(record);
  for (let i = 1; i < keys.length; i += 1) if (compareStrings(keys[i - 1] as string, keys[i] as string) >= 0) return false;
  return true;
}
