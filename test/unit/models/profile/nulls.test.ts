import { describe, expect, it } from 'vitest';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import * as stats from '../../../../monitor/stats/index.ts';
import {
  ProfileError,
  binCounts,
  binnedKs,
  binnedWasserstein,
  chiSquareStatistic,
  jsDistance,
  nullStatistics,
  nullThresholds,
  psi,
  quantileEdges,
  representativePoints,
} from '../../../../models/profile/index.ts';
import type { NullStatistic } from '../../../../models/profile/index.ts';
import type { NullModelOptions, NullSampleCache } from '../../../../models/profile/index.ts';
import { seededRng } from '../../../../models/training/index.ts';

const edges = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const counts = [0, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 0, 7];
const options: NullModelOptions = {
  alpha: 0.01,
  replicates: 1000,
  seed: 11,
  sampleSizes: [50, 200, 1000, 5000],
  epsilon: 1e-4,
};

describe('Monte-Carlo null thresholds', () => {
  const table = nullThresholds(edges, counts, 2.9, options);

  it('is seeded and deterministic', () => {
    expect(nullThresholds(edges, counts, 2.9, options)).toEqual(table);
    expect(nullThresholds(edges, counts, 2.9, { ...options, seed: 12 }).thresholds).not.toEqual(
      table.thresholds,
    );
  });

  it('shrinks with n like the asymptotics say (PSI ∝ 1/n, the others ∝ 1/√n, χ² flat)', () => {
    for (const stat of ['psi', 'js', 'ks', 'wasserstein'] as const) {
      const t = table.thresholds[stat];
      for (let i = 1; i < t.length; i++) expect(t[i]).toBeLessThan(t[i - 1] ?? 0);
    }
    // n·PSI → χ²(K − 1) with K = 10 populated bins: χ²₉ 0.99 quantile = 21.666.
    expect(5000 * (table.thresholds.psi[3] ?? 0)).toBeGreaterThan(21.666 * 0.85);
    expect(5000 * (table.thresholds.psi[3] ?? 0)).toBeLessThan(21.666 * 1.15);
    expect(table.thresholds.chi2[3]).toBeGreaterThan(21.666 * 0.85);
    expect(table.thresholds.chi2[3]).toBeLessThan(21.666 * 1.15);
    // A fixed "PSI > 0.1" would alarm on pure noise at n = 50; the table knows better.
    expect(table.thresholds.psi[0]).toBeGreaterThan(0.1);
  });

  it('holds its false-alarm rate on fresh reference samples drawn independently', () => {
    // Draw n = 200 observations from a continuous uniform on [0, 10) (the reference above), bin them.
    const rng = seededRng(99, 'independent-check');
    const trials = 3000;
    let alarms = 0;
    const p = counts.slice(0, -1);
    for (let t = 0; t < trials; t++) {
      const values = Array.from({ length: 200 }, () => uniformFloat64(rng) * 10);
      const c = binCounts(edges, values).slice(0, -1);
      if (psi(c, p) > (table.thresholds.psi[1] ?? 0)) alarms++;
    }
    // α = 0.01: expect about 30 alarms in 3000 (binomial SD ≈ 5.5).
    expect(alarms).toBeGreaterThan(10);
    expect(alarms).toBeLessThan(55);
  });

  it('has the shape of monitor/stats NullThresholdTable and agrees with its independent simulation', () => {
    expect(stats.parseNullThresholdTable(table)).toEqual(table);
    const theirs = stats.calibrateNullThresholds({
      edges,
      proportions: counts.map((c) => c / counts.reduce((a, b) => a + b, 0)),
      sd: 2.9,
      sampleSizes: options.sampleSizes,
      alpha: 0.05,
      replicates: 4000,
      seed: 5,
    });
    const ours = nullThresholds(edges, counts, 2.9, { ...options, alpha: 0.05, replicates: 4000 });
    for (const stat of ['psi', 'js', 'ks', 'wasserstein', 'chi2'] as const) {
      ours.thresholds[stat].forEach((t, i) => {
        const other = theirs.thresholds[stat][i] ?? Number.NaN;
        expect(Math.abs(t - other) / other).toBeLessThan(0.12);
      });
    }
    expect(Array.from(representativePoints(edges))).toEqual(Array.from(stats.representativePoints(edges)));
  });

  it('reuses one simulation for variables with identical proportions, and handles a one-bin reference', () => {
    const cache: NullSampleCache = new Map();
    const a = nullThresholds(edges, counts, 2.9, options, cache);
    const shifted = edges.map((e) => e * 3 + 1);
    const b = nullThresholds(shifted, counts, 8.7, options, cache);
    expect(cache.size).toBe(1);
    expect(b.thresholds.psi).toEqual(a.thresholds.psi);
    // W / SD is scale-free (equal up to rounding).
    b.thresholds.wasserstein.forEach((t, i) => {
      expect(t).toBeCloseTo(a.thresholds.wasserstein[i] ?? Number.NaN, 12);
    });
    const constant = quantileEdges([4, 4, 4], 10);
    const one = nullThresholds(constant, binCounts(constant, [4, 4, 4]), 0, options);
    for (const stat of ['psi', 'js', 'ks', 'wasserstein', 'chi2'] as const) {
      expect(one.thresholds[stat].every((t) => t === 0)).toBe(true);
    }
  });

  it('computes in its fused loop exactly the statistics of statistics.ts and monitor/stats', () => {
    const rng = seededRng(3, 'fused-check');
    const ref = [0, 0.1, 0.25, 0.05, 0.3, 0.3, 0];
    const points = representativePoints([0, 1, 2, 4, 8, 9]);
    const out: Record<NullStatistic, number> = { psi: 0, js: 0, ks: 0, wasserstein: 0, chi2: 0 };
    for (let t = 0; t < 200; t++) {
      const sample = ref.map((p) => (p > 0 || t % 3 === 0 ? Math.floor(uniformFloat64(rng) * 40) : 0));
      if (sample.every((c) => c === 0)) continue;
      nullStatistics(sample, Float64Array.from(ref), points, 2, 1e-4, out);
      expect(out.psi).toBeCloseTo(psi(sample, ref), 12);
      expect(out.js).toBeCloseTo(jsDistance(sample, ref), 12);
      expect(out.ks).toBeCloseTo(binnedKs(sample, ref), 12);
      expect(out.wasserstein).toBeCloseTo(binnedWasserstein(sample, ref, points) / 2, 12);
      expect(out.chi2).toBeCloseTo(chiSquareStatistic(sample, ref), 9);
      expect(out.chi2).toBeCloseTo(stats.chiSquareGof(sample, ref).statistic, 9);
      expect(out.psi).toBeCloseTo(stats.psi(sample, ref), 12);
    }
  });

  it('validates options', () => {
    const code = (o: Partial<NullModelOptions>): string | undefined => {
      try {
        nullThresholds(edges, counts, 1, { ...options, ...o });
      } catch (e) {
        return e instanceof ProfileError ? e.code : 'other';
      }
      return undefined;
    };
    expect(code({ alpha: 0 })).toBe('BAD_OPTION');
    expect(code({ replicates: 10 })).toBe('BAD_OPTION');
    expect(code({ sampleSizes: [100, 50] })).toBe('BAD_OPTION');
    expect(code({ sampleSizes: [] })).toBe('BAD_OPTION');
    expect(code({ epsilon: 0 })).toBe('BAD_OPTION');
    expect(code({ seed: -1 })).toBe('BAD_OPTION');
  });
});
