import { describe, expect, it } from 'vitest';
import type { SimulatorError } from '../../../simulator/index.ts';
import {
  Rng,
  allCohorts,
  cohortKey,
  cohortParams,
  drawSubject,
  parseCohortKey,
  simulateSignal,
} from '../../../simulator/index.ts';
import { magnitude, mean, sd } from './helpers.ts';

describe('cohorts', () => {
  it('round-trips cohort keys and fills missing fields with the default', () => {
    for (const c of allCohorts()) expect(parseCohortKey(cohortKey(c))).toEqual(c);
    expect(allCohorts()).toHaveLength(18);
    expect(cohortKey(parseCohortKey('placement=chest'))).toBe('age=40-64;activity=active;placement=chest');
    expect(parseCohortKey(' age=65+ ; activity=sedentary ')).toEqual({
      age: '65+',
      activity: 'sedentary',
      placement: 'wrist',
    });
  });

  it('rejects bad keys with BAD_COHORT', () => {
    for (const bad of ['age=12', 'foo=bar', 'age', 'age=65+;age=18-39', 'placement=ankle']) {
      let code: string | undefined;
      try {
        parseCohortKey(bad);
      } catch (err) {
        code = (err as SimulatorError).code;
      }
      expect(code, bad).toBe('BAD_COHORT');
    }
    expect(() => cohortParams('age=65+', { sdnnScale: -1 })).toThrow(/sdnnScale/);
  });

  it('shifts parameters in the declared direction with age, activity and placement', () => {
    const young = cohortParams('age=18-39');
    const old = cohortParams('age=65+');
    expect(old.heart.meanHrBpm).toBeGreaterThan(young.heart.meanHrBpm);
    expect(old.heart.sdnnMs).toBeLessThan(young.heart.sdnnMs);
    expect(old.heart.afPrevalence).toBeGreaterThan(10 * young.heart.afPrevalence);
    expect(old.gait.cadenceHz).toBeLessThan(young.gait.cadenceHz);
    expect(old.gait.vigor).toBeLessThan(young.gait.vigor);
    expect(old.falls.directionWeights[2]).toBeGreaterThan(young.falls.directionWeights[2]);
    const sed = cohortParams('activity=sedentary');
    const act = cohortParams('activity=active');
    expect(sed.heart.meanHrBpm).toBeGreaterThan(act.heart.meanHrBpm);
    expect(sed.gait.vigor).toBeLessThan(act.gait.vigor);
    const wrist = cohortParams('placement=wrist');
    const chest = cohortParams('placement=chest');
    expect(wrist.sensor.dynamicGain).toBeGreaterThan(chest.sensor.dynamicGain);
    expect(wrist.sensor.ecgNoiseMv).toBeGreaterThan(chest.sensor.ecgNoiseMv);
    expect(chest.sensor.ppgNoise).toBeGreaterThan(wrist.sensor.ppgNoise);
  });

  it('produces the shift in simulated data, not only in parameters', () => {
    const sdnn = (age: string): number => {
      const v: number[] = [];
      for (let s = 0; s < 12; s++) {
        const rr = simulateSignal({ kind: 'rr', seconds: 120, seed: s, cohort: `age=${age}` });
        if (rr.kind === 'rr') v.push(sd(rr.rrMs));
      }
      return mean(v);
    };
    expect(sdnn('65+')).toBeLessThan(0.8 * sdnn('18-39'));
  });

  it('applies a population shift on purpose (drift)', () => {
    const base = cohortParams('age=40-64');
    const shifted = cohortParams('age=40-64', { hrOffsetBpm: 10, noiseScale: 3, accelGain: 1.2 });
    expect(shifted.heart.meanHrBpm).toBe(base.heart.meanHrBpm + 10);
    expect(shifted.sensor.ecgNoiseMv).toBeCloseTo(3 * base.sensor.ecgNoiseMv, 12);
    const rest = (accelGain: number): number => {
      const s = simulateSignal({
        kind: 'accel',
        seconds: 10,
        seed: 1,
        activity: 'rest',
        shift: { accelGain },
      });
      return s.kind === 'accel' ? mean(magnitude(s.x, s.y, s.z)) : 0;
    };
    expect(rest(1.2) / rest(1)).toBeCloseTo(1.2, 2);
    const hr = (hrOffsetBpm: number): number => {
      const s = simulateSignal({ kind: 'rr', seconds: 120, seed: 2, shift: { hrOffsetBpm } });
      return s.kind === 'rr' ? 60_000 / mean(s.rrMs) : 0;
    };
    expect(hr(15) - hr(0)).toBeGreaterThan(10);
  });

  it('draws different subjects within a cohort', () => {
    const p = cohortParams('age=65+');
    const a = drawSubject(p, Rng.of(1));
    const b = drawSubject(p, Rng.of(2));
    expect(a.restingHrBpm).not.toBe(b.restingHrBpm);
    expect(a.mount).not.toEqual(b.mount);
  });
});
