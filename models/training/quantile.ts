// Sample quantiles by linear interpolation between order statistics: Hyndman & Fan (1996)
// definition 7, the default of R `quantile` and numpy `quantile(method='linear')`.

/** Non-NaN values of `values`, sorted ascending (−0 and 0 compare equal; order between them is irrelevant). */
export function sortedFinite(values: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== undefined && !Number.isNaN(v)) out.push(v);
  }
  return Float64Array.from(out).sort();
}

/** Quantile q ∈ [0, 1] of an ascending, non-empty array (definition 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0 || !(q >= 0 && q <= 1)) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[hi] ?? Number.NaN;
  const frac = h - lo;
  return frac === 0 ? a : a + frac * (b - a);
}
