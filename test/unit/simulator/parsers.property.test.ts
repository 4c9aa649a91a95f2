// Property tests for the two text parsers the CLI exposes (DESIGN: property tests for every parser).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ArtifactSpec } from '../../../simulator/index.ts';
import {
  SimulatorError,
  allCohorts,
  cohortKey,
  parseArtifactSpec,
  parseCohortKey,
} from '../../../simulator/index.ts';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    if (!(err instanceof SimulatorError)) throw err;
    return err.code;
  }
}

const NAMES = [
  'baseline-wander',
  'powerline',
  'noise',
  'gaussian-noise',
  'motion',
  'gain-change',
  'gain',
  'clipping',
  'saturation',
  'flatline',
  'lead-off',
  'dropout',
  'rate-mismatch',
];
const KEYS = [
  'amplitude',
  'freqHz',
  'sd',
  'snrDb',
  'factor',
  'min',
  'max',
  'limit',
  'startS',
  'endS',
  'perMin',
  'epsilon',
  'x',
];

describe('parser properties', () => {
  it('parseArtifactSpec either returns a spec or throws BAD_ARTIFACT, for any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const code = codeOf(() => parseArtifactSpec(text));
        expect(code === undefined || code === 'BAD_ARTIFACT').toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('parseArtifactSpec accepts or rejects structured specs, never anything else', () => {
    const param = fc.tuple(
      fc.constantFrom(...KEYS),
      fc.oneof(fc.double({ noNaN: false }), fc.integer({ min: -100, max: 100 })),
    );
    fc.assert(
      fc.property(fc.constantFrom(...NAMES), fc.array(param, { maxLength: 4 }), (name, params) => {
        const text = params.length === 0 ? name : `${name}:${params.map(([k, v]) => `${k}=${v}`).join(',')}`;
        let spec: ArtifactSpec | undefined;
        const code = codeOf(() => {
          spec = parseArtifactSpec(text);
        });
        if (code !== undefined) expect(code).toBe('BAD_ARTIFACT');
        else expect(spec?.kind).toBeTypeOf('string');
      }),
      { numRuns: 500 },
    );
  });

  it('parseCohortKey round-trips every cohort and rejects other text with BAD_COHORT only', () => {
    fc.assert(
      fc.property(fc.constantFrom(...allCohorts()), (c) => {
        expect(parseCohortKey(cohortKey(c))).toEqual(c);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        const code = codeOf(() => parseCohortKey(text));
        expect(code === undefined || code === 'BAD_COHORT').toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
