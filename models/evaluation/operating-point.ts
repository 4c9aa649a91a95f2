// Choosing the operating threshold on the validation split: the threshold must reach the target
// sensitivity; among those, the one with the best specificity, then the best sensitivity; and among
// thresholds that give exactly the same confusion matrix, the middle of that interval — so that a
// clean separation is split down the middle instead of hugging the lowest positive score.
import { checkScoresLabels, type Labels, type OperatingPoint, type Scores } from './metrics.ts';
import { EvaluationError } from './errors.ts';

export function chooseOperatingThreshold(
  scores: Scores,
  labels: Labels,
  targetSensitivity: number,
): OperatingPoint {
  checkScoresLabels(scores, labels, true);
  if (!(targetSensitivity > 0 && targetSensitivity <= 1)) {
    throw new EvaluationError('BAD_ARGUMENT', `target sensitivity ${targetSensitivity} not in (0, 1]`);
  }
  const order = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  const positives = order.reduce((n, i) => n + (labels[i] === 1 ? 1 : 0), 0);
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new EvaluationError('SINGLE_CLASS', 'threshold selection needs positives and negatives');
  }
  // Walk thresholds from below the lowest score upwards. Before index k (sorted), everything at or
  // above sorted[k] is called positive; equal scores move together.
  let best: { sens: number; spec: number; low: number; high: number } | null = null;
  let tp = positives;
  let tn = 0;
  let k = 0;
  let previous = 0; // scores are probabilities: the lowest possible threshold bound is 0
  while (k <= order.length) {
    const next = k < order.length ? (scores[order[k] as number] as number) : 1;
    const sens = tp / positives;
    const spec = tn / negatives;
    if (sens + 1e-12 >= targetSensitivity) {
      const better =
        best === null ||
        spec > best.spec + 1e-12 ||
        (Math.abs(spec - best.spec) <= 1e-12 && sens > best.sens + 1e-12);
      if (better) best = { sens, spec, low: previous, high: next };
    }
    if (k === order.length) break;
    // Move every example with this exact score below the threshold.
    while (k < order.length && (scores[order[k] as number] as number) === next) {
      if (labels[order[k] as number] === 1) tp -= 1;
      else tn += 1;
      k += 1;
    }
    previous = next;
  }
  if (best === null) throw new EvaluationError('BAD_ARGUMENT', 'no threshold reaches the target sensitivity');
  // Any threshold in (low, high] gives this confusion matrix; take the middle.
  const threshold = best.low + (best.high - best.low) / 2;
  return { threshold, sensitivity: best.sens, specificity: best.spec };
}
