// Beat-to-beat ops: RR intervals from detected beats, and RR features for rhythm classification.
import { defineOp, evt, sealFeatures, ser } from '../define.ts';
import { RR_FEATURE_NAMES, rrFeatures } from '../dsp/hrv.ts';
import { int, num, oneOf } from '../params.ts';

export const rrIntervalsOp = defineOp({
  name: 'rr_intervals',
  version: 1,
  summary:
    'Intervals between consecutive events in ms (n events → n − 1 intervals). Intervals outside [minMs, maxMs] are marked NaN (kept in place, so successive differences never bridge a gap) or dropped.',
  reference: 'Physiological RR range 250–2000 ms (30–240 bpm).',
  inputs: ['events'],
  output: 'series',
  params: {
    minMs: num({
      description: 'Shortest plausible interval.',
      unit: 'ms',
      min: 0,
      max: 10_000,
      default: 250,
    }),
    maxMs: num({ description: 'Longest plausible interval.', unit: 'ms', gt: 0, max: 60_000, default: 2000 }),
    outOfRange: oneOf(['mark_nan', 'drop'] as const, {
      description: 'What happens to an implausible interval.',
      default: 'mark_nan',
    }),
  },
  check(p, fail) {
    if (!(p.minMs < p.maxMs)) fail(`minMs (${p.minMs}) must be below maxMs (${p.maxMs})`);
  },
  prepare(_shapes, p) {
    const keepNaN = p.outOfRange === 'mark_nan';
    let buf = new Float64Array(0);
    return {
      shape: { kind: 'series', unit: 'ms' },
      kernel: {
        run(inputs) {
          const e = evt(inputs[0]);
          const idx = e.indices;
          const k = 1000 / e.rateHz;
          if (buf.length < idx.length) buf = new Float64Array(idx.length);
          let n = 0;
          for (let i = 1; i < idx.length; i++) {
            const ms = ((idx[i] ?? 0) - (idx[i - 1] ?? 0)) * k;
            if (ms >= p.minMs && ms <= p.maxMs) buf[n++] = ms;
            else if (keepNaN) buf[n++] = NaN;
          }
          return { kind: 'series', unit: 'ms', values: buf.subarray(0, n) };
        },
      },
    };
  },
});

export const rrFeaturesOp = defineOp({
  name: 'rr_features',
  version: 1,
  summary:
    'RR features (12): rr_count, rr_mean_ms, hr_mean_bpm, rr_sdnn_ms, rr_rmssd_ms, rr_nrmssd, rr_pnn50, rr_cv, rr_madsd_norm, rr_hist_entropy_bits, rr_tpr, rr_sampen. All but rr_count are NaN with fewer than minIntervals valid intervals.',
  reference:
    'ESC/NASPE Task Force 1996 (SDNN, RMSSD, pNN50); Dash et al., Ann Biomed Eng 2009 (nRMSSD, Shannon entropy, TPR for AF); Richman & Moorman 2000 (sample entropy).',
  inputs: ['series'],
  output: 'features',
  params: {
    minIntervals: int({
      description: 'Fewest valid RR intervals for the features to be computed.',
      min: 2,
      max: 1000,
      default: 10,
    }),
  },
  prepare(_shapes, p) {
    return {
      shape: { kind: 'features', names: RR_FEATURE_NAMES },
      kernel: {
        run(inputs) {
          const out = new Float64Array(RR_FEATURE_NAMES.length);
          rrFeatures(ser(inputs[0]).values, p.minIntervals, out);
          return sealFeatures(RR_FEATURE_NAMES, out);
        },
      },
    };
  },
});
