// Compact count vectors ("cvec", docs/telemetry-reports.md): [length, offset, v_offset, …, v_last].
// Everything outside [offset, offset + values) is zero; the first and last carried values are
// non-zero, and an all-zero vector is just [length]. Reference-bin counts usually have empty tails
// and latency histograms occupy a few adjacent bins, so this drops most zeros and keeps the encoding
// unique (decode → encode gives the same bytes).
import type { CborValue } from '../../models/format/index.ts';
import { ReportError } from './errors.ts';

export function encodeVector(values: ArrayLike<number>, path: string): CborValue[] {
  let first = -1;
  let last = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new ReportError('BAD_INPUT', `entry ${i} is not a non-negative integer`, path);
    }
    if (v !== 0) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first < 0) return [values.length];
  const out: CborValue[] = [values.length, first];
  for (let i = first; i <= last; i++) out.push(values[i] as number);
  return out;
}

function fail(path: string, message: string): never {
  throw new ReportError('BAD_FIELD', message, path);
}

function uint(value: CborValue | undefined, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    return fail(path, 'must be an unsigned integer');
  }
  return value;
}

/** Decodes a cvec into a dense array, checking the length cap and the canonical form. */
export function decodeVector(value: CborValue | undefined, path: string, maxLength: number): number[] {
  if (!Array.isArray(value) || value.length < 1) return fail(path, 'must be a count vector [length, …]');
  const items = value as readonly CborValue[];
  const length = uint(items[0], `${path}[0]`);
  if (length > maxLength) return fail(path, `length ${length} exceeds the cap of ${maxLength}`);
  const dense = new Array<number>(length).fill(0);
  if (items.length === 1) return dense;
  if (items.length === 2) return fail(path, 'an offset without values (all-zero vectors are [length])');
  const offset = uint(items[1], `${path}[1]`);
  const carried = items.length - 2;
  if (offset + carried > length) return fail(path, 'values run past the declared length');
  for (let k = 0; k < carried; k++) dense[offset + k] = uint(items[k + 2], `${path}[${k + 2}]`);
  if (dense[offset] === 0 || dense[offset + carried - 1] === 0) {
    return fail(path, 'the first and last carried values must be non-zero (trimmed form)');
  }
  return dense;
}

export function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
