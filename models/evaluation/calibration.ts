// Calibration on equal-width probability bins (default 10 on [0, 1]).
// Bin b covers [b/B, (b+1)/B), except the last, which also holds p = 1: index = min(⌊p·B⌋, B − 1).
// Each bin keeps (n, Σp̂, Σy), which add up exactly across devices and time (issue 7), and
// ECE = Σ_b |Σy_b − Σp̂_b| / N = Σ_b (n_b/N)·|ȳ_b − p̄_b|.
import { EvaluationError } from './errors.ts';
import { checkScoresLabels } from './metrics.ts';
import type { Labels, Scores } from './metrics.ts';

export const ECE_BINS = 10;

export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  readonly n: number;
  readonly sumP: number;
  readonly sumY: number;
}

function checkBins(bins: number): void {
  if (!Number.isSafeInteger(bins) || bins < 1 || bins > 1000) {
    throw new EvaluationError('BAD_ARGUMENT', `bin count ${bins} not in [1, 1000]`);
  }
}

/** Equal-width bin of probability p (p must be in [0, 1]). */
export function calibrationBinIndex(p: number, bins: number = ECE_BINS): number {
  return Math.min(Math.floor(p * bins), bins - 1);
}

export function reliabilityBins(scores: Scores, labels: Labels, bins: number = ECE_BINS): ReliabilityBin[] {
  checkBins(bins);
  checkScoresLabels(scores, labels, true);
  const n = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const sumY = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const p = scores[i] as number;
    const b = calibrationBinIndex(p, bins);
    n[b] = (n[b] as number) + 1;
    sumP[b] = (sumP[b] as number) + p;
    sumY[b] = (sumY[b] as number) + (labels[i] as number);
  }
  return n.map((count, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    n: count,
    sumP: sumP[b] as number,
    sumY: sumY[b] as number,
  }));
}

/** ECE from reliability bins (also usable on merged device counts); NaN for no data. */
export function eceFromBins(bins: readonly ReliabilityBin[]): number {
  let total = 0;
  let gap = 0;
  for (const b of bins) {
    total += b.n;
    gap += Math.abs(b.sumY - b.sumP);
  }
  return total === 0 ? Number.NaN : gap / total;
}

export function expectedCalibrationError(scores: Scores, labels: Labels, bins: number = ECE_BINS): number {
  return eceFromBins(reliabilityBins(scores, labels, bins));
}
