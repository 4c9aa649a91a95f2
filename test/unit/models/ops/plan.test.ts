// Catalogue lookup and plan compilation: every rejection carries its OpError code, so bundle
// verification can refuse a manifest with a reason before anything runs.
import { describe, expect, it } from 'vitest';
import {
  OP_CATALOGUE,
  OpError,
  RR_FEATURE_NAMES,
  compilePreprocessing,
  lookupOp,
  sqiSteps,
} from '../../../../models/ops/index.ts';
import type { OpValue, PreprocessingStep } from '../../../../models/ops/index.ts';
import { applyOp, expectOpError, featuresOf, signal } from './helpers.ts';
import { AF_ECG_INPUT, AF_ECG_STEPS, AF_PPG_INPUT, AF_PPG_STEPS, FALL_INPUT, FALL_STEPS } from './plans.ts';
import { synthEcg, synthPpg } from './synthetic.ts';

const step = (
  op: string,
  inputs: string[],
  output: string,
  params: Record<string, unknown> = {},
  version = 1,
): PreprocessingStep => ({
  op,
  version,
  inputs,
  output,
  params,
});

describe('catalogue', () => {
  it('is keyed by name@version and every entry is documented', () => {
    expect(OP_CATALOGUE.size).toBeGreaterThanOrEqual(20);
    for (const [key, op] of OP_CATALOGUE) {
      expect(key).toBe(`${op.name}@${op.version}`);
      expect(op.key).toBe(key);
      expect(op.version).toBe(1);
      expect(op.summary.length).toBeGreaterThan(20);
      expect(op.reference.length).toBeGreaterThan(5);
      for (const p of op.params) expect(p.description.length).toBeGreaterThan(5);
    }
    for (const name of [
      'select_channels',
      'magnitude',
      'butter_bandpass',
      'butter_lowpass',
      'butter_highpass',
      'notch',
      'fir_bandpass',
      'detrend',
      'normalize',
      'resample',
      'pan_tompkins',
      'pulse_peaks',
      'rr_intervals',
      'rr_features',
      'accel_features',
      'concat_features',
      'ecg_sqi',
      'ppg_template_sqi',
      'activity_level',
    ]) {
      expect(OP_CATALOGUE.has(`${name}@1`), name).toBe(true);
    }
  });

  it('cannot be mutated through a cast', () => {
    expect('set' in OP_CATALOGUE).toBe(false);
    expect(() => {
      (OP_CATALOGUE as unknown as { size: number }).size = 0;
    }).toThrow(TypeError);
    expect(Object.isFrozen(lookupOp('notch', 1))).toBe(true);
  });

  it('lookupOp: unknown name → UNKNOWN_OP, known name with another version → UNKNOWN_VERSION', () => {
    expect(lookupOp('notch', 1).key).toBe('notch@1');
    expectOpError(() => lookupOp('bandpass', 1), 'UNKNOWN_OP');
    expectOpError(() => lookupOp('__proto__', 1), 'UNKNOWN_OP');
    expectOpError(() => lookupOp('notch', 2), 'UNKNOWN_VERSION');
    expectOpError(() => lookupOp('notch', 1.5), 'UNKNOWN_VERSION');
  });
});

describe('compilePreprocessing', () => {
  it('compiles the documented fall and AF plans and reports their feature names', () => {
    const fall = compilePreprocessing(FALL_STEPS, FALL_INPUT, 'features');
    expect(fall.featureNames).toHaveLength(16);
    const ecg = compilePreprocessing(AF_ECG_STEPS, AF_ECG_INPUT, 'features', {
      expectedFeatureNames: RR_FEATURE_NAMES,
    });
    expect(ecg.featureNames).toEqual(RR_FEATURE_NAMES);
    expect(ecg.shapeOf('r_peaks')).toEqual({ kind: 'events', rateHz: 250, length: 7500 });
    expect(ecg.steps.map((s) => s.op)).toEqual([
      'butter_bandpass@1',
      'pan_tompkins@1',
      'rr_intervals@1',
      'rr_features@1',
    ]);
    // Defaults are filled in: what runs is fully recorded.
    expect(ecg.steps[1]?.params).toMatchObject({
      lowHz: 5,
      highHz: 15,
      integrationMs: 150,
      refractoryMs: 200,
    });
    const ppg = compilePreprocessing(AF_PPG_STEPS, AF_PPG_INPUT, 'features');
    expect(ppg.featureNames).toEqual(RR_FEATURE_NAMES);
  });

  const cases: readonly [string, readonly PreprocessingStep[], string, OpError['code']][] = [
    ['unknown op', [step('bandpass', ['input'], 'f')], 'f', 'UNKNOWN_OP'],
    ['unknown version', [step('accel_features', ['input'], 'f', {}, 2)], 'f', 'UNKNOWN_VERSION'],
    ['non-integer version', [step('accel_features', ['input'], 'f', {}, 1.5)], 'f', 'UNKNOWN_VERSION'],
    ['unknown param', [step('accel_features', ['input'], 'f', { peakThreshold: 2 })], 'f', 'BAD_PARAMS'],
    [
      'param of the wrong type',
      [step('accel_features', ['input'], 'f', { peakThresholdG: '2' })],
      'f',
      'BAD_PARAMS',
    ],
    [
      'param out of range',
      [step('accel_features', ['input'], 'f', { freefallThresholdG: 1.5 })],
      'f',
      'BAD_PARAMS',
    ],
    [
      'params not an object',
      [{ ...step('accel_features', ['input'], 'f'), params: [1, 2] as unknown as Record<string, unknown> }],
      'f',
      'BAD_PARAMS',
    ],
    [
      'low edge above high edge',
      [
        step('butter_bandpass', ['input'], 's', { lowHz: 20, highHz: 10 }),
        step('accel_features', ['s'], 'f'),
      ],
      'f',
      'BAD_PARAMS',
    ],
    [
      'cutoff above Nyquist',
      [step('butter_lowpass', ['input'], 's', { cutoffHz: 30 }), step('accel_features', ['s'], 'f')],
      'f',
      'BAD_PARAMS',
    ],
    [
      'channel index out of range',
      [step('select_channels', ['input'], 's', { channels: [3] })],
      's',
      'BAD_PARAMS',
    ],
    ['undefined input', [step('accel_features', ['accel'], 'f')], 'f', 'BAD_GRAPH'],
    [
      'forward reference',
      [step('magnitude', ['later'], 'm'), step('accel_features', ['input'], 'later')],
      'later',
      'BAD_GRAPH',
    ],
    [
      'duplicate output',
      [step('accel_features', ['input'], 'f'), step('accel_features', ['input'], 'f')],
      'f',
      'BAD_GRAPH',
    ],
    ['output shadows the window', [step('magnitude', ['input'], 'input')], 'input', 'BAD_GRAPH'],
    ['input kind mismatch', [step('rr_features', ['input'], 'f')], 'f', 'BAD_INPUT'],
    ['wrong channel count', [step('pan_tompkins', ['input'], 'e')], 'e', 'BAD_INPUT'],
    ['wrong number of inputs', [step('ppg_template_sqi', ['input'], 'f')], 'f', 'BAD_INPUT'],
    ['final value missing', [step('accel_features', ['input'], 'f')], 'features', 'BAD_GRAPH'],
    ['final value not features', [step('magnitude', ['input'], 'm')], 'm', 'BAD_GRAPH'],
    ['empty list', [], 'f', 'BAD_GRAPH'],
    ['bad value name', [step('accel_features', ['input'], 'Features!')], 'Features!', 'BAD_GRAPH'],
    [
      'extra step field',
      [{ ...step('accel_features', ['input'], 'f'), when: 'always' } as PreprocessingStep],
      'f',
      'BAD_GRAPH',
    ],
    ['step not an object', ['accel_features' as unknown as PreprocessingStep], 'f', 'BAD_GRAPH'],
    ['op not a string', [{ ...step('x', ['input'], 'f'), op: 7 as unknown as string }], 'f', 'UNKNOWN_OP'],
  ];
  for (const [label, steps, final, code] of cases) {
    it(`rejects ${label} with ${code}`, () => {
      const e = expectOpError(() => compilePreprocessing(steps, FALL_INPUT, final), code);
      expect(e.message.length).toBeGreaterThan(10);
    });
  }

  it('names the step and the field in its messages', () => {
    const e = expectOpError(
      () =>
        compilePreprocessing(
          [
            step('accel_features', ['input'], 'a'),
            step('butter_lowpass', ['input'], 'b', { cutoffHz: 'ten' }),
          ],
          FALL_INPUT,
          'a',
        ),
      'BAD_PARAMS',
    );
    expect(e.message).toContain('step 1 (butter_lowpass@1)');
    expect(e.message).toContain('params.cutoffHz');
    expect(e.message).toContain('"ten"');
  });

  it('rejects too many steps, a bad input shape and a feature-name mismatch', () => {
    const many = Array.from({ length: 65 }, (_, i) => step('magnitude', ['input'], `m${i}`));
    expectOpError(() => compilePreprocessing(many, FALL_INPUT, 'm0'), 'BAD_GRAPH');
    expectOpError(
      () => compilePreprocessing(FALL_STEPS, { rateHz: 0, channels: 3, length: 200 }, 'features'),
      'BAD_INPUT',
    );
    expectOpError(
      () => compilePreprocessing(FALL_STEPS, { rateHz: 50, channels: 3, length: 0 }, 'features'),
      'BAD_INPUT',
    );
    expectOpError(
      () =>
        compilePreprocessing(FALL_STEPS, FALL_INPUT, 'features', {
          expectedFeatureNames: ['acc_mag_mean_g'],
        }),
      'BAD_GRAPH',
    );
  });
});

describe('running a plan', () => {
  const ecg = synthEcg({
    rateHz: 250,
    seconds: 30,
    hrBpm: 72,
    rhythm: 'sinus',
    seed: 3,
    noiseMv: 0.05,
    wanderMv: 0.3,
    mainsMv: 0.05,
  });

  it('gives the same features as applying the ops one by one (train/serve parity)', () => {
    const plan = compilePreprocessing(AF_ECG_STEPS, AF_ECG_INPUT, 'features');
    let v: OpValue = signal(250, ecg.x);
    for (const s of AF_ECG_STEPS) v = applyOp(`${s.op}@${s.version}`, s.params, [v]);
    const direct = featuresOf(v);
    const viaPlan = featuresOf(plan.run(signal(250, ecg.x)));
    expect(viaPlan).toEqual(direct);
    expect(viaPlan.rr_mean_ms).toBeGreaterThan(780);
    expect(viaPlan.rr_mean_ms).toBeLessThan(880);
  });

  it('is deterministic and returns fresh features that the next run does not overwrite', () => {
    const plan = compilePreprocessing(AF_ECG_STEPS, AF_ECG_INPUT, 'features');
    const a = plan.run(signal(250, ecg.x));
    const copy = Float64Array.from(a.values);
    const other = synthEcg({
      rateHz: 250,
      seconds: 30,
      hrBpm: 120,
      rhythm: 'af',
      seed: 4,
      noiseMv: 0.05,
      wanderMv: 0.3,
      mainsMv: 0.05,
    });
    const b = plan.run(signal(250, other.x));
    expect(a.values).toEqual(copy);
    expect(b.values).not.toEqual(copy);
    expect(plan.run(signal(250, ecg.x)).values).toEqual(copy);
  });

  it('runAll exposes every named value', () => {
    const plan = compilePreprocessing(AF_ECG_STEPS, AF_ECG_INPUT, 'features');
    const all = plan.runAll(signal(250, ecg.x));
    expect([...all.keys()]).toEqual(['input', 'ecg_clean', 'r_peaks', 'rr', 'features']);
    const peaks = all.get('r_peaks');
    expect(peaks?.kind === 'events' ? peaks.indices.length : 0).toBeGreaterThan(30);
  });

  it('refuses windows that do not match the plan with BAD_INPUT', () => {
    const plan = compilePreprocessing(FALL_STEPS, FALL_INPUT, 'features');
    const ch = () => new Float64Array(200);
    expectOpError(() => plan.run(signal(50, ch(), ch())), 'BAD_INPUT');
    expectOpError(() => plan.run(signal(51, ch(), ch(), ch())), 'BAD_INPUT');
    expectOpError(() => plan.run({ kind: 'series', unit: 'g', values: ch() }), 'BAD_INPUT');
    const f32 = {
      kind: 'signal',
      rateHz: 50,
      channels: [new Float32Array(200), ch(), ch()],
    } as unknown as OpValue;
    expectOpError(() => plan.run(f32), 'BAD_INPUT');
    expectOpError(() => plan.run(signal(50, ch(), ch(), new Float64Array(199))), 'BAD_INPUT');
    expectOpError(() => plan.run(null as unknown as OpValue), 'BAD_INPUT');
  });
});

describe('sqiSteps', () => {
  it('builds the steps for the indices a quality policy names', () => {
    const opts = {
      rateHz: 250,
      seconds: 30,
      hrBpm: 72,
      rhythm: 'sinus',
      seed: 5,
      noiseMv: 0.02,
      wanderMv: 0,
      mainsMv: 0,
    } as const;
    const plan = compilePreprocessing(
      sqiSteps(['ecg_psqi', 'ecg_kurtosis', 'ecg_bassqi']),
      AF_ECG_INPUT,
      'sqi',
    );
    const f = featuresOf(plan.run(signal(250, synthEcg(opts).x)));
    expect(f.ecg_kurtosis).toBeGreaterThan(5); // clean ECG is peaky (zhao2018: kSQI > 5)
    expect(f.ecg_bassqi).toBeGreaterThan(0.95);
    expect(f.ecg_psqi).toBeGreaterThan(0.4);
    const wander = featuresOf(plan.run(signal(250, synthEcg({ ...opts, wanderMv: 0.8 }).x)));
    expect(wander.ecg_bassqi).toBeLessThan(0.5);
    const noisy = featuresOf(plan.run(signal(250, synthEcg({ ...opts, noiseMv: 0.5 }).x)));
    expect(noisy.ecg_kurtosis).toBeLessThan(5);
    expect(noisy.ecg_psqi).toBeLessThan(f.ecg_psqi ?? 0);

    const ppg = synthPpg({
      rateHz: 64,
      seconds: 30,
      hrBpm: 70,
      irregular: false,
      seed: 6,
      noise: 0.02,
      wander: 0.1,
    });
    const pplan = compilePreprocessing(sqiSteps(['ppg_template_sqi']), AF_PPG_INPUT, 'sqi');
    expect(featuresOf(pplan.run(signal(64, ppg.x))).ppg_template_sqi).toBeGreaterThan(0.9);

    const aplan = compilePreprocessing(sqiSteps(['activity_level_g']), FALL_INPUT, 'sqi');
    const still = () => new Float64Array(200).fill(0.5773502691896258);
    expect(featuresOf(aplan.run(signal(50, still(), still(), still()))).activity_level_g).toBeCloseTo(0, 12);

    const multi = compilePreprocessing(
      sqiSteps(['ecg_psqi'], 1),
      { rateHz: 250, channels: 2, length: 7500 },
      'sqi',
    );
    expect(multi.featureNames).toEqual(['ecg_psqi', 'ecg_kurtosis', 'ecg_bassqi']);
  });

  it('rejects unknown index names with BAD_PARAMS', () => {
    expectOpError(() => sqiSteps(['ecg_qsqi']), 'BAD_PARAMS');
    expectOpError(() => sqiSteps([]), 'BAD_PARAMS');
  });
});
