/**
 * avsc 5.7's string writer with a fast path for short ASCII strings, installed when the
 * registry module loads.
 *
 * avsc writes a string by asking Node for its UTF-8 byte length (`Buffer.byteLength`, a call
 * into C++ per string), writing that length, then encoding the string character by character
 * (up to 64 bytes) or with `utf8Write`. Most strings of Elephant's records are short ASCII:
 * ids, UUIDs, channel, type and stage names, e-mail addresses, phone numbers. For those the
 * byte length is the string's length, so the length and the characters are written in one
 * pass with no native call; at the first character above 0x7f the original writer rewrites
 * the string from the start. Profiled in the benchmark, avsc's writer was 8% of a normalizer's
 * and a resolver's busy time; measured alone on typical strings, 105 → 33 ns per string.
 * packages/registry/test/strings.test.ts checks that the bytes are the original writer's.
 */
import { createRequire } from 'node:module';

interface TapInstance {
  buf: Buffer;
  pos: number;
}

type StringWriter = (this: TapInstance, value: string) => void;

interface TapClass {
  prototype: TapInstance & { writeString: StringWriter };
}

const require = createRequire(import.meta.url);
const { Tap } = require('avsc/lib/utils.js') as { Tap?: TapClass };
if (typeof Tap?.prototype.writeString !== 'function') throw new Error('avsc Tap not as expected: the string writer patch needs avsc 5.7.x');

const original: StringWriter = Tap.prototype.writeString;

function writeString(this: TapInstance, value: string): void {
  const length = value.length;
  const buf = this.buf;
  let pos = this.pos;
  // Up to 64 ASCII characters: a zig-zag length of one byte (0-63) or two (64), then the bytes.
  if (length > 64 || pos + length + 2 > buf.length) {
    original.call(this, value);
    return;
  }
  if (length === 64) {
    buf[pos++] = 0x80;
    buf[pos++] = 0x01;
  } else buf[pos++] = length << 1;
  for (let i = 0; i < length; i += 1) {
    const code = value.charCodeAt(i);
    if (code >= 0x80) {
      original.call(this, value); // rewrites from this.pos, which has not moved
      return;
    }
    buf[pos++] = code;
  }
  this.pos = pos;
}

Tap.prototype.writeString = writeString;

/** avsc's own writer and the one in place (for the test). */
export const avscStringWriters: { readonly original: StringWriter; readonly installed: unknown } = { original, installed: writeString };
