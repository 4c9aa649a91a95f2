// RR-interval (beat-to-beat) generator: sinus rhythm with heart-rate variability, atrial
// fibrillation, and ectopic beats (PAC/PVC) as confounders.
//
// Sinus: the tachogram is a sum of sinusoids whose power sits in the bands of the Task Force of the
// ESC/NASPE (1996): VLF (< 0.04 Hz), LF around the 0.1 Hz Mayer wave and HF at the respiratory rate
// (respiratory sinus arrhythmia), the same bimodal spectrum ECGSYN uses for its RR process (McSharry
// et al. 2003, IEEE TBME 50(3):289-294), with a chosen LF/HF ratio and total SDNN, plus a little
// white beat-to-beat jitter. RSA is phase-locked to the respiration signal exported here so that
// ECG/PPG respiratory modulation agrees with the heart rate.
// AF: RR intervals drawn independently (no autocorrelation: "irregularly irregular") from a
// log-normal around a faster mean rate, clamped to the refractory limits.
// Ectopy: a PAC comes early (coupling 55-75 % of the sinus RR) and resets the sinus node (pause
// shorter than compensatory); a PVC comes early (50-70 %) with a full compensatory pause (the
// coupling plus the pause equal two sinus intervals).
import { SimulatorError, checkRange } from '../errors.ts';
import type { Rng } from '../rng.ts';

export type BeatKind = 'N' | 'AF' | 'PAC' | 'PVC';
export type Rhythm = 'sinus' | 'af';

export interface RhythmSegment {
  readonly rhythm: Rhythm;
  readonly startS: number;
  readonly endS: number;
}

export interface HrvParams {
  readonly meanHrBpm: number;
  /** Target SD of normal RR intervals over a long (several-minute) recording. */
  readonly sdnnMs: number;
  readonly lfHfRatio: number;
  readonly respRateHz: number;
  /** Centre of the LF (Mayer wave) band. */
  readonly lfHz?: number;
}

export interface AfParams {
  readonly meanHrBpm: number;
  /** Coefficient of variation of RR during AF. */
  readonly rrCv: number;
}

export interface EctopyParams {
  readonly pacPerMin: number;
  readonly pvcPerMin: number;
}

/** A period of raised heart rate (exercise, stress) with linear ramps. */
export interface Exertion {
  readonly startS: number;
  readonly endS: number;
  readonly deltaBpm: number;
}

export interface RrOptions {
  readonly seconds: number;
  readonly hrv: HrvParams;
  readonly af?: AfParams;
  /** Defaults to sinus for the whole duration; gaps between segments are sinus. */
  readonly rhythm?: readonly RhythmSegment[];
  readonly ectopy?: EctopyParams;
  readonly exertion?: readonly Exertion[];
}

/** The respiration driving RSA and the waveforms' respiratory modulation: sin(2 pi f t + phase). */
export interface Respiration {
  readonly rateHz: number;
  readonly phase: number;
}

export interface RrSeries {
  readonly seconds: number;
  /**
   * Beat (R-peak) times in seconds. Includes up to PAD_S of beats before 0 and after `seconds`, so
   * waveforms have no edge effects; use beatsWithin() for the beats of [0, seconds).
   */
  readonly beatTimesS: Float64Array;
  /** Interval to the previous beat, in ms (the first one is its nominal interval). */
  readonly rrMs: Float64Array;
  readonly kinds: readonly BeatKind[];
  readonly rhythm: readonly RhythmSegment[];
  readonly respiration: Respiration;
}

export const PAD_S = 2;
const DEFAULT_AF: AfParams = { meanHrBpm: 105, rrCv: 0.2 };

export function respirationAt(r: Respiration, tS: number): number {
  return Math.sin(2 * Math.PI * r.rateHz * tS + r.phase);
}

interface Sinusoid {
  readonly amp: number;
  readonly omega: number;
  readonly phase: number;
}

function band(
  rng: Rng,
  count: number,
  centreHz: number,
  sdHz: number,
  lo: number,
  hi: number,
  variance: number,
): Sinusoid[] {
  const weights: number[] = [];
  let total = 0;
  for (let k = 0; k < count; k++) {
    const w = -Math.log(1 - rng.uniform()); // exponential weights: a chi-square-like periodogram
    weights.push(w);
    total += w;
  }
  return weights.map((w) => ({
    // each sinusoid of amplitude A carries variance A^2 / 2
    amp: Math.sqrt((2 * variance * w) / total),
    omega: 2 * Math.PI * rng.clampedNormal(centreHz, sdHz, lo, hi),
    phase: rng.between(0, 2 * Math.PI),
  }));
}

function validate(opts: RrOptions): readonly RhythmSegment[] {
  checkRange('seconds', opts.seconds, 1, 86_400);
  const h = opts.hrv;
  checkRange('meanHrBpm', h.meanHrBpm, 30, 200);
  checkRange('sdnnMs', h.sdnnMs, 0, 300);
  checkRange('lfHfRatio', h.lfHfRatio, 0.05, 20);
  checkRange('respRateHz', h.respRateHz, 0.1, 0.7);
  if (opts.af) {
    checkRange('af.meanHrBpm', opts.af.meanHrBpm, 50, 220);
    checkRange('af.rrCv', opts.af.rrCv, 0.02, 0.6);
  }
  if (opts.ectopy) {
    checkRange('pacPerMin', opts.ectopy.pacPerMin, 0, 30);
    checkRange('pvcPerMin', opts.ectopy.pvcPerMin, 0, 30);
  }
  for (const e of opts.exertion ?? []) {
    checkRange('exertion.deltaBpm', e.deltaBpm, -40, 120);
    if (!(e.endS > e.startS)) throw new SimulatorError('BAD_ARGUMENT', 'exertion endS must be after startS');
  }
  const segs = [...(opts.rhythm ?? [])].sort((a, b) => a.startS - b.startS);
  let prevEnd = -Infinity;
  for (const s of segs) {
    if (!Number.isFinite(s.startS) || !Number.isFinite(s.endS) || !(s.endS > s.startS)) {
      throw new SimulatorError('BAD_ARGUMENT', `rhythm segment ${s.rhythm} needs finite startS < endS`);
    }
    if (s.startS < prevEnd) throw new SimulatorError('BAD_ARGUMENT', 'rhythm segments overlap');
    prevEnd = s.endS;
  }
  return segs;
}

function rhythmAt(segs: readonly RhythmSegment[], t: number): Rhythm {
  for (const s of segs) if (t >= s.startS && t < s.endS) return s.rhythm;
  return 'sinus';
}

/** Heart-rate offset from exertion at time t: 15 s ramp up, 30 s recovery. */
function exertionAt(list: readonly Exertion[], t: number): number {
  let delta = 0;
  for (const e of list) {
    if (t < e.startS) continue;
    const up = Math.min(1, (Math.min(t, e.endS) - e.startS) / 15);
    const down = t <= e.endS ? 1 : Math.max(0, 1 - (t - e.endS) / 30);
    delta += e.deltaBpm * up * down;
  }
  return delta;
}

/** Generates beats over [-PAD_S, seconds + PAD_S). */
export function generateRr(rng: Rng, opts: RrOptions): RrSeries {
  const segs = validate(opts);
  const h = opts.hrv;
  const af = opts.af ?? DEFAULT_AF;
  const exertion = opts.exertion ?? [];
  const hrvRng = rng.fork('hrv');
  const beatRng = rng.fork('beats');

  // Variance budget (ms^2): 5 % white jitter, 15 % VLF, the rest split by LF/HF.
  const v = h.sdnnMs * h.sdnnMs;
  const vlf = band(hrvRng, 4, 0.02, 0.008, 0.003, 0.04, 0.15 * v);
  const vLfHf = 0.8 * v;
  const vHf = vLfHf / (1 + h.lfHfRatio);
  const lf = band(hrvRng, 8, h.lfHz ?? 0.1, 0.012, 0.04, 0.15, vLfHf - vHf);
  const respiration: Respiration = { rateHz: h.respRateHz, phase: hrvRng.between(0, 2 * Math.PI) };
  // Half of HF power is locked to respiration; RR shortens during inspiration (resp > 0).
  const hf = band(hrvRng, 6, h.respRateHz, 0.015, 0.15, 0.5, 0.5 * vHf);
  hf.push({ amp: Math.sqrt(vHf), omega: 2 * Math.PI * h.respRateHz, phase: respiration.phase + Math.PI });
  const components = [...vlf, ...lf, ...hf];
  const jitterSd = Math.sqrt(0.05 * v);
  const restingRr = 60_000 / h.meanHrBpm;

  const sinusRr = (t: number): number => {
    const hr = Math.max(35, h.meanHrBpm + exertionAt(exertion, t));
    const base = 60_000 / hr;
    // HRV shrinks as rate rises (vagal withdrawal): scale the modulation by (RR / resting RR)^2.
    const k = (base / restingRr) * (base / restingRr);
    let mod = 0;
    for (const c of components) mod += c.amp * Math.sin(c.omega * t + c.phase);
    return base + k * (mod + beatRng.normal(0, jitterSd));
  };
  const afRr = (t: number): number => {
    const hr = Math.max(40, af.meanHrBpm + exertionAt(exertion, t));
    const sigma = Math.sqrt(Math.log(1 + af.rrCv * af.rrCv));
    return Math.min(2000, Math.max(280, beatRng.logNormal(60_000 / hr, sigma)));
  };

  const pPac = (opts.ectopy?.pacPerMin ?? 0) / 60;
  const pPvc = (opts.ectopy?.pvcPerMin ?? 0) / 60;
  const times: number[] = [];
  const rr: number[] = [];
  const kinds: BeatKind[] = [];
  const end = opts.seconds + PAD_S;
  let t = -PAD_S - beatRng.uniform() * (restingRr / 1000);
  let prevRhythm: Rhythm = rhythmAt(segs, t);
  let pendingPauseMs = 0;
  times.push(t);
  rr.push(sinusRr(t));
  kinds.push(prevRhythm === 'af' ? 'AF' : 'N');
  while (t < end) {
    const rhythm = rhythmAt(segs, t);
    let interval: number;
    let kind: BeatKind;
    if (rhythm === 'af') {
      interval = afRr(t);
      kind = 'AF';
      pendingPauseMs = 0;
    } else if (pendingPauseMs > 0) {
      interval = pendingPauseMs;
      kind = 'N';
      pendingPauseMs = 0;
    } else {
      const base = sinusRr(t);
      // After AF ends, the sinus node takes a moment to recover (a longer first interval).
      const recovery = prevRhythm === 'af' ? beatRng.between(1.2, 1.6) : 1;
      const u = beatRng.uniform();
      const expected = base / 1000; // probability of an ectopic at this beat = rate x interval
      if (recovery === 1 && u < pPac * expected) {
        interval = base * beatRng.between(0.55, 0.75);
        kind = 'PAC';
        pendingPauseMs = base * beatRng.between(1.0, 1.2);
      } else if (recovery === 1 && u < (pPac + pPvc) * expected) {
        interval = base * beatRng.between(0.5, 0.7);
        kind = 'PVC';
        pendingPauseMs = 2 * base - interval;
      } else {
        interval = base * recovery;
        kind = 'N';
      }
    }
    prevRhythm = rhythm;
    t += interval / 1000;
    times.push(t);
    rr.push(interval);
    kinds.push(kind);
  }
  return {
    seconds: opts.seconds,
    beatTimesS: Float64Array.from(times),
    rrMs: Float64Array.from(rr),
    kinds,
    rhythm: fillRhythm(segs, opts.seconds),
    respiration,
  };
}

/** Full cover of [0, seconds) by rhythm segments (gaps become sinus). */
function fillRhythm(segs: readonly RhythmSegment[], seconds: number): RhythmSegment[] {
  const out: RhythmSegment[] = [];
  let at = 0;
  for (const s of segs) {
    const a = Math.max(0, s.startS);
    const b = Math.min(seconds, s.endS);
    if (b <= a) continue;
    if (a > at) out.push({ rhythm: 'sinus', startS: at, endS: a });
    out.push({ rhythm: s.rhythm, startS: a, endS: b });
    at = b;
  }
  if (at < seconds) out.push({ rhythm: 'sinus', startS: at, endS: seconds });
  return out;
}

/** The beats with fromS <= time < toS. */
export function beatsWithin(
  s: RrSeries,
  fromS: number,
  toS: number,
): { timesS: Float64Array; rrMs: Float64Array; kinds: BeatKind[] } {
  let a = 0;
  while (a < s.beatTimesS.length && (s.beatTimesS[a] ?? 0) < fromS) a++;
  let b = a;
  while (b < s.beatTimesS.length && (s.beatTimesS[b] ?? 0) < toS) b++;
  return { timesS: s.beatTimesS.slice(a, b), rrMs: s.rrMs.slice(a, b), kinds: s.kinds.slice(a, b) };
}
