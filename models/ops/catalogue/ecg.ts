// ECG ops: R-peak detection (Pan–Tompkins) and zhao2018-style signal quality indices.
import { asSignal, channel, checkNyquist, defineOp, requireChannels, sealFeatures, sig } from '../define.ts';
import { PanTompkins } from '../dsp/pan-tompkins.ts';
import { Welch, bandPower, nextPow2 } from '../dsp/spectrum.ts';
import { kurtosis } from '../dsp/stats.ts';
import { num, oneOf, paramsFail } from '../params.ts';

export const panTompkinsOp = defineOp({
  name: 'pan_tompkins',
  version: 1,
  summary:
    'R-peak detection: band-pass, derivative, squaring, moving-window integration, adaptive thresholds with search-back and T-wave rejection; peaks refined to the extreme of the raw (or filtered) ECG.',
  reference:
    'Pan J, Tompkins WJ. A real-time QRS detection algorithm. IEEE Trans Biomed Eng 1985;32(3):230–236.',
  inputs: ['signal'],
  output: 'events',
  params: {
    lowHz: num({ description: 'Band-pass lower edge (QRS energy band).', unit: 'Hz', gt: 0, default: 5 }),
    highHz: num({ description: 'Band-pass upper edge.', unit: 'Hz', gt: 0, default: 15 }),
    integrationMs: num({
      description: 'Moving-window integration width.',
      unit: 'ms',
      min: 50,
      max: 300,
      default: 150,
    }),
    refractoryMs: num({
      description: 'Minimum time between two beats.',
      unit: 'ms',
      min: 100,
      max: 400,
      default: 200,
    }),
    tWaveMs: num({
      description: 'Peaks closer than this to the last QRS undergo the T-wave slope test.',
      unit: 'ms',
      min: 200,
      max: 600,
      default: 360,
    }),
    searchBackFactor: num({
      description: 'Search back when no beat for this multiple of the mean of the last 8 RR.',
      min: 1.2,
      max: 3,
      default: 1.66,
    }),
    learnS: num({
      description: 'Initial learning period for the thresholds.',
      unit: 's',
      min: 0.5,
      max: 10,
      default: 2,
    }),
    polarity: oneOf(['auto', 'positive', 'negative'] as const, {
      description: 'Which extreme marks the R peak: auto follows the sign of the band-passed QRS.',
      default: 'auto',
    }),
    refine: oneOf(['raw', 'filtered'] as const, {
      description:
        'Final location: extreme of the input (averaged over ~20 ms) within ±25 ms (raw), or of the band-passed signal.',
      default: 'raw',
    }),
  },
  check(p, fail) {
    if (!(p.lowHz < p.highHz)) fail(`lowHz (${p.lowHz}) must be below highHz (${p.highHz})`);
    if (p.tWaveMs < p.refractoryMs) fail('tWaveMs must not be below refractoryMs');
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    requireChannels(key, s, 1);
    checkNyquist(key, 'highHz', p.highHz, s.rateHz);
    const det = new PanTompkins(s.rateHz, p);
    return {
      shape: { kind: 'events', rateHz: s.rateHz, length: s.length },
      kernel: {
        run(inputs) {
          const v = sig(inputs[0]);
          const x = channel(v, 0);
          return { kind: 'events', rateHz: v.rateHz, length: x.length, indices: det.detect(x) };
        },
      },
    };
  },
});

export const ECG_SQI_NAMES = Object.freeze(['ecg_psqi', 'ecg_kurtosis', 'ecg_bassqi']);

export const ecgSqiOp = defineOp({
  name: 'ecg_sqi',
  version: 1,
  summary:
    'ECG quality indices (zhao2018 as in NeuroKit2): ecg_psqi = P(5–15 Hz)/P(5–40 Hz), ecg_kurtosis = excess (Fisher, biased) kurtosis, ecg_bassqi = 1 − P(0–1 Hz)/P(0–40 Hz). Powers from a Welch PSD (periodic Hann, 50 % overlap, segment = next power of two ≥ segmentS·rate, mean removed per segment), summed over closed bands. Apply to the unfiltered window (basSQI measures baseline wander). NaN when the window is shorter than 1 s or a denominator is 0.',
  reference:
    'Zhao Z, Zhang Y. SQI quality evaluation mechanism of single-lead ECG signal based on simple heuristic fusion and fuzzy comprehensive evaluation. Front Physiol 2018;9:727. Li Q, Mark RG, Clifford GD. Physiol Meas 2008;29:15–32 (kSQI). NeuroKit2 ecg_quality(method="zhao2018").',
  inputs: ['signal'],
  output: 'features',
  params: {
    segmentS: num({
      description: 'Welch segment length (rounded up to a power-of-two sample count).',
      unit: 's',
      min: 1,
      max: 16,
      default: 4,
    }),
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    requireChannels(key, s, 1);
    if (!(s.rateHz > 80))
      paramsFail(key, `needs a rate above 80 Hz (the 40 Hz band edge), input is ${s.rateHz} Hz`);
    const welch = new Welch(Math.max(4, nextPow2(Math.round(p.segmentS * s.rateHz))));
    return {
      shape: { kind: 'features', names: ECG_SQI_NAMES },
      kernel: {
        run(inputs) {
          const v = sig(inputs[0]);
          const x = channel(v, 0);
          const out = new Float64Array(3).fill(NaN);
          if (x.length >= Math.max(4, v.rateHz)) {
            const { df, psd } = welch.run(x, v.rateHz);
            out[0] = bandPower(psd, df, 5, 15) / bandPower(psd, df, 5, 40);
            out[2] = 1 - bandPower(psd, df, 0, 1) / bandPower(psd, df, 0, 40);
            out[1] = kurtosis(x);
          }
          return sealFeatures(ECG_SQI_NAMES, out);
        },
      },
    };
  },
});
