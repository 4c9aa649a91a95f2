import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALERT_RULE_DEFAULTS,
  Aggregate,
  advanceStreak,
  capDeviceWeights,
  designEffect,
  mostDivergentDevice,
  effectiveN,
  prepareProfile,
  testWindow,
  twoSampleChi2,
  variableDrift,
  type FindingWindow,
  type StreakState,
  type TestResult,
} from '../../../../monitor/collector/index.ts';
import {
  Rng,
  makeDevice,
  must,
  scaledProportions,
  referenceModel,
  simulateReport,
} from '../../../integration/collector/fleet-sim.ts';

interface Case {
  observed: number[];
  reference: number[];
  statistic: number;
  df: number;
  pValue: number;
}
const golden = JSON.parse(
  fs.readFileSync(path.join(import.meta.dirname, 'fixtures/chi2-reference.json'), 'utf8'),
) as { cases: Case[] };

const model = referenceModel('fall-detector');
const profile = prepareProfile(model.profileSha256, model.profile);

function cohort(seed: number, devices: number, gain: number, windows = 3600): Aggregate {
  const rng = new Rng(seed);
  let agg: Aggregate | null = null;
  for (let i = 0; i < devices; i++) {
    const r = simulateReport(makeDevice('f', `d${i}`), model, {
      startMs: 0,
      intervalMs: 3_600_000,
      windows,
      rng,
      gain,
    });
    if (agg === null) agg = Aggregate.ofReport(r);
    else agg.addReport(r);
  }
  return agg as Aggregate;
}

describe('two-sample χ² homogeneity test', () => {
  it('matches scipy.stats.chi2_contingency (committed golden values)', () => {
    for (const c of golden.cases) {
      const r = twoSampleChi2(c.observed, c.reference);
      expect(r.df).toBe(c.df);
      expect(r.statistic).toBeCloseTo(c.statistic, 9);
      expect(Math.abs(r.pValue - c.pValue)).toBeLessThan(1e-9 * Math.max(1, c.pValue) + 1e-14);
    }
  });

  it('has nothing to test without data on either side', () => {
    expect(twoSampleChi2([0, 0, 0], [5, 5, 0])).toEqual({ statistic: 0, df: 0, pValue: 1 });
    expect(effectiveN(1e6, 800)).toBeCloseTo(799.36, 1);
    expect(effectiveN(100, 0)).toBe(100);
  });

  it('caps the effective n at the reference size, so fleet-sized n does not make noise significant', () => {
    const big = cohort(11, 40, 1);
    const v = must(profile.variables[0]);
    const d = variableDrift(v, big.variable(0), { statistics: ['psi', 'js'], minN: profile.minN });
    expect(d.kind).toBe('tested');
    expect(d.n).toBeGreaterThan(100_000);
    expect(d.nEffective).toBeLessThan(v.referenceN);
    expect(d.pValue).toBeGreaterThan(0.001);
    expect(d.exceeded).toEqual([]);
  });

  it('estimates the design effect from the devices of a group (devices as clusters)', () => {
    const v = profile.variables[0];
    const rng = new Rng(31);
    const same = [0, 1, 2, 3].map(() => rng.multinomial(3000, must(model.profile.features[0]).proportions));
    const deffSame = designEffect(same);
    expect(deffSame).toBeGreaterThanOrEqual(1);
    expect(deffSame).toBeLessThan(1.6); // multinomial noise only: about 1
    const f = must(model.profile.features[0]);
    const apart = [0.96, 1, 1.04].map((g) =>
      rng.multinomial(3000, scaledProportions(f.edges, f.proportions, g)),
    );
    const deffApart = designEffect(apart);
    expect(deffApart).toBeGreaterThan(20);
    expect(designEffect([must(same[0])])).toBe(1);
    // The same pooled counts carry less evidence once the devices' own differences are accounted for.
    const pooled = apart.reduce(
      (acc, d) => acc.map((x, i) => x + (d[i] ?? 0)),
      new Array<number>(f.proportions.length).fill(0),
    );
    const naive = variableDrift(must(v), pooled, { statistics: ['psi'], minN: profile.minN });
    const clustered = variableDrift(must(v), pooled, {
      statistics: ['psi'],
      minN: profile.minN,
      designEffect: deffApart,
    });
    expect(clustered.designEffect).toBe(deffApart);
    expect(clustered.nEffective).toBeLessThan(naive.nEffective);
    expect(clustered.pValue).toBeGreaterThan(naive.pValue);
    expect(clustered.statistics.psi).toBe(naive.statistics.psi);
  });

  it('marks too-small and empty variables', () => {
    const small = cohort(12, 1, 1, 20);
    const d = variableDrift(must(profile.variables[0]), small.variable(0), {
      statistics: ['psi'],
      minN: profile.minN,
    });
    expect(d.kind).toBe('too-small');
    const empty = variableDrift(
      must(profile.variables[0]),
      new Array<number>(small.variable(0).length).fill(0),
      {
        statistics: ['psi'],
        minN: 1,
      },
    );
    expect(empty.kind).toBe('empty');
  });
});

describe('the alert rule on one window', () => {
  it('finds a sensor gain change in the drifted cohort only, after FDR control and the effect floor', () => {
    const groups = [
      { value: 'control-a', aggregate: cohort(21, 5, 1) },
      { value: 'control-b', aggregate: cohort(22, 5, 1) },
      { value: 'drifted', aggregate: cohort(23, 5, 1.25) },
    ];
    const r = testWindow(profile, groups, ['psi', 'js', 'ks', 'wasserstein'], ALERT_RULE_DEFAULTS);
    expect(r.tests).toBe(3 * profile.variables.length);
    const findings = r.results.filter((x) => x.finding);
    expect(findings.length).toBeGreaterThan(3);
    expect(new Set(findings.map((f) => f.group))).toEqual(new Set(['drifted']));
    // Count-valued features do not scale with a gain: never a finding.
    expect(findings.some((f) => f.drift.name === 'acc_peak_count')).toBe(false);
    // With an effect floor nobody reaches, nothing is a finding even though the tests reject.
    const strict = testWindow(profile, groups, ['psi'], { ...ALERT_RULE_DEFAULTS, minPsi: 1e9 });
    expect(strict.results.some((x) => x.finding)).toBe(false);
    expect(strict.results.some((x) => x.qValue < 1e-6)).toBe(true);
  });

  it('needs k consecutive evaluated windows; thin windows neither count nor reset', () => {
    const rule = { ...ALERT_RULE_DEFAULTS, consecutiveWindows: 3 };
    const result = (kind: 'tested' | 'too-small', finding: boolean): TestResult =>
      ({ group: 'g', qValue: 0, finding, drift: { kind, index: 0, name: 'x' } }) as unknown as TestResult;
    const w = (i: number): FindingWindow => ({
      startMs: i,
      endMs: i + 1,
      n: 1,
      nEffective: 1,
      designEffect: 1,
      statistics: {},
      thresholds: {},
      pValue: 0,
      qValue: 0,
      tests: 1,
    });
    let s: StreakState | null = null;
    const steps: string[] = [];
    const seq: ['tested' | 'too-small', boolean][] = [
      ['tested', true],
      ['too-small', false],
      ['tested', true],
      ['tested', false],
      ['tested', true],
      ['tested', true],
      ['tested', true],
    ];
    seq.forEach(([kind, finding], i) => {
      const step = advanceStreak('k', s, result(kind, finding), w(i), rule);
      s = step.state;
      steps.push(step.kind === 'finding' ? `finding${step.reached ? '!' : ''}` : step.kind);
    });
    expect(steps).toEqual(['finding', 'skipped', 'finding', 'cleared', 'finding', 'finding', 'finding!']);
    expect((s as StreakState | null)?.windows.map((x) => x.startMs)).toEqual([4, 5, 6]);
  });
});

describe('one device in a group', () => {
  it('caps a device at maxWeight × the lower-median device, in whole counts, keeping its shape', () => {
    const devices = [
      [10, 10, 0],
      [12, 8, 0],
      [9, 11, 0],
      [400, 0, 0], // 20× the median device
    ];
    const { capped, excess } = capDeviceWeights(devices, 2);
    expect(Array.from(capped[3] ?? [])).toEqual([40, 0, 0]);
    expect(Array.from(excess ?? [])).toEqual([360, 0, 0]);
    expect(capped.slice(0, 3).map((d) => Array.from(d))).toEqual(devices.slice(0, 3));
    // Fewer than three devices with data: no robust median, nothing capped.
    expect(
      capDeviceWeights(
        [
          [1, 0, 0],
          [500, 0, 0],
          [0, 0, 0],
        ],
        2,
      ).excess,
    ).toBeNull();
  });

  it('names the device farthest from the reference proportions', () => {
    const reference = [50, 50, 0];
    expect(
      mostDivergentDevice(
        [
          [10, 10, 0],
          [30, 0, 0],
          [9, 11, 0],
        ],
        reference,
      ),
    ).toBe(1);
    expect(
      mostDivergentDevice(
        [
          [10, 10, 0],
          [0, 0, 5],
        ],
        reference,
      ),
    ).toBe(1); // a bin never seen
    expect(mostDivergentDevice([[10, 10, 0]], reference)).toBeNull();
  });
});
