// The CBOR data model Vigil uses (RFC 8949 §2), restricted to what its formats need.
// Integers are JS numbers within ±(2^53 − 1); map keys are integers or text; byte strings are
// Uint8Array views (the decoder returns views into the input, so received bytes stay received bytes).

export type CborKey = number | string;

export type CborValue =
  number | string | boolean | null | Uint8Array | readonly CborValue[] | CborMap | CborTagged;

export type CborMap = ReadonlyMap<CborKey, CborValue>;

/** A tagged item (RFC 8949 §3.4). Only the tags a caller allows are ever decoded. */
export class CborTagged {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {}
}

export function isCborMap(value: CborValue | undefined): value is CborMap {
  return value instanceof Map;
}

export function isCborArray(value: CborValue | undefined): value is readonly CborValue[] {
  return Array.isArray(value);
}

export function isBytes(value: CborValue | undefined): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** JSON-like values (what manifests and trust documents are made of), plus byte strings. */
export type PlainValue =
  | number
  | string
  | boolean
  | null
  | Uint8Array
  | readonly PlainValue[]
  | { readonly [key: string]: PlainValue };

/**
 * Converts a plain value to CBOR: objects become maps with text keys. Properties whose value is
 * `undefined` are left out (the shape of optional fields under exactOptionalPropertyTypes).
 */
export function toCbor(value: unknown, path = '$'): CborValue {
  if (
    value === null ||
    typeof value === 'number' ||
    typeof value === 'string' ||
    typeof value === 'boolean'
  ) {
    return value;
  }
  if (value instanceof Uint8Array || value instanceof CborTagged || value instanceof Map) {
    return value as CborValue;
  }
  if (Array.isArray(value)) return value.map((item: unknown, i) => toCbor(item, `${path}[${i}]`));
  if (typeof value === 'object') {
    const map = new Map<CborKey, CborValue>();
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      map.set(key, toCbor(item, `${path}.${key}`));
    }
    return map;
  }
  throw new TypeError(`${path}: ${typeof value} has no CBOR form`);
}

/**
 * Converts CBOR back to plain values: maps with text keys become objects (built with
 * Object.fromEntries, so a `__proto__` key is an own property, never a prototype). Maps with
 * integer keys and tags are returned as they are.
 */
export function fromCbor(value: CborValue): unknown {
  if (value instanceof Map) {
    const entries: [string, unknown][] = [];
    for (const [key, item] of value as CborMap) {
      if (typeof key !== 'string') return value;
      entries.push([key, fromCbor(item)]);
    }
    return Object.fromEntries(entries);
  }
  if (Array.isArray(value)) return value.map((item: CborValue) => fromCbor(item));
  return value;
}
