// Fixed-bin counts that merge exactly across windows, devices and time (DESIGN.md "Drift").
//
// BIN LAYOUT (the contract with models/profile, the device and the collector — docs/statistics.md):
// given m + 1 strictly increasing finite edges e0 < e1 < … < em (m ≥ 1), a counts vector has m + 3
// entries (= edges.length + 2):
//   index 0          underflow   x < e0            (−∞ included)
//   index i (1..m)   interior    e(i−1) ≤ x < e(i)  (left-closed, right-open)
//   index m + 1      overflow    x ≥ em            (+∞ included)
//   index m + 2      NaN         x is NaN
// The "ordered" bins are indices 0..m+1 (everything but NaN); they have a position on the axis.
import { StatsError } from './errors.ts';

/** A counts vector in the layout above: number[] for JSON, Uint32Array on the device, Float64Array at the collector. */
export type BinCounts = ArrayLike<number>;
export type MutableBinCounts = { [index: number]: number; readonly length: number };

/** Number of counts for these edges: m + 3 = edges.length + 2. */
export function countsLength(edges: ArrayLike<number>): number {
  return edges.length + 2;
}

/** Index of the NaN bin (the last one). */
export function nanBinIndex(edges: ArrayLike<number>): number {
  return edges.length + 1;
}

/** Index of the overflow bin. */
export function overflowBinIndex(edges: ArrayLike<number>): number {
  return edges.length;
}

/** Throws BAD_EDGES unless there are at least two finite, strictly increasing edges. Call once per profile. */
export function assertEdges(edges: ArrayLike<number>): void {
  if (edges.length < 2) throw new StatsError('BAD_EDGES', 'need at least two bin edges');
  let previous = -Infinity;
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i] ?? Number.NaN;
    if (!Number.isFinite(e)) throw new StatsError('BAD_EDGES', `edge ${i} is not finite`);
    if (!(e > previous)) throw new StatsError('BAD_EDGES', `edge ${i} is not strictly increasing`);
    previous = e;
  }
}

/**
 * Bin of x (layout above) by binary search: O(log m), no allocation. Edges are assumed valid
 * (assertEdges once when the profile is loaded) — this is the per-window hot path.
 */
export function binIndex(edges: ArrayLike<number>, x: number): number {
  const last = edges.length - 1;
  // NaN fails every comparison, so test it first; ±∞ fall into under/overflow naturally.
  if (x !== x) return last + 2;
  if (x < (edges[0] as number)) return 0;
  if (x >= (edges[last] as number)) return last + 1;
  // Invariant: edges[lo] <= x < edges[hi].
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x >= (edges[mid] as number)) lo = mid;
    else hi = mid;
  }
  return lo + 1;
}

/** A zeroed counts vector for these edges (Uint32Array: the device's per-interval counts). */
export function createCounts(edges: ArrayLike<number>): Uint32Array {
  return new Uint32Array(countsLength(edges));
}

/** A zeroed counts vector in Float64 (exact integers up to 2^53: the collector's merged counts). */
export function createMergedCounts(edges: ArrayLike<number>): Float64Array {
  return new Float64Array(countsLength(edges));
}

/** Count one value into `counts` (in place). */
export function addValue(counts: MutableBinCounts, edges: ArrayLike<number>, x: number): void {
  const i = binIndex(edges, x);
  counts[i] = (counts[i] as number) + 1;
}

/** Count many values into `counts` (in place). */
export function addValues(
  counts: MutableBinCounts,
  edges: ArrayLike<number>,
  values: ArrayLike<number>,
): void {
  for (let k = 0; k < values.length; k++) {
    const i = binIndex(edges, values[k] as number);
    counts[i] = (counts[i] as number) + 1;
  }
}

/**
 * Count one row of a feature matrix: `row[f]` goes into `counts[f]` against `edges[f]`. This is the
 * per-window call on the device (one value per feature).
 */
export function addRow(
  counts: readonly MutableBinCounts[],
  edges: readonly ArrayLike<number>[],
  row: ArrayLike<number>,
): void {
  for (let f = 0; f < counts.length; f++) {
    const c = counts[f] as MutableBinCounts;
    const i = binIndex(edges[f] as ArrayLike<number>, row[f] as number);
    c[i] = (c[i] as number) + 1;
  }
}

function assertSameLength(a: BinCounts, b: BinCounts): void {
  if (a.length !== b.length) {
    throw new StatsError('LENGTH_MISMATCH', `counts lengths differ: ${a.length} vs ${b.length}`);
  }
}

/** Checks a counts vector for a layout: right length, finite non-negative integers. */
export function assertCounts(counts: BinCounts, edges: ArrayLike<number>): void {
  if (counts.length !== countsLength(edges)) {
    throw new StatsError(
      'LENGTH_MISMATCH',
      `expected ${countsLength(edges)} counts for ${edges.length} edges, got ${counts.length}`,
    );
  }
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as number;
    if (!(c >= 0) || !Number.isSafeInteger(c)) {
      throw new StatsError('BAD_COUNTS', `count ${i} is not a non-negative integer`);
    }
  }
}

/** target += source, element-wise (in place): merging is plain addition because the bins are fixed. */
export function addCountsInto(target: MutableBinCounts, source: BinCounts): void {
  assertSameLength(target, source);
  for (let i = 0; i < source.length; i++) target[i] = (target[i] as number) + (source[i] as number);
}

/** A new Float64Array with the element-wise sum of any number of counts vectors of one layout. */
export function mergeCounts(parts: readonly BinCounts[]): Float64Array {
  const first = parts[0];
  if (first === undefined) throw new StatsError('BAD_ARGUMENT', 'mergeCounts needs at least one vector');
  const out = new Float64Array(first.length);
  for (const part of parts) addCountsInto(out, part);
  return out;
}

/** Total count, NaN bin included. */
export function totalCount(counts: BinCounts): number {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) sum += counts[i] as number;
  return sum;
}

/** Count of the ordered bins (everything but the NaN bin). */
export function orderedCount(counts: BinCounts): number {
  return totalCount(counts) - (counts[counts.length - 1] as number);
}

/**
 * Representative point per ordered bin (m + 2 values) for Wasserstein: interior bins at their midpoint,
 * underflow at e0 − w_first/2 and overflow at em + w_last/2, where w_first and w_last are the widths
 * of the first and last interior bins — i.e. as if the tail bins were one more bin of the same width.
 */
export function representativePoints(edges: ArrayLike<number>): Float64Array {
  assertEdges(edges);
  const m = edges.length - 1;
  const points = new Float64Array(m + 2);
  const e = (i: number): number => edges[i] as number;
  for (let i = 1; i <= m; i++) points[i] = 0.5 * (e(i - 1) + e(i));
  points[0] = e(0) - 0.5 * (e(1) - e(0));
  points[m + 1] = e(m) + 0.5 * (e(m) - e(m - 1));
  return points;
}
