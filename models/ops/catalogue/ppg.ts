// PPG ops: systolic-peak detection and template-matching signal quality.
import {
  asSignal,
  channel,
  checkNyquist,
  defineOp,
  evt,
  requireChannels,
  sealFeatures,
  sig,
} from '../define.ts';
import { PulsePeaks } from '../dsp/pulse.ts';
import { medianOf } from '../dsp/stats.ts';
import { int, num, oneOf, paramsFail } from '../params.ts';

export const pulsePeaksOp = defineOp({
  name: 'pulse_peaks',
  version: 1,
  summary:
    'PPG systolic peaks by two event-related moving averages (Elgendi 2013) with a refractory period, refined to the maximum of the input within ±refineMs.',
  reference:
    'Elgendi M, Norton I, Brearley M, Abbott D, Schuurmans D. Systolic peak detection in acceleration photoplethysmograms measured from emergency responders in tropical conditions. PLoS ONE 2013;8(10):e76585.',
  inputs: ['signal'],
  output: 'events',
  params: {
    lowHz: num({ description: 'Band-pass lower edge.', unit: 'Hz', gt: 0, default: 0.5 }),
    highHz: num({ description: 'Band-pass upper edge.', unit: 'Hz', gt: 0, default: 8 }),
    peakWindowMs: num({
      description: 'W1: moving average for the systolic peak.',
      unit: 'ms',
      min: 20,
      max: 500,
      default: 111,
    }),
    beatWindowMs: num({
      description: 'W2: moving average for the beat.',
      unit: 'ms',
      min: 100,
      max: 2000,
      default: 667,
    }),
    beta: num({
      description: 'Offset β of the threshold, as a fraction of the mean squared signal.',
      min: 0,
      max: 1,
      default: 0.02,
    }),
    refractoryMs: num({
      description: 'Minimum time between two peaks.',
      unit: 'ms',
      min: 100,
      max: 1000,
      default: 300,
    }),
    refine: oneOf(['raw', 'filtered'] as const, {
      description: 'Location: maximum of the input (raw) or of the band-passed signal.',
      default: 'raw',
    }),
    refineMs: num({
      description: 'Half-width of the refinement search.',
      unit: 'ms',
      min: 0,
      max: 200,
      default: 60,
    }),
  },
  check(p, fail) {
    if (!(p.lowHz < p.highHz)) fail(`lowHz (${p.lowHz}) must be below highHz (${p.highHz})`);
    if (!(p.peakWindowMs < p.beatWindowMs)) fail('peakWindowMs must be below beatWindowMs');
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    requireChannels(key, s, 1);
    checkNyquist(key, 'highHz', p.highHz, s.rateHz);
    const det = new PulsePeaks(s.rateHz, p);
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

export const PPG_SQI_NAMES = Object.freeze(['ppg_template_sqi', 'ppg_template_beats']);

/** Pearson correlation of a[ao..ao+m) with b[0..m); 0 when either side has no spread. */
function correlation(a: Float64Array, ao: number, b: Float64Array, m: number): number {
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < m; i++) {
    sa += a[ao + i] ?? 0;
    sb += b[i] ?? 0;
  }
  const ma = sa / m;
  const mb = sb / m;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < m; i++) {
    const da = (a[ao + i] ?? 0) - ma;
    const db = (b[i] ?? 0) - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (!(saa > 0 && sbb > 0)) return 0;
  return sab / Math.sqrt(saa * sbb);
}

export const ppgTemplateSqiOp = defineOp({
  name: 'ppg_template_sqi',
  version: 1,
  summary:
    'PPG template matching: beats are cut around each peak with a width of the median peak-to-peak interval (centred), averaged into a template; ppg_template_sqi is the mean Pearson correlation of the beats with the template, ppg_template_beats the number of complete beats used. NaN with fewer than minBeats complete beats.',
  reference:
    'Orphanidou C, et al. Signal-quality indices for the electrocardiogram and photoplethysmogram: derivation and applications to wireless monitoring. IEEE J Biomed Health Inform 2015;19(3):832–838 (acceptable when mean correlation ≥ 0.86).',
  inputs: ['signal', 'events'],
  output: 'features',
  params: {
    minBeats: int({ description: 'Fewest complete beats needed.', min: 2, max: 100, default: 3 }),
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    requireChannels(key, s, 1);
    const e = shapes[1];
    if (e?.kind === 'events' && Math.abs(e.rateHz - s.rateHz) > 1e-9 * s.rateHz) {
      paramsFail(key, `events at ${e.rateHz} Hz do not belong to a signal at ${s.rateHz} Hz`);
    }
    let template = new Float64Array(0);
    return {
      shape: { kind: 'features', names: PPG_SQI_NAMES },
      kernel: {
        run(inputs) {
          const x = channel(sig(inputs[0]), 0);
          const peaks = evt(inputs[1]).indices;
          const out = Float64Array.of(NaN, 0);
          const n = x.length;
          const diffs = new Float64Array(Math.max(0, peaks.length - 1));
          for (let i = 1; i < peaks.length; i++) diffs[i - 1] = (peaks[i] ?? 0) - (peaks[i - 1] ?? 0);
          const med = medianOf(diffs);
          if (!(med >= 2)) return sealFeatures(PPG_SQI_NAMES, out);
          const half = Math.floor(med / 2);
          const m = 2 * half + 1;
          if (template.length !== m) template = new Float64Array(m);
          template.fill(0);
          let used = 0;
          for (const pk of peaks) {
            if (pk - half < 0 || pk + half >= n || pk >= n) continue;
            for (let i = 0; i < m; i++) template[i] = (template[i] ?? 0) + (x[pk - half + i] ?? 0);
            used++;
          }
          out[1] = used;
          if (used < p.minBeats) return sealFeatures(PPG_SQI_NAMES, out);
          for (let i = 0; i < m; i++) template[i] = (template[i] ?? 0) / used;
          let sum = 0;
          for (const pk of peaks) {
            if (pk - half < 0 || pk + half >= n || pk >= n) continue;
            sum += correlation(x, pk - half, template, m);
          }
          out[0] = sum / used;
          return sealFeatures(PPG_SQI_NAMES, out);
        },
      },
    };
  },
});
