import { describe, expect, it } from 'vitest';
import { confusionAt, sensitivity, specificity } from '../../../../models/evaluation/metrics.ts';
import { chooseOperatingThreshold } from '../../../../models/evaluation/operating-point.ts';
import { EvaluationError } from '../../../../models/evaluation/errors.ts';

describe('chooseOperatingThreshold', () => {
  it('splits a clean separation down the middle of the gap', () => {
    const scores = [0.01, 0.05, 0.1, 0.2, 0.8, 0.9, 0.95, 0.99];
    const labels = [0, 0, 0, 0, 1, 1, 1, 1];
    const point = chooseOperatingThreshold(scores, labels, 0.95);
    expect(point.threshold).toBeCloseTo(0.5, 12);
    expect(point).toMatchObject({ sensitivity: 1, specificity: 1 });
  });

  it('keeps the target sensitivity and then maximises specificity', () => {
    // Hand-worked: positives 0.3, 0.6, 0.7, 0.9; negatives 0.1, 0.4, 0.5, 0.65.
    const scores = [0.3, 0.6, 0.7, 0.9, 0.1, 0.4, 0.5, 0.65];
    const labels = [1, 1, 1, 1, 0, 0, 0, 0];
    const strict = chooseOperatingThreshold(scores, labels, 1);
    expect(strict).toMatchObject({ sensitivity: 1, specificity: 0.25 }); // t in (0.1, 0.3]
    expect(strict.threshold).toBeCloseTo(0.2, 12);
    const relaxed = chooseOperatingThreshold(scores, labels, 0.75);
    expect(relaxed).toMatchObject({ sensitivity: 0.75, specificity: 0.75 }); // t in (0.5, 0.6]
    expect(relaxed.threshold).toBeCloseTo(0.55, 12);
    const c = confusionAt(scores, labels, relaxed.threshold);
    expect([sensitivity(c), specificity(c)]).toEqual([0.75, 0.75]);
  });

  it('moves tied scores together and refuses a single class', () => {
    const point = chooseOperatingThreshold([0.5, 0.5, 0.5, 0.2], [1, 0, 1, 0], 1);
    expect(point).toMatchObject({ sensitivity: 1, specificity: 0.5 });
    expect(() => chooseOperatingThreshold([0.1, 0.2], [1, 1], 0.9)).toThrow(EvaluationError);
  });
});
