// Property tests for everything that parses outside data (DESIGN.md "Untrusted input"): a threshold table
// from a bundle and persisted detector states. Any input either parses to a valid value or fails with
// StatsError BAD_STATE — never another exception, never a half-valid object.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  calibrateNullThresholds,
  Cusum,
  PageHinkley,
  parseNullThresholdTable,
  StatsError,
  thresholdAt,
} from '../../../../monitor/stats/index.ts';
import type { CusumConfig, PageHinkleyConfig } from '../../../../monitor/stats/index.ts';

function parsesOrBadState(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch (error) {
    return error instanceof StatsError && error.code === 'BAD_STATE';
  }
}

const table = calibrateNullThresholds({
  edges: [0, 1, 2, 3],
  proportions: [0.1, 0.3, 0.3, 0.2, 0.1, 0],
  sd: 1,
  sampleSizes: [20, 200],
  alpha: 0.05,
  replicates: 100,
  seed: 1,
});
const ph: PageHinkleyConfig = {
  delta: 0.1,
  lambda: 3,
  direction: 'both',
  baseline: { kind: 'running' },
  minSamples: 1,
};
const cusum: CusumConfig = { target: 0, k: 0.5, h: 4, direction: 'both' };

describe('parsers of outside data', () => {
  it('threshold tables: arbitrary values parse or fail with BAD_STATE', () => {
    fc.assert(fc.property(fc.anything(), (raw) => parsesOrBadState(() => parseNullThresholdTable(raw))));
  });

  it('threshold tables: mutated valid tables parse to usable tables or fail with BAD_STATE', () => {
    const mutation = fc.record({
      key: fc.constantFrom('alpha', 'replicates', 'seed', 'epsilon', 'sampleSizes', 'method', 'thresholds'),
      value: fc.oneof(fc.anything(), fc.double(), fc.array(fc.double(), { maxLength: 3 })),
    });
    fc.assert(
      fc.property(mutation, ({ key, value }) => {
        const raw: Record<string, unknown> = {
          ...(JSON.parse(JSON.stringify(table)) as object),
          [key]: value,
        };
        try {
          const parsed = parseNullThresholdTable(raw);
          const t = thresholdAt(parsed, 'psi', 50).threshold;
          expect(Number.isFinite(t) && t >= 0).toBe(true);
        } catch (error) {
          expect(error instanceof StatsError && error.code === 'BAD_STATE').toBe(true);
        }
      }),
    );
  });

  it('detector states: arbitrary values restore or fail with BAD_STATE', () => {
    const state = fc.record(
      {
        kind: fc.constantFrom('page-hinkley', 'cusum', 'other'),
        count: fc.oneof(fc.nat(), fc.double()),
        mean: fc.double(),
        up: fc.double(),
        upMin: fc.double(),
        down: fc.double(),
        downMax: fc.double(),
        high: fc.double(),
        low: fc.double(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything(), state), (raw) => {
        expect(parsesOrBadState(() => PageHinkley.restore(ph, raw))).toBe(true);
        expect(parsesOrBadState(() => Cusum.restore(cusum, raw))).toBe(true);
      }),
    );
  });
});
