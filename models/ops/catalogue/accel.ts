// Accelerometer ops: fall-detection features and the activity level used to gate PPG by motion.
import { asSignal, channel, defineOp, requireChannels, sealFeatures, sig } from '../define.ts';
import { ACCEL_FEATURE_NAMES, accelFeatures } from '../dsp/accel.ts';
import { num } from '../params.ts';
import { OpError } from '../types.ts';

export const accelFeaturesOp = defineOp({
  name: 'accel_features',
  version: 1,
  summary:
    'Sixteen fall-detection features from a 3-axis accelerometer window in g (magnitude statistics, signal magnitude area, peaks, jerk, free fall, impact, post-impact stillness, orientation change); see docs/ops.md for each feature and unit.',
  reference:
    'Bourke et al., Gait Posture 2007 (impact and free-fall thresholds); Kangas et al., Gait Posture 2008 (posture after impact); Mathie et al., Med Biol Eng Comput 2004 (signal magnitude area).',
  inputs: ['signal'],
  output: 'features',
  params: {
    peakThresholdG: num({
      description: 'A magnitude peak counts when at or above this.',
      unit: 'g',
      gt: 1,
      max: 16,
      default: 1.8,
    }),
    peakMinSeparationS: num({
      description: 'Peaks closer than this count once.',
      unit: 's',
      gt: 0,
      max: 5,
      default: 0.3,
    }),
    freefallThresholdG: num({
      description: 'Magnitude below this is free fall.',
      unit: 'g',
      gt: 0,
      lt: 1,
      default: 0.6,
    }),
    preImpactS: num({
      description: 'Window before the impact for the pre-impact minimum and SD.',
      unit: 's',
      gt: 0,
      max: 10,
      default: 1,
    }),
    postImpactSkipS: num({
      description: 'Rebound skipped after the impact before stillness is measured.',
      unit: 's',
      min: 0,
      max: 10,
      default: 0.5,
    }),
    postImpactMinS: num({
      description: 'Shortest post-impact segment (taken from the window end if needed).',
      unit: 's',
      gt: 0,
      max: 10,
      default: 0.25,
    }),
    orientationWindowS: num({
      description: 'Length of the first and last segments whose mean vectors are compared.',
      unit: 's',
      gt: 0,
      max: 10,
      default: 1,
    }),
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    requireChannels(key, s, 3);
    let mag = new Float64Array(0);
    return {
      shape: { kind: 'features', names: ACCEL_FEATURE_NAMES },
      kernel: {
        run(inputs) {
          const v = sig(inputs[0]);
          const x = channel(v, 0);
          if (mag.length !== x.length) mag = new Float64Array(x.length);
          const out = new Float64Array(ACCEL_FEATURE_NAMES.length);
          accelFeatures(x, channel(v, 1), channel(v, 2), v.rateHz, p, mag, out);
          return sealFeatures(ACCEL_FEATURE_NAMES, out);
        },
      },
    };
  },
});

export const ACTIVITY_NAMES = Object.freeze(['activity_level_g']);

export const activityLevelOp = defineOp({
  name: 'activity_level',
  version: 1,
  summary:
    'activity_level_g: standard deviation (population) of the acceleration magnitude over the window, in g; the quality policy gates PPG windows with it (motionGateG). NaN for an empty window or non-finite samples.',
  reference: 'Motion gating of PPG by accelerometry; SD of |a| as activity index (e.g. Mathie et al. 2004).',
  inputs: ['signal'],
  output: 'features',
  params: {},
  prepare(shapes, _p, key) {
    const s = asSignal(shapes[0]);
    if (s.channels !== 3 && s.channels !== 1) {
      throw new OpError(
        'BAD_INPUT',
        `${key} needs a 3-axis accelerometer (or a 1-channel magnitude), got ${s.channels} channels`,
      );
    }
    const three = s.channels === 3;
    return {
      shape: { kind: 'features', names: ACTIVITY_NAMES },
      kernel: {
        run(inputs) {
          const v = sig(inputs[0]);
          const x = channel(v, 0);
          const y = three ? channel(v, 1) : x;
          const z = three ? channel(v, 2) : x;
          const n = x.length;
          let s1 = 0;
          let s2 = 0;
          // One pass, shifted by the first magnitude to keep precision for values near 1 g.
          let shift = NaN;
          for (let i = 0; i < n; i++) {
            const a = x[i] ?? 0;
            const m = three ? Math.sqrt(a * a + (y[i] ?? 0) ** 2 + (z[i] ?? 0) ** 2) : Math.abs(a);
            if (i === 0) shift = m;
            const d = m - shift;
            s1 += d;
            s2 += d * d;
          }
          const mean = s1 / n;
          const out = Float64Array.of(Math.sqrt(Math.max(0, s2 / n - mean * mean)));
          return sealFeatures(ACTIVITY_NAMES, out);
        },
      },
    };
  },
});
