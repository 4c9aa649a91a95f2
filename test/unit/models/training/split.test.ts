import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TrainingError,
  UNKNOWN_COMMIT,
  assignSplit,
  datasetSnapshotSha256,
  dependencyLockSha256,
  splitIndices,
  splitUniform,
  sourceCommit,
} from '../../../../models/training/index.ts';
import type { DatasetSnapshot, SplitFractions } from '../../../../models/training/index.ts';

const F: SplitFractions = { train: 0.6, validation: 0.2, test: 0.2 };

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof TrainingError ? e.code : 'other';
  }
  return undefined;
}

describe('persisted split key', () => {
  it('pins the assignment of fixed ids (the split must never move silently)', () => {
    // Independently: python3 -c "import hashlib; d = hashlib.sha256(b'vigil-split-v1\\x00fall-v1\\x00ex-0')
    // .digest(); print(int.from_bytes(d[:6], 'big') / 2**48)" prints 0.6824001375655726.
    expect(splitUniform('fall-v1', 'ex-0')).toBe(0.6824001375655726);
    const pinned = ['ex-0', 'ex-1', 'ex-2', 'ex-3', 'ex-4', 'ex-5', 'ex-6', 'ex-7'].map((id) =>
      assignSplit('fall-v1', id, F),
    );
    expect(pinned).toEqual([
      'validation',
      'train',
      'test',
      'train',
      'test',
      'validation',
      'train',
      'validation',
    ]);
  });

  it('depends only on (key, id): order and dataset size do not matter', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 40 }), (ids) => {
        const forward = splitIndices('k', ids, F);
        const reversedIds = [...ids].reverse();
        const backward = splitIndices('k', reversedIds, F);
        for (const split of ['train', 'validation', 'test'] as const) {
          const a = forward[split].map((i) => ids[i]).sort();
          const b = backward[split].map((i) => reversedIds[i]).sort();
          expect(a).toEqual(b);
        }
        // Each id lands where it would land alone.
        for (const split of ['train', 'validation', 'test'] as const) {
          for (const i of forward[split]) expect(assignSplit('k', ids[i] ?? '', F)).toBe(split);
        }
      }),
    );
  });

  it('approximates the requested fractions and changes with the key', () => {
    const ids = Array.from({ length: 20000 }, (_, i) => `id-${i}`);
    const s = splitIndices('key-a', ids, F);
    expect(s.train.length / ids.length).toBeCloseTo(0.6, 1);
    expect(s.validation.length / ids.length).toBeCloseTo(0.2, 1);
    expect(s.test.length / ids.length).toBeCloseTo(0.2, 1);
    const other = splitIndices('key-b', ids, F);
    expect(other.train).not.toEqual(s.train);
  });

  it('rejects bad fractions, empty keys and duplicate ids', () => {
    expect(codeOf(() => assignSplit('k', 'a', { train: 0.5, validation: 0.2, test: 0.2 }))).toBe('BAD_SPLIT');
    expect(codeOf(() => assignSplit('k', 'a', { train: 1.2, validation: -0.2, test: 0 }))).toBe('BAD_SPLIT');
    expect(codeOf(() => assignSplit('', 'a', F))).toBe('BAD_SPLIT');
    expect(codeOf(() => splitIndices('k', ['a', 'b', 'a'], F))).toBe('BAD_DATA');
  });
});

describe('dataset snapshot hash', () => {
  const base: DatasetSnapshot = {
    featureNames: ['a', 'b'],
    ids: ['x', 'y'],
    x: Float64Array.from([1, Number.NaN, 3, 4]),
    y: Uint8Array.from([0, 1]),
  };

  it('is pinned, and sensitive to every label, value, id, name, order and cohort', () => {
    const h = datasetSnapshotSha256(base);
    // Recomputed independently with Python's hashlib/struct from the format in split.ts.
    expect(h).toBe('18bbe73fefd9d0058abac4a4aa0c3b69830199c79646151b787f0388b04c0f6c');
    const variants: DatasetSnapshot[] = [
      { ...base, y: Uint8Array.from([1, 1]) },
      { ...base, x: Float64Array.from([1, Number.NaN, 3, 4.000000000000001]) },
      { ...base, ids: ['x', 'z'] },
      { ...base, featureNames: ['a', 'c'] },
      { ...base, ids: ['y', 'x'], x: Float64Array.from([3, 4, 1, Number.NaN]), y: Uint8Array.from([1, 0]) },
      { ...base, cohorts: ['c1', 'c2'] },
    ];
    const hashes = new Set(variants.map(datasetSnapshotSha256));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(h)).toBe(false);
  });

  it('canonicalises NaN payloads', () => {
    const otherNaN = new Float64Array(new BigUint64Array([0x7ff0000000000001n]).buffer)[0] ?? 0;
    expect(Number.isNaN(otherNaN)).toBe(true);
    const alt = { ...base, x: Float64Array.from([1, otherNaN, 3, 4]) };
    expect(datasetSnapshotSha256(alt)).toBe(datasetSnapshotSha256(base));
  });

  it('rejects mismatched arrays', () => {
    expect(codeOf(() => datasetSnapshotSha256({ ...base, y: Uint8Array.from([0]) }))).toBe('BAD_DATA');
    expect(codeOf(() => datasetSnapshotSha256({ ...base, cohorts: ['c'] }))).toBe('BAD_DATA');
  });
});

describe('provenance helpers', () => {
  it('hashes the lock file through the injected reader', () => {
    const h = dependencyLockSha256('/any/package-lock.json', (p) => {
      expect(p).toBe('/any/package-lock.json');
      return new TextEncoder().encode('abc');
    });
    expect(h).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('returns the commit from git rev-parse HEAD, or unknown on failure or junk', () => {
    const sha = 'A'.repeat(40);
    expect(
      sourceCommit((cmd, args) => {
        expect([cmd, ...args]).toEqual(['git', 'rev-parse', 'HEAD']);
        return `${sha}\n`;
      }),
    ).toBe('a'.repeat(40));
    expect(sourceCommit((_c, args) => (args.includes('/repo') ? 'b'.repeat(40) : ''), '/repo')).toBe(
      'b'.repeat(40),
    );
    expect(
      sourceCommit(() => {
        throw new Error('not a git repository');
      }),
    ).toBe(UNKNOWN_COMMIT);
    expect(sourceCommit(() => 'fatal: something')).toBe(UNKNOWN_COMMIT);
  });
});
