// Test-time measurement of the two costs the issue bounds (not a benchmark: figures are printed, and the
// assertions are loose so a loaded CI machine does not flake; typical figures are in docs/statistics.md).
import { describe, expect, it } from 'vitest';
import {
  addRow,
  calibrateNullThresholds,
  createCounts,
  DRIFT_STATISTICS,
  driftStatistics,
  evaluateDrift,
  prepareReference,
  SeededRandom,
} from '../../../../monitor/stats/index.ts';
import type { DriftStatistics } from '../../../../monitor/stats/index.ts';

const FEATURES = 16;
const WINDOWS = 1000;

function medianMs(repeats: number, run: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1] ?? Number.NaN;
}

describe('cost of the statistics', () => {
  const random = SeededRandom.fromSeed(1);
  // 16 features + the score, 10 interior bins each (13 counts).
  const edges = Array.from({ length: FEATURES + 1 }, () =>
    Float64Array.from(Array.from({ length: 11 }, () => random.normal()).sort((a, b) => a - b)),
  );
  const rows = Array.from({ length: WINDOWS }, () =>
    Float64Array.from({ length: FEATURES + 1 }, () => random.normal()),
  );
  const proportions = [0, ...Array<number>(10).fill(0.1), 0, 0];
  const references = edges.map((e) => prepareReference({ edges: e, proportions, sd: 1 }));

  it('bins 16 features × 1,000 windows well under 1 ms', () => {
    const featureEdges = edges.slice(0, FEATURES);
    const ms = medianMs(200, () => {
      const counts = featureEdges.map((e) => createCounts(e));
      for (const row of rows) addRow(counts, featureEdges, row);
    });
    console.info(`[stats timing] binning 16 features x 1000 windows: median ${ms.toFixed(3)} ms`);
    expect(ms).toBeLessThan(2); // typically ≈ 0.25 ms
  });

  it('computes and decides all statistics for 16 features + score far below 1 ms', () => {
    const counts = edges.map((e) => createCounts(e));
    for (const row of rows) addRow(counts, edges, row);
    let stats: DriftStatistics[] = [];
    const computeMs = medianMs(200, () => {
      stats = references.map((ref, f) => driftStatistics(counts[f] ?? [], ref));
    });
    const table = calibrateNullThresholds({
      edges: edges[0] ?? [],
      proportions,
      sd: 1,
      sampleSizes: [100, 300, 1000, 3000],
      alpha: 0.01,
      replicates: 1000,
      seed: 1,
    });
    const tableMs = medianMs(200, () => {
      stats.forEach((s, f) => {
        const ref = references[f];
        if (ref) evaluateDrift(s, ref, DRIFT_STATISTICS, { kind: 'table', table });
      });
    });
    const analyticMs = medianMs(50, () => {
      stats.forEach((s, f) => {
        const ref = references[f];
        if (ref) evaluateDrift(s, ref, DRIFT_STATISTICS, { kind: 'analytic', alpha: 0.01 });
      });
    });
    console.info(
      `[stats timing] 17 x all statistics: ${computeMs.toFixed(3)} ms; decisions from a table: ` +
        `${tableMs.toFixed(3)} ms; from analytic thresholds: ${analyticMs.toFixed(3)} ms`,
    );
    expect(stats).toHaveLength(17);
    expect(computeMs).toBeLessThan(0.5); // typically ≈ 0.02 ms
    expect(tableMs).toBeLessThan(0.5); // typically ≈ 0.015 ms
    expect(analyticMs).toBeLessThan(2); // typically ≈ 0.17 ms (quantile inversions)
  });
});
