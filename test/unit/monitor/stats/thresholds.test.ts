import { describe, expect, it } from 'vitest';
import {
  analyticPValue,
  analyticThreshold,
  calibrateNullThresholds,
  DRIFT_STATISTICS,
  driftStatistics,
  empiricalPValue,
  evaluateDrift,
  monteCarloPValues,
  parseNullThresholdTable,
  prepareReference,
  simulateNull,
  thresholdAt,
  upperQuantile,
} from '../../../../monitor/stats/index.ts';
import type { DriftStatisticName, NullThresholdTable } from '../../../../monitor/stats/index.ts';
import { codeOf, expectClose, scipy } from './fixtures.ts';

// The DESIGN.md example: 10 equal-probability bins on [0, 1] (empty underflow/overflow/NaN).
const tenBins = {
  edges: scipy.null.edges,
  proportions: scipy.null.proportions,
  sd: scipy.null.sd,
};
const reference = prepareReference(tenBins);
const ALPHA = 0.01;

/** Binomial tolerance: 4.5 standard deviations of a rate estimated from `replicates` draws. */
function tolerance(rate: number, replicates: number): number {
  return 4.5 * Math.sqrt((rate * (1 - rate)) / replicates);
}

function exceedanceRates(sample: Float64Array, threshold: number): { strict: number; weak: number } {
  let strict = 0;
  let weak = 0;
  for (const v of sample) {
    if (v > threshold) strict++;
    if (v >= threshold) weak++;
  }
  return { strict: strict / sample.length, weak: weak / sample.length };
}

describe('why a fixed PSI threshold is wrong (DESIGN.md "Drift")', () => {
  it('10 bins, 100 samples of pure noise: PSI exceeds 0.1 about a third of the time', () => {
    const sample = simulateNull({ reference, n: 100, replicates: 20_000, seed: 11 });
    const rate = exceedanceRates(sample.psi, 0.1).strict;
    // Independent NumPy simulation (200,000 replicates) committed in the fixtures: ≈ 0.389.
    const numpyRate = scipy.null.cases[0]?.['fractionPsiAbove0.1'] ?? Number.NaN;
    expect(Math.abs(rate - numpyRate)).toBeLessThan(
      tolerance(numpyRate, 20_000) + tolerance(numpyRate, 200_000),
    );
    expect(rate).toBeGreaterThan(0.3);
    expect(rate).toBeLessThan(0.45);
    // …while at n = 2000 the same noise never reaches 0.1: the threshold must depend on n.
    const large = simulateNull({ reference, n: 2000, replicates: 2000, seed: 12 });
    expect(exceedanceRates(large.psi, 0.1).strict).toBe(0);
  });
});

describe('Monte-Carlo null thresholds', () => {
  for (const n of [100, 2000]) {
    it(`false-alarm rate at alpha = 0.01 is 1 % within binomial tolerance at n = ${n}`, () => {
      const replicates = 20_000;
      const table = calibrateNullThresholds({
        ...tenBins,
        sampleSizes: [n],
        alpha: ALPHA,
        replicates,
        seed: 1,
      });
      // Fresh draws from the reference (another seed) play the part of in-control intervals.
      const heldOut = simulateNull({ reference, n, replicates, seed: 2 });
      const tol = tolerance(ALPHA, replicates) * Math.SQRT2; // calibration + evaluation noise
      for (const statistic of DRIFT_STATISTICS) {
        const threshold = thresholdAt(table, statistic, n).threshold;
        const rate = exceedanceRates(heldOut[statistic], threshold);
        // Discrete statistics (KS moves in steps of 1/n) can only bracket α: P(T > t) ≤ α ≤ P(T ≥ t).
        expect(rate.strict, `${statistic} strict`).toBeLessThanOrEqual(ALPHA + tol);
        expect(rate.weak, `${statistic} weak`).toBeGreaterThanOrEqual(ALPHA - tol);
      }
    });
  }

  it('agrees with an independent NumPy simulation of the 0.99 quantiles', () => {
    for (const c of scipy.null.cases) {
      const table = calibrateNullThresholds({
        ...tenBins,
        sampleSizes: [c.n],
        alpha: c.alpha,
        replicates: 20_000,
        seed: 5,
      });
      for (const statistic of DRIFT_STATISTICS) {
        const ours = table.thresholds[statistic][0] ?? Number.NaN;
        // Monte-Carlo error of a 0.99 quantile from 20,000 draws is ≈ 1–2 %; KS also moves in 1/n steps.
        expectClose(
          ours,
          c.quantiles[statistic],
          0.05,
          statistic === 'ks' ? 1 / c.n : 0,
          `${statistic} n=${c.n}`,
        );
      }
    }
  });

  it('is deterministic per seed and grows no false precision', () => {
    const options = { ...tenBins, sampleSizes: [50, 500], alpha: 0.05, replicates: 500, seed: 77 };
    const a = calibrateNullThresholds(options);
    expect(calibrateNullThresholds(options)).toEqual(a);
    expect(calibrateNullThresholds({ ...options, seed: 78 })).not.toEqual(a);
    // Appending a grid point leaves the earlier ones unchanged (one substream per grid point).
    const longer = calibrateNullThresholds({ ...options, sampleSizes: [50, 500, 5000] });
    for (const s of DRIFT_STATISTICS) expect(longer.thresholds[s].slice(0, 2)).toEqual(a.thresholds[s]);
  });

  it('interpolates log-log between grid points and flags extrapolation', () => {
    const table: NullThresholdTable = {
      method: 'monte-carlo',
      alpha: 0.01,
      replicates: 1,
      seed: 0,
      epsilon: 1e-4,
      sampleSizes: [100, 400],
      thresholds: {
        psi: [0.2, 0.05],
        js: [0.2, 0.1],
        ks: [0.16, 0.08],
        wasserstein: [0.2, 0.1],
        chi2: [21, 22],
      },
    };
    expect(thresholdAt(table, 'psi', 100)).toEqual({ threshold: 0.2, extrapolated: false });
    expectClose(thresholdAt(table, 'psi', 200).threshold, 0.1, 1e-12, 0, 'psi at 200'); // 0.2·(200/100)^−1
    expectClose(thresholdAt(table, 'js', 200).threshold, 0.2 / Math.SQRT2, 1e-12, 0, 'js at 200');
    const beyond = thresholdAt(table, 'psi', 1600);
    expect(beyond.extrapolated).toBe(true);
    expectClose(beyond.threshold, 0.05 / 4, 1e-12, 0, 'psi at 1600');
    expectClose(thresholdAt(table, 'ks', 25).threshold, 0.32, 1e-12, 0, 'ks at 25');
    expect(thresholdAt(table, 'chi2', 10_000).threshold).toBe(22);
    expect(codeOf(thresholdAt, table, 'psi', 0)).toBe('BAD_ARGUMENT');
  });

  it('round-trips through JSON and rejects malformed tables with BAD_STATE', () => {
    const table = calibrateNullThresholds({
      ...tenBins,
      sampleSizes: [30, 300],
      alpha: 0.01,
      replicates: 200,
      seed: 4,
    });
    expect(parseNullThresholdTable(JSON.parse(JSON.stringify(table)))).toEqual(table);
    const bad: unknown[] = [
      null,
      [],
      { ...table, method: 'magic' },
      { ...table, alpha: 2 },
      { ...table, sampleSizes: [300, 30] },
      { ...table, sampleSizes: [30, 300.5] },
      { ...table, thresholds: { ...table.thresholds, psi: [1] } },
      { ...table, thresholds: { ...table.thresholds, psi: [1, -1] } },
      { ...table, thresholds: { ...table.thresholds, extra: [1, 2] } },
      { ...table, thresholds: { ...table.thresholds, js: ['a', 1] } },
      { ...table, surprise: true },
    ];
    for (const raw of bad) expect(codeOf(parseNullThresholdTable, raw)).toBe('BAD_STATE');
  });

  it('validates its options', () => {
    const base = { ...tenBins, sampleSizes: [10], alpha: 0.01, replicates: 10, seed: 1 };
    expect(codeOf(calibrateNullThresholds, { ...base, alpha: 0 })).toBe('BAD_ARGUMENT');
    expect(codeOf(calibrateNullThresholds, { ...base, replicates: 0 })).toBe('BAD_ARGUMENT');
    expect(codeOf(calibrateNullThresholds, { ...base, sampleSizes: [] })).toBe('BAD_ARGUMENT');
    expect(codeOf(calibrateNullThresholds, { ...base, sampleSizes: [0] })).toBe('BAD_ARGUMENT');
    expect(codeOf(calibrateNullThresholds, { ...base, seed: -3 })).toBe('BAD_ARGUMENT');
    expect(codeOf(upperQuantile, new Float64Array(0), 0.1)).toBe('BAD_ARGUMENT');
  });
});

describe('empirical p-values', () => {
  it('use the +1 correction', () => {
    const sorted = Float64Array.of(1, 2, 2, 3);
    expect(empiricalPValue(sorted, 10)).toBe(1 / 5);
    expect(empiricalPValue(sorted, 2)).toBe(4 / 5);
    expect(empiricalPValue(sorted, 0)).toBe(1);
    expect(empiricalPValue(sorted, 3)).toBe(2 / 5);
    expect(codeOf(empiricalPValue, sorted, Number.NaN)).toBe('BAD_ARGUMENT');
  });

  it('are valid under H0: P(p <= 0.05) <= 0.05 within tolerance', () => {
    const nullSample = simulateNull({ reference, n: 200, replicates: 2000, seed: 21 });
    const fresh = simulateNull({ reference, n: 200, replicates: 4000, seed: 22 });
    for (const statistic of ['psi', 'js', 'chi2'] as const) {
      let small = 0;
      for (const v of fresh[statistic]) if (empiricalPValue(nullSample[statistic], v) <= 0.05) small++;
      const rate = small / 4000;
      expect(rate).toBeLessThanOrEqual(0.05 + tolerance(0.05, 4000) * Math.SQRT2);
      expect(rate).toBeGreaterThanOrEqual(0.05 - tolerance(0.05, 4000) * Math.SQRT2);
    }
  });
});

describe('analytic thresholds', () => {
  it('hit alpha at n = 2000 for PSI, JS and chi2; KS is conservative; W1 is close', () => {
    const n = 2000;
    const heldOut = simulateNull({ reference, n, replicates: 20_000, seed: 31 });
    const tol = tolerance(ALPHA, 20_000);
    const rate = (s: DriftStatisticName): number =>
      exceedanceRates(heldOut[s], analyticThreshold(reference, s, n, ALPHA)).strict;
    for (const s of ['psi', 'js', 'chi2'] as const) expect(Math.abs(rate(s) - ALPHA), s).toBeLessThan(tol);
    expect(rate('ks')).toBeLessThan(ALPHA); // Kolmogorov limit bounds the binned statistic
    expect(rate('wasserstein')).toBeGreaterThan(0.5 * ALPHA);
    expect(rate('wasserstein')).toBeLessThan(2 * ALPHA);
  });

  it('p-values and thresholds are consistent: p(threshold) = alpha', () => {
    for (const s of DRIFT_STATISTICS) {
      for (const n of [80, 5000]) {
        const t = analyticThreshold(reference, s, n, 0.05);
        expectClose(analyticPValue(reference, s, t, n), 0.05, 1e-8, 0, `${s} n=${n}`);
      }
    }
  });

  it('PSI threshold at n = 100 is far above 0.1 and falls like 1/n', () => {
    const t100 = analyticThreshold(reference, 'psi', 100, ALPHA);
    const t10k = analyticThreshold(reference, 'psi', 10_000, ALPHA);
    expect(t100).toBeGreaterThan(0.2);
    expect(t10k * 10_000).toBeLessThan(t100 * 100); // the small-n correction only adds
    expectClose(t10k * 10_000, 21.666, 0.01, 0, 'n·threshold → χ²(9) 0.99 quantile');
    expect(codeOf(analyticThreshold, reference, 'psi', 0, ALPHA)).toBe('BAD_ARGUMENT');
    expect(codeOf(analyticThreshold, reference, 'psi', 10, 1)).toBe('BAD_ARGUMENT');
  });
});

describe('evaluateDrift', () => {
  it('decides each statistic at the interval n, from either source', () => {
    const shifted = [0, 4, 5, 6, 8, 10, 12, 12, 13, 14, 16, 0, 0];
    const stats = driftStatistics(shifted, reference);
    const analytic = evaluateDrift(stats, reference, DRIFT_STATISTICS, { kind: 'analytic', alpha: ALPHA });
    if (analytic.kind !== 'evaluated') throw new Error('expected evaluated');
    expect(analytic.n).toBe(100);
    expect(analytic.decisions.map((d) => d.statistic)).toEqual([...DRIFT_STATISTICS]);
    for (const d of analytic.decisions) {
      expect(d.exceeded).toBe(d.value > d.threshold);
      expect(d.exceeded).toBe(d.pValue < ALPHA);
    }
    const table = calibrateNullThresholds({
      ...tenBins,
      sampleSizes: [50, 200],
      alpha: ALPHA,
      replicates: 4000,
      seed: 8,
    });
    const mc = evaluateDrift(stats, reference, ['psi', 'ks'], { kind: 'table', table });
    if (mc.kind !== 'evaluated') throw new Error('expected evaluated');
    expect(mc.decisions).toHaveLength(2);
    expect(mc.decisions[0]?.extrapolated).toBe(false);
    expect(mc.anyExceeded).toBe(mc.decisions.some((d) => d.exceeded));
    const empty = driftStatistics([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4], reference);
    expect(evaluateDrift(empty, reference, ['psi'], { kind: 'analytic', alpha: ALPHA }).kind).toBe('empty');
  });

  it('Monte-Carlo p-values at the exact n flag a real shift and not the reference', () => {
    const shifted = driftStatistics([0, 4, 5, 6, 8, 10, 12, 12, 13, 14, 16, 0, 0], reference);
    const p = monteCarloPValues(shifted, reference, ['psi', 'ks', 'wasserstein'], {
      replicates: 2000,
      seed: 3,
    });
    expect(p.ks).toBeLessThan(0.01);
    expect(p.wasserstein).toBeLessThan(0.01);
    const flat = driftStatistics([0, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 0, 0], reference);
    const q = monteCarloPValues(flat, reference, ['psi'], { replicates: 2000, seed: 3 });
    expect(q.psi).toBe(1);
    const empty = driftStatistics([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4], reference);
    expect(codeOf(monteCarloPValues, empty, reference, ['psi'], { replicates: 10, seed: 1 })).toBe(
      'EMPTY_SAMPLE',
    );
  });
});
