// The binning rule shared by the build, the device and the collector.
//
// Edges e₀ < e₁ < … < e_m (m ≥ 1, finite). A counts vector has m + 3 entries:
//   index 0        underflow  x < e₀                       (−∞ included)
//   index i, 1..m  interior   e_{i−1} ≤ x < e_i            (left-closed, right-open)
//   index m + 1    overflow   x ≥ e_m                      (+∞ included)
//   index m + 2    NaN        x is NaN
// A value equal to an edge belongs to the bin that starts at that edge. −0 and +0 are equal.
// This is the same layout as monitor/stats/bins.ts (tested against it).
//
// Reference edges: e₀ = reference minimum, then the type-7 quantiles at k/B (k = 1 … B−1), then
// e_m = the smallest double above the reference maximum, all deduplicated to strictly increasing
// (ties in the data merge bins, so m ≤ B). The reference data itself therefore has empty under- and
// overflow bins, and a field value lands there exactly when it leaves the reference support.
import { quantileSorted, sortedFinite } from '../training/index.ts';
import { ProfileError } from './errors.ts';

/** Bin of x in the layout above, by binary search (edges assumed valid: see checkEdges). */
export function binIndex(edges: ArrayLike<number>, x: number): number {
  const last = edges.length - 1;
  if (Number.isNaN(x)) return last + 2;
  if (x < (edges[0] ?? Number.NaN)) return 0;
  if (x >= (edges[last] ?? Number.NaN)) return last + 1;
  // Invariant: edges[lo] ≤ x < edges[hi].
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x >= (edges[mid] ?? Number.NaN)) lo = mid;
    else hi = mid;
  }
  return lo + 1;
}

/** m + 3 for m + 1 edges. */
export function countsLength(edges: ArrayLike<number>): number {
  return edges.length + 2;
}

/** True when there are ≥ 2 finite, strictly increasing edges. */
export function edgesAreValid(edges: ArrayLike<number>): boolean {
  if (edges.length < 2) return false;
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i] ?? Number.NaN;
    if (!Number.isFinite(e) || !(e > previous)) return false;
    previous = e;
  }
  return true;
}

/** Counts of `values` in the layout above. */
export function binCounts(edges: ArrayLike<number>, values: ArrayLike<number>): number[] {
  const counts = new Array<number>(countsLength(edges)).fill(0);
  for (let i = 0; i < values.length; i++) {
    const b = binIndex(edges, values[i] ?? Number.NaN);
    counts[b] = (counts[b] ?? 0) + 1;
  }
  return counts;
}

const scratch = new DataView(new ArrayBuffer(8));

/** The smallest double greater than x (x finite). */
export function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  scratch.setFloat64(0, x);
  const bits = scratch.getBigUint64(0);
  scratch.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return scratch.getFloat64(0);
}

/** Reference edges for `values` (NaN ignored) with `interiorBins` quantile bins (see the top). */
export function quantileEdges(values: ArrayLike<number>, interiorBins: number): number[] {
  if (!Number.isSafeInteger(interiorBins) || interiorBins < 1 || interiorBins > 1000) {
    throw new ProfileError('BAD_OPTION', `interiorBins ${interiorBins} not in [1, 1000]`);
  }
  const sorted = sortedFinite(values);
  if (sorted.length === 0) throw new ProfileError('DEGENERATE', 'no non-NaN reference value');
  const min = sorted[0] ?? Number.NaN;
  const max = sorted[sorted.length - 1] ?? Number.NaN;
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new ProfileError('BAD_INPUT', 'reference values must be finite or NaN');
  }
  const top = nextUp(max);
  if (!Number.isFinite(top)) throw new ProfileError('BAD_INPUT', 'reference maximum is the largest double');
  const candidates = [min];
  for (let k = 1; k < interiorBins; k++) candidates.push(quantileSorted(sorted, k / interiorBins));
  candidates.push(top);
  const edges: number[] = [];
  for (const c of candidates) {
    const e = c + 0; // −0 → +0 (canonical form)
    if (edges.length === 0 || e > (edges[edges.length - 1] ?? Number.NaN)) edges.push(e);
  }
  return edges;
}

/** Edges ∪ extra, sorted and strictly increasing (extra values must be finite; −0 becomes 0). */
export function mergeEdges(edges: readonly number[], extra: readonly number[]): number[] {
  for (const e of extra) {
    if (!Number.isFinite(e)) throw new ProfileError('BAD_OPTION', `extra edge ${e} is not finite`);
  }
  const all = [...edges, ...extra].map((e) => e + 0).sort((a, b) => a - b);
  const out: number[] = [];
  for (const e of all) if (out.length === 0 || e > (out[out.length - 1] ?? Number.NaN)) out.push(e);
  return out;
}
