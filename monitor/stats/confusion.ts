// Confusion counts at the operating threshold (mergeable by addition) and the label-based metrics
// with Wilson intervals. A window is positive when its score is ≥ the operating threshold
// (ThresholdTable.operatingThreshold), which matches the left-closed bins of bins.ts.
import { StatsError } from './errors.ts';
import { wilsonInterval } from './intervals.ts';
import type { ScoreBinsView } from './scoreBins.ts';

export interface ConfusionCounts {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

export const EMPTY_CONFUSION: ConfusionCounts = Object.freeze({ tp: 0, fp: 0, tn: 0, fn: 0 });

export function addOutcome(
  c: ConfusionCounts,
  predictedPositive: boolean,
  actualPositive: boolean,
): ConfusionCounts {
  if (predictedPositive) return actualPositive ? { ...c, tp: c.tp + 1 } : { ...c, fp: c.fp + 1 };
  return actualPositive ? { ...c, fn: c.fn + 1 } : { ...c, tn: c.tn + 1 };
}

export function mergeConfusion(a: ConfusionCounts, b: ConfusionCounts): ConfusionCounts {
  return { tp: a.tp + b.tp, fp: a.fp + b.fp, tn: a.tn + b.tn, fn: a.fn + b.fn };
}

export function assertConfusion(c: ConfusionCounts): void {
  for (const key of ['tp', 'fp', 'tn', 'fn'] as const) {
    if (!Number.isSafeInteger(c[key]) || c[key] < 0)
      throw new StatsError('BAD_COUNTS', `${key} must be an integer >= 0`);
  }
}

/** Index j with edges[j] === threshold exactly, else THRESHOLD_NOT_EDGE. */
export function thresholdEdgeIndex(edges: ArrayLike<number>, threshold: number): number {
  for (let j = 0; j < edges.length; j++) if (edges[j] === threshold) return j;
  throw new StatsError(
    'THRESHOLD_NOT_EDGE',
    `operating threshold ${threshold} is not a score-bin edge; the profile must include it`,
  );
}

/**
 * Exact confusion counts from labelled score bins when the operating threshold is an edge e_j:
 * bins j + 1 … overflow hold exactly the scores ≥ e_j (left-closed bins); the NaN bin is ignored.
 */
export function confusionFromScoreBins(
  edges: ArrayLike<number>,
  bins: ScoreBinsView,
  threshold: number,
): ConfusionCounts {
  const j = thresholdEdgeIndex(edges, threshold);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  const nanBin = edges.length + 1;
  for (let i = 0; i < nanBin; i++) {
    const n = bins.n[i] as number;
    const y = bins.sumY[i] as number;
    if (i >= j + 1) {
      tp += y;
      fp += n - y;
    } else {
      fn += y;
      tn += n - y;
    }
  }
  return { tp, fp, tn, fn };
}

export type ProportionEstimate =
  /** No eligible windows (e.g. sensitivity without any positive label yet). */
  | { readonly kind: 'undefined'; readonly trials: 0 }
  | {
      readonly kind: 'estimate';
      readonly successes: number;
      readonly trials: number;
      readonly estimate: number;
      readonly lower: number;
      readonly upper: number;
    };

export function proportion(successes: number, trials: number, confidence = 0.95): ProportionEstimate {
  if (trials === 0) return { kind: 'undefined', trials: 0 };
  const ci = wilsonInterval(successes, trials, confidence);
  return {
    kind: 'estimate',
    successes,
    trials,
    estimate: successes / trials,
    lower: ci.lower,
    upper: ci.upper,
  };
}

/** TP / (TP + FN) with a Wilson interval. */
export function sensitivity(c: ConfusionCounts, confidence = 0.95): ProportionEstimate {
  assertConfusion(c);
  return proportion(c.tp, c.tp + c.fn, confidence);
}

/** TN / (TN + FP) with a Wilson interval. */
export function specificity(c: ConfusionCounts, confidence = 0.95): ProportionEstimate {
  assertConfusion(c);
  return proportion(c.tn, c.tn + c.fp, confidence);
}

/** TP / (TP + FP) with a Wilson interval. */
export function positivePredictiveValue(c: ConfusionCounts, confidence = 0.95): ProportionEstimate {
  assertConfusion(c);
  return proportion(c.tp, c.tp + c.fp, confidence);
}

/** (TP + TN) / all with a Wilson interval. */
export function accuracy(c: ConfusionCounts, confidence = 0.95): ProportionEstimate {
  assertConfusion(c);
  return proportion(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn, confidence);
}
