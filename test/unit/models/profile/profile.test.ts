import { decode, encode } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as stats from '../../../../monitor/stats/index.ts';
import { confusionAt } from '../../../../models/evaluation/index.ts';
import {
  PROFILE_LIMITS,
  ProfileError,
  binIndex,
  buildReferenceProfile,
  nextUp,
  parseProfile,
} from '../../../../models/profile/index.ts';
import type { ReferenceProfile } from '../../../../models/profile/index.ts';
import { syntheticData } from '../training/synthetic.ts';

const data = syntheticData(500, 4, 31, 0.05);
const scores = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 1000) / 999);
const fast = { seed: 3, replicates: 200, sampleSizes: [50, 500] };

function build(): ReferenceProfile {
  return buildReferenceProfile(
    { featureNames: data.featureNames, x: data.x, scores, labels: data.y, referenceSplit: 'validation' },
    fast,
  );
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof ProfileError ? e.code : 'other';
  }
  return undefined;
}

/** Deep copy with one change applied (the profile stays a plain object). */
function mutate(
  p: ReferenceProfile,
  change: (o: Record<string, unknown> & { features: Record<string, unknown>[] }) => void,
): unknown {
  const copy = JSON.parse(JSON.stringify(p)) as Record<string, unknown> & {
    features: Record<string, unknown>[];
  };
  change(copy);
  return copy;
}

describe('reference profile builder', () => {
  const profile = build();

  it('has one binned reference per feature plus the score, with consistent counts', () => {
    expect(profile.features.map((f) => f.name)).toEqual(['f0', 'f1', 'f2', 'f3']);
    expect(profile.score.name).toBe('score');
    for (const v of [...profile.features, profile.score]) {
      expect(v.counts).toHaveLength(v.edges.length + 2);
      expect(v.counts.reduce((a, b) => a + b, 0)).toBe(500);
      expect(v.n).toBe(500);
      expect(v.counts[0]).toBe(0); // nothing below the reference minimum
      expect(v.counts[v.edges.length]).toBe(0); // nothing at or above nextUp(max)
      expect(v.edges[0]).toBe(v.min);
      expect(v.edges[v.edges.length - 1]).toBe(nextUp(v.max));
      expect(v.edges.length).toBe(11); // 10 deciles bins, no ties in continuous data
      v.proportions.forEach((p, i) => {
        expect(p).toBe((v.counts[i] ?? 0) / 500);
      });
      expect(v.nullThresholds.sampleSizes).toEqual([50, 500]);
    }
    const nanCount = Array.from(data.x).filter((x, i) => i % 4 === 0 && Number.isNaN(x)).length;
    expect(profile.features[0]?.counts[12]).toBe(nanCount);
    expect(profile.calibration?.n).toEqual(profile.score.counts);
    expect(profile.calibration?.sumY.reduce((a, b) => a + b, 0)).toBe(data.y.reduce((a, b) => a + b, 0));
  });

  it('adds declared extra edges (the operating threshold on the score) so score bins give exact confusion counts', () => {
    const threshold = 0.4321;
    const withThreshold = buildReferenceProfile(
      { featureNames: data.featureNames, x: data.x, scores, labels: data.y, referenceSplit: 'validation' },
      { ...fast, extraEdges: { score: [threshold, 0.25], f1: [1e6] } },
    );
    expect(withThreshold.score.edges).toContain(threshold);
    expect(withThreshold.score.edges).toContain(0.25);
    expect(withThreshold.score.edges).toHaveLength(13);
    expect(withThreshold.features[1]?.edges[withThreshold.features[1].edges.length - 1]).toBe(1e6);
    expect(withThreshold.features[0]?.edges).toEqual(profile.features[0]?.edges);
    const calibration = withThreshold.calibration;
    if (calibration === null) throw new Error('missing calibration');
    // The monitor derives confusion counts from the profile's score bins; they equal the direct count.
    const fromBins = stats.confusionFromScoreBins(withThreshold.score.edges, calibration, threshold);
    expect(fromBins).toEqual(confusionAt(scores, data.y, threshold));
    expect(parseProfile(withThreshold)).toEqual(withThreshold);
    expect(
      codeOf(() =>
        buildReferenceProfile(
          { featureNames: ['a'], x: [1, 2, 3], scores: [0.1, 0.2, 0.3], referenceSplit: 'v' },
          { ...fast, extraEdges: { nope: [1] } },
        ),
      ),
    ).toBe('BAD_OPTION');
    expect(
      codeOf(() =>
        buildReferenceProfile(
          { featureNames: ['a'], x: [1, 2, 3], scores: [0.1, 0.2, 0.3], referenceSplit: 'v' },
          { ...fast, extraEdges: { score: [Number.NaN] } },
        ),
      ),
    ).toBe('BAD_OPTION');
  });

  it('is deterministic and survives JSON and CBOR round trips through parseProfile unchanged', () => {
    expect(build()).toEqual(profile);
    expect(parseProfile(profile)).toEqual(profile);
    expect(JSON.stringify(parseProfile(profile))).toBe(JSON.stringify(profile)); // canonical key order
    expect(parseProfile(JSON.parse(JSON.stringify(profile)))).toEqual(profile);
    expect(parseProfile(decode(encode(profile)))).toEqual(profile);
  });

  it('feeds monitor/stats directly (prepareReference and the threshold table)', () => {
    const feature = profile.features[1];
    if (feature === undefined) throw new Error('missing feature');
    const prepared = stats.prepareReference(feature);
    expect(prepared.supportBins).toBe(10);
    expect(stats.parseNullThresholdTable(feature.nullThresholds)).toEqual(feature.nullThresholds);
    // The reference data binned by either binIndex gives the profile's counts.
    const counts = new Array<number>(feature.counts.length).fill(0);
    for (let r = 0; r < 500; r++) {
      const x = data.x[r * 4 + 1] ?? Number.NaN;
      expect(binIndex(feature.edges, x)).toBe(stats.binIndex(feature.edges, x));
      counts[binIndex(feature.edges, x)] = (counts[binIndex(feature.edges, x)] ?? 0) + 1;
    }
    expect(counts).toEqual(feature.counts);
  });

  it('omits calibration without labels, and rejects bad input', () => {
    const unlabeled = buildReferenceProfile(
      { featureNames: ['a'], x: [1, 2, 3], scores: [0.1, 0.2, 0.3], referenceSplit: 'validation' },
      fast,
    );
    expect(unlabeled.calibration).toBeNull();
    const base = { featureNames: ['a'], x: [1, 2, 3], scores: [0.1, 0.2, 0.3], referenceSplit: 'v' };
    expect(codeOf(() => buildReferenceProfile({ ...base, x: [1, 2] }, fast))).toBe('BAD_INPUT');
    expect(codeOf(() => buildReferenceProfile({ ...base, featureNames: ['score'] }, fast))).toBe('BAD_INPUT');
    expect(codeOf(() => buildReferenceProfile({ ...base, x: [1, Infinity, 3] }, fast))).toBe('BAD_INPUT');
    expect(codeOf(() => buildReferenceProfile({ ...base, x: [NaN, NaN, NaN] }, fast))).toBe('DEGENERATE');
    expect(codeOf(() => buildReferenceProfile(base, { ...fast, alpha: 0.9 }))).toBe('BAD_OPTION');
  });
});

describe('parseProfile rejects hostile or inconsistent profiles with typed codes', () => {
  const profile = build();
  const cases: [
    string,
    string,
    (o: Record<string, unknown> & { features: Record<string, unknown>[] }) => void,
  ][] = [
    ['unknown top-level field', 'UNKNOWN_FIELD', (o) => (o['extra'] = 1)],
    ['missing score', 'MISSING_FIELD', (o) => delete o['score']],
    ['wrong version', 'UNSUPPORTED_VERSION', (o) => (o['formatVersion'] = 2)],
    ['edges not increasing', 'BAD_VALUE', (o) => ((o.features[0]?.['edges'] as number[])[3] = -1e9)],
    ['edge not a number', 'BAD_TYPE', (o) => ((o.features[0]?.['edges'] as unknown[])[3] = '1')],
    ['counts length', 'INCONSISTENT', (o) => (o.features[0]?.['counts'] as number[]).push(0)],
    ['negative count', 'BAD_VALUE', (o) => ((o.features[0]?.['counts'] as number[])[2] = -1)],
    ['fractional count', 'BAD_VALUE', (o) => ((o.features[0]?.['counts'] as number[])[2] = 1.5)],
    ['n mismatch', 'INCONSISTENT', (o) => (o.features[0] ? (o.features[0]['n'] = 7) : undefined)],
    ['proportion mismatch', 'INCONSISTENT', (o) => ((o.features[0]?.['proportions'] as number[])[1] = 0.5)],
    ['min above max', 'INCONSISTENT', (o) => (o.features[0] ? (o.features[0]['min'] = 1e9) : undefined)],
    ['negative sd', 'BAD_VALUE', (o) => (o.features[0] ? (o.features[0]['sd'] = -1) : undefined)],
    ['duplicate names', 'INCONSISTENT', (o) => (o.features[1] ? (o.features[1]['name'] = 'f0') : undefined)],
    [
      'score named like a feature',
      'INCONSISTENT',
      (o) => ((o['score'] as Record<string, unknown>)['name'] = 'f2'),
    ],
    ['empty features', 'BAD_VALUE', (o) => (o.features = [])],
    [
      'threshold table disagrees with null model',
      'INCONSISTENT',
      (o) => ((o.features[0]?.['nullThresholds'] as Record<string, unknown>)['alpha'] = 0.05),
    ],
    [
      'JS threshold above 1',
      'BAD_VALUE',
      (o) =>
        (((o.features[0]?.['nullThresholds'] as Record<string, Record<string, number[]>>)['thresholds'] ??
          {})['js'] = [2, 2]),
    ],
    [
      'missing chi2 thresholds',
      'MISSING_FIELD',
      (o) =>
        delete (o.features[0]?.['nullThresholds'] as Record<string, Record<string, unknown>>)['thresholds']?.[
          'chi2'
        ],
    ],
    [
      'sample sizes not increasing',
      'BAD_VALUE',
      (o) => ((o['nullModel'] as Record<string, unknown>)['sampleSizes'] = [500, 50]),
    ],
    [
      'calibration Σy > n',
      'INCONSISTENT',
      (o) => (((o['calibration'] as Record<string, number[]>)['sumY'] ?? [])[0] = 1e6),
    ],
    [
      'too many features',
      'TOO_LARGE',
      (o) => (o.features = Array.from({ length: PROFILE_LIMITS.maxFeatures + 1 }, () => o.features[0] ?? {})),
    ],
    ['a class instance', 'BAD_TYPE', (o) => (o['binning'] = new Date())],
  ];
  for (const [name, code, change] of cases) {
    it(name, () => {
      expect(codeOf(() => parseProfile(mutate(profile, change)))).toBe(code);
    });
  }

  it('never throws anything but ProfileError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        expect(codeOf(() => parseProfile(raw))).not.toBe('other');
      }),
    );
    expect(codeOf(() => parseProfile(null))).toBe('BAD_TYPE');
    expect(codeOf(() => parseProfile([]))).toBe('BAD_TYPE');
  });

  it('reports the path of the offending field', () => {
    try {
      parseProfile(mutate(profile, (o) => ((o.features[2]?.['edges'] as unknown[])[5] = null)));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ProfileError);
      expect((e as ProfileError).path).toBe('features[2].edges[5]');
    }
  });
});
