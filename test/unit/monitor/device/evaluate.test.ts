import { describe, expect, it } from 'vitest';
import {
  decideInterval,
  effectiveSampleSize,
  prepareModel as prepare,
} from '../../../../monitor/device/index.ts';
import { SeededRandom } from '../../../../monitor/stats/index.ts';
import type { BinnedReference, ReferenceProfile } from '../../../../models/profile/index.ts';
import { referenceModel } from './helpers.ts';

/** Multinomial counts (m + 3 layout, NaN bin 0) of n draws from ordered-bin probabilities. */
function draw(random: SeededRandom, n: number, proportions: readonly number[]): number[] {
  const ordered = Float64Array.from(proportions.slice(0, -1));
  const sum = ordered.reduce((a, b) => a + b, 0);
  for (let i = 0; i < ordered.length; i++) ordered[i] = (ordered[i] as number) / sum;
  const out = new Float64Array(ordered.length);
  random.multinomialInto(n, ordered, out);
  return [...Array.from(out), 0];
}

describe('decideInterval', () => {
  it('uses the two-sample effective size nN/(n + N)', () => {
    expect(effectiveSampleSize(3600, 800)).toBeCloseTo((3600 * 800) / 4400, 10);
    expect(effectiveSampleSize(100, 0)).toBe(100);
    expect(effectiveSampleSize(0.1, 800)).toBe(1);
  });

  it('flags nothing when the interval looks exactly like the reference', () => {
    const model = prepare(referenceModel('fall-detector'));
    const scale = (p: readonly number[]) => p.map((x) => Math.round(x * 7980));
    const d = decideInterval(
      model,
      model.source.profile.features.map((f) => scale(f.proportions)),
      scale(model.source.profile.score.proportions),
    );
    expect(d.alarm).toBe(false);
    expect(d.flags).toEqual([]);
    expect(d.variables.every((v) => v.tested)).toBe(true);
  });

  it('keeps the family-wise alarm rate near α when the profile itself is a finite sample (two-sample null)', () => {
    // Population = the shipped profile; each replicate draws its own 798-row reference from it and an
    // interval of 3,600 windows; the device must not confuse the reference's sampling error with drift.
    const base = referenceModel('fall-detector');
    const random = SeededRandom.fromSeed(2024);
    const resample = (v: BinnedReference, n: number): BinnedReference => {
      const counts = draw(random, n, v.proportions);
      return { ...v, counts, n, proportions: counts.map((c) => c / n) };
    };
    const replicates = 60;
    let alarms = 0;
    let naive = 0;
    for (let r = 0; r < replicates; r++) {
      const profile: ReferenceProfile = {
        ...base.profile,
        features: base.profile.features.map((f) => resample(f, 798)),
        score: resample(base.profile.score, 798),
      };
      const model = prepare({ ...base, profile });
      const features = base.profile.features.map((f) => draw(random, 3600, f.proportions));
      const score = draw(random, 3600, base.profile.score.proportions);
      if (decideInterval(model, features, score).alarm) alarms++;
      // The same decision without the correction (reference treated as exact): N = ∞.
      const exact = prepare({
        ...base,
        profile: {
          ...profile,
          features: profile.features.map((f) => ({ ...f, n: 1e15, counts: [...f.counts.slice(0, -1), 0] })),
          score: { ...profile.score, n: 1e15 },
        },
      });
      if (decideInterval(exact, features, score).alarm) naive++;
    }
    expect(alarms).toBeLessThanOrEqual(3); // α = 0.01 family-wise: expect ≈ 0.6 of 60
    expect(naive).toBeGreaterThan(replicates / 2); // what the correction prevents
  });
});
