// Fleet-level drift of one variable: merged counts of many devices against the reference profile.
//
// Why a two-sample test (docs/collector.md "Fleet drift statistics"): the profile's proportions were
// estimated from a finite reference sample (a few hundred windows). The device-side tests treat them
// as exact, which is right for one device-interval (n of a few thousand at most). Merged fleet counts
// reach n ~ 10⁶, where the reference's own sampling error dominates: a one-sample test would flag
// every group. So the collector tests homogeneity of two samples (observed n, reference N):
//   - p-value: Pearson χ² test of the 2 × k contingency table over the ordered bins with pooled
//     count > 0, df = k − 1 (the classical homogeneity test, e.g. Agresti 2013 §3.2);
//   - thresholds: each policy statistic against the profile's Monte-Carlo null table at the effective
//     sample size n_eff = n·N/(n + N), the size at which a one-sample statistic has the spread of the
//     two-sample one (to first order both are χ²(k−1)/n_eff), so thresholds still depend on n.
import {
  chi2Sf,
  driftStatistics,
  statisticValue,
  thresholdAt,
  type DriftStatisticName,
} from '../stats/index.ts';
import type { PreparedVariable } from './profiles.ts';

export const DEFAULT_DRIFT_STATISTICS: readonly DriftStatisticName[] = ['psi', 'js', 'ks', 'wasserstein'];

export interface VariableDrift {
  readonly index: number;
  readonly name: string;
  /** Observations in the ordered bins (NaN excluded). */
  readonly n: number;
  readonly nanCount: number;
  readonly kind: 'empty' | 'too-small' | 'tested';
  readonly nEffective: number;
  /** Statistic values of the merged counts against the reference proportions. */
  readonly statistics: Readonly<Partial<Record<DriftStatisticName, number>>>;
  /** Sample-size-aware thresholds at n_eff (profile null table). */
  readonly thresholds: Readonly<Partial<Record<DriftStatisticName, number>>>;
  readonly exceeded: readonly DriftStatisticName[];
  readonly extrapolated: boolean;
  /** Two-sample χ² homogeneity p-value (1 when not tested). */
  readonly pValue: number;
  readonly chi2: number;
  readonly df: number;
  /** One-sided exact binomial p of more NaN than the reference share. */
  readonly missingnessPValue: number;
  readonly missingRate: number;
  readonly referenceMissingRate: number;
}

/** Pearson χ² homogeneity test of observed vs reference counts over the ordered bins. */
export function twoSampleChi2(
  observed: ArrayLike<number>,
  reference: ArrayLike<number>,
): { statistic: number; df: number; pValue: number } {
  const k = observed.length - 1; // ordered bins only: the NaN bin is tested on its own
  let n = 0;
  let big = 0;
  for (let i = 0; i < k; i++) {
    n += observed[i] as number;
    big += reference[i] as number;
  }
  if (n === 0 || big === 0) return { statistic: 0, df: 0, pValue: 1 };
  const total = n + big;
  let statistic = 0;
  let cells = 0;
  for (let i = 0; i < k; i++) {
    const o = observed[i] as number;
    const r = reference[i] as number;
    const pooled = o + r;
    if (pooled === 0) continue;
    cells++;
    const eo = (n * pooled) / total;
    const er = (big * pooled) / total;
    statistic += ((o - eo) * (o - eo)) / eo + ((r - er) * (r - er)) / er;
  }
  const df = cells - 1;
  if (df < 1) return { statistic: 0, df: 0, pValue: 1 };
  return { statistic, df, pValue: chi2Sf(statistic, df) };
}

export function effectiveN(n: number, referenceN: number): number {
  return referenceN > 0 ? (n * referenceN) / (n + referenceN) : n;
}

/** Drift of one variable's merged counts (m + 3 layout) against its prepared reference. */
export function variableDrift(
  v: PreparedVariable,
  counts: ArrayLike<number>,
  options: {
    readonly statistics: readonly DriftStatisticName[];
    readonly minN: number;
    readonly epsilon?: number;
  },
): VariableDrift {
  const stats = driftStatistics(Array.from(counts), v.reference, options.epsilon);
  const miss = stats.missingness;
  const base = {
    index: v.index,
    name: v.name,
    nanCount: miss.nanCount,
    missingnessPValue: miss.pValue,
    missingRate: miss.observedRate,
    referenceMissingRate: miss.referenceRate,
  };
  if (stats.kind === 'empty') {
    return {
      ...base,
      n: 0,
      kind: 'empty',
      nEffective: 0,
      statistics: {},
      thresholds: {},
      exceeded: [],
      extrapolated: false,
      pValue: 1,
      chi2: 0,
      df: 0,
    };
  }
  const nEffective = effectiveN(stats.n, v.referenceN);
  const statistics: Partial<Record<DriftStatisticName, number>> = {};
  for (const s of options.statistics) statistics[s] = statisticValue(stats, s);
  statistics.psi ??= stats.psi; // the effect-size floor always needs PSI
  if (stats.n < options.minN || nEffective < 1) {
    return {
      ...base,
      n: stats.n,
      kind: 'too-small',
      nEffective,
      statistics,
      thresholds: {},
      exceeded: [],
      extrapolated: false,
      pValue: 1,
      chi2: 0,
      df: 0,
    };
  }
  const thresholds: Partial<Record<DriftStatisticName, number>> = {};
  const exceeded: DriftStatisticName[] = [];
  let extrapolated = false;
  for (const s of options.statistics) {
    const t = thresholdAt(v.table, s, nEffective);
    thresholds[s] = t.threshold;
    if (t.extrapolated) extrapolated = true;
    if ((statistics[s] as number) > t.threshold) exceeded.push(s);
  }
  const test = twoSampleChi2(counts, v.referenceCounts);
  return {
    ...base,
    n: stats.n,
    kind: 'tested',
    nEffective,
    statistics,
    thresholds,
    exceeded,
    extrapolated,
    pValue: test.pValue,
    chi2: test.statistic,
    df: test.df,
  };
}
