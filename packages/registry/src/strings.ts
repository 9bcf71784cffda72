/**
 * avsc 5.7's string writer with a fast path for ASCII strings under 64 characters, installed
 * when the registry module loads.
 *
 * avsc writes a string by asking Node for its UTF-8 byte length (`Buffer.byteLength`, a call
 * into C++ per string), writing that length, then encoding the string character by character
 * (up to 64 bytes) or with `utf8Write`. Most strings of Elephant's records are short ASCII:
 * ids, UUIDs, channel, type and stage names, e-mail addresses, phone numbers, URLs. For those
 * the byte length is the string's length, so the length is known without asking: strings
 * under 16 characters are then written in one pass of a loop (at the first character above
 * 0x7f the original writer rewrites the string from the start), longer ones by Node's native
 * UTF-8 writer, which wrote one byte per character exactly when they were ASCII (otherwise the
 * original writer rewrites it). Profiled in the benchmark, avsc's writer was 8% of a
 * normalizer's and a resolver's busy time; measured alone on typical strings, 105 → 33 ns per
 * string. packages/registry/test/strings.test.ts checks that the bytes are the original
 * writer's.
 */
import { createRequire } from 'node:module';

/** Node's Buffer with its UTF-8 writer (not in @types/node; avsc calls it too). */
type NativeBuffer = Buffer & { utf8Write(value: string, offset: number): number };

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

/**
 * From this many characters on (and under 64), the characters go through Node's native UTF-8
 * writer, which copies them faster than a loop: 30-35 ns against 60 for a UUID and 75 for a
 * 50-character URL; under it the loop is faster (15 ns against 30-37 for a short id).
 */
const NATIVE_FROM = 16;

function writeString(this: TapInstance, value: string): void {
  const length = value.length;
  const buf = this.buf;
  let pos = this.pos;
  // Room for the worst case (three bytes a character), so the native writer never stops short:
  // it wrote one byte per character exactly when every character is ASCII.
  if (length >= NATIVE_FROM && length < 64 && pos + 1 + 3 * length <= buf.length) {
    if ((buf as NativeBuffer).utf8Write(value, pos + 1) !== length) {
      original.call(this, value); // rewrites from this.pos, which has not moved
      return;
    }
    buf[pos] = length << 1;
    this.pos = pos + 1 + length;
    return;
  }
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
