// PPG waveform (arbitrary units, pulse amplitude ~1) from the same RR series as the ECG.
//
// Each beat launches a pulse whose foot arrives a pulse-arrival time (R to foot, ~200-300 ms at the
// wrist or finger; Mukkamala et al. 2015) after the R peak. The pulse is a systolic wave (an
// asymmetric Gaussian: fast rise, slower decay) plus a later, smaller diastolic (reflected) wave:
// the sum-of-Gaussians shape of pulse decomposition analysis (Baruch et al. 2011). The diastolic wave shrinks with arterial stiffness (age).
// Amplitude follows the filling time (longer preceding RR -> larger stroke volume, Frank-Starling),
// so premature beats give weak pulses (pulse deficit, strongest after PVCs). Respiration modulates
// pulse amplitude (RIAV) and baseline (RIIV) (Charlton et al. 2016).
import { checkRange } from '../errors.ts';
import type { Rng } from '../rng.ts';
import type { RrSeries } from './rr.ts';
import { respirationAt } from './rr.ts';

export interface PpgOptions {
  readonly seconds: number;
  readonly rateHz?: number;
  /** R peak to pulse foot, seconds (default 0.25). */
  readonly pttS?: number;
  /** Diastolic / systolic amplitude ratio (default 0.35). */
  readonly diastolicRatio?: number;
  readonly amplitude?: number;
  /** Respiratory amplitude modulation depth (fraction). */
  readonly respAmplitudeMod?: number;
  /** Respiratory baseline modulation (in units of pulse amplitude). */
  readonly respBaseline?: number;
}

export interface PpgSignal {
  readonly rateHz: number;
  readonly samples: Float32Array;
  /** Foot (arrival) time of the pulse of each beat of the RR series, seconds. */
  readonly pulseFootS: Float64Array;
  /** Time of each systolic peak, seconds. */
  readonly systolicPeakS: Float64Array;
}

export function synthPpg(rr: RrSeries, opts: PpgOptions, rng: Rng): PpgSignal {
  const rate = checkRange('ppg rateHz', opts.rateHz ?? 64, 10, 1000);
  const seconds = checkRange('seconds', opts.seconds, 0.1, 86_400);
  const ptt = checkRange('pttS', opts.pttS ?? 0.25, 0.1, 0.5);
  const dRatio = checkRange('diastolicRatio', opts.diastolicRatio ?? 0.35, 0, 1);
  const amplitude = opts.amplitude ?? 1;
  const am = opts.respAmplitudeMod ?? 0.1;
  const bm = opts.respBaseline ?? 0.1;
  const n = Math.round(seconds * rate);
  const out = new Float32Array(n);
  const acc = new Float64Array(n);
  const beats = rr.beatTimesS.length;
  const feet = new Float64Array(beats);
  const peaks = new Float64Array(beats);
  const jitter = rng.fork('ptt');
  let meanRr = 0;
  for (let k = 0; k < beats; k++) meanRr += rr.rrMs[k] ?? 0;
  meanRr = beats > 0 ? meanRr / beats / 1000 : 1;
  for (let k = 0; k < beats; k++) {
    const tk = rr.beatTimesS[k] ?? 0;
    const rrS = Math.min(2, Math.max(0.25, (rr.rrMs[k] ?? 1000) / 1000));
    const kind = rr.kinds[k] ?? 'N';
    const foot = tk + ptt + jitter.normal(0, 0.004);
    const s = Math.sqrt(rrS);
    const rise = 0.045 * s;
    const fall = 0.11 * s;
    const sys = foot + 2 * rise;
    const dia = sys + 0.23 * s;
    const diaSigma = 0.09 * s;
    const filling = Math.min(1.6, Math.max(0.15, Math.pow(rrS / meanRr, 0.7)));
    const ectopic = kind === 'PVC' ? 0.4 : 1;
    const amp = amplitude * filling * ectopic * (1 + am * respirationAt(rr.respiration, tk));
    feet[k] = foot;
    peaks[k] = sys;
    const lo = Math.max(0, Math.floor((foot - 0.05) * rate));
    const hi = Math.min(n - 1, Math.ceil((dia + 5 * diaSigma) * rate));
    for (let i = lo; i <= hi; i++) {
      const t = i / rate;
      const d = t - sys;
      const sw = d < 0 ? d / rise : d / fall;
      const dd = (t - dia) / diaSigma;
      acc[i] = (acc[i] ?? 0) + amp * (Math.exp(-0.5 * sw * sw) + dRatio * Math.exp(-0.5 * dd * dd));
    }
  }
  for (let i = 0; i < n; i++)
    out[i] = (acc[i] ?? 0) + amplitude * bm * respirationAt(rr.respiration, i / rate);
  return { rateHz: rate, samples: out, pulseFootS: feet, systolicPeakS: peaks };
}
