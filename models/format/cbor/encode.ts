// Deterministic CBOR encoder (RFC 8949 §4.2.1 core deterministic encoding): shortest heads, definite
// lengths, map keys sorted by the bytes of their encodings, floats in their shortest exact form, and
// integers (|n| ≤ 2^53 − 1, except −0) always as integers. Hand-written because cbor-x (measured)
// neither sorts map keys nor shortens floats, and what we sign must have exactly one encoding.
import { CborError } from '../errors.ts';
import { compareBytes, numberToHalf } from './decode.ts';
import { CborTagged, type CborMap, type CborValue } from './value.ts';

const utf8 = new TextEncoder();

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  head(major: number, arg: number): void {
    const m = major << 5;
    if (arg < 24) {
      this.byte(m | arg);
    } else if (arg <= 0xff) {
      this.byte(m | 24);
      this.byte(arg);
    } else if (arg <= 0xffff) {
      this.ensure(3);
      this.buf[this.length] = m | 25;
      this.view.setUint16(this.length + 1, arg);
      this.length += 3;
    } else if (arg <= 0xffffffff) {
      this.ensure(5);
      this.buf[this.length] = m | 26;
      this.view.setUint32(this.length + 1, arg);
      this.length += 5;
    } else {
      this.ensure(9);
      this.buf[this.length] = m | 27;
      this.view.setUint32(this.length + 1, Math.floor(arg / 0x1_0000_0000));
      this.view.setUint32(this.length + 5, arg >>> 0);
      this.length += 9;
    }
  }

  float(value: number): void {
    const half = numberToHalf(value);
    if (half !== null) {
      this.ensure(3);
      this.buf[this.length] = 0xf9;
      this.view.setUint16(this.length + 1, half);
      this.length += 3;
    } else if (Math.fround(value) === value) {
      this.ensure(5);
      this.buf[this.length] = 0xfa;
      this.view.setFloat32(this.length + 1, value);
      this.length += 5;
    } else {
      this.ensure(9);
      this.buf[this.length] = 0xfb;
      this.view.setFloat64(this.length + 1, value);
      this.length += 9;
    }
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export function encodeCbor(value: CborValue): Uint8Array {
  const w = new Writer();
  write(w, value, '$');
  return w.result();
}

function write(w: Writer, value: CborValue, path: string): void {
  if (value === null || typeof value === 'boolean') {
    w.byte(value === null ? 0xf6 : value ? 0xf5 : 0xf4);
    return;
  }
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
      if (value >= 0) w.head(0, value);
      else w.head(1, -1 - value);
    } else {
      w.float(value);
    }
    return;
  }
  if (typeof value === 'string') {
    const b = utf8.encode(value);
    w.head(3, b.length);
    w.bytes(b);
    return;
  }
  if (value instanceof Uint8Array) {
    w.head(2, value.length);
    w.bytes(value);
    return;
  }
  if (value instanceof CborTagged) {
    if (!Number.isSafeInteger(value.tag) || value.tag < 0) {
      throw new CborError('UNSUPPORTED_CBOR', `${path}: tag ${value.tag} is not a valid tag number`);
    }
    w.head(6, value.tag);
    write(w, value.value, path);
    return;
  }
  if (value instanceof Map) {
    const entries: [Uint8Array, Uint8Array][] = [];
    for (const [key, item] of value as CborMap) {
      if (typeof key === 'number' && !Number.isSafeInteger(key)) {
        throw new CborError('UNSUPPORTED_CBOR', `${path}: map key ${key} is not a safe integer`);
      }
      entries.push([encodeCbor(key), encodeCbor(item)]);
    }
    entries.sort((a, b) => compareBytes(a[0], b[0]));
    w.head(5, entries.length);
    for (const [k, v] of entries) {
      w.bytes(k);
      w.bytes(v);
    }
    return;
  }
  if (Array.isArray(value)) {
    const items = value as readonly CborValue[];
    w.head(4, items.length);
    items.forEach((item, i) => {
      write(w, item, `${path}[${i}]`);
    });
    return;
  }
  throw new CborError('UNSUPPORTED_CBOR', `${path}: value has no CBOR encoding in Vigil's profile`);
}

/** Encodes the head of a byte string of `length` bytes (for building Sig_structures from received bytes). */
export function bstrHead(length: number): Uint8Array {
  const w = new Writer();
  w.head(2, length);
  return w.result();
}
