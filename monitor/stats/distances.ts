// Distances between two binned distributions given as non-negative weight vectors of equal length
// (counts or proportions; each is normalised to sum 1 here). These are the building blocks the drift
// statistics use on the ORDERED bins (underflow, interior…, overflow); the NaN bin never enters them
// (docs/statistics.md "Which bins count").
import { StatsError } from './errors.ts';
import { chi2Sf } from './special.ts';

/**
 * Zero-bin rule for PSI: ε is added to every proportion of BOTH distributions, which are then divided
 * by (1 + Kε) so they still sum to 1. Why this rule: it does not depend on n (device and collector get
 * the same value from the same counts), a bin empty in both distributions contributes exactly 0 (so
 * empty reference tails cost nothing under H0, whatever n), a bin empty on one side costs at most
 * q·ln(q/ε) instead of ∞, and bins with p ≫ ε move by a relative ε/p (≤ 0.1 % for p ≥ 0.1), so the
 * χ² asymptotics of n·PSI are untouched. Laplace smoothing of counts was rejected: its bias depends on
 * n, which would make the same drift read differently on a device and at the collector.
 */
export const PSI_EPSILON = 1e-4;

function weightTotal(w: ArrayLike<number>, what: string): number {
  let total = 0;
  for (let i = 0; i < w.length; i++) {
    const x = w[i] as number;
    if (!(x >= 0) || x === Infinity)
      throw new StatsError('BAD_COUNTS', `${what}[${i}] is not finite and >= 0`);
    total += x;
  }
  return total;
}

function totals(observed: ArrayLike<number>, reference: ArrayLike<number>): [number, number] {
  if (observed.length !== reference.length) {
    throw new StatsError('LENGTH_MISMATCH', `lengths differ: ${observed.length} vs ${reference.length}`);
  }
  if (observed.length < 1) throw new StatsError('LENGTH_MISMATCH', 'no bins');
  const qt = weightTotal(observed, 'observed');
  const pt = weightTotal(reference, 'reference');
  if (qt === 0) throw new StatsError('EMPTY_SAMPLE', 'observed distribution has no mass');
  if (pt === 0) throw new StatsError('BAD_PROPORTIONS', 'reference distribution has no mass');
  return [qt, pt];
}

/** Population stability index Σ (q̃ − p̃) ln(q̃ / p̃) with the ε rule above (natural log). */
export function psi(
  observed: ArrayLike<number>,
  reference: ArrayLike<number>,
  epsilon = PSI_EPSILON,
): number {
  if (!(epsilon > 0 && epsilon < 1)) throw new StatsError('BAD_ARGUMENT', 'PSI epsilon must be in (0, 1)');
  const [qt, pt] = totals(observed, reference);
  const norm = 1 + observed.length * epsilon;
  let sum = 0;
  for (let i = 0; i < observed.length; i++) {
    const q = ((observed[i] as number) / qt + epsilon) / norm;
    const p = ((reference[i] as number) / pt + epsilon) / norm;
    sum += (q - p) * Math.log(q / p);
  }
  return sum;
}

/** Jensen–Shannon distance in base 2: √JSD, in [0, 1]. No smoothing needed (0·log 0 = 0). */
export function jensenShannonDistance(observed: ArrayLike<number>, reference: ArrayLike<number>): number {
  const [qt, pt] = totals(observed, reference);
  let sum = 0;
  for (let i = 0; i < observed.length; i++) {
    const q = (observed[i] as number) / qt;
    const p = (reference[i] as number) / pt;
    const m = 0.5 * (q + p);
    if (q > 0) sum += q * Math.log(q / m);
    if (p > 0) sum += p * Math.log(p / m);
  }
  const jsd = (0.5 * sum) / Math.LN2;
  return Math.sqrt(Math.min(1, Math.max(0, jsd)));
}

/**
 * Binned Kolmogorov–Smirnov: max over the K − 1 inner bin boundaries of |Q(j) − P(j)|, where Q and P
 * are the cumulative proportions. Bins must be in axis order. It equals the continuous KS statistic
 * evaluated only at the bin edges, hence a lower bound of it.
 */
export function binnedKs(observed: ArrayLike<number>, reference: ArrayLike<number>): number {
  const [qt, pt] = totals(observed, reference);
  let cq = 0;
  let cp = 0;
  let max = 0;
  for (let i = 0; i < observed.length - 1; i++) {
    cq += (observed[i] as number) / qt;
    cp += (reference[i] as number) / pt;
    const d = Math.abs(cq - cp);
    if (d > max) max = d;
  }
  return max;
}

/**
 * Wasserstein-1 between the two distributions placed on `points` (one per bin, strictly increasing):
 * Σ_j |Q(j) − P(j)| (x(j+1) − x(j)). Same units as the points; callers divide by the reference SD.
 */
export function binnedWasserstein(
  observed: ArrayLike<number>,
  reference: ArrayLike<number>,
  points: ArrayLike<number>,
): number {
  const [qt, pt] = totals(observed, reference);
  if (points.length !== observed.length) {
    throw new StatsError('LENGTH_MISMATCH', `${points.length} points for ${observed.length} bins`);
  }
  let cq = 0;
  let cp = 0;
  let sum = 0;
  for (let i = 0; i < observed.length - 1; i++) {
    cq += (observed[i] as number) / qt;
    cp += (reference[i] as number) / pt;
    const gap = (points[i + 1] as number) - (points[i] as number);
    if (!(gap > 0)) throw new StatsError('BAD_ARGUMENT', 'representative points must be strictly increasing');
    sum += Math.abs(cq - cp) * gap;
  }
  return sum;
}

export interface ChiSquareResult {
  /** Pearson statistic Σ (O − E)² / E over the reference support. */
  readonly statistic: number;
  /** Degrees of freedom: bins with reference proportion > 0, minus 1. */
  readonly df: number;
  /** Asymptotic p-value P(χ²(df) > statistic); 1 when df = 0. */
  readonly pValue: number;
  /** Observations inside the reference support (the n the test used). */
  readonly n: number;
  /** Observations in bins whose reference proportion is 0 (excluded from the test; see docs). */
  readonly outsideSupport: number;
}

/**
 * Pearson χ² goodness of fit of integer `counts` to `reference` proportions, over the bins where the
 * reference proportion is > 0. Observations in reference-empty bins are impossible under the
 * reference as given, so any finite expected count for them would be an arbitrary choice that grows
 * with n; instead the test conditions on the support and reports them as `outsideSupport` (PSI, JS, KS
 * and Wasserstein all see them).
 */
export function chiSquareGof(counts: ArrayLike<number>, reference: ArrayLike<number>): ChiSquareResult {
  const [, pt] = totals(counts, reference);
  let n = 0;
  let supportMass = 0;
  let supportBins = 0;
  let outside = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as number;
    if (!Number.isInteger(c)) throw new StatsError('BAD_COUNTS', `count ${i} is not an integer`);
    const p = (reference[i] as number) / pt;
    if (p > 0) {
      n += c;
      supportMass += p;
      supportBins++;
    } else {
      outside += c;
    }
  }
  // Everything fell outside the support: χ² has nothing to test (the other statistics see it).
  if (n === 0) return { statistic: 0, df: supportBins - 1, pValue: 1, n: 0, outsideSupport: outside };
  let statistic = 0;
  for (let i = 0; i < counts.length; i++) {
    const p = (reference[i] as number) / pt;
    if (p > 0) {
      const expected = (n * p) / supportMass;
      const d = (counts[i] as number) - expected;
      statistic += (d * d) / expected;
    }
  }
  const df = supportBins - 1;
  return { statistic, df, pValue: df > 0 ? chi2Sf(statistic, df) : 1, n, outsideSupport: outside };
}
