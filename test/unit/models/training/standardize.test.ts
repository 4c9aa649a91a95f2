import { describe, expect, it } from 'vitest';
import {
  IQR_TO_SD,
  applyStandardizer,
  fitStandardizer,
  quantileSorted,
  sortedFinite,
} from '../../../../models/training/index.ts';

describe('quantiles (Hyndman–Fan type 7)', () => {
  it('interpolates between order statistics like numpy.quantile', () => {
    const s = [1, 2, 3, 4];
    expect(quantileSorted(s, 0)).toBe(1);
    expect(quantileSorted(s, 1)).toBe(4);
    expect(quantileSorted(s, 0.5)).toBe(2.5);
    expect(quantileSorted(s, 0.25)).toBe(1.75);
    expect(quantileSorted([7], 0.3)).toBe(7);
    expect(Number.isNaN(quantileSorted([], 0.5))).toBe(true);
    expect(Array.from(sortedFinite([3, Number.NaN, -1, 2]))).toEqual([-1, 2, 3]);
  });
});

describe('standardizer', () => {
  // Two features, 5 rows; feature 1 has a NaN and feature 0 is constant.
  const x = Float64Array.from([2, 1, 2, 3, 2, Number.NaN, 2, 10, 2, 5]);
  const names = ['constant', 'skewed'];

  it('imputes the training median of non-NaN values and fits mean/SD on them', () => {
    const st = fitStandardizer(x, names, 'mean-sd');
    expect(st.impute[1]).toBe(4); // median of [1, 3, 5, 10]
    expect(st.center[1]).toBe(Math.fround(19 / 4));
    const sd = Math.sqrt(((1 - 4.75) ** 2 + (3 - 4.75) ** 2 + (10 - 4.75) ** 2 + (5 - 4.75) ** 2) / 3);
    expect(st.scale[1]).toBe(Math.fround(sd));
    expect(st.scale[0]).toBe(1); // constant feature
    const z = applyStandardizer(st, x);
    expect(z[2 * 2 + 1]).toBeCloseTo((4 - Math.fround(4.75)) / Math.fround(sd), 12);
    expect(z[0]).toBe(0);
  });

  it('median-iqr scales by IQR / 1.349', () => {
    const st = fitStandardizer(x, names, 'median-iqr');
    expect(st.center[1]).toBe(4);
    // [1, 3, 5, 10]: Q1 = 2.5, Q3 = 6.25
    expect(st.scale[1]).toBe(Math.fround(3.75 / IQR_TO_SD));
  });
});
