// Declarative op parameters, parsed from `unknown` field by field (they come from a signed but
// untrusted manifest). Unknown keys are rejected: a typo in a clinical parameter must never be
// silently ignored. Defaults are part of an op's versioned definition (a new default = a new version).
import { OpError } from './types.ts';
import type { ParamDoc } from './types.ts';

export interface Field<T> {
  readonly doc: Omit<ParamDoc, 'name'>;
  /** `where` names the field in messages, e.g. `butter_lowpass@1 params.cutoffHz`. */
  parse(raw: unknown, where: string): T;
}

export type ParamSpec = Readonly<Record<string, Field<unknown>>>;
export type Parsed<S extends ParamSpec> = {
  readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never;
};

const MAX_LIST = 64;

function bad(where: string, message: string): never {
  throw new OpError('BAD_PARAMS', `${where} ${message}`);
}

/** Short, safe rendering of an offending value (never echoes long strings). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  switch (typeof v) {
    case 'number':
      return String(v);
    case 'string':
      return v.length <= 24 ? JSON.stringify(v) : `a string of length ${v.length}`;
    case 'boolean':
      return String(v);
    case 'undefined':
      return 'undefined';
    case 'bigint':
      return 'a bigint';
    case 'object':
      return 'an object';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return 'a value';
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

interface NumberOptions {
  readonly description: string;
  readonly unit?: string;
  readonly default?: number;
  /** Inclusive bounds. */
  readonly min?: number;
  readonly max?: number;
  /** Exclusive bounds. */
  readonly gt?: number;
  readonly lt?: number;
}

function rangeText(o: NumberOptions): string {
  const lo = o.gt !== undefined ? `> ${o.gt}` : o.min !== undefined ? `>= ${o.min}` : null;
  const hi = o.lt !== undefined ? `< ${o.lt}` : o.max !== undefined ? `<= ${o.max}` : null;
  return [lo, hi].filter((s) => s !== null).join(' and ');
}

function checkRange(v: number, o: NumberOptions, where: string, what: string): number {
  const ok =
    (o.min === undefined || v >= o.min) &&
    (o.max === undefined || v <= o.max) &&
    (o.gt === undefined || v > o.gt) &&
    (o.lt === undefined || v < o.lt);
  if (!ok) bad(where, `must be ${what} ${rangeText(o)}, got ${describeValue(v)}`);
  return v;
}

/** A finite number (JSON/CBOR float or integer). */
export function num(o: NumberOptions): Field<number> {
  return {
    doc: {
      type: `number${rangeText(o) === '' ? '' : ` (${rangeText(o)})`}`,
      unit: o.unit ?? null,
      default: o.default === undefined ? null : JSON.stringify(o.default),
      description: o.description,
    },
    parse(raw, where) {
      if (raw === undefined) {
        if (o.default === undefined) bad(where, 'is required');
        return o.default;
      }
      if (typeof raw !== 'number' || !Number.isFinite(raw)) {
        bad(where, `must be a finite number, got ${describeValue(raw)}`);
      }
      return checkRange(raw, o, where, 'a number');
    },
  };
}

interface IntOptions extends NumberOptions {
  readonly parity?: 'odd' | 'even';
}

export function int(o: IntOptions): Field<number> {
  const parity = o.parity === undefined ? '' : `, ${o.parity}`;
  return {
    doc: {
      type: `integer${rangeText(o) === '' ? '' : ` (${rangeText(o)}${parity})`}`,
      unit: o.unit ?? null,
      default: o.default === undefined ? null : JSON.stringify(o.default),
      description: o.description,
    },
    parse(raw, where) {
      if (raw === undefined) {
        if (o.default === undefined) bad(where, 'is required');
        return o.default;
      }
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) {
        bad(where, `must be an integer, got ${describeValue(raw)}`);
      }
      checkRange(raw, o, where, 'an integer');
      if (o.parity === 'odd' && raw % 2 === 0) bad(where, `must be odd, got ${raw}`);
      if (o.parity === 'even' && raw % 2 !== 0) bad(where, `must be even, got ${raw}`);
      return raw;
    },
  };
}

export function bool(o: { readonly description: string; readonly default: boolean }): Field<boolean> {
  return {
    doc: { type: 'boolean', unit: null, default: JSON.stringify(o.default), description: o.description },
    parse(raw, where) {
      if (raw === undefined) return o.default;
      if (typeof raw !== 'boolean') bad(where, `must be true or false, got ${describeValue(raw)}`);
      return raw;
    },
  };
}

export function oneOf<const T extends string>(
  values: readonly T[],
  o: { readonly description: string; readonly default?: T },
): Field<T> {
  const list = values.map((v) => JSON.stringify(v)).join(' | ');
  return {
    doc: {
      type: list,
      unit: null,
      default: o.default === undefined ? null : JSON.stringify(o.default),
      description: o.description,
    },
    parse(raw, where) {
      if (raw === undefined) {
        if (o.default === undefined) bad(where, 'is required');
        return o.default;
      }
      const found = values.find((v) => v === raw);
      if (found === undefined) bad(where, `must be one of ${list}, got ${describeValue(raw)}`);
      return found;
    },
  };
}

export function intList(o: {
  readonly description: string;
  readonly min: number;
  readonly max: number;
  readonly minItems: number;
  readonly maxItems: number;
  readonly default?: readonly number[];
}): Field<readonly number[]> {
  return {
    doc: {
      type: `integer[] (${o.minItems}..${o.maxItems} items, each ${o.min}..${o.max})`,
      unit: null,
      default: o.default === undefined ? null : JSON.stringify(o.default),
      description: o.description,
    },
    parse(raw, where) {
      if (raw === undefined) {
        if (o.default === undefined) bad(where, 'is required');
        return o.default;
      }
      if (!Array.isArray(raw)) bad(where, `must be an array of integers, got ${describeValue(raw)}`);
      const items: readonly unknown[] = raw;
      if (items.length < o.minItems || items.length > Math.min(o.maxItems, MAX_LIST)) {
        bad(where, `must have ${o.minItems}..${o.maxItems} items, got ${items.length}`);
      }
      return Object.freeze(
        items.map((v, i) => {
          if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < o.min || v > o.max) {
            bad(`${where}[${i}]`, `must be an integer in ${o.min}..${o.max}, got ${describeValue(v)}`);
          }
          return v;
        }),
      );
    },
  };
}

const NAME_RE = /^[a-z][a-z0-9_]{0,63}$/;

export function nameList(o: {
  readonly description: string;
  readonly minItems: number;
  readonly maxItems: number;
}): Field<readonly string[]> {
  return {
    doc: {
      type: `string[] (${o.minItems}..${o.maxItems} distinct names matching ${NAME_RE.source})`,
      unit: null,
      default: null,
      description: o.description,
    },
    parse(raw, where) {
      if (raw === undefined) bad(where, 'is required');
      if (!Array.isArray(raw)) bad(where, `must be an array of names, got ${describeValue(raw)}`);
      const items: readonly unknown[] = raw;
      if (items.length < o.minItems || items.length > Math.min(o.maxItems, MAX_LIST * 4)) {
        bad(where, `must have ${o.minItems}..${o.maxItems} items, got ${items.length}`);
      }
      const seen = new Set<string>();
      return Object.freeze(
        items.map((v, i) => {
          if (typeof v !== 'string' || !NAME_RE.test(v)) {
            bad(`${where}[${i}]`, `must be a name matching ${NAME_RE.source}, got ${describeValue(v)}`);
          }
          if (seen.has(v)) bad(`${where}[${i}]`, `repeats ${JSON.stringify(v)}`);
          seen.add(v);
          return v;
        }),
      );
    },
  };
}

/** Parses a params object against a spec; `opKey` prefixes every message. */
export function parseWith<S extends ParamSpec>(spec: S, raw: unknown, opKey: string): Parsed<S> {
  const where = `${opKey} params`;
  if (raw === undefined || raw === null) raw = {};
  if (!isPlainObject(raw)) bad(where, `must be an object, got ${describeValue(raw)}`);
  const known = Object.keys(spec);
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(spec, key)) {
      bad(
        where,
        `has unknown parameter ${describeValue(key)} (known: ${known.length === 0 ? 'none' : known.join(', ')})`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of known) {
    const field = spec[key];
    if (field === undefined) continue;
    out[key] = field.parse(Object.hasOwn(raw, key) ? raw[key] : undefined, `${where}.${key}`);
  }
  return Object.freeze(out) as Parsed<S>;
}

export function docsOf(spec: ParamSpec): readonly ParamDoc[] {
  return Object.freeze(Object.entries(spec).map(([name, field]) => Object.freeze({ name, ...field.doc })));
}

export function paramsFail(opKey: string, message: string): never {
  throw new OpError('BAD_PARAMS', `${opKey} params: ${message}`);
}
