import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addCountsInto,
  addRow,
  addValue,
  addValues,
  assertCounts,
  assertEdges,
  binIndex,
  countsLength,
  createCounts,
  createMergedCounts,
  mergeCounts,
  nanBinIndex,
  orderedCount,
  overflowBinIndex,
  representativePoints,
  totalCount,
} from '../../../../monitor/stats/index.ts';
import { codeOf } from './fixtures.ts';

/** Reference implementation: a linear scan over the documented layout. */
function linearBin(edges: readonly number[], x: number): number {
  if (Number.isNaN(x)) return edges.length + 1;
  let i = 0;
  while (i < edges.length && x >= (edges[i] as number)) i++;
  return i;
}

const edges = [0, 1, 2.5, 4];

describe('bin layout', () => {
  it('puts values in left-closed bins with underflow, overflow and NaN bins', () => {
    expect(countsLength(edges)).toBe(6);
    expect(binIndex(edges, -0.001)).toBe(0);
    expect(binIndex(edges, -Infinity)).toBe(0);
    expect(binIndex(edges, 0)).toBe(1); // left edge belongs to the first interior bin
    expect(binIndex(edges, 0.999)).toBe(1);
    expect(binIndex(edges, 1)).toBe(2);
    expect(binIndex(edges, 2.5)).toBe(3);
    expect(binIndex(edges, 3.999)).toBe(3);
    expect(binIndex(edges, 4)).toBe(4); // the last edge opens the overflow bin
    expect(binIndex(edges, Infinity)).toBe(4);
    expect(binIndex(edges, Number.NaN)).toBe(5);
    expect(overflowBinIndex(edges)).toBe(4);
    expect(nanBinIndex(edges)).toBe(5);
  });

  it('binary search agrees with a linear scan (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), {
          minLength: 2,
          maxLength: 40,
        }),
        fc.array(fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, -0)), {
          maxLength: 50,
        }),
        (raw, xs) => {
          const sorted = [...new Set(raw.map((v) => (Object.is(v, -0) ? 0 : v)))].sort((a, b) => a - b);
          fc.pre(sorted.length >= 2);
          for (const x of xs) expect(binIndex(sorted, x)).toBe(linearBin(sorted, x));
          for (const e of sorted) expect(binIndex(sorted, e)).toBe(linearBin(sorted, e));
        },
      ),
    );
  });

  it('validates edges once, with codes', () => {
    expect(codeOf(assertEdges, [1])).toBe('BAD_EDGES');
    expect(codeOf(assertEdges, [0, 0])).toBe('BAD_EDGES');
    expect(codeOf(assertEdges, [0, Number.NaN])).toBe('BAD_EDGES');
    expect(codeOf(assertEdges, [0, Infinity])).toBe('BAD_EDGES');
    expect(codeOf(assertEdges, [2, 1])).toBe('BAD_EDGES');
    expect(codeOf(assertEdges, Float64Array.of(0, 1))).toBe('none');
  });
});

describe('mergeable counts', () => {
  it('accumulates in place into Uint32Array and Float64Array', () => {
    const device = createCounts(edges);
    expect(device).toBeInstanceOf(Uint32Array);
    addValues(device, edges, [-1, 0, 0.5, 3, 4, 5, Number.NaN]);
    addValue(device, edges, 1);
    expect([...device]).toEqual([1, 2, 1, 1, 2, 1]);
    expect(totalCount(device)).toBe(8);
    expect(orderedCount(device)).toBe(7);
    const collector = createMergedCounts(edges);
    addCountsInto(collector, device);
    addCountsInto(collector, [1, 1, 1, 1, 1, 1]);
    expect([...collector]).toEqual([2, 3, 2, 2, 3, 2]);
    expect(codeOf(addCountsInto, collector, [1, 2])).toBe('LENGTH_MISMATCH');
  });

  it('merging is exact: counts of a concatenation equal the sum of counts (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double(), { maxLength: 30 }), { minLength: 1, maxLength: 6 }),
        (parts) => {
          const perPart = parts.map((values) => {
            const c = createCounts(edges);
            addValues(c, edges, values);
            return c;
          });
          const all = createCounts(edges);
          addValues(all, edges, parts.flat());
          expect([...mergeCounts(perPart)]).toEqual([...all]);
        },
      ),
    );
  });

  it('counts one row of features per window against per-feature edges', () => {
    const featureEdges = [edges, [10, 20]];
    const counts = featureEdges.map((e) => createCounts(e));
    addRow(counts, featureEdges, [0.5, 25]);
    addRow(counts, featureEdges, [Number.NaN, 15]);
    expect([...(counts[0] ?? [])]).toEqual([0, 1, 0, 0, 0, 1]);
    expect([...(counts[1] ?? [])]).toEqual([0, 1, 1, 0]);
  });

  it('assertCounts checks length and integrality', () => {
    expect(codeOf(assertCounts, [0, 0, 0], edges)).toBe('LENGTH_MISMATCH');
    expect(codeOf(assertCounts, [0, 0, 0, 0, -1, 0], edges)).toBe('BAD_COUNTS');
    expect(codeOf(assertCounts, [0, 0, 0.5, 0, 1, 0], edges)).toBe('BAD_COUNTS');
    expect(codeOf(assertCounts, [0, 0, 2, 0, 1, 0], edges)).toBe('none');
    expect(codeOf(mergeCounts, [])).toBe('BAD_ARGUMENT');
  });

  it('representative points: midpoints, tails one bin-width beyond the outer edges', () => {
    expect([...representativePoints(edges)]).toEqual([-0.5, 0.5, 1.75, 3.25, 4.75]);
  });
});
