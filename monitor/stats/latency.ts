// Latency histogram with fixed log-spaced bins in the layout of bins.ts (so it merges by addition like
// every other count vector) and a percentile estimate from it.
import { StatsError } from './errors.ts';

export interface LatencyBinsSpec {
  /** Lower edge of the first interior bin (> 0). */
  readonly minMs: number;
  /** Upper edge of the last interior bin: minMs·10^k for an integer k ≥ 1. */
  readonly maxMs: number;
  readonly binsPerDecade: number;
}

/** 10 µs … 10 s, 10 bins per decade: 60 interior bins, ≤ 26 % relative width per bin. */
export const DEFAULT_LATENCY_BINS: LatencyBinsSpec = Object.freeze({
  minMs: 0.01,
  maxMs: 10_000,
  binsPerDecade: 10,
});

/**
 * Edges minMs·10^(i/binsPerDecade), rounded to 6 significant digits so that every platform (device,
 * collector, browser) derives the very same numbers from the spec.
 */
export function latencyEdges(spec: LatencyBinsSpec = DEFAULT_LATENCY_BINS): Float64Array {
  const { minMs, maxMs, binsPerDecade } = spec;
  if (!(minMs > 0) || !Number.isFinite(maxMs) || !(maxMs > minMs)) {
    throw new StatsError('BAD_ARGUMENT', 'need 0 < minMs < maxMs < ∞');
  }
  if (!Number.isInteger(binsPerDecade) || binsPerDecade < 1 || binsPerDecade > 100) {
    throw new StatsError('BAD_ARGUMENT', 'binsPerDecade must be an integer in [1, 100]');
  }
  const decades = Math.log10(maxMs / minMs);
  if (Math.abs(decades - Math.round(decades)) > 1e-9) {
    throw new StatsError('BAD_ARGUMENT', 'maxMs / minMs must be a power of 10');
  }
  const count = Math.round(decades) * binsPerDecade;
  const edges = new Float64Array(count + 1);
  for (let i = 0; i <= count; i++)
    edges[i] = Number((minMs * Math.pow(10, i / binsPerDecade)).toPrecision(6));
  return edges;
}

export type LatencyQuantile =
  | { readonly kind: 'empty' }
  /** The quantile falls in the underflow bin: below the first edge. */
  | { readonly kind: 'below'; readonly ms: number }
  /** The quantile falls in the overflow bin: at or above the last edge. */
  | { readonly kind: 'above'; readonly ms: number }
  | { readonly kind: 'value'; readonly ms: number };

/**
 * The q-quantile (0 ≤ q ≤ 1) of the latencies counted in `counts` (layout of bins.ts; NaN ignored):
 * the bin holding rank q·N, interpolated geometrically inside it (uniform in log-latency), so the
 * error is at most one bin's ratio (10^(1/binsPerDecade)).
 */
export function latencyQuantile(
  edges: ArrayLike<number>,
  counts: ArrayLike<number>,
  q: number,
): LatencyQuantile {
  if (!(q >= 0 && q <= 1)) throw new StatsError('BAD_ARGUMENT', `quantile must be in [0, 1], got ${q}`);
  const m = edges.length - 1;
  if (counts.length !== m + 3) throw new StatsError('LENGTH_MISMATCH', `expected ${m + 3} counts`);
  let total = 0;
  for (let i = 0; i <= m + 1; i++) total += counts[i] as number;
  if (total === 0) return { kind: 'empty' };
  const target = q * total;
  let before = 0;
  for (let i = 0; i <= m + 1; i++) {
    const c = counts[i] as number;
    if (c === 0) continue;
    if (before + c >= target) {
      if (i === 0) return { kind: 'below', ms: edges[0] as number };
      if (i === m + 1) return { kind: 'above', ms: edges[m] as number };
      const lo = edges[i - 1] as number;
      const hi = edges[i] as number;
      const fraction = Math.min(1, Math.max(0, (target - before) / c));
      return { kind: 'value', ms: lo * Math.pow(hi / lo, fraction) };
    }
    before += c;
  }
  return { kind: 'above', ms: edges[m] as number };
}
