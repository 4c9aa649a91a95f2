import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EvaluationError,
  brierScore,
  calibrationBinIndex,
  confusionAt,
  eceFromBins,
  expectedCalibrationError,
  reliabilityBins,
  rocAuc,
  sensitivity,
  specificity,
  thresholdForSensitivity,
} from '../../../../models/evaluation/index.ts';

interface FixtureCase {
  name: string;
  scores: number[];
  labels: number[];
  rocAuc: number;
  at: {
    threshold: number;
    tp: number;
    fp: number;
    tn: number;
    fn: number;
    sensitivity: number;
    specificity: number;
  }[];
  reliability: { n: number; sumP: number; sumY: number }[];
  ece: number;
  brier: number;
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/metrics.json', import.meta.url), 'utf8')) as {
  cases: FixtureCase[];
};

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof EvaluationError ? e.code : 'other';
  }
  return undefined;
}

describe('metrics on hand-computed cases', () => {
  it('ROC AUC counts ties as one half', () => {
    // Pairs (pos, neg): (0.8,0.3) > ; (0.8,0.5) > ; (0.5,0.3) > ; (0.5,0.5) tie → (3 + 0.5) / 4.
    expect(rocAuc([0.8, 0.5, 0.3, 0.5], [1, 1, 0, 0])).toBe(0.875);
    expect(rocAuc([0.1, 0.2, 0.3], [1, 0, 0])).toBe(0);
    expect(rocAuc([0.4, 0.4], [1, 0])).toBe(0.5);
    expect(Number.isNaN(rocAuc([0.1, 0.2], [1, 1]))).toBe(true);
  });

  it('positive iff score ≥ threshold', () => {
    const c = confusionAt([0.5, 0.49, 0.5, 0.2], [1, 1, 0, 0], 0.5);
    expect(c).toEqual({ tp: 1, fn: 1, fp: 1, tn: 1 });
    expect(sensitivity(c)).toBe(0.5);
    expect(specificity(c)).toBe(0.5);
    expect(Number.isNaN(sensitivity({ tp: 0, fn: 0, fp: 1, tn: 1 }))).toBe(true);
  });

  it('picks the largest threshold reaching the target sensitivity, with a midpoint margin', () => {
    const scores = [0.9, 0.8, 0.7, 0.6, 0.65, 0.3, 0.2, 0.1];
    const labels = [1, 1, 1, 1, 0, 0, 0, 0];
    // 75 % of 4 positives = 3 → t* = 0.7; next lower score is 0.65 → threshold 0.675.
    const op = thresholdForSensitivity(scores, labels, 0.75);
    expect(op.threshold).toBeCloseTo(0.675, 15);
    expect(op.sensitivity).toBe(0.75);
    expect(op.specificity).toBe(1);
    // 100 % → t* = 0.6, next lower 0.3 → 0.45; the negative at 0.65 is a false positive.
    const all = thresholdForSensitivity(scores, labels, 1);
    expect(all.threshold).toBeCloseTo(0.45, 15);
    expect(all.sensitivity).toBe(1);
    expect(all.specificity).toBe(0.75);
    // 0.9 × 10 positives must need 9, not 10.
    const ten = Array.from({ length: 10 }, (_, i) => 0.5 + i / 100);
    const op9 = thresholdForSensitivity([...ten, 0.1], [...ten.map(() => 1), 0], 0.9);
    expect(op9.sensitivity).toBe(0.9);
    expect(codeOf(() => thresholdForSensitivity([0.1, 0.2], [1, 1], 0.9))).toBe('SINGLE_CLASS');
    expect(codeOf(() => thresholdForSensitivity(scores, labels, 0))).toBe('BAD_ARGUMENT');
  });

  it('ECE and reliability bins on a hand case (10 equal-width bins, p = 1 in the last bin)', () => {
    const scores = [0.05, 0.05, 0.95, 1, 0.5];
    const labels = [0, 1, 1, 1, 0];
    const bins = reliabilityBins(scores, labels);
    expect(bins).toHaveLength(10);
    expect(bins[0]).toEqual({ lower: 0, upper: 0.1, n: 2, sumP: 0.1, sumY: 1 });
    expect(bins[5]).toMatchObject({ n: 1, sumP: 0.5, sumY: 0 });
    expect(bins[9]).toMatchObject({ n: 2, sumP: 1.95, sumY: 2 });
    // |1 − 0.1| + |0 − 0.5| + |2 − 1.95| = 1.45, over 5.
    expect(expectedCalibrationError(scores, labels)).toBeCloseTo(0.29, 15);
    expect(eceFromBins(bins)).toBeCloseTo(0.29, 15);
    expect(calibrationBinIndex(0.1)).toBe(1);
    expect(calibrationBinIndex(0.0999999)).toBe(0);
    expect(brierScore([1, 0, 0.5], [1, 1, 0])).toBeCloseTo((0 + 1 + 0.25) / 3, 15);
  });

  it('rejects malformed input', () => {
    expect(codeOf(() => rocAuc([0.1], [1, 0]))).toBe('BAD_INPUT');
    expect(codeOf(() => rocAuc([0.1, 0.2], [1, 2]))).toBe('BAD_INPUT');
    expect(codeOf(() => rocAuc([Number.NaN, 0.2], [1, 0]))).toBe('BAD_INPUT');
    expect(codeOf(() => brierScore([1.5], [1]))).toBe('BAD_INPUT');
    expect(codeOf(() => reliabilityBins([0.5], [1], 0))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => confusionAt([0.5], [1], Number.NaN))).toBe('BAD_ARGUMENT');
  });
});

describe('metrics against numpy/scipy fixtures (gen_metrics_fixtures.py)', () => {
  for (const c of fixtures.cases) {
    it(`${c.name}: AUC (scipy mannwhitneyu), confusion, reliability, ECE, Brier`, () => {
      expect(rocAuc(c.scores, c.labels)).toBeCloseTo(c.rocAuc, 12);
      for (const at of c.at) {
        const conf = confusionAt(c.scores, c.labels, at.threshold);
        expect(conf).toEqual({ tp: at.tp, fp: at.fp, tn: at.tn, fn: at.fn });
        expect(sensitivity(conf)).toBeCloseTo(at.sensitivity, 14);
        expect(specificity(conf)).toBeCloseTo(at.specificity, 14);
      }
      const bins = reliabilityBins(c.scores, c.labels);
      bins.forEach((b, i) => {
        const want = c.reliability[i];
        expect(b.n).toBe(want?.n);
        expect(b.sumY).toBe(want?.sumY);
        expect(b.sumP).toBeCloseTo(want?.sumP ?? Number.NaN, 10);
      });
      expect(expectedCalibrationError(c.scores, c.labels)).toBeCloseTo(c.ece, 12);
      expect(brierScore(c.scores, c.labels)).toBeCloseTo(c.brier, 12);
    });
  }
});
