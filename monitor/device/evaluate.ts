// Drift decisions of one closed interval against the profile (docs/telemetry-reports.md "Drift").
//
// Per variable (each feature, then the score) and per policy statistic: value > the profile's
// Monte-Carlo null threshold at the interval's sample size (thresholdAt: exact at grid points, log–log
// between, never a fixed cut-off). These per-test decisions are reported as flags.
//
// Two-sample correction. The profile's proportions are themselves estimated from N reference windows
// (≈ 800 for the reference models), so under "no drift" the interval's q − p̂ has variance
// p(1 − p)(1/n + 1/N), not p(1 − p)/n. The one-sample tables are therefore read at the effective size
// n_eff = nN/(n + N) (the classical two-sample KS scaling; PSI, JS, KS and W1 follow the same law
// asymptotically), and Pearson's χ², computed with E = n·p̂, is compared with its table threshold
// scaled by n/n_eff. Without this, an hour of 3,600 windows drawn from the very distribution of the
// reference alarms most of the time (measured on simulator data); with it, the false-alarm rate stays
// at α. At fleet scale n → ∞ and n_eff → N: drift smaller than the reference's own sampling error is
// not claimed.
//
// The interval ALARM must not fire on noise just because many tests run: 17 variables × 4 statistics
// at α = 0.01 each would alarm in a large share of in-control hours. So the alarm is a family-wise rule
// at the policy's α: per variable p = min(1, S · min_s p_s) (Bonferroni over its S statistics,
// asymptotic p-values of monitor/stats analyticPValue at n_eff), then Holm's step-down over the tested
// variables (Holm 1979). A variable alarms when Holm rejects it AND at least one of its statistics
// exceeded its table threshold (the table keeps small-n decisions exact).
import {
  analyticPValue,
  driftStatistics,
  statisticValue,
  thresholdAt,
  type BinCounts,
} from '../stats/index.ts';
import { DRIFT_FLAG, REPORT_STATISTICS, type DriftFlags } from '../report/index.ts';
import type { PreparedModel, PreparedVariable } from './model.ts';

export interface VariableDecision {
  readonly index: number;
  readonly n: number;
  /** DRIFT_FLAG bits without the alarm bit. */
  readonly flags: number;
  /** Bonferroni-adjusted p over the policy statistics (1 when not tested). */
  readonly pValue: number;
  readonly tested: boolean;
}

export interface IntervalDecision {
  readonly flags: DriftFlags[];
  readonly alarm: boolean;
  readonly variables: readonly VariableDecision[];
}

function decideVariable(
  model: PreparedModel,
  v: PreparedVariable,
  counts: BinCounts,
  index: number,
): VariableDecision {
  const stats = driftStatistics(counts, v.reference, model.epsilon);
  let flags = 0;
  if (stats.missingness.total > 0 && stats.missingness.pValue < model.alpha) flags |= DRIFT_FLAG.missingness;
  if (stats.kind === 'empty' || stats.n < model.minN) {
    return { index, n: stats.kind === 'empty' ? 0 : stats.n, flags, pValue: 1, tested: false };
  }
  const n = stats.n;
  const nEff = effectiveSampleSize(n, v.referenceN);
  let minP = 1;
  for (const statistic of model.statistics) {
    const value = statisticValue(stats, statistic);
    const chosen = thresholdAt(v.table, statistic, nEff);
    // χ² is computed with E = n·p̂: its two-sample null is the one-sample null inflated by n/n_eff.
    const inflation = statistic === 'chi2' ? n / nEff : 1;
    if (value > chosen.threshold * inflation) flags |= 1 << REPORT_STATISTICS.indexOf(statistic);
    if (chosen.extrapolated) flags |= DRIFT_FLAG.extrapolated;
    let p: number;
    try {
      p = analyticPValue(v.reference, statistic, value / inflation, nEff);
    } catch {
      p = 1; // a statistic without an asymptotic law here cannot raise the family-wise alarm
    }
    if (p < minP) minP = p;
  }
  return { index, n: stats.n, flags, pValue: Math.min(1, model.statistics.length * minP), tested: true };
}

/** nN/(n + N): the one-sample size with the same null spread as n observations against N reference ones. */
export function effectiveSampleSize(n: number, referenceN: number): number {
  if (!(referenceN > 0) || !Number.isFinite(referenceN)) return n;
  return Math.max(1, (n * referenceN) / (n + referenceN));
}

/** Decisions for one interval's feature and score counts. */
export function decideInterval(
  model: PreparedModel,
  features: readonly BinCounts[],
  score: BinCounts,
): IntervalDecision {
  const variables = features.map((counts, f) =>
    decideVariable(model, model.features[f] as PreparedVariable, counts, f),
  );
  variables.push(decideVariable(model, model.score, score, features.length));
  // Holm step-down over the tested variables at the policy's α.
  const tested = variables.filter((v) => v.tested).sort((a, b) => a.pValue - b.pValue || a.index - b.index);
  const rejected = new Set<number>();
  for (let i = 0; i < tested.length; i++) {
    const v = tested[i] as VariableDecision;
    if (!(v.pValue <= model.alpha / (tested.length - i))) break;
    rejected.add(v.index);
  }
  const statBits = (1 << REPORT_STATISTICS.length) - 1;
  const flags: DriftFlags[] = [];
  let alarm = false;
  for (const v of variables) {
    let f = v.flags;
    if (rejected.has(v.index) && (f & statBits) !== 0) {
      f |= DRIFT_FLAG.alarm;
      alarm = true;
    }
    if (f !== 0) flags.push({ index: v.index, flags: f });
  }
  return { flags, alarm, variables };
}
