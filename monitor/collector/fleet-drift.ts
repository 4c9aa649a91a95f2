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
//
// Windows are not independent: each device (one wearer) contributes many windows, and wearers differ.
// Treating a cohort's windows as one multinomial sample then overstates the evidence, and a cohort of
// a few wearers who simply differ from the reference population would look drifted. The evaluator
// therefore estimates the cohort's design effect from its devices (designEffect below: the dispersion
// of the devices' counts around the cohort's pooled proportions, Pearson χ²/df, the usual quasi-
// likelihood estimate for clustered multinomial data; Rao & Scott 1981) and tests with the cohort's
// counts divided by it: the χ² and the effective n of the thresholds shrink accordingly. A shift
// shared by every device of the cohort (a sensor gain change) stays far beyond it.
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
  /** Design effect the cohort's counts were divided by (1: windows treated as independent). */
  readonly designEffect: number;
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
    /** Cluster design effect of the group for this variable (≥ 1; default 1). */
    readonly designEffect?: number;
  },
): VariableDrift {
  const deff = Math.max(1, options.designEffect ?? 1);
  const stats = driftStatistics(Array.from(counts), v.reference, options.epsilon);
  const miss = stats.missingness;
  const base = {
    index: v.index,
    name: v.name,
    nanCount: miss.nanCount,
    missingnessPValue: miss.pValue,
    missingRate: miss.observedRate,
    referenceMissingRate: miss.referenceRate,
    designEffect: deff,
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
  const nEffective = effectiveN(stats.n / deff, v.referenceN);
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
  const test = twoSampleChi2(deff === 1 ? counts : Array.from(counts, (c) => c / deff), v.referenceCounts);
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

/**
 * Design effect of a group for one variable from its devices' counts (each m + 3, NaN bin last):
 * Pearson χ² of the devices × ordered-bins table around the pooled proportions, divided by its
 * degrees of freedom ((D − 1)(K − 1), K the bins with a pooled count). 1 when it cannot be estimated
 * (one device) and never below 1 (devices more alike than multinomial noise are not rewarded).
 */
export function designEffect(devices: readonly ArrayLike<number>[]): number {
  const withData = devices.filter((d) => {
    for (let i = 0; i < d.length - 1; i++) if ((d[i] as number) > 0) return true;
    return false;
  });
  if (withData.length < 2) return 1;
  const k = (withData[0] as ArrayLike<number>).length - 1;
  const pooled = new Float64Array(k);
  const totals = withData.map((d) => {
    let t = 0;
    for (let i = 0; i < k; i++) {
      t += d[i] as number;
      pooled[i] = (pooled[i] as number) + (d[i] as number);
    }
    return t;
  });
  let all = 0;
  let cells = 0;
  for (let i = 0; i < k; i++) {
    all += pooled[i] as number;
    if ((pooled[i] as number) > 0) cells++;
  }
  const df = (withData.length - 1) * (cells - 1);
  if (df < 1 || all === 0) return 1;
  let x2 = 0;
  withData.forEach((d, j) => {
    const n = totals[j] as number;
    for (let i = 0; i < k; i++) {
      const p = (pooled[i] as number) / all;
      if (p === 0) continue;
      const e = n * p;
      const o = d[i] as number;
      x2 += ((o - e) * (o - e)) / e;
    }
  });
  return Math.max(1, x2 / df);
}

/**
 * Bounds each device's weight in its group's merged counts of one variable: a device with more than
 * `maxWeight` × the group's lower-median device count is scaled down to that (its distribution kept),
 * so that one broken or hostile device can neither raise nor mask a cohort's drift on its own. Returns
 * the capped counts per device and what to take off the group's merged counts. Groups of fewer than
 * three devices are left as they are (no robust median).
 */
export function capDeviceWeights(
  devices: readonly ArrayLike<number>[],
  maxWeight: number,
): { readonly capped: Float64Array[]; readonly excess: Float64Array | null } {
  const totals = devices.map((d) => {
    let t = 0;
    for (let i = 0; i < d.length; i++) t += d[i] as number;
    return t;
  });
  const copies = devices.map((d) => Float64Array.from(d));
  const withData = totals.filter((t) => t > 0).sort((a, b) => a - b);
  if (withData.length < 3) return { capped: copies, excess: null };
  const lowerMedian = withData[Math.floor((withData.length - 1) / 2)] as number;
  const cap = maxWeight * lowerMedian;
  let excess: Float64Array | null = null;
  copies.forEach((d, j) => {
    const n = totals[j] as number;
    if (!(n > cap)) return;
    const keep = cap / n;
    excess ??= new Float64Array(d.length);
    for (let i = 0; i < d.length; i++) {
      // Whole counts (the statistics take integer counts): each bin rounded to what it keeps.
      const kept = Math.round((d[i] as number) * keep);
      excess[i] = (excess[i] as number) + (d[i] as number) - kept;
      d[i] = kept;
    }
  });
  return { capped: copies, excess };
}

/**
 * Index of the device whose counts are farthest from the reference proportions (its χ² distance
 * to them, times nothing: larger devices weigh more, as they do in the merged counts); null with
 * fewer than two devices holding data.
 */
export function mostDivergentDevice(
  devices: readonly ArrayLike<number>[],
  referenceCounts: ArrayLike<number>,
): number | null {
  let refTotal = 0;
  for (let i = 0; i < referenceCounts.length; i++) refTotal += referenceCounts[i] as number;
  if (!(refTotal > 0)) return null;
  let best: number | null = null;
  let bestScore = -1;
  let withData = 0;
  devices.forEach((d, j) => {
    let n = 0;
    for (let i = 0; i < d.length; i++) n += d[i] as number;
    if (n <= 0) return;
    withData++;
    let score = 0;
    for (let i = 0; i < d.length; i++) {
      const p = (referenceCounts[i] ?? 0) / refTotal;
      const o = d[i] as number;
      const e = n * p;
      score += e > 0 ? ((o - e) * (o - e)) / e : o; // a bin the reference never saw: all of it counts
    }
    if (score > bestScore) {
      bestScore = score;
      best = j;
    }
  });
  return withData >= 2 ? best : null;
}
