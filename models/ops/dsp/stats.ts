// Small descriptive statistics over Float64Array ranges. NaN in, NaN out (no silent skipping):
// callers that must skip invalid values do so explicitly.

export function mean(x: Float64Array, start = 0, end = x.length): number {
  const n = end - start;
  if (n <= 0) return NaN;
  let s = 0;
  for (let i = start; i < end; i++) s += x[i] ?? 0;
  return s / n;
}

/**
 * Excess (Fisher) kurtosis, biased estimator m4/m2² − 3 (scipy.stats.kurtosis defaults).
 * NaN when the variance is zero relative to the mean (as SciPy).
 */
export function kurtosis(x: Float64Array): number {
  const n = x.length;
  if (n === 0) return NaN;
  const m = mean(x);
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = (x[i] ?? 0) - m;
    const d2 = d * d;
    m2 += d2;
    m4 += d2 * d2;
  }
  m2 /= n;
  m4 /= n;
  const tiny = (Number.EPSILON * Math.abs(m)) ** 2;
  if (!(m2 > tiny)) return NaN;
  return m4 / (m2 * m2) - 3;
}

/** Median of the finite values in x (copy, sort); NaN if none. */
export function medianOf(x: ArrayLike<number>): number {
  const v: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const e = x[i] ?? NaN;
    if (Number.isFinite(e)) v.push(e);
  }
  if (v.length === 0) return NaN;
  v.sort((a, b) => a - b);
  const h = v.length >> 1;
  return v.length % 2 === 1 ? (v[h] ?? NaN) : ((v[h - 1] ?? NaN) + (v[h] ?? NaN)) / 2;
}

/**
 * Centred moving average of odd width w (edges average over the samples that exist), via a
 * running sum: out[i] = mean(x[i − h .. i + h] ∩ [0, n)), h = (w − 1)/2.
 */
export function movingAverage(x: Float64Array, w: number, out: Float64Array): void {
  const n = x.length;
  const h = (w - 1) >> 1;
  let sum = 0;
  let lo = 0; // window is [lo, hi)
  let hi = 0;
  for (let i = 0; i < n; i++) {
    const wantHi = Math.min(n, i + h + 1);
    while (hi < wantHi) sum += x[hi++] ?? 0;
    const wantLo = Math.max(0, i - h);
    while (lo < wantLo) sum -= x[lo++] ?? 0;
    out[i] = sum / (hi - lo);
  }
}
