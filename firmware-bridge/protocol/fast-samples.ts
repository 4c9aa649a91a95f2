// A fast path for the one frame that arrives thousands of times a second: a samples frame decoded
// straight from its bytes into a SamplesMessage, without building a generic CBOR tree. It accepts
// exactly what the strict decoder + parseClientMessage accept (a property test checks the two agree)
// and gives up — returning null — on anything else, including every error: the general path then
// runs and produces the error with its code and message. So it can only ever be faster, never
// different.
import { copyBytes } from './cbor-decode.ts';
import type { SamplesMessage } from './messages.ts';
import { MAX_RATE_HZ, type ClientParseLimits } from './parse-client.ts';

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const enum Key {
  Type = 1,
  Id = 2,
  Stream = 4,
  Counter = 8,
  Timestamp = 16,
  Rate = 32,
  Data = 64,
  Scale = 128,
  Flags = 256,
}

const KEYS: readonly [Key, Uint8Array][] = (
  [
    [Key.Type, 'type'],
    [Key.Id, 'id'],
    [Key.Stream, 'stream'],
    [Key.Counter, 'counter'],
    [Key.Timestamp, 'timestampMs'],
    [Key.Rate, 'rateHz'],
    [Key.Data, 'data'],
    [Key.Scale, 'scale'],
    [Key.Flags, 'flags'],
  ] as const
).map(([k, s]) => [k, Buffer.from(s, 'ascii')]);

const SAMPLES = Buffer.from('samples', 'ascii');
const REQUIRED = Key.Type | Key.Id | Key.Stream | Key.Counter | Key.Timestamp | Key.Data;

/** Thrown internally to abandon the fast path; never escapes. One instance: no stack per throw. */
class GiveUp extends Error {}
const GIVE_UP = new GiveUp('samples fast path: not handled here');

class Cursor {
  pos = 0;
  readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Argument and additional information of the last head (fields, to avoid an object per item). */
  arg = 0;
  info = 0;

  /** Reads the next initial byte and argument; returns the major type. Gives up on indefinite lengths. */
  head(): number {
    const bytes = this.bytes;
    if (this.pos >= bytes.length) throw GIVE_UP;
    const initial = bytes[this.pos++] as number;
    const info = initial & 0x1f;
    this.info = info;
    if (info < 24) this.arg = info;
    else if (info === 24) {
      this.take(1);
      this.arg = bytes[this.pos - 1] as number;
    } else if (info === 25) {
      this.take(2);
      this.arg = this.view.getUint16(this.pos - 2);
    } else if (info === 26) {
      this.take(4);
      this.arg = this.view.getUint32(this.pos - 4);
    } else if (info === 27) {
      this.take(8);
      if (initial >> 5 === 7) {
        this.arg = 0; // a float64: number() reads the bits itself
      } else {
        const hi = this.view.getUint32(this.pos - 8);
        if (hi > 0x1fffff) throw GIVE_UP;
        this.arg = hi * 0x1_0000_0000 + this.view.getUint32(this.pos - 4);
      }
    } else throw GIVE_UP;
    return initial >> 5;
  }

  take(n: number): void {
    if (n > this.bytes.length - this.pos) throw GIVE_UP;
    this.pos += n;
  }

  uint(): number {
    const start = this.pos;
    if (this.head() === 0) return this.arg;
    this.pos = start;
    const v = this.number();
    if (!Number.isSafeInteger(v) || v < 0) throw GIVE_UP;
    return v;
  }

  number(): number {
    const major = this.head();
    const arg = this.arg;
    const info = this.info;
    if (major === 0) return arg;
    if (major === 1) {
      if (arg >= Number.MAX_SAFE_INTEGER) throw GIVE_UP;
      return -1 - arg;
    }
    if (major !== 7) throw GIVE_UP;
    if (info === 26) {
      this.pos -= 4;
      const v = this.view.getFloat32(this.pos);
      this.pos += 4;
      return v;
    }
    if (info === 27) {
      this.pos -= 8;
      const v = this.view.getFloat64(this.pos);
      this.pos += 8;
      return v;
    }
    throw GIVE_UP; // half floats and simple values: the general path handles them
  }

  /** Matches a text key against the known keys without allocating a string. */
  key(): Key {
    if (this.head() !== 3) throw GIVE_UP;
    const arg = this.arg;
    this.take(arg);
    const start = this.pos - arg;
    for (const [k, bytes] of KEYS) {
      if (bytes.length !== arg) continue;
      let same = true;
      for (let i = 0; i < arg; i += 1) {
        if (this.bytes[start + i] !== bytes[i]) {
          same = false;
          break;
        }
      }
      if (same) return k;
    }
    throw GIVE_UP; // unknown key: the general path reports it
  }

  /** An id ([A-Za-z0-9._-]{1,64}), decoded as ASCII. */
  id(): string {
    const major = this.head();
    const arg = this.arg;
    if (major !== 3 || arg < 1 || arg > 64) throw GIVE_UP;
    this.take(arg);
    let s = '';
    for (let i = this.pos - arg; i < this.pos; i += 1) {
      const c = this.bytes[i] as number;
      const ok =
        (c >= 0x30 && c <= 0x39) ||
        (c >= 0x41 && c <= 0x5a) ||
        (c >= 0x61 && c <= 0x7a) ||
        c === 0x2e ||
        c === 0x5f ||
        c === 0x2d;
      if (!ok) throw GIVE_UP;
      s += String.fromCharCode(c);
    }
    return s;
  }

  isText(expected: Uint8Array): boolean {
    if (this.head() !== 3) throw GIVE_UP;
    const arg = this.arg;
    this.take(arg);
    if (arg !== expected.length) return false;
    for (let i = 0; i < arg; i += 1) if (this.bytes[this.pos - arg + i] !== expected[i]) return false;
    return true;
  }

  channel(maxBytes: number, maxSamples: number): Float32Array | Int16Array {
    if (this.head() !== 6) throw GIVE_UP;
    const tag = this.arg;
    if (tag !== 85 && tag !== 77) throw GIVE_UP;
    if (this.head() !== 2) throw GIVE_UP;
    const arg = this.arg;
    if (arg > maxBytes) throw GIVE_UP;
    this.take(arg);
    const start = this.pos - arg;
    if (tag === 85) {
      if (arg % 4 !== 0 || arg === 0 || arg / 4 > maxSamples) throw GIVE_UP;
      const out = new Float32Array(arg / 4);
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(this.bytes.subarray(start, start + arg));
      else for (let i = 0; i < out.length; i += 1) out[i] = this.view.getFloat32(start + i * 4, true);
      return out;
    }
    if (arg % 2 !== 0 || arg === 0 || arg / 2 > maxSamples) throw GIVE_UP;
    const out = new Int16Array(arg / 2);
    if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(this.bytes.subarray(start, start + arg));
    else for (let i = 0; i < out.length; i += 1) out[i] = this.view.getInt16(start + i * 2, true);
    return out;
  }

  flags(maxBytes: number): Uint8Array {
    let major = this.head();
    if (major === 6) {
      if (this.arg !== 64) throw GIVE_UP;
      major = this.head();
    }
    const n = this.arg;
    if (major !== 2 || n > maxBytes) throw GIVE_UP;
    this.take(n);
    return copyBytes(this.bytes, this.pos - n, this.pos);
  }
}

function finiteIn(value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) throw GIVE_UP;
  return value;
}

/**
 * Decodes a samples frame, or returns null when the frame is anything else or is not valid — in
 * which case the general decoder must run (it reports the precise error).
 */
export function tryDecodeSamples(
  payload: Uint8Array,
  limits: ClientParseLimits & { readonly maxBytesLength: number },
): SamplesMessage | null {
  try {
    const c = new Cursor(payload);
    if (c.head() !== 5 || c.arg > 9) return null;
    const entries = c.arg;
    let seen = 0;
    let id = 0;
    let stream = '';
    let counter = 0;
    let timestampMs = 0;
    let rateHz: number | undefined;
    let data: (Float32Array | Int16Array)[] = [];
    let scale: number[] | undefined;
    let flags: Uint8Array | undefined;
    for (let i = 0; i < entries; i += 1) {
      const key = c.key();
      if (seen & key) return null; // duplicate key
      seen |= key;
      switch (key) {
        case Key.Type:
          if (!c.isText(SAMPLES)) return null;
          break;
        case Key.Id:
          id = c.uint();
          break;
        case Key.Stream:
          stream = c.id();
          break;
        case Key.Counter:
          counter = c.uint();
          break;
        case Key.Timestamp:
          timestampMs = finiteIn(c.number(), 0, Number.MAX_SAFE_INTEGER);
          break;
        case Key.Rate:
          rateHz = finiteIn(c.number(), 0.001, MAX_RATE_HZ);
          break;
        case Key.Data: {
          const major = c.head();
          const arg = c.arg;
          if (major !== 4 || arg < 1 || arg > limits.maxChannels) return null;
          data = [];
          for (let k = 0; k < arg; k += 1)
            data.push(c.channel(limits.maxBytesLength, limits.maxSamplesPerFrame));
          break;
        }
        case Key.Scale: {
          const major = c.head();
          const arg = c.arg;
          if (major !== 4) return null;
          scale = [];
          for (let k = 0; k < arg; k += 1) {
            const s = finiteIn(c.number(), -Number.MAX_VALUE, Number.MAX_VALUE);
            if (s === 0) return null;
            scale.push(s);
          }
          break;
        }
        case Key.Flags:
          flags = c.flags(limits.maxBytesLength);
          break;
      }
    }
    if (c.pos !== payload.length || (seen & REQUIRED) !== REQUIRED) return null;
    if (scale !== undefined && scale.length !== data.length) return null;
    if (scale === undefined && data.some((d) => d instanceof Int16Array)) return null;
    if (counter + (data[0]?.length ?? 0) > Number.MAX_SAFE_INTEGER) return null;
    return {
      type: 'samples',
      id,
      stream,
      counter,
      timestampMs,
      ...(rateHz !== undefined ? { rateHz } : {}),
      data,
      ...(scale !== undefined ? { scale } : {}),
      ...(flags !== undefined ? { flags } : {}),
    };
  } catch (error) {
    if (error === GIVE_UP) return null;
    throw error;
  }
}
