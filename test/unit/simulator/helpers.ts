// Small statistics helpers for the simulator tests.
import { createHash } from 'node:crypto';

export function mean(a: ArrayLike<number>, from = 0, to = a.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i] ?? 0;
  return s / (to - from);
}

export function sd(a: ArrayLike<number>, from = 0, to = a.length): number {
  const m = mean(a, from, to);
  let v = 0;
  for (let i = from; i < to; i++) v += ((a[i] ?? 0) - m) ** 2;
  return Math.sqrt(v / (to - from));
}

export function rmssd(a: ArrayLike<number>): number {
  let v = 0;
  for (let i = 1; i < a.length; i++) v += ((a[i] ?? 0) - (a[i - 1] ?? 0)) ** 2;
  return Math.sqrt(v / (a.length - 1));
}

export function magnitude(x: Float32Array, y: Float32Array, z: Float32Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.hypot(x[i] ?? 0, y[i] ?? 0, z[i] ?? 0);
  return out;
}

export function meanVec(
  x: Float32Array,
  y: Float32Array,
  z: Float32Array,
  from: number,
  to: number,
): [number, number, number] {
  return [mean(x, from, to), mean(y, from, to), mean(z, from, to)];
}

export function angleDeg(a: readonly number[], b: readonly number[]): number {
  const dot = (a[0] ?? 0) * (b[0] ?? 0) + (a[1] ?? 0) * (b[1] ?? 0) + (a[2] ?? 0) * (b[2] ?? 0);
  const c = dot / (Math.hypot(a[0] ?? 0, a[1] ?? 0, a[2] ?? 0) * Math.hypot(b[0] ?? 0, b[1] ?? 0, b[2] ?? 0));
  return (Math.acos(Math.min(1, Math.max(-1, c))) * 180) / Math.PI;
}

export function sha256(...parts: (ArrayBufferView | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts)
    h.update(typeof p === 'string' ? p : new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex');
}

export function argMax(a: ArrayLike<number>, from: number, to: number): number {
  let best = from;
  for (let i = from; i < to; i++) if ((a[i] ?? -Infinity) > (a[best] ?? -Infinity)) best = i;
  return best;
}

/** Dominant frequency by counting upward zero crossings of a (mean-removed) signal. */
export function zeroCrossingHz(a: ArrayLike<number>, rateHz: number): number {
  const m = mean(a);
  let n = 0;
  for (let i = 1; i < a.length; i++) if ((a[i - 1] ?? 0) - m < 0 && (a[i] ?? 0) - m >= 0) n++;
  return n / (a.length / rateHz);
}
