import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as monitorBins from '../../../../monitor/stats/bins.ts';
import * as monitorDistances from '../../../../monitor/stats/distances.ts';
import {
  PSI_EPSILON,
  ProfileError,
  binCounts,
  binIndex,
  binnedKs,
  binnedWasserstein,
  jsDistance,
  nextUp,
  psi,
  quantileEdges,
  representativePoints,
} from '../../../../models/profile/index.ts';

interface Fixture {
  quantiles: { name: string; values: (number | null)[]; quantiles: number[] }[];
  statistics: {
    observed: number[];
    reference: number[];
    points: number[];
    psi: number;
    js: number;
    ks: number;
    wasserstein: number;
  }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/profile.json', import.meta.url), 'utf8'),
) as Fixture;

/** Straightforward linear-scan statement of the binning rule. */
function binByScan(edges: readonly number[], x: number): number {
  if (Number.isNaN(x)) return edges.length + 1;
  let bin = 0;
  for (const e of edges) if (x >= e) bin++;
  return bin;
}

const sortedEdges = fc
  .uniqueArray(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), {
    minLength: 2,
    maxLength: 30,
    comparator: (a, b) => a === b,
  })
  .map((a) => [...a].sort((x, y) => x - y));

describe('binIndex (left-closed bins, underflow / overflow / NaN)', () => {
  it('places hand-picked values', () => {
    const edges = [0, 1, 2];
    const cases: [number, number][] = [
      [Number.NEGATIVE_INFINITY, 0],
      [-1, 0],
      [-Number.MIN_VALUE, 0],
      [-0, 1],
      [0, 1],
      [0.5, 1],
      [1, 2],
      [1.9999999999999998, 2],
      [2, 3],
      [Number.POSITIVE_INFINITY, 3],
      [Number.NaN, 4],
    ];
    for (const [x, want] of cases) expect(binIndex(edges, x)).toBe(want);
    expect(binCounts(edges, [-1, 0, 0.5, 2, Number.NaN, Number.NaN])).toEqual([1, 2, 0, 1, 2]);
  });

  it('agrees with a linear scan and with monitor/stats/bins.ts on arbitrary edges and values', () => {
    fc.assert(
      fc.property(sortedEdges, fc.array(fc.double(), { maxLength: 40 }), (edges, xs) => {
        const probes = [...xs, ...edges, ...edges.map(nextUp)];
        for (const x of probes) {
          const b = binIndex(edges, x);
          expect(b).toBe(binByScan(edges, x));
          expect(b).toBe(monitorBins.binIndex(edges, x));
        }
      }),
    );
  });
});

describe('reference edges', () => {
  it('nextUp is the next double', () => {
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
    expect(nextUp(1)).toBe(1 + Number.EPSILON);
    expect(nextUp(-1)).toBe(-1 + Number.EPSILON / 2);
    expect(Object.is(nextUp(-Number.MIN_VALUE), -0)).toBe(true);
  });

  for (const c of fixture.quantiles) {
    it(`${c.name}: min, numpy deciles, next double above max; reference under/overflow empty`, () => {
      const values = c.values.map((v) => (v === null ? Number.NaN : v));
      const edges = quantileEdges(values, 10);
      const want: number[] = [];
      const candidates = [...c.quantiles.slice(0, 10), nextUp(c.quantiles[10] ?? Number.NaN)];
      for (const q of candidates) {
        const last = want[want.length - 1];
        // Deduplicate like the implementation (numpy values may differ in the last ulp).
        if (last === undefined || q > last + 1e-12 * Math.max(1, Math.abs(q))) want.push(q);
      }
      expect(edges.length).toBe(want.length);
      edges.forEach((e, i) => {
        expect(e).toBeCloseTo(want[i] ?? Number.NaN, 12);
      });
      expect(edges[0]).toBe(c.quantiles[0]);
      expect(edges[edges.length - 1]).toBe(nextUp(c.quantiles[10] ?? Number.NaN));
      const counts = binCounts(edges, values);
      expect(counts[0]).toBe(0);
      expect(counts[edges.length]).toBe(0);
      expect(counts[edges.length + 1]).toBe(values.filter(Number.isNaN).length);
    });
  }

  it('merges tied quantiles and handles a constant feature', () => {
    expect(quantileEdges([5, 5, 5, Number.NaN], 10)).toEqual([5, nextUp(5)]);
    const ties = [0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
    const edges = quantileEdges(ties, 10);
    for (let i = 1; i < edges.length; i++) expect(edges[i]).toBeGreaterThan(edges[i - 1] ?? Infinity);
    expect(edges[0]).toBe(0);
    expect(binCounts(edges, ties)[1]).toBe(6); // all zeros share the first interior bin
    expect(Object.is(quantileEdges([-0, 1], 2)[0], 0)).toBe(true);
  });

  it('rejects data without a value and bad bin counts', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof ProfileError ? e.code : 'other';
      }
      return undefined;
    };
    expect(code(() => quantileEdges([Number.NaN], 10))).toBe('DEGENERATE');
    expect(code(() => quantileEdges([1, 2], 0))).toBe('BAD_OPTION');
    expect(code(() => quantileEdges([1, Number.MAX_VALUE], 10))).toBe('BAD_INPUT');
  });
});

describe('drift statistics (the definitions the null thresholds assume)', () => {
  fixture.statistics.forEach((c, i) => {
    it(`case ${i}: PSI, JS (scipy), KS and Wasserstein (scipy) match the fixtures and monitor/stats`, () => {
      expect(psi(c.observed, c.reference)).toBeCloseTo(c.psi, 10);
      expect(jsDistance(c.observed, c.reference)).toBeCloseTo(c.js, 12);
      expect(binnedKs(c.observed, c.reference)).toBeCloseTo(c.ks, 12);
      expect(binnedWasserstein(c.observed, c.reference, c.points)).toBeCloseTo(c.wasserstein, 10);
      expect(PSI_EPSILON).toBe(monitorDistances.PSI_EPSILON);
      expect(psi(c.observed, c.reference)).toBeCloseTo(monitorDistances.psi(c.observed, c.reference), 12);
      expect(jsDistance(c.observed, c.reference)).toBeCloseTo(
        monitorDistances.jensenShannonDistance(c.observed, c.reference),
        12,
      );
      expect(binnedKs(c.observed, c.reference)).toBeCloseTo(
        monitorDistances.binnedKs(c.observed, c.reference),
        12,
      );
    });
  });

  it('representative points match monitor/stats/bins.ts', () => {
    const edges = [0, 1, 3, 7];
    expect(Array.from(representativePoints(edges))).toEqual([-0.5, 0.5, 2, 5, 9]);
    expect(Array.from(representativePoints(edges))).toEqual(
      Array.from(monitorBins.representativePoints(edges)),
    );
  });
});
