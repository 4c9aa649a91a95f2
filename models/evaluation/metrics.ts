// Classification metrics on held-out scores. Conventions (docs/model-building.md "Metrics"):
// - a window is positive iff score ≥ threshold (manifest ThresholdTable: "at or above");
// - ROC AUC is the Mann–Whitney U statistic over (positives, negatives) / (n₊·n₋), ties count ½
//   (midranks), i.e. P(score₊ > score₋) + ½·P(score₊ = score₋);
// - metrics that divide by an empty class are NaN (e.g. sensitivity of a cohort without positives).
import { EvaluationError } from './errors.ts';

export type Scores = ArrayLike<number>;
export type Labels = ArrayLike<number>;

/** Same length, labels in {0, 1}, scores finite (and within [0, 1] when `probabilities`). */
export function checkScoresLabels(scores: Scores, labels: Labels, probabilities = true): void {
  if (scores.length !== labels.length) {
    throw new EvaluationError('BAD_INPUT', `${scores.length} scores for ${labels.length} labels`);
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new EvaluationError('BAD_INPUT', `label ${i} is not 0/1`);
    const s = scores[i] ?? Number.NaN;
    if (!Number.isFinite(s) || (probabilities && (s < 0 || s > 1))) {
      throw new EvaluationError(
        'BAD_INPUT',
        `score ${i} (${s}) is not a ${probabilities ? 'probability' : 'finite number'}`,
      );
    }
  }
}

/** ROC AUC via Mann–Whitney U with midranks for ties; NaN when a class is empty. */
export function rocAuc(scores: Scores, labels: Labels): number {
  checkScoresLabels(scores, labels, false);
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let rankSumPositive = 0;
  let positives = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    const v = scores[order[i] as number] as number;
    while (j + 1 < n && scores[order[j + 1] as number] === v) j++;
    const midrank = (i + j) / 2 + 1; // ranks are 1-based
    for (let k = i; k <= j; k++) {
      if (labels[order[k] as number] === 1) {
        rankSumPositive += midrank;
        positives++;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  const u = rankSumPositive - (positives * (positives + 1)) / 2;
  return u / (positives * negatives);
}

export interface Confusion {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/** Confusion counts with "positive iff score ≥ threshold". */
export function confusionAt(scores: Scores, labels: Labels, threshold: number): Confusion {
  checkScoresLabels(scores, labels, false);
  if (Number.isNaN(threshold)) throw new EvaluationError('BAD_ARGUMENT', 'threshold is NaN');
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = (scores[i] as number) >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

/** TP / (TP + FN); NaN without positives. */
export function sensitivity(c: Confusion): number {
  return c.tp + c.fn === 0 ? Number.NaN : c.tp / (c.tp + c.fn);
}

/** TN / (TN + FP); NaN without negatives. */
export function specificity(c: Confusion): number {
  return c.tn + c.fp === 0 ? Number.NaN : c.tn / (c.tn + c.fp);
}

export interface OperatingPoint {
  readonly threshold: number;
  readonly sensitivity: number;
  readonly specificity: number;
}

/**
 * The highest-specificity threshold that reaches `targetSensitivity` on these (validation) scores.
 * With positives sorted descending, k = ⌈target·n₊⌉ of them must be ≥ t, so t* = the k-th largest
 * positive score is the largest admissible threshold. The returned threshold is the midpoint between
 * t* and the next lower distinct score (of either class), which classifies these scores identically
 * but leaves a margin on both sides; it is t* itself when no lower score exists.
 */
export function thresholdForSensitivity(
  scores: Scores,
  labels: Labels,
  targetSensitivity: number,
): OperatingPoint {
  checkScoresLabels(scores, labels, false);
  if (!(targetSensitivity > 0 && targetSensitivity <= 1)) {
    throw new EvaluationError('BAD_ARGUMENT', `target sensitivity ${targetSensitivity} not in (0, 1]`);
  }
  const positives: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) positives.push(scores[i] as number);
  if (positives.length === 0 || positives.length === labels.length) {
    throw new EvaluationError('SINGLE_CLASS', 'threshold selection needs positives and negatives');
  }
  positives.sort((a, b) => b - a);
  // The small tolerance keeps e.g. 0.9 · 10 from rounding up to 10 (it is 9.000000000000002).
  const k = Math.max(1, Math.ceil(targetSensitivity * positives.length - 1e-9));
  const tStar = positives[k - 1] as number;
  let below = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (s < tStar && s > below) below = s;
  }
  const threshold = below === Number.NEGATIVE_INFINITY ? tStar : below + (tStar - below) / 2;
  const c = confusionAt(scores, labels, threshold);
  return { threshold, sensitivity: sensitivity(c), specificity: specificity(c) };
}

/** Brier score: mean (p − y)². */
export function brierScore(scores: Scores, labels: Labels): number {
  checkScoresLabels(scores, labels, true);
  if (labels.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const d = (scores[i] as number) - (labels[i] as number);
    sum += d * d;
  }
  return sum / labels.length;
}
