import { describe, expect, it } from 'vitest';
import {
  addValues,
  createCounts,
  DEFAULT_LATENCY_BINS,
  latencyEdges,
  latencyQuantile,
  mergeCounts,
  SeededRandom,
} from '../../../../monitor/stats/index.ts';
import { codeOf } from './fixtures.ts';

describe('latency histogram', () => {
  const edges = latencyEdges();

  it('has fixed, decimal-clean log-spaced edges', () => {
    expect(edges.length).toBe(61);
    expect(edges[0]).toBe(0.01);
    expect(edges[10]).toBe(0.1);
    expect(edges[60]).toBe(10_000);
    expect(edges[1]).toBe(0.0125893);
    expect(latencyEdges(DEFAULT_LATENCY_BINS)).toEqual(edges);
    expect(codeOf(latencyEdges, { minMs: 1, maxMs: 50, binsPerDecade: 5 })).toBe('BAD_ARGUMENT');
    expect(codeOf(latencyEdges, { minMs: 0, maxMs: 10, binsPerDecade: 5 })).toBe('BAD_ARGUMENT');
    expect(codeOf(latencyEdges, { minMs: 1, maxMs: 10, binsPerDecade: 0 })).toBe('BAD_ARGUMENT');
  });

  it('estimates percentiles within one bin ratio of the exact sample quantile', () => {
    const random = SeededRandom.fromSeed(1);
    const latencies = Array.from({ length: 20_000 }, () => Math.exp(Math.log(2) + 0.8 * random.normal()));
    const counts = createCounts(edges);
    addValues(counts, edges, latencies);
    const sorted = [...latencies].sort((a, b) => a - b);
    const ratio = Math.pow(10, 1 / DEFAULT_LATENCY_BINS.binsPerDecade);
    for (const q of [0.5, 0.9, 0.95, 0.99, 0.999]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1] ?? Number.NaN;
      const estimate = latencyQuantile(edges, counts, q);
      if (estimate.kind !== 'value') throw new Error('expected a value');
      expect(estimate.ms / exact).toBeLessThan(ratio);
      expect(exact / estimate.ms).toBeLessThan(ratio);
    }
  });

  it('merges by addition and reports out-of-range quantiles as bounds', () => {
    const a = createCounts(edges);
    const b = createCounts(edges);
    addValues(a, edges, [0.001, 5, 5, 5]);
    addValues(b, edges, [20_000, Number.NaN]);
    const merged = mergeCounts([a, b]);
    expect(latencyQuantile(edges, merged, 0)).toEqual({ kind: 'below', ms: 0.01 });
    expect(latencyQuantile(edges, merged, 1)).toEqual({ kind: 'above', ms: 10_000 });
    const median = latencyQuantile(edges, merged, 0.5);
    expect(median.kind).toBe('value');
    if (median.kind === 'value') expect(Math.abs(Math.log10(median.ms / 5))).toBeLessThan(0.1);
    expect(latencyQuantile(edges, createCounts(edges), 0.5)).toEqual({ kind: 'empty' });
    expect(codeOf(latencyQuantile, edges, merged, 1.5)).toBe('BAD_ARGUMENT');
    expect(codeOf(latencyQuantile, edges, [1, 2], 0.5)).toBe('LENGTH_MISMATCH');
  });
});
