import { describe, expect, it } from 'vitest';
import {
  analyticPValue,
  analyticThreshold,
  calibrateNullThresholds,
  DRIFT_STATISTICS,
  evaluateDrift,
  binnedKs,
  binnedWasserstein,
  chiSquareGof,
  driftStatistics,
  jensenShannonDistance,
  prepareReference,
  psi,
  PSI_EPSILON,
} from '../../../../monitor/stats/index.ts';
import { codeOf, expectClose, scipy } from './fixtures.ts';

// Tolerance 1e-9 relative (+1e-12 absolute for values that are exactly 0 in SciPy): the statistics are
// short sums, so agreement is ~1e-15; the χ² p-value uses our incomplete gamma (~1e-13 relative).
const REL = 1e-9;
const ABS = 1e-12;

describe('distances against SciPy/NumPy fixtures', () => {
  it('uses the same PSI epsilon as the generator', () => {
    expect(PSI_EPSILON).toBe(scipy.psiEpsilon);
  });

  for (const c of scipy.distances) {
    it(`case ${c.name}`, () => {
      expectClose(psi(c.observed, c.reference), c.psi, REL, ABS, 'psi');
      expectClose(jensenShannonDistance(c.observed, c.reference), c.js, REL, ABS, 'js');
      expectClose(binnedKs(c.observed, c.reference), c.ks, REL, ABS, 'ks');
      expectClose(binnedWasserstein(c.observed, c.reference, c.points), c.wasserstein, REL, ABS, 'w1');
      const chi = chiSquareGof(c.observed, c.reference);
      expectClose(chi.statistic, c.chi2.statistic, REL, ABS, 'chi2');
      expect(chi.df).toBe(c.chi2.df);
      expect(chi.n).toBe(c.chi2.n);
      expect(chi.outsideSupport).toBe(c.chi2.outsideSupport);
      expectClose(chi.pValue, c.chi2.pValue, REL, 1e-300, 'chi2 p');
    });
  }
});

describe('driftStatistics on full layouts (underflow, interior, overflow, NaN)', () => {
  for (const c of scipy.drift) {
    it(`case ${c.name}`, () => {
      const ref = prepareReference({ edges: c.edges, proportions: c.proportions, sd: c.sd });
      for (const counts of [c.counts, Uint32Array.from(c.counts), Float64Array.from(c.counts)]) {
        const d = driftStatistics(counts, ref);
        if (d.kind !== 'computed') throw new Error('expected computed statistics');
        expect(d.n).toBe(c.counts.slice(0, -1).reduce((a, b) => a + b, 0));
        expectClose(d.psi, c.psi, REL, ABS, 'psi');
        expectClose(d.js, c.js, REL, ABS, 'js');
        expectClose(d.ks, c.ks, REL, ABS, 'ks');
        expectClose(d.wasserstein, c.wasserstein, REL, ABS, 'w1/sd');
        expectClose(d.chi2.statistic, c.chi2.statistic, REL, ABS, 'chi2');
        expectClose(d.chi2.pValue, c.chi2.pValue, REL, 1e-300, 'chi2 p');
        expect(d.missingness.nanCount).toBe(c.missingness.nanCount);
        expect(d.missingness.total).toBe(c.missingness.total);
        expectClose(d.missingness.pValue, c.missingness.pValue, REL, 1e-300, 'missingness p');
      }
    });
  }
});

describe('drift edge cases', () => {
  const ref = prepareReference({
    edges: [0, 1, 2],
    proportions: [0, 0.5, 0.5, 0, 0],
    sd: 0.5,
  });

  it('identical distributions give zero distances', () => {
    const d = driftStatistics([0, 50, 50, 0, 0], ref);
    expect(d.kind).toBe('computed');
    if (d.kind !== 'computed') return;
    expect(d.psi).toBe(0);
    expect(d.js).toBe(0);
    expect(d.ks).toBe(0);
    expect(d.wasserstein).toBe(0);
    expect(d.chi2.pValue).toBe(1);
  });

  it('an interval with only NaN is "empty" and NaN beyond a NaN-free reference has p = 0', () => {
    const d = driftStatistics([0, 0, 0, 0, 3], ref);
    expect(d.kind).toBe('empty');
    expect(d.missingness.pValue).toBe(0);
    expect(d.missingness.observedRate).toBe(1);
    const none = driftStatistics([0, 0, 0, 0, 0], ref);
    expect(none.kind).toBe('empty');
    expect(none.missingness.pValue).toBe(1);
  });

  it('mass outside the reference support: χ² conditions on the support, PSI is bounded by epsilon', () => {
    const d = driftStatistics([0, 0, 0, 10, 0], ref);
    if (d.kind !== 'computed') throw new Error('expected computed');
    expect(d.chi2.n).toBe(0);
    expect(d.chi2.outsideSupport).toBe(10);
    expect(d.chi2.pValue).toBe(1);
    expect(d.psi).toBeGreaterThan(5);
    expect(Number.isFinite(d.psi)).toBe(true);
    expect(d.js).toBe(1);
    expect(d.ks).toBe(1);
    // All mass moved from {0.5, 1.5} to the overflow point 2.5: W1 = 1.5·0.5 + … = 1.5 (in units) / sd.
    expectClose(d.wasserstein, (0.5 * 2 + 0.5 * 1) / 0.5, 1e-12, 0, 'w1');
  });

  it('validates the reference and the counts', () => {
    expect(codeOf(prepareReference, { edges: [0, 1], proportions: [0.5, 0.5, 0, 0], sd: 1 })).toBe('none');
    expect(codeOf(prepareReference, { edges: [0, 1], proportions: [0.5, 0.5, 0], sd: 1 })).toBe(
      'LENGTH_MISMATCH',
    );
    expect(codeOf(prepareReference, { edges: [0, 1], proportions: [0.5, 0.6, 0, 0], sd: 1 })).toBe(
      'BAD_PROPORTIONS',
    );
    expect(codeOf(prepareReference, { edges: [0, 1], proportions: [0, 0, 0, 1], sd: 1 })).toBe(
      'BAD_PROPORTIONS',
    );
    expect(codeOf(prepareReference, { edges: [0, 1], proportions: [0.5, 0.5, 0, 0], sd: -1 })).toBe(
      'BAD_ARGUMENT',
    );
    expect(
      codeOf(() =>
        prepareReference({ edges: [0, 1], proportions: [0.5, 0.5, 0, 0], sd: 1, points: [0, 0, 1] }),
      ),
    ).toBe('BAD_ARGUMENT');
    expect(codeOf(driftStatistics, [1, 2, 3], ref)).toBe('LENGTH_MISMATCH');
    expect(codeOf(driftStatistics, [0, 1.5, 1, 0, 0], ref)).toBe('BAD_COUNTS');
    expect(codeOf(psi, [0, 0], [1, 1])).toBe('EMPTY_SAMPLE');
    expect(codeOf(psi, [1, 0], [1, 1], 0)).toBe('BAD_ARGUMENT');
    expect(codeOf(jensenShannonDistance, [1, 0], [0, 0])).toBe('BAD_PROPORTIONS');
    expect(codeOf(binnedKs, [1, -1], [1, 1])).toBe('BAD_COUNTS');
    expect(codeOf(binnedWasserstein, [1, 1], [1, 1], [1, 1])).toBe('BAD_ARGUMENT');
    expect(codeOf(chiSquareGof, [0.5, 1], [1, 1])).toBe('BAD_COUNTS');
  });

  it('a constant reference (one support bin, sd = 0): any movement is drift, no movement is not', () => {
    const constant = prepareReference({ edges: [0, 1], proportions: [0, 1, 0, 0], sd: 0 });
    const same = driftStatistics([0, 25, 0, 0], constant);
    const moved = driftStatistics([0, 24, 1, 0], constant);
    if (same.kind !== 'computed' || moved.kind !== 'computed') throw new Error('expected computed');
    expect(same.wasserstein).toBe(0);
    expect(moved.wasserstein).toBe(Infinity);
    for (const statistic of DRIFT_STATISTICS) {
      expect(analyticThreshold(constant, statistic, 25, 0.01)).toBe(0);
      expect(analyticPValue(constant, statistic, 0, 25)).toBe(1);
    }
    const decisions = evaluateDrift(moved, constant, ['psi', 'js', 'ks', 'wasserstein', 'chi2'], {
      kind: 'analytic',
      alpha: 0.01,
    });
    if (decisions.kind !== 'evaluated') throw new Error('expected evaluated');
    expect(decisions.decisions.map((d) => d.exceeded)).toEqual([true, true, true, true, false]);
    const table = calibrateNullThresholds({
      edges: [0, 1],
      proportions: [0, 1, 0, 0],
      sd: 0,
      sampleSizes: [10],
      alpha: 0.01,
      replicates: 50,
      seed: 1,
    });
    for (const statistic of DRIFT_STATISTICS) expect(table.thresholds[statistic]).toEqual([0]);
  });

  it('custom representative points override the default tail placement', () => {
    const custom = prepareReference({
      edges: [0, 1, 2],
      proportions: [0, 0.5, 0.5, 0, 0],
      sd: 1,
      points: [-10, 0.5, 1.5, 10],
    });
    const d = driftStatistics([0, 0, 0, 4, 0], custom);
    if (d.kind !== 'computed') throw new Error('expected computed');
    expectClose(d.wasserstein, 0.5 * 1 + 1 * 8.5, 1e-12, 0, 'w1');
  });
});
