// Field-by-field reading of `unknown` (decoded CBOR or JSON) into typed values. Every read names the
// field's path in its error, and `done()` rejects any field nobody read (unknown fields are errors).

export type FieldFailure = (path: string, message: string) => never;

export interface NumberRange {
  readonly min?: number;
  readonly max?: number;
  /** Exclusive lower bound. */
  readonly above?: number;
}

export class Fields {
  private readonly seen = new Set<string>();

  private constructor(
    private readonly record: Readonly<Record<string, unknown>>,
    readonly path: string,
    private readonly fail: FieldFailure,
  ) {}

  static of(value: unknown, path: string, fail: FieldFailure): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
      return fail(path, 'must be a map of named fields');
    }
    if (value instanceof Map) return fail(path, 'must be a map with text keys');
    return new Fields(value as Record<string, unknown>, path, fail);
  }

  at(key: string): string {
    return `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.record, key);
  }

  /** The raw value of a field; `undefined` when absent. Marks it as read. */
  raw(key: string): unknown {
    this.seen.add(key);
    return Object.hasOwn(this.record, key) ? this.record[key] : undefined;
  }

  required(key: string): unknown {
    const value = this.raw(key);
    if (value === undefined) return this.fail(this.at(key), 'is missing');
    return value;
  }

  string(key: string, options: { min?: number; max?: number; pattern?: RegExp; what?: string } = {}): string {
    return readString(this.required(key), this.at(key), this.fail, options);
  }

  number(key: string, range: NumberRange = {}): number {
    return readNumber(this.required(key), this.at(key), this.fail, range);
  }

  integer(key: string, range: NumberRange = {}): number {
    return readInteger(this.required(key), this.at(key), this.fail, range);
  }

  boolean(key: string): boolean {
    const value = this.required(key);
    if (typeof value !== 'boolean') return this.fail(this.at(key), 'must be true or false');
    return value;
  }

  literal<T extends string | number>(key: string, allowed: readonly T[]): T {
    const value = this.required(key);
    const found = allowed.find((a) => a === value);
    if (found === undefined) {
      return this.fail(this.at(key), `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return found;
  }

  /** A field that must be present and may be null. */
  nullable<T>(key: string, read: (value: unknown, path: string) => T): T | null {
    const value = this.required(key);
    return value === null ? null : read(value, this.at(key));
  }

  /** A field that may be absent. */
  optional<T>(key: string, read: (value: unknown, path: string) => T): T | undefined {
    const value = this.raw(key);
    return value === undefined ? undefined : read(value, this.at(key));
  }

  object<T>(key: string, read: (fields: Fields) => T): T {
    const fields = Fields.of(this.required(key), this.at(key), this.fail);
    const out = read(fields);
    fields.done();
    return out;
  }

  array<T>(
    key: string,
    limits: { min?: number; max: number },
    read: (value: unknown, path: string) => T,
  ): T[] {
    return readArray(this.required(key), this.at(key), this.fail, limits, read);
  }

  /** Names of fields present but never read. */
  unread(): string[] {
    return Object.keys(this.record).filter((k) => !this.seen.has(k));
  }

  /** Rejects fields nobody read. */
  done(): void {
    const extra = this.unread();
    if (extra.length > 0) this.fail(this.at(extra[0] ?? ''), 'is not a known field');
  }
}

export function readString(
  value: unknown,
  path: string,
  fail: FieldFailure,
  options: { min?: number; max?: number; pattern?: RegExp; what?: string } = {},
): string {
  const min = options.min ?? 1;
  const max = options.max ?? 256;
  if (typeof value !== 'string') return fail(path, 'must be text');
  if (value.length < min || value.length > max) return fail(path, `must be ${min}–${max} characters long`);
  if (options.pattern && !options.pattern.test(value)) {
    return fail(path, `must be ${options.what ?? `text matching ${String(options.pattern)}`}`);
  }
  return value;
}

export function readNumber(
  value: unknown,
  path: string,
  fail: FieldFailure,
  range: NumberRange = {},
): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fail(path, 'must be a finite number');
  if (range.min !== undefined && value < range.min) return fail(path, `must be at least ${range.min}`);
  if (range.above !== undefined && value <= range.above)
    return fail(path, `must be greater than ${range.above}`);
  if (range.max !== undefined && value > range.max) return fail(path, `must be at most ${range.max}`);
  return value;
}

export function readInteger(
  value: unknown,
  path: string,
  fail: FieldFailure,
  range: NumberRange = {},
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return fail(path, 'must be an integer');
  return readNumber(value, path, fail, { min: 0, ...range });
}

export function readArray<T>(
  value: unknown,
  path: string,
  fail: FieldFailure,
  limits: { min?: number; max: number },
  read: (value: unknown, path: string) => T,
): T[] {
  if (!Array.isArray(value)) return fail(path, 'must be a list');
  const items = value as unknown[];
  const min = limits.min ?? 0;
  if (items.length < min || items.length > limits.max) {
    return fail(path, `must have ${min}–${limits.max} entries, not ${items.length}`);
  }
  return items.map((item, i) => read(item, `${path}[${i}]`));
}

export const HEX_SHA256 = /^[0-9a-f]{64}$/;
