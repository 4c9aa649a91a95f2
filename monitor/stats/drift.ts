// Drift of one feature (or the score) in one interval: observed counts in the bin layout of bins.ts
// against the reference profile's proportions. Plain arrays in, plain numbers out, so the device (one
// interval) and the collector (merged counts) run the same code.
import { assertEdges, countsLength, representativePoints } from './bins.ts';
import type { BinCounts } from './bins.ts';
import {
  binnedKs,
  binnedWasserstein,
  chiSquareGof,
  jensenShannonDistance,
  psi,
  PSI_EPSILON,
} from './distances.ts';
import type { ChiSquareResult } from './distances.ts';
import { StatsError } from './errors.ts';
import { binomialUpperTail } from './special.ts';

/** What the reference profile supplies for one feature (plain arrays; see the layout in bins.ts). */
export interface ReferenceBins {
  /** m + 1 strictly increasing finite edges. */
  readonly edges: ArrayLike<number>;
  /** m + 3 proportions in the counts layout (NaN bin last), non-negative, summing to 1 (±1e-6). */
  readonly proportions: ArrayLike<number>;
  /**
   * Reference standard deviation of the feature (≥ 0): the Wasserstein scale. A constant reference
   * (sd = 0) makes any movement infinitely large in SD units: W1/sd is then 0 or +∞.
   */
  readonly sd: number;
  /** Optional m + 2 representative points of the ordered bins (default: representativePoints(edges)). */
  readonly points?: ArrayLike<number>;
}

/** A validated reference with the derived vectors cached (prepare once per profile, reuse per interval). */
export interface PreparedReference {
  readonly edges: Float64Array;
  /** Ordered-bin proportions (m + 2), renormalised to sum 1 without the NaN bin. */
  readonly ordered: Float64Array;
  /** Reference share of NaN. */
  readonly nanProportion: number;
  readonly points: Float64Array;
  readonly sd: number;
  /** Ordered bins with proportion > 0. */
  readonly supportBins: number;
}

const SUM_TOLERANCE = 1e-6;

export function prepareReference(reference: ReferenceBins): PreparedReference {
  assertEdges(reference.edges);
  const k = countsLength(reference.edges);
  const props = reference.proportions;
  if (props.length !== k) {
    throw new StatsError('LENGTH_MISMATCH', `expected ${k} proportions, got ${props.length}`);
  }
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const p = props[i] as number;
    if (!(p >= 0 && p <= 1)) throw new StatsError('BAD_PROPORTIONS', `proportion ${i} is not in [0, 1]`);
    sum += p;
  }
  if (Math.abs(sum - 1) > SUM_TOLERANCE) throw new StatsError('BAD_PROPORTIONS', `proportions sum to ${sum}`);
  const nanProportion = (props[k - 1] as number) / sum;
  if (!(nanProportion < 1)) throw new StatsError('BAD_PROPORTIONS', 'reference is all NaN');
  if (!(reference.sd >= 0) || !Number.isFinite(reference.sd)) {
    throw new StatsError('BAD_ARGUMENT', 'reference sd must be finite and >= 0');
  }
  const ordered = new Float64Array(k - 1);
  let orderedSum = 0;
  for (let i = 0; i < k - 1; i++) orderedSum += props[i] as number;
  let supportBins = 0;
  for (let i = 0; i < k - 1; i++) {
    ordered[i] = (props[i] as number) / orderedSum;
    if ((ordered[i] as number) > 0) supportBins++;
  }
  const points =
    reference.points === undefined
      ? representativePoints(reference.edges)
      : Float64Array.from(reference.points);
  if (points.length !== k - 1) {
    throw new StatsError('LENGTH_MISMATCH', `expected ${k - 1} representative points, got ${points.length}`);
  }
  for (let i = 0; i < points.length; i++) {
    const x = points[i] as number;
    if (!Number.isFinite(x) || (i > 0 && !(x > (points[i - 1] as number)))) {
      throw new StatsError('BAD_ARGUMENT', 'representative points must be finite and strictly increasing');
    }
  }
  return Object.freeze({
    edges: Float64Array.from(reference.edges),
    ordered,
    nanProportion,
    points,
    sd: reference.sd,
    supportBins,
  });
}

/** Wasserstein-1 of ordered-bin counts against the reference, in reference SDs (0/+∞ when sd = 0). */
export function normalisedWasserstein(
  orderedCounts: ArrayLike<number>,
  reference: PreparedReference,
): number {
  const w = binnedWasserstein(orderedCounts, reference.ordered, reference.points);
  if (reference.sd > 0) return w / reference.sd;
  return w === 0 ? 0 : Infinity;
}

export interface Missingness {
  readonly nanCount: number;
  readonly total: number;
  readonly observedRate: number;
  readonly referenceRate: number;
  /** One-sided exact binomial P(X ≥ nanCount | total, referenceRate): more NaN than the reference. */
  readonly pValue: number;
}

export type DriftStatistics =
  /** No ordered observation in the interval (possibly some NaN): nothing to compare. */
  | { readonly kind: 'empty'; readonly missingness: Missingness }
  | {
      readonly kind: 'computed';
      /** Observations in the ordered bins (NaN excluded): the n of every threshold. */
      readonly n: number;
      readonly psi: number;
      readonly js: number;
      readonly ks: number;
      /** Wasserstein-1 on the representative points, divided by the reference SD. */
      readonly wasserstein: number;
      readonly chi2: ChiSquareResult;
      readonly missingness: Missingness;
    };

function missingness(nanCount: number, total: number, referenceRate: number): Missingness {
  return {
    nanCount,
    total,
    observedRate: total > 0 ? nanCount / total : 0,
    referenceRate,
    pValue: binomialUpperTail(nanCount, total, referenceRate),
  };
}

/**
 * All drift statistics of `counts` (m + 3, layout of bins.ts) against a prepared reference. PSI, JS,
 * KS, Wasserstein and χ² use the ordered bins only; NaN is tested on its own (missingness).
 */
export function driftStatistics(
  counts: BinCounts,
  reference: PreparedReference,
  epsilon: number = PSI_EPSILON,
): DriftStatistics {
  const k = reference.edges.length + 2;
  if (counts.length !== k)
    throw new StatsError('LENGTH_MISMATCH', `expected ${k} counts, got ${counts.length}`);
  let total = 0;
  for (let i = 0; i < k; i++) {
    const c = counts[i] as number;
    if (!(c >= 0) || !Number.isSafeInteger(c)) throw new StatsError('BAD_COUNTS', `count ${i} is invalid`);
    total += c;
  }
  const nanCount = counts[k - 1] as number;
  const miss = missingness(nanCount, total, reference.nanProportion);
  const n = total - nanCount;
  if (n === 0) return { kind: 'empty', missingness: miss };
  const ordered = new Float64Array(k - 1);
  for (let i = 0; i < k - 1; i++) ordered[i] = counts[i] as number;
  return {
    kind: 'computed',
    n,
    psi: psi(ordered, reference.ordered, epsilon),
    js: jensenShannonDistance(ordered, reference.ordered),
    ks: binnedKs(ordered, reference.ordered),
    wasserstein: normalisedWasserstein(ordered, reference),
    chi2: chiSquareGof(ordered, reference.ordered),
    missingness: miss,
  };
}
