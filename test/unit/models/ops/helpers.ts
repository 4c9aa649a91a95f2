// Shared helpers for the ops tests.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { OpError, lookupOp } from '../../../../models/ops/index.ts';
import type { OpValue, OpErrorCode } from '../../../../models/ops/index.ts';

const FIXTURES = new URL('../../../fixtures/ops/', import.meta.url);

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8'));
}

/** JSON null (how the generator writes NaN) back to NaN. */
export function f64(values: readonly (number | null)[]): Float64Array {
  return Float64Array.from(values, (v) => (v === null ? NaN : v));
}

export function signal(
  rateHz: number,
  ...channels: readonly (readonly (number | null)[] | Float64Array)[]
): OpValue {
  return {
    kind: 'signal',
    rateHz,
    channels: channels.map((c) => (c instanceof Float64Array ? c : f64(c))),
  };
}

/** Parses params and applies one op directly (fresh kernel). */
export function applyOp(key: string, params: unknown, inputs: readonly OpValue[]): OpValue {
  const [name = '', version = ''] = key.split('@');
  const op = lookupOp(name, Number(version));
  return op.apply(inputs, op.parseParams(params));
}

export function channelOf(v: OpValue, i = 0): Float64Array {
  if (v.kind !== 'signal') throw new Error(`expected signal, got ${v.kind}`);
  const c = v.channels[i];
  if (c === undefined) throw new Error(`no channel ${i}`);
  return c;
}

export function featuresOf(v: OpValue): Record<string, number> {
  if (v.kind !== 'features') throw new Error(`expected features, got ${v.kind}`);
  return Object.fromEntries(v.names.map((n, i) => [n, v.values[i] ?? NaN]));
}

/** Max |a − b| relative to max |b| (NaN must match NaN). */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  relTol: number,
  label = '',
): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i] ?? 0));
  scale = Math.max(scale, 1e-300);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] ?? NaN;
    const e = expected[i] ?? NaN;
    if (Number.isNaN(e)) {
      expect(a, `${label} [${i}] should be NaN`).toBeNaN();
      continue;
    }
    const d = Math.abs(a - e) / scale;
    if (!(d <= worst)) {
      worst = Number.isNaN(d) ? Infinity : d;
      at = i;
    }
  }
  expect(worst, `${label} worst relative error at [${at}]`).toBeLessThanOrEqual(relTol);
}

export function expectNumber(
  actual: number | undefined,
  expected: number | null,
  tol: number,
  label: string,
): void {
  if (expected === null || Number.isNaN(expected)) {
    expect(actual, `${label} should be NaN`).toBeNaN();
    return;
  }
  const scale = Math.max(1, Math.abs(expected));
  expect(
    Math.abs((actual ?? NaN) - expected) / scale,
    `${label}: ${actual} vs ${expected}`,
  ).toBeLessThanOrEqual(tol);
}

export function expectOpError(fn: () => unknown, code: OpErrorCode): OpError {
  try {
    fn();
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(OpError);
    expect((e as OpError).code, (e as OpError).message).toBe(code);
    return e as OpError;
  }
  throw new Error(`expected OpError ${code}, nothing was thrown`);
}
