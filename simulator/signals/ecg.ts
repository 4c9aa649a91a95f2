// ECG waveform (mV) from an RR series, after ECGSYN: P. E. McSharry, G. D. Clifford, L. Tarassenko,
// L. A. Smith, "A dynamical model for generating synthetic electrocardiogram signals", IEEE Trans.
// Biomed. Eng. 50(3):289-294, 2003.
//
// ECGSYN moves a point around a limit cycle with angular speed w = 2 pi / RR and pushes the z
// coordinate with one Gaussian event per wave:
//   dz/dt = -sum_i a_i dtheta_i exp(-dtheta_i^2 / (2 b_i^2)) - (z - z0(t)),  i in {P, Q, R, S, T}
// with the published angles theta_i, amplitudes a_i and widths b_i (Table 1) and its heart-rate
// scaling of widths (x sqrt(HR/60)) and angles (P, T: x (HR/60)^(1/4); Q, S: x sqrt(HR/60)).
// Here the phase is prescribed instead of integrated: theta(t) crosses 0 exactly at each beat time
// of the RR series, and within a beat advances at w = 2 pi / RR of the interval that ended at that
// beat. With dtheta = w dt and b = w sigma the forcing becomes a function of time,
//   -(A_i / sigma_i^2) (t - c_i) exp(-(t - c_i)^2 / (2 sigma_i^2)),  A_i = a_i b_i^2 / w,
// which makes R peaks land on the beat times (the tests check this) and lets PVCs and AF beats have
// their own morphology. The z equation is integrated with fixed-step RK4 at >= 500 Hz and sampled
// at the output rate; z0 is ECGSYN's respiratory baseline, z0 = A sin(2 pi f_resp t).
// AF: P waves removed and fibrillatory f-waves (4-9 Hz, tens of microvolts, slowly varying in rate
// and amplitude; Bollmann et al. 2006 on f-wave frequency) added during AF segments.
import { checkRange } from '../errors.ts';
import type { Rng } from '../rng.ts';
import type { BeatKind, RrSeries } from './rr.ts';
import { respirationAt } from './rr.ts';

// McSharry et al. 2003, Table 1: P, Q, R, S, T.
const THETA = [-Math.PI / 3, -Math.PI / 12, 0, Math.PI / 12, Math.PI / 2] as const;
const A = [1.2, -5.0, 30.0, -7.5, 0.75] as const;
const B = [0.25, 0.1, 0.1, 0.1, 0.4] as const;
const R_INDEX = 2;
/** A_R in model units for any heart rate (a_R b_R^2 / 2 pi; the HR scaling cancels). */
const R_MODEL_AMPLITUDE = (A[R_INDEX] * B[R_INDEX] * B[R_INDEX]) / (2 * Math.PI);

interface Morphology {
  readonly amp: readonly [number, number, number, number, number];
  readonly width: readonly [number, number, number, number, number];
  readonly shift: readonly [number, number, number, number, number];
}

const ONES = [1, 1, 1, 1, 1] as const;
// PVC: no P wave, wide and tall QRS, deep S, discordant (inverted) T (textbook PVC morphology).
const PVC: Morphology = {
  amp: [0, 0.3, 1.5, 1.8, -1.6],
  width: [1, 2.5, 2.5, 2.5, 1.3],
  shift: [1, 1.8, 1, 1.8, 1.1],
};
const AF_BEAT: Morphology = { amp: [0, 1, 1, 1, 1], width: ONES, shift: ONES };
const NORMAL: Morphology = { amp: ONES, width: ONES, shift: ONES };

export interface EcgOptions {
  readonly seconds: number;
  readonly rateHz?: number;
  /** Target R amplitude (mV) of a normal beat. */
  readonly rAmplitudeMv?: number;
  /** Amplitude of the respiratory baseline z0 (mV). */
  readonly respBaselineMv?: number;
  /** Depth of respiratory modulation of QRS amplitude (fraction). */
  readonly respQrsModulation?: number;
  /** f-wave amplitude range during AF (mV). */
  readonly fWaveMv?: readonly [number, number];
}

interface EventList {
  center: number[];
  sigma: number[];
  amp: number[];
  /** Per beat: area under its waves divided by the following interval (the mean it adds). */
  beatMean: number[];
}

function morphology(kind: BeatKind, pacRng: Rng): Morphology {
  switch (kind) {
    case 'N':
      return NORMAL;
    case 'AF':
      return AF_BEAT;
    case 'PVC':
      return PVC;
    case 'PAC': {
      // Ectopic atrial focus: an earlier, smaller, often differently shaped (or inverted) P wave.
      const p = pacRng.chance(0.4) ? -0.6 : 0.7;
      return { amp: [p, 1, 1, 1, 1], width: [0.8, 1, 1, 1, 1], shift: [0.8, 1, 1, 1, 1] };
    }
  }
}

function buildEvents(rr: RrSeries, rAmp: number, qrsMod: number, rng: Rng): EventList {
  const gain = rAmp / R_MODEL_AMPLITUDE;
  const ev: EventList = { center: [], sigma: [], amp: [], beatMean: [] };
  const n = rr.beatTimesS.length;
  for (let k = 0; k < n; k++) {
    const tk = rr.beatTimesS[k] ?? 0;
    const rrS = Math.min(2, Math.max(0.25, (rr.rrMs[k] ?? 1000) / 1000));
    const kind = rr.kinds[k] ?? 'N';
    const m = morphology(kind, rng);
    const hrfact = Math.sqrt(1 / rrS); // sqrt(HR / 60)
    const hrfact2 = Math.sqrt(hrfact);
    const omega = (2 * Math.PI) / rrS;
    const resp = 1 + qrsMod * respirationAt(rr.respiration, tk);
    const angleScale = [hrfact2, hrfact, 1, hrfact, hrfact2];
    const next = rr.beatTimesS[k + 1];
    const span = next === undefined ? rrS : Math.max(0.25, next - tk);
    let area = 0;
    for (let i = 0; i < 5; i++) {
      const ampFactor = m.amp[i] ?? 1;
      if (ampFactor === 0) continue;
      const a = A[i] ?? 0;
      const b0 = B[i] ?? 0;
      const b = b0 * hrfact;
      const base = (a * b * b) / omega;
      const qrs = i >= 1 && i <= 3 ? resp : 1;
      ev.center.push(tk + ((THETA[i] ?? 0) * (angleScale[i] ?? 1) * (m.shift[i] ?? 1)) / omega);
      const sigma = (b * (m.width[i] ?? 1)) / omega;
      const amp = gain * base * ampFactor * qrs;
      ev.sigma.push(sigma);
      ev.amp.push(amp);
      area += amp * sigma * Math.sqrt(2 * Math.PI);
    }
    ev.beatMean.push(area / span);
  }
  return ev;
}

/** Synthesises the ECG (mV) over [0, seconds) at rateHz (default 250). */
export function synthEcg(rr: RrSeries, opts: EcgOptions, rng: Rng): Float32Array {
  const rate = checkRange('ecg rateHz', opts.rateHz ?? 250, 50, 2000);
  const seconds = checkRange('seconds', opts.seconds, 0.1, 86_400);
  const rAmp = checkRange('rAmplitudeMv', opts.rAmplitudeMv ?? 1, 0.05, 5);
  const baseAmp = opts.respBaselineMv ?? 0.05;
  const qrsMod = opts.respQrsModulation ?? 0.08;
  const n = Math.round(seconds * rate);
  const sub = Math.max(1, Math.ceil(500 / rate));
  const h = 1 / (rate * sub);
  const g = h / 2; // forcing grid: steps and their midpoints
  const lead = Math.ceil(rate * sub); // ~1 s of integration before t = 0 to settle z
  const steps = lead + n * sub;
  const gridLen = 2 * steps + 1;
  const t0 = -lead * h;

  const ev = buildEvents(rr, rAmp, qrsMod, rng.fork('morphology'));
  const force = new Float64Array(gridLen);
  for (let e = 0; e < ev.center.length; e++) {
    const c = ev.center[e] ?? 0;
    const s = ev.sigma[e] ?? 1;
    const amp = ev.amp[e] ?? 0;
    const lo = Math.max(0, Math.floor((c - 5 * s - t0) / g));
    const hi = Math.min(gridLen - 1, Math.ceil((c + 5 * s - t0) / g));
    const k = -amp / (s * s);
    const inv = 1 / (2 * s * s);
    for (let j = lo; j <= hi; j++) {
      const dt = t0 + j * g - c;
      force[j] = (force[j] ?? 0) + k * dt * Math.exp(-dt * dt * inv);
    }
  }
  // The -(z - z0) term relaxes z toward z0 with a 1 s time constant, so on its own it pulls the
  // isoelectric line below zero by the running mean of the waves (an AC-coupled look). Adding each
  // beat's mean to z0 keeps the isoelectric line at z0 while leaving ECGSYN's dynamics unchanged.
  const offset = new Float64Array(gridLen);
  for (let k = 0; k < rr.beatTimesS.length; k++) {
    const from = Math.max(0, Math.ceil(((rr.beatTimesS[k] ?? 0) - t0) / g));
    const toT = rr.beatTimesS[k + 1];
    const to = toT === undefined ? gridLen : Math.min(gridLen, Math.ceil((toT - t0) / g));
    offset.fill(ev.beatMean[k] ?? 0, Math.min(from, gridLen), Math.max(from, to));
  }
  const resp = rr.respiration;
  const z0 = (j: number): number => baseAmp * respirationAt(resp, t0 + j * g) + (offset[j] ?? 0);

  const out = new Float32Array(n);
  let z = baseAmp * respirationAt(resp, t0);
  for (let step = 0; step < steps; step++) {
    const j = 2 * step;
    if (step >= lead && (step - lead) % sub === 0) out[(step - lead) / sub] = z;
    const f0 = (force[j] ?? 0) + z0(j);
    const fm = (force[j + 1] ?? 0) + z0(j + 1);
    const f1 = (force[j + 2] ?? 0) + z0(j + 2);
    // RK4 for dz/dt = F(t) + z0(t) - z
    const k1 = f0 - z;
    const k2 = fm - (z + 0.5 * h * k1);
    const k3 = fm - (z + 0.5 * h * k2);
    const k4 = f1 - (z + h * k3);
    z += (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
  }
  addFWaves(out, rate, rr, opts.fWaveMv ?? [0.02, 0.08], rng.fork('f-waves'));
  return out;
}

/** Fibrillatory waves during AF segments, tapered over 0.2 s at the edges. */
function addFWaves(
  out: Float32Array,
  rate: number,
  rr: RrSeries,
  range: readonly [number, number],
  rng: Rng,
): void {
  for (const seg of rr.rhythm) {
    if (seg.rhythm !== 'af') continue;
    const f0 = rng.between(4, 9);
    const amp = rng.between(range[0], range[1]);
    const fmHz = rng.between(0.08, 0.2);
    const amHz = rng.between(0.1, 0.3);
    const p1 = rng.between(0, 2 * Math.PI);
    const p2 = rng.between(0, 2 * Math.PI);
    const a = Math.max(0, Math.ceil(seg.startS * rate));
    const b = Math.min(out.length, Math.ceil(seg.endS * rate));
    let phase = rng.between(0, 2 * Math.PI);
    for (let i = a; i < b; i++) {
      const t = i / rate;
      const f = f0 + 0.4 * Math.sin(2 * Math.PI * fmHz * t + p1);
      phase += (2 * Math.PI * f) / rate;
      const env = 1 + 0.3 * Math.sin(2 * Math.PI * amHz * t + p2);
      const edge = Math.min(1, (t - seg.startS) / 0.2, (seg.endS - t) / 0.2);
      const wave = Math.sin(phase) + 0.3 * Math.sin(2 * phase + p2);
      out[i] = (out[i] ?? 0) + amp * env * Math.max(0, edge) * wave;
    }
  }
}
