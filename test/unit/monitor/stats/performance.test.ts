import { describe, expect, it } from 'vitest';
import {
  accuracy,
  addLabelled,
  addOutcome,
  addUnlabelled,
  assertScoreBins,
  cbpeEstimate,
  confusionFromScoreBins,
  createScoreBins,
  EMPTY_CONFUSION,
  expectedCalibrationError,
  mergeConfusion,
  mergeScoreBinsInto,
  observedExpected,
  poissonInterval,
  positivePredictiveValue,
  reliabilityPoints,
  scoreBinEdges,
  SeededRandom,
  sensitivity,
  specificity,
  wilsonInterval,
} from '../../../../monitor/stats/index.ts';
import type { ConfusionCounts, ScoreBins } from '../../../../monitor/stats/index.ts';
import { codeOf, expectClose, scipy } from './fixtures.ts';

// Score bins: deciles, with the operating threshold 0.5 as an edge (required for CBPE and exact
// confusion counts from bins). Scores are in [0, 1], so 1.0 itself lands in the overflow bin.
const edges = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
const THRESHOLD = 0.5;

interface Window {
  readonly p: number;
  readonly y: boolean;
}

/** Calibrated synthetic data: p from a logit-normal, y ~ Bernoulli(truth(p)); truth = identity if calibrated. */
function synthetic(n: number, seed: number, truth: (p: number) => number = (p) => p): Window[] {
  const random = SeededRandom.fromSeed(seed);
  return Array.from({ length: n }, () => {
    const p = 1 / (1 + Math.exp(-(1.6 * random.normal() - 0.8)));
    return { p, y: random.uniform() < truth(p) };
  });
}

function realised(windows: readonly Window[]): ConfusionCounts {
  return windows.reduce((c, w) => addOutcome(c, w.p >= THRESHOLD, w.y), EMPTY_CONFUSION);
}

function binsOf(windows: readonly Window[], labelled: boolean): ScoreBins {
  const bins = createScoreBins(edges);
  for (const w of windows) {
    if (labelled) addLabelled(bins, edges, w.p, w.y);
    else addUnlabelled(bins, edges, w.p);
  }
  return bins;
}

describe('intervals against SciPy', () => {
  it('Wilson matches scipy.stats.binomtest(...).proportion_ci(method="wilson")', () => {
    for (const c of scipy.wilson) {
      const ci = wilsonInterval(c.k, c.n, c.confidence);
      expectClose(ci.lower, c.lower, 1e-9, 1e-15, `lower ${c.k}/${c.n}`);
      expectClose(ci.upper, c.upper, 1e-9, 1e-15, `upper ${c.k}/${c.n}`);
    }
    expect(codeOf(wilsonInterval, 0, 0)).toBe('EMPTY_SAMPLE');
    expect(codeOf(wilsonInterval, 3, 2)).toBe('BAD_COUNTS');
    expect(codeOf(wilsonInterval, 1, 2, 1)).toBe('BAD_ARGUMENT');
  });

  it('Garwood Poisson interval matches chi2.ppf', () => {
    for (const c of scipy.poisson) {
      const ci = poissonInterval(c.observed, c.confidence);
      expectClose(ci.lower, c.lower, 1e-9, 0, `lower ${c.observed}`);
      expectClose(ci.upper, c.upper, 1e-9, 0, `upper ${c.observed}`);
    }
  });
});

describe('score-bin accumulators', () => {
  it('give reliability points, ECE and observed/expected equal to a direct computation', () => {
    const windows = synthetic(5000, 11);
    const bins = binsOf(windows, true);
    assertScoreBins(bins, edges);
    let ece = 0;
    const points = reliabilityPoints(bins);
    for (const point of points) {
      const members = windows.filter((w) => {
        const lo = point.bin === 0 ? -Infinity : (edges[point.bin - 1] ?? 0);
        const hi = edges[point.bin] ?? Infinity;
        return w.p >= lo && w.p < hi;
      });
      expect(point.n).toBe(members.length);
      const meanP = members.reduce((s, w) => s + w.p, 0) / members.length;
      const rate = members.filter((w) => w.y).length / members.length;
      expectClose(point.meanPredicted, meanP, 1e-12, 0, 'mean predicted');
      expect(point.observedRate).toBe(rate);
      expect(point.lower).toBeLessThanOrEqual(rate);
      expect(point.upper).toBeGreaterThanOrEqual(rate);
      ece += (members.length / windows.length) * Math.abs(rate - meanP);
    }
    expectClose(expectedCalibrationError(bins), ece, 1e-12, 1e-15, 'ECE');
    const oe = observedExpected(bins);
    expect(oe.observed).toBe(windows.filter((w) => w.y).length);
    expectClose(
      oe.expected,
      windows.reduce((s, w) => s + w.p, 0),
      1e-12,
      0,
      'expected',
    );
    // Calibrated data: O/E interval covers 1 and ECE is small. (The Poisson interval is conservative for
    // Bernoulli sums: over 400 seeds of this set-up it missed 1 in 0.25 % of them, seed 1 among them.)
    expect(oe.lower).toBeLessThan(1);
    expect(oe.upper).toBeGreaterThan(1);
    expect(expectedCalibrationError(bins)).toBeLessThan(0.03);
  });

  it('detect miscalibration: outcomes twice as likely as predicted', () => {
    const windows = synthetic(5000, 2, (p) => Math.min(1, 2 * p));
    const oe = observedExpected(binsOf(windows, true));
    expect(oe.lower).toBeGreaterThan(1.5);
    expect(expectedCalibrationError(binsOf(windows, true))).toBeGreaterThan(0.1);
  });

  it('merge exactly across devices and intervals', () => {
    const windows = synthetic(3000, 3);
    const whole = binsOf(windows, true);
    const merged = createScoreBins(edges);
    for (let start = 0; start < windows.length; start += 700) {
      mergeScoreBinsInto(merged, binsOf(windows.slice(start, start + 700), true));
    }
    expect([...merged.n]).toEqual([...whole.n]);
    expect([...merged.sumY]).toEqual([...whole.sumY]);
    merged.sumP.forEach((v, i) => {
      expectClose(v, whole.sumP[i] ?? Number.NaN, 1e-12, 1e-12, `sumP ${i}`);
    });
    expect(codeOf(mergeScoreBinsInto, merged, createScoreBins([0, 1]))).toBe('LENGTH_MISMATCH');
  });

  it('validate scores, bins and emptiness', () => {
    const bins = createScoreBins(edges);
    expect(codeOf(addLabelled, bins, edges, Number.NaN, true)).toBe('BAD_ARGUMENT');
    expect(codeOf(addUnlabelled, bins, edges, 1.2)).toBe('BAD_ARGUMENT');
    expect(codeOf(expectedCalibrationError, bins)).toBe('EMPTY_SAMPLE');
    expect(codeOf(observedExpected, bins)).toBe('EMPTY_SAMPLE');
    const broken = { n: [...bins.n], sumP: [...bins.sumP], sumY: [...bins.sumY] };
    broken.sumY[3] = 1;
    expect(codeOf(assertScoreBins, broken, edges)).toBe('BAD_COUNTS');
    expect(codeOf(assertScoreBins, { n: [1], sumP: [0], sumY: [0] }, edges)).toBe('LENGTH_MISMATCH');
  });
});

describe('confusion counts at the operating threshold', () => {
  it('from labelled score bins equal the per-window counts and merge by addition', () => {
    const windows = synthetic(4000, 4);
    const direct = realised(windows);
    expect(confusionFromScoreBins(edges, binsOf(windows, true), THRESHOLD)).toEqual(direct);
    const a = realised(windows.slice(0, 1000));
    const b = realised(windows.slice(1000));
    expect(mergeConfusion(a, b)).toEqual(direct);
    expect(codeOf(confusionFromScoreBins, edges, binsOf(windows, true), 0.55)).toBe('THRESHOLD_NOT_EDGE');
  });

  it('sensitivity, specificity, PPV and accuracy carry Wilson intervals', () => {
    const c: ConfusionCounts = { tp: 87, fn: 13, tn: 870, fp: 130 };
    const sens = sensitivity(c);
    if (sens.kind !== 'estimate') throw new Error('expected an estimate');
    expect(sens.estimate).toBe(0.87);
    const fixture = scipy.wilson.find((w) => w.k === 87 && w.n === 100);
    expectClose(sens.lower, fixture?.lower ?? Number.NaN, 1e-9, 0, 'sens lower');
    const spec = specificity(c, 0.99);
    if (spec.kind !== 'estimate') throw new Error('expected an estimate');
    const fixture99 = scipy.wilson.find((w) => w.k === 870 && w.n === 1000);
    expectClose(spec.upper, fixture99?.upper ?? Number.NaN, 1e-9, 0, 'spec upper');
    expect(positivePredictiveValue(c).kind).toBe('estimate');
    expect(accuracy(c).kind).toBe('estimate');
    expect(sensitivity({ tp: 0, fn: 0, tn: 5, fp: 1 })).toEqual({ kind: 'undefined', trials: 0 });
    expect(codeOf(sensitivity, { tp: -1, fn: 0, tn: 0, fp: 0 })).toBe('BAD_COUNTS');
  });
});

describe('CBPE (label-free estimate)', () => {
  it('matches the realised sensitivity, specificity and accuracy on calibrated data', () => {
    let covered = 0;
    const runs = 40;
    for (let seed = 100; seed < 100 + runs; seed++) {
      const windows = synthetic(2000, seed);
      const estimate = cbpeEstimate(edges, binsOf(windows, false), THRESHOLD);
      if (estimate.kind !== 'estimate' || !estimate.sensitivity || !estimate.specificity) {
        throw new Error('expected an estimate');
      }
      const truth = realised(windows);
      const sens = truth.tp / (truth.tp + truth.fn);
      const spec = truth.tn / (truth.tn + truth.fp);
      const acc = (truth.tp + truth.tn) / windows.length;
      // Each realised metric lies within 4 (conservative) standard errors of its estimate…
      expect(Math.abs(sens - estimate.sensitivity.estimate)).toBeLessThan(
        4 * estimate.sensitivity.standardError,
      );
      expect(Math.abs(spec - estimate.specificity.estimate)).toBeLessThan(
        4 * estimate.specificity.standardError,
      );
      expect(Math.abs(acc - estimate.accuracy.estimate)).toBeLessThan(4 * estimate.accuracy.standardError);
      // …and the ±1.96 SE band covers it at least at the nominal rate (the SE is an upper bound).
      if (Math.abs(sens - estimate.sensitivity.estimate) < 1.96 * estimate.sensitivity.standardError)
        covered++;
    }
    expect(covered / runs).toBeGreaterThanOrEqual(0.85);
  });

  it('is biased when the calibration assumption fails (why labels are still needed)', () => {
    const windows = synthetic(20_000, 7, (p) => Math.min(1, 1.6 * p));
    const estimate = cbpeEstimate(edges, binsOf(windows, false), THRESHOLD);
    if (estimate.kind !== 'estimate' || !estimate.sensitivity) throw new Error('expected an estimate');
    const truth = realised(windows);
    const sens = truth.tp / (truth.tp + truth.fn);
    expect(Math.abs(sens - estimate.sensitivity.estimate)).toBeGreaterThan(
      6 * estimate.sensitivity.standardError,
    );
  });

  it('works at any operating threshold once it is added to the score edges', () => {
    const withThreshold = scoreBinEdges([0.37, 0.2]);
    expect([...withThreshold]).toEqual([0, 0.1, 0.2, 0.3, 0.37, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    const windows = synthetic(3000, 9);
    const bins = createScoreBins(withThreshold);
    for (const w of windows) addLabelled(bins, withThreshold, w.p, w.y);
    const direct = windows.reduce((c, w) => addOutcome(c, w.p >= 0.37, w.y), EMPTY_CONFUSION);
    expect(confusionFromScoreBins(withThreshold, bins, 0.37)).toEqual(direct);
    const estimate = cbpeEstimate(withThreshold, bins, 0.37);
    expect(estimate.kind).toBe('estimate');
    expect(codeOf(scoreBinEdges, [1.2])).toBe('BAD_ARGUMENT');
    expect(codeOf(scoreBinEdges, [], 0)).toBe('BAD_ARGUMENT');
  });

  it('handles empty bins, a threshold that is not an edge, and no expected positives', () => {
    expect(cbpeEstimate(edges, createScoreBins(edges), THRESHOLD)).toEqual({ kind: 'empty' });
    expect(codeOf(cbpeEstimate, edges, createScoreBins(edges), 0.45)).toBe('THRESHOLD_NOT_EDGE');
    const zeros = createScoreBins(edges);
    addUnlabelled(zeros, edges, 0);
    const r = cbpeEstimate(edges, zeros, THRESHOLD);
    if (r.kind !== 'estimate') throw new Error('expected an estimate');
    expect(r.sensitivity).toBeNull();
    expect(r.specificity?.estimate).toBe(1);
    expect(r.accuracy.estimate).toBe(1);
  });
});
