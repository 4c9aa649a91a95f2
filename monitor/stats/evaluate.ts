// Turns drift statistics into decisions with thresholds that depend on n — never a fixed "PSI > 0.1"
// (docs/statistics.md "Why fixed thresholds are wrong") — and into p-values for FDR control.
import { analyticPValue, analyticThreshold } from './analyticNull.ts';
import type { DriftStatistics, PreparedReference } from './drift.ts';
import { StatsError } from './errors.ts';
import { empiricalPValue, simulateNull, thresholdAt } from './monteCarloNull.ts';
import type { NullThresholdTable } from './monteCarloNull.ts';
import type { DriftStatisticName } from './statistics.ts';

export type ThresholdSource =
  /** Asymptotic theory at the requested α (analyticNull.ts). */
  | { readonly kind: 'analytic'; readonly alpha: number }
  /** A Monte-Carlo table calibrated for this feature (its own α). */
  | { readonly kind: 'table'; readonly table: NullThresholdTable };

export interface StatisticDecision {
  readonly statistic: DriftStatisticName;
  readonly value: number;
  readonly threshold: number;
  /** value > threshold. */
  readonly exceeded: boolean;
  /** Asymptotic p-value (analyticNull.ts); use monteCarloPValues for small n. */
  readonly pValue: number;
  /** The table threshold was extrapolated beyond its grid of n. */
  readonly extrapolated: boolean;
}

export type DriftEvaluation =
  | { readonly kind: 'empty' }
  | {
      readonly kind: 'evaluated';
      readonly n: number;
      readonly alpha: number;
      readonly decisions: readonly StatisticDecision[];
      readonly anyExceeded: boolean;
    };

type ComputedDrift = Extract<DriftStatistics, { kind: 'computed' }>;

export function statisticValue(stats: ComputedDrift, statistic: DriftStatisticName): number {
  switch (statistic) {
    case 'psi':
      return stats.psi;
    case 'js':
      return stats.js;
    case 'ks':
      return stats.ks;
    case 'wasserstein':
      return stats.wasserstein;
    case 'chi2':
      return stats.chi2.statistic;
  }
}

/** Decides each requested statistic against its sample-size-aware threshold at the interval's n. */
export function evaluateDrift(
  stats: DriftStatistics,
  reference: PreparedReference,
  statistics: readonly DriftStatisticName[],
  source: ThresholdSource,
): DriftEvaluation {
  if (stats.kind === 'empty') return { kind: 'empty' };
  const alpha = source.kind === 'analytic' ? source.alpha : source.table.alpha;
  const decisions = statistics.map((statistic): StatisticDecision => {
    const value = statisticValue(stats, statistic);
    const chosen =
      source.kind === 'analytic'
        ? { threshold: analyticThreshold(reference, statistic, stats.n, source.alpha), extrapolated: false }
        : thresholdAt(source.table, statistic, stats.n);
    return {
      statistic,
      value,
      threshold: chosen.threshold,
      exceeded: value > chosen.threshold,
      pValue: analyticPValue(reference, statistic, value, stats.n),
      extrapolated: chosen.extrapolated,
    };
  });
  return { kind: 'evaluated', n: stats.n, alpha, decisions, anyExceeded: decisions.some((d) => d.exceeded) };
}

/**
 * Monte-Carlo p-values (+1 corrected) for the requested statistics at the interval's exact n: exact
 * for any n and bin sparsity, at the cost of `replicates` simulated intervals (≈ 2.5 µs each for 12
 * bins). This is what the collector feeds into Benjamini–Hochberg when n is small.
 */
export function monteCarloPValues(
  stats: DriftStatistics,
  reference: PreparedReference,
  statistics: readonly DriftStatisticName[],
  options: { readonly replicates: number; readonly seed: number },
): Partial<Record<DriftStatisticName, number>> {
  if (stats.kind === 'empty') throw new StatsError('EMPTY_SAMPLE', 'no observations to test');
  const sample = simulateNull({ reference, n: stats.n, replicates: options.replicates, seed: options.seed });
  const out: Partial<Record<DriftStatisticName, number>> = {};
  for (const statistic of statistics)
    out[statistic] = empiricalPValue(sample[statistic], statisticValue(stats, statistic));
  return out;
}
