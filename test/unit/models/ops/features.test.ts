// Small hand-computed vectors (the expected numbers are worked out in the comments).
import { describe, expect, it } from 'vitest';
import { ACCEL_FEATURE_NAMES } from '../../../../models/ops/index.ts';
import type { OpValue } from '../../../../models/ops/index.ts';
import { applyOp, channelOf, expectOpError, featuresOf, signal } from './helpers.ts';

const events = (rateHz: number, length: number, idx: number[]): OpValue => ({
  kind: 'events',
  rateHz,
  length,
  indices: Int32Array.from(idx),
});
const series = (values: number[]): OpValue => ({
  kind: 'series',
  unit: 'ms',
  values: Float64Array.from(values),
});
const features = (names: string[], values: number[]): OpValue => ({
  kind: 'features',
  names,
  values: Float64Array.from(values),
});

describe('structural ops', () => {
  it('select_channels keeps the given channels in order, without copying', () => {
    const a = Float64Array.of(1, 2);
    const b = Float64Array.of(3, 4);
    const out = applyOp('select_channels@1', { channels: [1, 0, 1] }, [signal(10, a, b)]);
    expect(out.kind === 'signal' ? out.channels : []).toEqual([b, a, b]);
    expect(channelOf(out, 0)).toBe(b);
    expectOpError(() => applyOp('select_channels@1', { channels: [2] }, [signal(10, a, b)]), 'BAD_PARAMS');
    expectOpError(() => applyOp('select_channels@1', { channels: [] }, [signal(10, a, b)]), 'BAD_PARAMS');
  });

  it('magnitude: √(3² + 4² + 12²) = 13', () => {
    const out = applyOp('magnitude@1', {}, [signal(50, [3, 0], [4, 0], [12, -2])]);
    expect(Array.from(channelOf(out))).toEqual([13, 2]);
  });

  it('concat_features and select_features', () => {
    const a = features(['a', 'b'], [1, 2]);
    const c = features(['c'], [3]);
    const cat = applyOp('concat_features@1', {}, [a, c]);
    expect(featuresOf(cat)).toEqual({ a: 1, b: 2, c: 3 });
    expectOpError(() => applyOp('concat_features@1', {}, [a, a]), 'BAD_INPUT');
    expect(featuresOf(applyOp('select_features@1', { names: ['c', 'a'] }, [cat]))).toEqual({ c: 3, a: 1 });
    const sel = applyOp('select_features@1', { names: ['c', 'a'] }, [cat]);
    expect(sel.kind === 'features' ? sel.names : []).toEqual(['c', 'a']);
    expectOpError(() => applyOp('select_features@1', { names: ['z'] }, [cat]), 'BAD_PARAMS');
    expectOpError(() => applyOp('select_features@1', { names: ['a', 'a'] }, [cat]), 'BAD_PARAMS');
  });
});

describe('rr_intervals', () => {
  it('converts sample gaps to ms at the events rate: 250 Hz, gaps 250/250/500 → 1000/1000/2000 ms', () => {
    const out = applyOp('rr_intervals@1', {}, [events(250, 2000, [0, 250, 500, 1000])]);
    expect(out.kind === 'series' ? Array.from(out.values) : []).toEqual([1000, 1000, 2000]);
  });
  it('marks or drops intervals outside the physiological range', () => {
    const ev = events(250, 2000, [0, 50, 300, 1000]); // 200 ms, 1000 ms, 2800 ms
    const marked = applyOp('rr_intervals@1', {}, [ev]);
    expect(marked.kind === 'series' ? Array.from(marked.values) : []).toEqual([NaN, 1000, NaN]);
    const dropped = applyOp('rr_intervals@1', { outOfRange: 'drop' }, [ev]);
    expect(dropped.kind === 'series' ? Array.from(dropped.values) : []).toEqual([1000]);
    expectOpError(() => applyOp('rr_intervals@1', { minMs: 900, maxMs: 800 }, [ev]), 'BAD_PARAMS');
  });
  it('refuses events that are not strictly ascending within the window', () => {
    expectOpError(() => applyOp('rr_intervals@1', {}, [events(250, 100, [5, 5])]), 'BAD_INPUT');
    expectOpError(() => applyOp('rr_intervals@1', {}, [events(250, 100, [5, 100])]), 'BAD_INPUT');
  });
});

describe('rr_features', () => {
  it('alternating 1000/1100 ms (hand-computed)', () => {
    // mean 1040; SDNN = √((3·40² + 2·60²)/4) = √3000; successive |Δ| all 100 → RMSSD 100, pNN50 1;
    // every inner point is a turning point → TPR 1; bins 15 and 17 with p = 3/5, 2/5 →
    // H = −(0.6 log2 0.6 + 0.4 log2 0.4) = 0.97095 bits; median|Δ|/median RR = 100/1000;
    // SampEn (m = 1, r = 0.2·√3000): B = A = 2 matching pairs → 0.
    const f = featuresOf(
      applyOp('rr_features@1', { minIntervals: 5 }, [series([1000, 1100, 1000, 1100, 1000])]),
    );
    expect(f.rr_count).toBe(5);
    expect(f.rr_mean_ms).toBeCloseTo(1040, 12);
    expect(f.hr_mean_bpm).toBeCloseTo(60000 / 1040, 12);
    expect(f.rr_sdnn_ms).toBeCloseTo(Math.sqrt(3000), 12);
    expect(f.rr_rmssd_ms).toBeCloseTo(100, 12);
    expect(f.rr_nrmssd).toBeCloseTo(100 / 1040, 12);
    expect(f.rr_pnn50).toBe(1);
    expect(f.rr_cv).toBeCloseTo(Math.sqrt(3000) / 1040, 12);
    expect(f.rr_madsd_norm).toBeCloseTo(0.1, 12);
    expect(f.rr_hist_entropy_bits).toBeCloseTo(-(0.6 * Math.log2(0.6) + 0.4 * Math.log2(0.4)), 12);
    expect(f.rr_tpr).toBe(1);
    expect(f.rr_sampen).toBe(0);
  });
  it('below minIntervals everything but the count is NaN', () => {
    const f = featuresOf(applyOp('rr_features@1', {}, [series([800, 810, 790])]));
    expect(f.rr_count).toBe(3);
    for (const [k, v] of Object.entries(f)) if (k !== 'rr_count') expect(v, k).toBeNaN();
  });
  it('successive differences never bridge a NaN-marked interval', () => {
    // Pairs (800, 900) and (700, 750) only: Δ = 100 and 50 → RMSSD = √((100² + 50²)/2).
    const f = featuresOf(applyOp('rr_features@1', { minIntervals: 2 }, [series([800, 900, NaN, 700, 750])]));
    expect(f.rr_count).toBe(4);
    expect(f.rr_rmssd_ms).toBeCloseTo(Math.sqrt((100 ** 2 + 50 ** 2) / 2), 12);
    expect(f.rr_pnn50).toBe(0.5); // only 100 > 50
    expect(f.rr_tpr).toBeNaN(); // no three adjacent valid intervals
  });
});

describe('accel_features', () => {
  it('has exactly 16 named features', () => {
    expect(ACCEL_FEATURE_NAMES).toHaveLength(16);
    expect(new Set(ACCEL_FEATURE_NAMES).size).toBe(16);
  });
  it('device lying still on its back, then turned on its side (hand-computed)', () => {
    // 100 samples at 50 Hz: first 50 at (0, 0, 1) g, last 50 at (1, 0, 0) g.
    const x = Float64Array.from({ length: 100 }, (_, i) => (i < 50 ? 0 : 1));
    const z = Float64Array.from({ length: 100 }, (_, i) => (i < 50 ? 1 : 0));
    const f = featuresOf(applyOp('accel_features@1', {}, [signal(50, x, new Float64Array(100), z)]));
    expect(f.acc_mag_mean_g).toBe(1);
    expect(f.acc_mag_sd_g).toBe(0);
    expect(f.acc_sma_g).toBe(1);
    expect(f.acc_orientation_change_deg).toBeCloseTo(90, 12);
    expect(f.acc_max_jerk_g_s).toBeCloseTo(Math.SQRT2 * 50, 12); // one step of √2 g in 1/50 s
    expect(f.acc_mean_jerk_g_s).toBeCloseTo((Math.SQRT2 * 50) / 99, 12);
    expect(f.acc_peak_count).toBe(0);
    expect(f.acc_freefall_s).toBe(0);
    expect(f.acc_impact_width_s).toBe(0); // no sample above 1 g
    expect(f.acc_impact_to_end_s).toBeCloseTo(99 / 50, 12); // argmax = first sample
  });
  it('free fall then impact (hand-computed)', () => {
    // 50 Hz: 1 g, 10 samples at 0.2 g (0.2 s free fall), one 3 g impact at sample 30, then 1 g.
    const z = Float64Array.from({ length: 100 }, (_, i) => (i >= 20 && i < 30 ? 0.2 : i === 30 ? 3 : 1));
    const zero = new Float64Array(100);
    const f = featuresOf(applyOp('accel_features@1', {}, [signal(50, zero, zero, z)]));
    expect(f.acc_freefall_s).toBeCloseTo(0.2, 12);
    expect(f.acc_mag_max_g).toBe(3);
    expect(f.acc_peak_count).toBe(1);
    expect(f.acc_pre_impact_min_g).toBe(0.2);
    expect(f.acc_impact_width_s).toBeCloseTo(1 / 50, 12);
    expect(f.acc_impact_to_end_s).toBeCloseTo(69 / 50, 12);
    expect(f.acc_post_impact_mean_g).toBe(1); // from sample 55 on
    expect(f.acc_post_impact_sd_g).toBe(0);
  });
  it('refuses a signal that is not 3-axis', () => {
    expectOpError(() => applyOp('accel_features@1', {}, [signal(50, [1], [1])]), 'BAD_INPUT');
  });
});

describe('activity_level, normalize, ecg_sqi edge cases', () => {
  it('activity_level_g is the population SD of |a|', () => {
    // |a| alternates 1 and 2 → SD 0.5.
    const z = Float64Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 1 : 2));
    const zero = new Float64Array(10);
    expect(
      featuresOf(applyOp('activity_level@1', {}, [signal(50, zero, zero, z)])).activity_level_g,
    ).toBeCloseTo(0.5, 12);
    expect(featuresOf(applyOp('activity_level@1', {}, [signal(50, z)])).activity_level_g).toBeCloseTo(
      0.5,
      12,
    );
  });
  it('normalize: constant channel is not computable (NaN); min-max maps to [0, 1]', () => {
    expect(Array.from(channelOf(applyOp('normalize@1', {}, [signal(10, [2, 2, 2])])))).toEqual([
      NaN,
      NaN,
      NaN,
    ]);
    expect(
      Array.from(channelOf(applyOp('normalize@1', { method: 'minmax' }, [signal(10, [1, 3, 2])]))),
    ).toEqual([0, 1, 0.5]);
  });
  it('ecg_sqi: NaN under 1 s of signal, refused below 80 Hz', () => {
    const f = featuresOf(
      applyOp('ecg_sqi@1', {}, [
        signal(
          250,
          new Float64Array(100).map((_, i) => Math.sin(i)),
        ),
      ]),
    );
    expect(f.ecg_psqi).toBeNaN();
    expectOpError(() => applyOp('ecg_sqi@1', {}, [signal(64, new Float64Array(640))]), 'BAD_PARAMS');
  });
  it('resample: refuses ratios finer than 0.001 Hz or too fine for polyphase', () => {
    expectOpError(
      () => applyOp('resample@1', { targetHz: 100.0001 }, [signal(250, new Float64Array(10))]),
      'BAD_PARAMS',
    );
    expectOpError(
      () => applyOp('resample@1', { targetHz: 250.3 }, [signal(250, new Float64Array(10))]),
      'BAD_PARAMS',
    );
    const lin = applyOp('resample@1', { targetHz: 250.3, method: 'linear' }, [
      signal(250, new Float64Array(10)),
    ]);
    expect(lin.kind === 'signal' ? lin.rateHz : 0).toBe(250.3);
  });
});
