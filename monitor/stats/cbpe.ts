// Label-free performance estimate while labels are late (confidence-based performance estimation, the
// idea behind NannyML's CBPE): IF the model is calibrated on the current data, a window with score p̂
// is positive with probability p̂, so the expected confusion counts at threshold t are
//   E[TP] = Σ_{p̂≥t} p̂,  E[FP] = Σ_{p̂≥t} (1 − p̂),  E[FN] = Σ_{p̂<t} p̂,  E[TN] = Σ_{p̂<t} (1 − p̂),
// all available from the (n, Σp̂) score bins of every window when t is a bin edge. The assumption is
// strong: calibration must hold under the current drift (check it with observedExpected/ECE once
// labels arrive); under concept drift (P(y | x) changes) CBPE cannot see the change at all.
import { StatsError } from './errors.ts';
import { thresholdEdgeIndex } from './confusion.ts';
import type { ScoreBinsView } from './scoreBins.ts';

export interface CbpeMetric {
  readonly estimate: number;
  /**
   * Standard error of the realised metric around the estimate, given the scores and calibration
   * (independent Bernoulli outcomes, delta method). Conservative: per bin Σp̂(1 − p̂) is bounded by
   * Σp̂ − (Σp̂)²/n, the only bound the (n, Σp̂) accumulators allow.
   */
  readonly standardError: number;
}

export type CbpeResult =
  | { readonly kind: 'empty' }
  | {
      readonly kind: 'estimate';
      readonly n: number;
      readonly expectedTp: number;
      readonly expectedFp: number;
      readonly expectedTn: number;
      readonly expectedFn: number;
      /** null when the expected denominator is 0 (e.g. no expected positive at all). */
      readonly sensitivity: CbpeMetric | null;
      readonly specificity: CbpeMetric | null;
      readonly accuracy: CbpeMetric;
    };

/** CBPE at an operating threshold that is a score-bin edge (else THRESHOLD_NOT_EDGE). */
export function cbpeEstimate(edges: ArrayLike<number>, bins: ScoreBinsView, threshold: number): CbpeResult {
  const j = thresholdEdgeIndex(edges, threshold);
  const nanBin = edges.length + 1;
  if (bins.n.length !== nanBin + 1 || bins.sumP.length !== nanBin + 1) {
    throw new StatsError('LENGTH_MISMATCH', `score bins must have ${nanBin + 1} entries`);
  }
  let nPos = 0;
  let sPos = 0;
  let vPos = 0;
  let nNeg = 0;
  let sNeg = 0;
  let vNeg = 0;
  for (let i = 0; i < nanBin; i++) {
    const n = bins.n[i] as number;
    const s = bins.sumP[i] as number;
    if (n === 0) continue;
    const varianceBound = Math.max(0, s - (s * s) / n);
    if (i >= j + 1) {
      nPos += n;
      sPos += s;
      vPos += varianceBound;
    } else {
      nNeg += n;
      sNeg += s;
      vNeg += varianceBound;
    }
  }
  const n = nPos + nNeg;
  if (n === 0) return { kind: 'empty' };
  const tp = sPos;
  const fp = nPos - sPos;
  const fn = sNeg;
  const tn = nNeg - sNeg;
  // sens = A/(A + B) with A = TP (variance vPos) and B = FN (variance vNeg), independent.
  const ratio = (a: number, b: number, va: number, vb: number): CbpeMetric | null => {
    const d = a + b;
    if (!(d > 0)) return null;
    return { estimate: a / d, standardError: Math.sqrt(b * b * va + a * a * vb) / (d * d) };
  };
  return {
    kind: 'estimate',
    n,
    expectedTp: tp,
    expectedFp: fp,
    expectedTn: tn,
    expectedFn: fn,
    sensitivity: ratio(tp, fn, vPos, vNeg),
    // spec = TN/(TN + FP): TN varies with the negatives' outcomes (vNeg), FP with the positives' (vPos).
    specificity: ratio(tn, fp, vNeg, vPos),
    accuracy: { estimate: (tp + tn) / n, standardError: Math.sqrt(vPos + vNeg) / n },
  };
}
