// Per-score-bin accumulators (n, Σp̂, Σy) in the bin layout of bins.ts. They merge by addition across
// intervals and devices and give the reliability diagram, ECE and observed/expected (DESIGN.md
// "Drift": performance). Keep two instances per interval: one fed by every window (Σy unused; the
// label-free CBPE estimate needs n and Σp̂ of ALL windows) and one fed when a delayed label arrives.
import { binIndex, countsLength } from './bins.ts';
import { StatsError } from './errors.ts';
import { poissonInterval, wilsonInterval } from './intervals.ts';

/** Read view (plain arrays from a report, or typed arrays on the device). Same layout as BinCounts. */
export interface ScoreBinsView {
  readonly n: ArrayLike<number>;
  readonly sumP: ArrayLike<number>;
  readonly sumY: ArrayLike<number>;
}

export interface ScoreBins extends ScoreBinsView {
  readonly n: Float64Array;
  readonly sumP: Float64Array;
  readonly sumY: Float64Array;
}

/**
 * Score-bin edges for ScoreBins: `equalWidthBins` equal-width bins on [0, 1] plus every given threshold
 * (the operating threshold, indeterminateLow, …) as an extra edge, so that confusion counts and CBPE
 * at those thresholds are exact. Scores of exactly 1 land in the overflow bin (left-closed bins).
 */
export function scoreBinEdges(thresholds: readonly number[], equalWidthBins = 10): Float64Array {
  if (!Number.isInteger(equalWidthBins) || equalWidthBins < 1 || equalWidthBins > 1000) {
    throw new StatsError('BAD_ARGUMENT', 'equalWidthBins must be an integer in [1, 1000]');
  }
  const edges = Array.from({ length: equalWidthBins + 1 }, (_, i) => i / equalWidthBins);
  for (const t of thresholds) {
    if (!(t > 0 && t < 1)) throw new StatsError('BAD_ARGUMENT', `threshold must be in (0, 1), got ${t}`);
    edges.push(t);
  }
  return Float64Array.from(new Set(edges.sort((a, b) => a - b)));
}

export function createScoreBins(edges: ArrayLike<number>): ScoreBins {
  const k = countsLength(edges);
  return { n: new Float64Array(k), sumP: new Float64Array(k), sumY: new Float64Array(k) };
}

function checkScore(p: number): void {
  if (!(p >= 0 && p <= 1)) throw new StatsError('BAD_ARGUMENT', `score must be in [0, 1], got ${p}`);
}

/** A window without (or before) its label: contributes to n and Σp̂. */
export function addUnlabelled(bins: ScoreBins, edges: ArrayLike<number>, p: number): void {
  checkScore(p);
  const i = binIndex(edges, p);
  bins.n[i] = (bins.n[i] as number) + 1;
  bins.sumP[i] = (bins.sumP[i] as number) + p;
}

/** A window with its outcome y (true/1 = positive). */
export function addLabelled(bins: ScoreBins, edges: ArrayLike<number>, p: number, y: boolean | 0 | 1): void {
  checkScore(p);
  const i = binIndex(edges, p);
  bins.n[i] = (bins.n[i] as number) + 1;
  bins.sumP[i] = (bins.sumP[i] as number) + p;
  if (y === true || y === 1) bins.sumY[i] = (bins.sumY[i] as number) + 1;
}

export function assertScoreBins(bins: ScoreBinsView, edges: ArrayLike<number>): void {
  const k = countsLength(edges);
  if (bins.n.length !== k || bins.sumP.length !== k || bins.sumY.length !== k) {
    throw new StatsError('LENGTH_MISMATCH', `score bins must have ${k} entries each`);
  }
  for (let i = 0; i < k; i++) {
    const n = bins.n[i] as number;
    const sp = bins.sumP[i] as number;
    const sy = bins.sumY[i] as number;
    if (!Number.isSafeInteger(n) || n < 0 || !Number.isSafeInteger(sy) || sy < 0 || sy > n) {
      throw new StatsError('BAD_COUNTS', `score bin ${i}: n and Σy must be integers with 0 <= Σy <= n`);
    }
    // Σp̂ of n scores in [0, 1] lies in [0, n] (a little slack for rounding of the sum).
    if (!(sp >= 0 && sp <= n * (1 + 1e-12)))
      throw new StatsError('BAD_COUNTS', `score bin ${i}: Σp̂ out of range`);
  }
}

/** target += source (in place). */
export function mergeScoreBinsInto(target: ScoreBins, source: ScoreBinsView): void {
  const k = target.n.length;
  if (source.n.length !== k || source.sumP.length !== k || source.sumY.length !== k) {
    throw new StatsError('LENGTH_MISMATCH', 'score bins of different layouts');
  }
  for (let i = 0; i < k; i++) {
    target.n[i] = (target.n[i] as number) + (source.n[i] as number);
    target.sumP[i] = (target.sumP[i] as number) + (source.sumP[i] as number);
    target.sumY[i] = (target.sumY[i] as number) + (source.sumY[i] as number);
  }
}

export interface ReliabilityPoint {
  /** Bin index in the layout of bins.ts. */
  readonly bin: number;
  readonly n: number;
  /** Σp̂/n: x of the reliability diagram. */
  readonly meanPredicted: number;
  /** Σy/n: y of the reliability diagram. */
  readonly observedRate: number;
  /** Wilson interval of the observed rate. */
  readonly lower: number;
  readonly upper: number;
}

/** One point per non-empty bin, in bin order. */
export function reliabilityPoints(bins: ScoreBinsView, confidence = 0.95): ReliabilityPoint[] {
  const points: ReliabilityPoint[] = [];
  for (let i = 0; i < bins.n.length; i++) {
    const n = bins.n[i] as number;
    if (n === 0) continue;
    const y = bins.sumY[i] as number;
    const ci = wilsonInterval(y, n, confidence);
    points.push({
      bin: i,
      n,
      meanPredicted: (bins.sumP[i] as number) / n,
      observedRate: y / n,
      lower: ci.lower,
      upper: ci.upper,
    });
  }
  return points;
}

function totals(bins: ScoreBinsView): { n: number; sumP: number; sumY: number } {
  let n = 0;
  let sumP = 0;
  let sumY = 0;
  for (let i = 0; i < bins.n.length; i++) {
    n += bins.n[i] as number;
    sumP += bins.sumP[i] as number;
    sumY += bins.sumY[i] as number;
  }
  return { n, sumP, sumY };
}

/**
 * Expected calibration error over the score bins: Σ_b (n_b/N)·|Σy_b/n_b − Σp̂_b/n_b| = Σ_b |Σy_b − Σp̂_b| / N
 * (Naeini et al. 2015; Guo et al. 2017). Depends on the bins, so compare ECEs only on the same bins.
 */
export function expectedCalibrationError(bins: ScoreBinsView): number {
  const { n } = totals(bins);
  if (n === 0) throw new StatsError('EMPTY_SAMPLE', 'no labelled windows');
  let sum = 0;
  for (let i = 0; i < bins.n.length; i++)
    sum += Math.abs((bins.sumY[i] as number) - (bins.sumP[i] as number));
  return sum / n;
}

export interface ObservedExpected {
  readonly n: number;
  /** Σy: observed positives. */
  readonly observed: number;
  /** Σp̂: positives the model expected. */
  readonly expected: number;
  /** Σy / Σp̂ (1 = calibration-in-the-large). */
  readonly ratio: number;
  /** Exact Poisson (Garwood) interval of the observed count, divided by the expected count. */
  readonly lower: number;
  readonly upper: number;
}

/** Observed/expected ratio with an exact Poisson interval (Σp̂ treated as fixed). */
export function observedExpected(bins: ScoreBinsView, confidence = 0.95): ObservedExpected {
  const { n, sumP, sumY } = totals(bins);
  if (n === 0 || !(sumP > 0)) throw new StatsError('EMPTY_SAMPLE', 'no expected positives');
  const ci = poissonInterval(sumY, confidence);
  return {
    n,
    observed: sumY,
    expected: sumP,
    ratio: sumY / sumP,
    lower: ci.lower / sumP,
    upper: ci.upper / sumP,
  };
}
