// A strict CBOR (RFC 8949) decoder for untrusted bridge frames. Hand-written because a general decoder
// (cbor-x) keeps the last of duplicate map keys, has no depth or length caps, and returns typed arrays
// that alias the input buffer; here every cap is checked before anything is allocated.
//
// Accepted: unsigned and negative integers within ±(2^53 − 1), definite-length byte and text strings
// (text must be valid UTF-8), definite-length arrays and maps (map keys are text strings, no
// duplicates), false/true/null, half/single/double floats, and the RFC 8746 typed-array tags 64
// (uint8), 77 (sint16 little-endian) and 85 (float32 little-endian) around a byte string.
// Refused: indefinite lengths, other tags, `undefined` and other simple values, trailing bytes.
import { BridgeError } from './errors.ts';

export type CborValue =
  number | boolean | null | string | Uint8Array | Float32Array | Int16Array | readonly CborValue[] | CborMap;

export type CborMap = ReadonlyMap<string, CborValue>;

export interface CborLimits {
  /** Nesting of arrays and maps (the top-level map is depth 1). */
  readonly maxDepth: number;
  readonly maxMapEntries: number;
  readonly maxArrayItems: number;
  /** Bytes of one text string. */
  readonly maxTextBytes: number;
  /** Bytes of one byte string or typed array. */
  readonly maxBytesLength: number;
  /** Data items in one frame (every scalar, string, array and map counts once). */
  readonly maxItems: number;
}

export const DEFAULT_CBOR_LIMITS: CborLimits = Object.freeze({
  maxDepth: 6,
  maxMapEntries: 32,
  maxArrayItems: 64,
  maxTextBytes: 1024,
  maxBytesLength: 1 << 20,
  maxItems: 4096,
});

/** RFC 8746 typed-array tags used by the bridge. */
export const CBOR_TAG = Object.freeze({
  UINT8_ARRAY: 64,
  SINT16_LE_ARRAY: 77,
  FLOAT32_LE_ARRAY: 85,
});

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A plain Uint8Array copy. (Buffer#slice returns a view, and decoded values must not alias the
 * socket's buffers.)
 */
export function copyBytes(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}

function fail(message: string): never {
  throw new BridgeError('BAD_CBOR', message);
}

class Reader {
  private pos = 0;
  private items = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly limits: CborLimits,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  private need(n: number): void {
    if (n > this.bytes.length - this.pos) fail(`truncated at byte ${this.pos}: need ${n} more bytes`);
  }

  /** The argument of an initial byte (RFC 8949 §3); -1 for the indefinite-length marker. */
  private argument(info: number): number {
    if (info < 24) return info;
    switch (info) {
      case 24:
        this.need(1);
        return this.bytes[this.pos++] as number;
      case 25: {
        this.need(2);
        const v = this.view.getUint16(this.pos);
        this.pos += 2;
        return v;
      }
      case 26: {
        this.need(4);
        const v = this.view.getUint32(this.pos);
        this.pos += 4;
        return v;
      }
      case 27: {
        this.need(8);
        const hi = this.view.getUint32(this.pos);
        const lo = this.view.getUint32(this.pos + 4);
        this.pos += 8;
        if (hi > 0x1fffff) fail('integer or length beyond 2^53 - 1');
        return hi * 0x1_0000_0000 + lo;
      }
      case 31:
        return -1;
      default:
        return fail(`reserved additional information ${info} at byte ${this.pos - 1}`);
    }
  }

  private length(info: number, what: string): number {
    const n = this.argument(info);
    if (n < 0) fail(`indefinite-length ${what} is not accepted`);
    return n;
  }

  value(depth: number): CborValue {
    this.items += 1;
    if (this.items > this.limits.maxItems) fail(`more than ${this.limits.maxItems} data items`);
    this.need(1);
    const initial = this.bytes[this.pos++] as number;
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0: {
        const n = this.argument(info);
        if (n < 0) fail('indefinite-length marker on an integer');
        return n;
      }
      case 1: {
        const n = this.argument(info);
        if (n < 0) fail('indefinite-length marker on an integer');
        if (n >= Number.MAX_SAFE_INTEGER) fail('negative integer beyond -(2^53 - 1)');
        return -1 - n;
      }
      case 2:
        return this.byteString(this.length(info, 'byte string'));
      case 3:
        return this.text(this.length(info, 'text string'));
      case 4:
        return this.array(this.length(info, 'array'), depth + 1);
      case 5:
        return this.map(this.length(info, 'map'), depth + 1);
      case 6:
        return this.tagged(this.argument(info));
      default:
        return this.simple(info);
    }
  }

  private byteString(n: number): Uint8Array {
    if (n > this.limits.maxBytesLength)
      fail(`byte string of ${n} bytes exceeds ${this.limits.maxBytesLength}`);
    this.need(n);
    const out = copyBytes(this.bytes, this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private text(n: number): string {
    if (n > this.limits.maxTextBytes) fail(`text string of ${n} bytes exceeds ${this.limits.maxTextBytes}`);
    this.need(n);
    const start = this.pos;
    this.pos += n;
    let ascii = true;
    for (let i = start; i < start + n; i += 1) {
      if ((this.bytes[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii && n <= 64) {
      let s = '';
      for (let i = start; i < start + n; i += 1) s += String.fromCharCode(this.bytes[i] as number);
      return s;
    }
    try {
      return UTF8.decode(this.bytes.subarray(start, start + n));
    } catch {
      return fail(`text string at byte ${start} is not valid UTF-8`);
    }
  }

  private array(n: number, depth: number): CborValue[] {
    if (depth > this.limits.maxDepth) fail(`nesting deeper than ${this.limits.maxDepth}`);
    if (n > this.limits.maxArrayItems) fail(`array of ${n} items exceeds ${this.limits.maxArrayItems}`);
    // Every item takes at least one byte: a length beyond the remaining bytes is a lie.
    this.need(n);
    const out: CborValue[] = [];
    for (let i = 0; i < n; i += 1) out.push(this.value(depth));
    return out;
  }

  private map(n: number, depth: number): CborMap {
    if (depth > this.limits.maxDepth) fail(`nesting deeper than ${this.limits.maxDepth}`);
    if (n > this.limits.maxMapEntries) fail(`map of ${n} entries exceeds ${this.limits.maxMapEntries}`);
    this.need(2 * n);
    const out = new Map<string, CborValue>();
    for (let i = 0; i < n; i += 1) {
      this.need(1);
      if ((this.bytes[this.pos] as number) >> 5 !== 3)
        fail(`map key at byte ${this.pos} is not a text string`);
      const key = this.value(depth) as string;
      if (out.has(key)) fail(`duplicate map key "${key}"`);
      out.set(key, this.value(depth));
    }
    return out;
  }

  private tagged(tag: number): CborValue {
    if (
      tag !== CBOR_TAG.UINT8_ARRAY &&
      tag !== CBOR_TAG.SINT16_LE_ARRAY &&
      tag !== CBOR_TAG.FLOAT32_LE_ARRAY
    ) {
      fail(`tag ${tag} is not accepted`);
    }
    this.need(1);
    const initial = this.bytes[this.pos++] as number;
    if (initial >> 5 !== 2) fail(`tag ${tag} must wrap a byte string`);
    const n = this.length(initial & 0x1f, 'byte string');
    if (n > this.limits.maxBytesLength)
      fail(`typed array of ${n} bytes exceeds ${this.limits.maxBytesLength}`);
    this.need(n);
    const start = this.pos;
    this.pos += n;
    if (tag === CBOR_TAG.UINT8_ARRAY) return copyBytes(this.bytes, start, start + n);
    if (tag === CBOR_TAG.SINT16_LE_ARRAY) {
      if (n % 2 !== 0) fail(`sint16 array of ${n} bytes is not a multiple of 2`);
      return this.int16(start, n / 2);
    }
    if (n % 4 !== 0) fail(`float32 array of ${n} bytes is not a multiple of 4`);
    return this.float32(start, n / 4);
  }

  private float32(start: number, count: number): Float32Array {
    const out = new Float32Array(count);
    if (LITTLE_ENDIAN_HOST) {
      new Uint8Array(out.buffer).set(this.bytes.subarray(start, start + count * 4));
    } else {
      for (let i = 0; i < count; i += 1) out[i] = this.view.getFloat32(start + i * 4, true);
    }
    return out;
  }

  private int16(start: number, count: number): Int16Array {
    const out = new Int16Array(count);
    if (LITTLE_ENDIAN_HOST) {
      new Uint8Array(out.buffer).set(this.bytes.subarray(start, start + count * 2));
    } else {
      for (let i = 0; i < count; i += 1) out[i] = this.view.getInt16(start + i * 2, true);
    }
    return out;
  }

  private simple(info: number): CborValue {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 25: {
        this.need(2);
        const half = this.view.getUint16(this.pos);
        this.pos += 2;
        return decodeHalf(half);
      }
      case 26: {
        this.need(4);
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        return v;
      }
      case 27: {
        this.need(8);
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        return v;
      }
      case 31:
        return fail(`unexpected "break" at byte ${this.pos - 1}`);
      default:
        return fail(`simple value ${info} is not accepted`);
    }
  }
}

/** IEEE 754 half precision (RFC 8949 Appendix D). */
function decodeHalf(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  let value: number;
  if (exponent === 0) value = mantissa * 2 ** -24;
  else if (exponent === 31) value = mantissa === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
  else value = (mantissa + 1024) * 2 ** (exponent - 25);
  return half & 0x8000 ? -value : value;
}

/** Decodes exactly one data item filling `bytes`; throws BridgeError('BAD_CBOR') otherwise. */
export function decodeCbor(bytes: Uint8Array, limits: CborLimits = DEFAULT_CBOR_LIMITS): CborValue {
  if (bytes.length === 0) fail('empty frame');
  const reader = new Reader(bytes, limits);
  const value = reader.value(0);
  if (reader.offset !== bytes.length) fail(`${bytes.length - reader.offset} trailing bytes after the item`);
  return value;
}
