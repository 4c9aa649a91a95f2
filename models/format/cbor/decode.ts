// Strict CBOR decoder for untrusted input: a security boundary, so it is small and hand-written.
// cbor-x (measured) accepts duplicate map keys (last wins), indefinite lengths, non-shortest heads and
// invalid UTF-8, and has no depth limit; none of that is acceptable for signed artefacts.
//
// Accepted: exactly one data item in RFC 8949 §4.2.1 deterministic encoding — shortest heads,
// definite lengths, map keys sorted by their encoded bytes and unique, floats in their shortest
// exact form — plus Vigil's profile rules: integers within ±(2^53 − 1) and encoded as integers
// (an integral float is non-canonical), map keys integer or text, only the tags the caller allows,
// simple values false/true/null only. Byte strings come back as views into the input.
import { CborError } from '../errors.ts';
import { CborTagged, type CborKey, type CborMap, type CborValue } from './value.ts';

export interface DecodeOptions {
  /** Longest input accepted, in bytes. */
  readonly maxBytes?: number;
  /** Deepest nesting of arrays, maps and tags (the top-level item is depth 1). */
  readonly maxDepth?: number;
  /** Tags that may appear anywhere in the item. */
  readonly allowedTags?: ReadonlySet<number>;
}

export const DEFAULT_DECODE_LIMITS = Object.freeze({ maxBytes: 1024 * 1024, maxDepth: 16 });

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NO_TAGS: ReadonlySet<number> = new Set();

export function decodeCbor(input: Uint8Array, options: DecodeOptions = {}): CborValue {
  const maxBytes = options.maxBytes ?? DEFAULT_DECODE_LIMITS.maxBytes;
  if (input.length > maxBytes) {
    throw new CborError(
      'TOO_LARGE',
      `CBOR input of ${input.length} bytes exceeds the ${maxBytes}-byte limit`,
    );
  }
  const reader = new Reader(
    input,
    options.maxDepth ?? DEFAULT_DECODE_LIMITS.maxDepth,
    options.allowedTags ?? NO_TAGS,
  );
  const value = reader.item(1);
  if (reader.pos !== input.length) {
    throw new CborError(
      'TRAILING_BYTES',
      `${input.length - reader.pos} bytes follow the CBOR item (only one item is allowed)`,
    );
  }
  return value;
}

class Reader {
  pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly maxDepth: number,
    private readonly allowedTags: ReadonlySet<number>,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      throw new CborError('MALFORMED_CBOR', `CBOR ends early at byte ${this.pos} (needs ${n} more)`);
    }
  }

  /** Reads the argument of a head (RFC 8949 §3) and checks it is in its shortest form (§4.2.1). */
  private argument(info: number, start: number): number {
    if (info < 24) return info;
    let value: number;
    switch (info) {
      case 24:
        this.need(1);
        value = this.view.getUint8(this.pos);
        this.pos += 1;
        if (value < 24) this.nonCanonical(start, 'a one-byte argument below 24');
        return value;
      case 25:
        this.need(2);
        value = this.view.getUint16(this.pos);
        this.pos += 2;
        if (value <= 0xff) this.nonCanonical(start, 'a two-byte argument that fits in one');
        return value;
      case 26:
        this.need(4);
        value = this.view.getUint32(this.pos);
        this.pos += 4;
        if (value <= 0xffff) this.nonCanonical(start, 'a four-byte argument that fits in two');
        return value;
      case 27: {
        this.need(8);
        const high = this.view.getUint32(this.pos);
        const low = this.view.getUint32(this.pos + 4);
        this.pos += 8;
        if (high === 0) this.nonCanonical(start, 'an eight-byte argument that fits in four');
        if (high > 0x1fffff) {
          throw new CborError('UNSUPPORTED_CBOR', `integer at byte ${start} is beyond 2^53 − 1`);
        }
        value = high * 0x1_0000_0000 + low;
        if (value > Number.MAX_SAFE_INTEGER) {
          throw new CborError('UNSUPPORTED_CBOR', `integer at byte ${start} is beyond 2^53 − 1`);
        }
        return value;
      }
      case 31:
        throw new CborError(
          'INDEFINITE_LENGTH',
          `indefinite length at byte ${start} (only definite lengths)`,
        );
      default:
        throw new CborError('MALFORMED_CBOR', `reserved additional information ${info} at byte ${start}`);
    }
  }

  private nonCanonical(at: number, what: string): never {
    throw new CborError('NON_CANONICAL', `non-deterministic CBOR at byte ${at}: ${what} (RFC 8949 §4.2.1)`);
  }

  /** A declared length of a string (in bytes) or container (in items, each at least one byte). */
  private length(declared: number, start: number): number {
    const remaining = this.bytes.length - this.pos;
    if (declared > remaining) {
      throw new CborError(
        'LENGTH_OVERFLOW',
        `item at byte ${start} declares ${declared} but only ${remaining} bytes remain`,
      );
    }
    return declared;
  }

  item(depth: number): CborValue {
    const start = this.pos;
    this.need(1);
    const initial = this.view.getUint8(this.pos);
    this.pos += 1;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) return this.simpleOrFloat(info, start);
    const arg = this.argument(info, start);
    switch (major) {
      case 0:
        return arg;
      case 1:
        return -1 - arg;
      case 2: {
        const n = this.length(arg, start);
        const out = this.bytes.subarray(this.pos, this.pos + n);
        this.pos += n;
        return out;
      }
      case 3: {
        const n = this.length(arg, start);
        const raw = this.bytes.subarray(this.pos, this.pos + n);
        this.pos += n;
        try {
          return utf8.decode(raw);
        } catch (err) {
          throw new CborError('MALFORMED_CBOR', `text string at byte ${start} is not valid UTF-8`, {
            cause: err,
          });
        }
      }
      case 4:
        return this.array(this.length(arg, start), depth, start);
      case 5:
        return this.map(this.length(arg, start), depth, start);
      default: {
        // major 6: tag
        if (!this.allowedTags.has(arg)) {
          throw new CborError('UNSUPPORTED_CBOR', `tag ${arg} at byte ${start} is not allowed here`);
        }
        this.enter(depth, start);
        return new CborTagged(arg, this.item(depth + 1));
      }
    }
  }

  private enter(depth: number, start: number): void {
    if (depth >= this.maxDepth) {
      throw new CborError('TOO_DEEP', `CBOR nesting at byte ${start} exceeds depth ${this.maxDepth}`);
    }
  }

  private array(count: number, depth: number, start: number): CborValue[] {
    if (count > 0) this.enter(depth, start);
    const out: CborValue[] = [];
    for (let i = 0; i < count; i++) out.push(this.item(depth + 1));
    return out;
  }

  private map(count: number, depth: number, start: number): CborMap {
    if (count > 0) this.enter(depth, start);
    const out = new Map<CborKey, CborValue>();
    let previousKey: Uint8Array | null = null;
    for (let i = 0; i < count; i++) {
      const keyStart = this.pos;
      const key = this.item(depth + 1);
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw new CborError('UNSUPPORTED_CBOR', `map key at byte ${keyStart} is not an integer or text`);
      }
      if (typeof key === 'number' && !Number.isInteger(key)) {
        throw new CborError('UNSUPPORTED_CBOR', `map key at byte ${keyStart} is a float`);
      }
      const keyBytes = this.bytes.subarray(keyStart, this.pos);
      if (out.has(key)) {
        throw new CborError('DUPLICATE_KEY', `map at byte ${start} has the key ${JSON.stringify(key)} twice`);
      }
      if (previousKey !== null && compareBytes(previousKey, keyBytes) >= 0) {
        this.nonCanonical(keyStart, 'map keys not in bytewise order of their encodings');
      }
      previousKey = keyBytes;
      out.set(key, this.item(depth + 1));
    }
    return out;
  }

  private simpleOrFloat(info: number, start: number): CborValue {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 25: {
        this.need(2);
        const value = halfToNumber(this.view.getUint16(this.pos));
        this.pos += 2;
        this.checkFloat(value, 2, start);
        return value;
      }
      case 26: {
        this.need(4);
        const value = this.view.getFloat32(this.pos);
        this.pos += 4;
        this.checkFloat(value, 4, start);
        return value;
      }
      case 27: {
        this.need(8);
        const value = this.view.getFloat64(this.pos);
        this.pos += 8;
        this.checkFloat(value, 8, start);
        return value;
      }
      case 31:
        throw new CborError('MALFORMED_CBOR', `unexpected "break" at byte ${start}`);
      case 24:
      case 28:
      case 29:
      case 30:
        throw new CborError('MALFORMED_CBOR', `reserved simple-value encoding at byte ${start}`);
      default:
        throw new CborError('UNSUPPORTED_CBOR', `simple value ${info} at byte ${start} is not allowed`);
    }
  }

  private checkFloat(value: number, width: 2 | 4 | 8, start: number): void {
    if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
      this.nonCanonical(start, 'an integral float (Vigil encodes integers as integers)');
    }
    if (floatWidth(value) !== width) this.nonCanonical(start, 'a float longer than its shortest exact form');
    if (Number.isNaN(value) && width === 2 && this.view.getUint16(this.pos - 2) !== 0x7e00) {
      this.nonCanonical(start, 'a NaN other than 0xf97e00');
    }
  }
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** IEEE 754 binary16 → number (RFC 8949 Appendix D). */
export function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const f32 = new DataView(new ArrayBuffer(4));

/** The binary16 bits of `value` when it is exactly representable as a half float, else null. */
export function numberToHalf(value: number): number | null {
  if (Number.isNaN(value)) return 0x7e00;
  if (Math.fround(value) !== value) return null;
  f32.setFloat32(0, value);
  const bits = f32.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00; // ±Infinity (NaN handled above)
  if (exponent === 0) return mantissa === 0 ? sign : null; // ±0; float32 subnormals are too small
  const e = exponent - 127;
  if (e >= -14 && e <= 15) {
    if ((mantissa & 0x1fff) !== 0) return null;
    return sign | ((e + 15) << 10) | (mantissa >> 13);
  }
  if (e >= -24 && e < -14) {
    const full = 0x800000 | mantissa;
    const shift = -(e + 1);
    if ((full & ((1 << shift) - 1)) !== 0) return null;
    return sign | (full >> shift);
  }
  return null;
}

/** Width in bytes of the shortest IEEE 754 form that holds `value` exactly (2, 4 or 8). */
export function floatWidth(value: number): 2 | 4 | 8 {
  if (numberToHalf(value) !== null) return 2;
  if (Math.fround(value) === value) return 4;
  return 8;
}
