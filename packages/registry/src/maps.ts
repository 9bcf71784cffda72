/**
 * avsc 5.7's map reader, keeping a `__proto__` key, installed when the registry module loads.
 *
 * avsc builds a decoded map by assignment (`value[key] = ...`) on a plain object, where the key
 * `__proto__` sets the object's prototype (to nothing, for a string value) instead of adding an
 * entry: a map written with such a key (a touchpoint's `properties` or a profile's
 * `preferences`, copied from a channel's JSON, which may hold any key) came back without it,
 * in every service that decodes it. The entry is now defined as an own property, as
 * `JSON.parse` does; other keys are read as before. packages/registry/test/maps.test.ts checks
 * it.
 */
import { createRequire } from 'node:module';

interface TapInstance {
  readLong(): number;
  skipLong(): void;
  readString(): string;
}

interface ReaderType {
  _read(tap: TapInstance): unknown;
}

interface MapTypeClass {
  prototype: { valuesType: ReaderType; _read(this: { valuesType: ReaderType }, tap: TapInstance): Record<string, unknown> };
}

const require = createRequire(import.meta.url);
const { builtins } = require('avsc/lib/types.js') as { builtins?: { MapType?: MapTypeClass } };
const MapType = builtins?.MapType;
if (typeof MapType?.prototype._read !== 'function') throw new Error('avsc MapType not as expected: the map reader patch needs avsc 5.7.x');

MapType.prototype._read = function readMap(tap: TapInstance): Record<string, unknown> {
  const values = this.valuesType;
  const map: Record<string, unknown> = {};
  for (;;) {
    // A block: its item count, negative when its byte size follows (which is skipped).
    let count = tap.readLong();
    if (count === 0) return map;
    if (count < 0) {
      count = -count;
      tap.skipLong();
    }
    while (count-- > 0) {
      const key = tap.readString();
      const value = values._read(tap);
      if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
      else map[key] = value;
    }
  }
};
