// Field-by-field reading of a decoded CBOR map (DESIGN.md, "Untrusted input"): each read checks the
// type and range and names the field in the error; `finish` refuses keys nobody read (strict mode).
import type { CborMap, CborValue } from './cbor-decode.ts';
import { BridgeError } from './errors.ts';

const PRINTABLE = /^[\x20-\x7e]*$/;

export function isCborMap(value: CborValue): value is CborMap {
  return value instanceof Map;
}

export class Fields {
  private readonly used = new Set<string>();

  constructor(
    private readonly map: CborMap,
    /** Where this map sits, for messages: `samples`, `hello.sensors[2]`. */
    readonly where: string,
  ) {}

  static of(value: CborValue, where: string): Fields {
    if (!isCborMap(value)) throw new BridgeError('BAD_FIELD', `${where} must be a map`);
    return new Fields(value, where);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  private bad(key: string, what: string): never {
    throw new BridgeError('BAD_FIELD', `${this.where}.${key} ${what}`);
  }

  raw(key: string): CborValue {
    this.used.add(key);
    const value = this.map.get(key);
    if (value === undefined) throw new BridgeError('BAD_MESSAGE', `${this.where}.${key} is missing`);
    return value;
  }

  optionalRaw(key: string): CborValue | undefined {
    this.used.add(key);
    return this.map.get(key);
  }

  text(key: string, maxLength: number, pattern: RegExp = PRINTABLE): string {
    return this.checkText(key, this.raw(key), maxLength, pattern);
  }

  optionalText(key: string, maxLength: number, pattern: RegExp = PRINTABLE): string | undefined {
    const value = this.optionalRaw(key);
    return value === undefined ? undefined : this.checkText(key, value, maxLength, pattern);
  }

  checkText(key: string, value: CborValue, maxLength: number, pattern: RegExp = PRINTABLE): string {
    if (typeof value !== 'string') this.bad(key, 'must be a text string');
    if (value.length > maxLength) this.bad(key, `is longer than ${maxLength} characters`);
    if (!pattern.test(value)) this.bad(key, `does not match ${String(pattern)}`);
    return value;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    const value = this.raw(key);
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.bad(key, `must be one of ${allowed.join(', ')}`);
    }
    return value as T;
  }

  /** An unsigned integer up to 2^53 − 1 (an integral float is accepted: some encoders emit one). */
  uint(key: string, max = Number.MAX_SAFE_INTEGER): number {
    return this.checkUint(key, this.raw(key), max);
  }

  checkUint(key: string, value: CborValue, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      this.bad(key, 'must be an unsigned integer');
    }
    if (value > max) this.bad(key, `must be at most ${max}`);
    return value;
  }

  optionalUint(key: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const value = this.optionalRaw(key);
    return value === undefined ? undefined : this.checkUint(key, value, max);
  }

  /** A finite number in [min, max]; NaN and ±Infinity are refused. */
  finite(key: string, min: number, max: number): number {
    return this.checkFinite(key, this.raw(key), min, max);
  }

  optionalFinite(key: string, min: number, max: number): number | undefined {
    const value = this.optionalRaw(key);
    return value === undefined ? undefined : this.checkFinite(key, value, min, max);
  }

  checkFinite(key: string, value: CborValue, min: number, max: number): number {
    if (typeof value !== 'number') this.bad(key, 'must be a number');
    if (!Number.isFinite(value)) this.bad(key, 'must be finite (NaN and Infinity are refused)');
    if (value < min || value > max) this.bad(key, `must lie in [${min}, ${max}]`);
    return value;
  }

  bool(key: string): boolean {
    const value = this.raw(key);
    if (typeof value !== 'boolean') this.bad(key, 'must be true or false');
    return value;
  }

  array(key: string, minItems: number, maxItems: number): readonly CborValue[] {
    const value = this.raw(key);
    if (!Array.isArray(value)) this.bad(key, 'must be an array');
    const items = value as readonly CborValue[];
    if (items.length < minItems || items.length > maxItems) {
      this.bad(key, `must hold ${minItems}–${maxItems} items`);
    }
    return items;
  }

  optionalArray(key: string, minItems: number, maxItems: number): readonly CborValue[] | undefined {
    if (!this.map.has(key)) {
      this.used.add(key);
      return undefined;
    }
    return this.array(key, minItems, maxItems);
  }

  sub(key: string): Fields {
    return Fields.of(this.raw(key), `${this.where}.${key}`);
  }

  /** Strict: a key the message does not define is refused (it is probably a typo). */
  finish(): void {
    for (const key of this.map.keys()) {
      if (!this.used.has(key))
        throw new BridgeError('BAD_MESSAGE', `${this.where} has an unknown key "${key}"`);
    }
  }
}
