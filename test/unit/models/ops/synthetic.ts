// Deterministic synthetic ECG and PPG with known beat positions, for the detector tests. Built
// here on purpose (not with the simulator) so the detectors are tested against ground truth that
// is defined by construction: every beat is a sum of Gaussian waves placed at a known sample.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

export class Rng {
  private readonly g: RandomGenerator;
  private spare: number | null = null;
  constructor(seed: number) {
    this.g = xoroshiro128plus(seed | 0);
  }
  uniform(): number {
    return uniformFloat64(this.g);
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u = Math.max(this.uniform(), 1e-300);
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

export type Rhythm = 'sinus' | 'af' | 'pvc';

export interface EcgOptions {
  readonly rateHz: number;
  readonly seconds: number;
  readonly hrBpm: number;
  readonly rhythm: Rhythm;
  readonly seed: number;
  /** Gaussian noise SD, mV. */
  readonly noiseMv: number;
  /** Baseline wander amplitude at 0.25 Hz, mV. */
  readonly wanderMv: number;
  /** Powerline amplitude at 50 Hz, mV. */
  readonly mainsMv: number;
  /** −1 flips the whole ECG (e.g. an inverted lead). */
  readonly polarity?: 1 | -1;
  /** Every `weakEvery`-th beat has `weakAmp` times the usual amplitude (exercises search-back). */
  readonly weakEvery?: number;
  readonly weakAmp?: number;
}

interface Wave {
  readonly offsetS: number;
  readonly amp: number;
  readonly widthS: number;
}

const NORMAL: readonly Wave[] = [
  { offsetS: -0.2, amp: 0.12, widthS: 0.025 }, // P
  { offsetS: -0.028, amp: -0.1, widthS: 0.008 }, // Q
  { offsetS: 0, amp: 1.0, widthS: 0.01 }, // R
  { offsetS: 0.03, amp: -0.22, widthS: 0.009 }, // S
  { offsetS: 0.26, amp: 0.28, widthS: 0.045 }, // T
];
const NO_P = NORMAL.slice(1);
const PVC: readonly Wave[] = [
  { offsetS: 0, amp: 1.3, widthS: 0.03 },
  { offsetS: 0.07, amp: -0.4, widthS: 0.035 },
  { offsetS: 0.32, amp: -0.35, widthS: 0.06 },
];

export interface Synthetic {
  readonly x: Float64Array;
  /** Sample index of every R peak (or systolic peak) in the window: the clean waveform's extreme. */
  readonly beats: readonly number[];
  /** Indices (into beats) of beats drawn at reduced amplitude. */
  readonly weak?: readonly number[];
}

function addWaves(x: Float64Array, rateHz: number, at: number, waves: readonly Wave[], sign: number): void {
  for (const w of waves) {
    const c = at + w.offsetS * rateHz;
    const sd = w.widthS * rateHz;
    const lo = Math.max(0, Math.floor(c - 6 * sd));
    const hi = Math.min(x.length - 1, Math.ceil(c + 6 * sd));
    for (let i = lo; i <= hi; i++) {
      const z = (i - c) / sd;
      x[i] = (x[i] ?? 0) + sign * w.amp * Math.exp(-0.5 * z * z);
    }
  }
}

export function synthEcg(o: EcgOptions): Synthetic {
  const rng = new Rng(o.seed);
  const n = Math.round(o.seconds * o.rateHz);
  const x = new Float64Array(n);
  const beats: number[] = [];
  const meanRr = 60 / o.hrBpm;
  const sign = o.polarity ?? 1;
  let t = 0.35 + 0.3 * rng.uniform();
  let k = 0;
  while (t < o.seconds - 0.05) {
    const at = Math.round(t * o.rateHz);
    const ectopic = o.rhythm === 'pvc' && k % 7 === 5;
    const weak = o.weakEvery !== undefined && k % o.weakEvery === o.weakEvery - 1 ? (o.weakAmp ?? 1) : 1;
    addWaves(x, o.rateHz, at, ectopic ? PVC : o.rhythm === 'af' ? NO_P : NORMAL, sign * weak);
    beats.push(at);
    let rr: number;
    switch (o.rhythm) {
      case 'af':
        rr = meanRr * (0.55 + 0.9 * rng.uniform()); // irregularly irregular
        break;
      case 'pvc':
        rr = k % 7 === 4 ? meanRr * 0.6 : k % 7 === 5 ? meanRr * 1.4 : meanRr * (1 + 0.03 * rng.normal());
        break;
      case 'sinus':
        rr = meanRr * (1 + 0.05 * Math.sin(2 * Math.PI * t * 0.25) + 0.02 * rng.normal());
        break;
    }
    t += Math.max(0.26, rr);
    k++;
  }
  // Truth: the extreme of the clean beat nearest its placement (a wide ectopic QRS is skewed by
  // its S wave, so its peak is not exactly at the placed centre).
  const half = Math.round(0.04 * o.rateHz);
  const truth = beats.map((b) => {
    let best = b;
    for (let i = Math.max(0, b - half); i <= Math.min(n - 1, b + half); i++) {
      if (sign * (x[i] ?? 0) > sign * (x[best] ?? 0)) best = i;
    }
    return best;
  });
  for (let i = 0; i < n; i++) {
    const s = i / o.rateHz;
    let v = o.wanderMv * Math.sin(2 * Math.PI * 0.25 * s + 0.7) + o.mainsMv * Math.sin(2 * Math.PI * 50 * s);
    if (o.rhythm === 'af') v += 0.04 * Math.sin(2 * Math.PI * 6.3 * s + 2 * Math.sin(2 * Math.PI * 0.4 * s));
    x[i] = (x[i] ?? 0) + sign * v + o.noiseMv * rng.normal();
  }
  return { x, beats: truth };
}

export interface PpgOptions {
  readonly rateHz: number;
  readonly seconds: number;
  readonly hrBpm: number;
  readonly irregular: boolean;
  readonly seed: number;
  /** Noise SD relative to the pulse amplitude (1). */
  readonly noise: number;
  readonly wander: number;
}

/** PPG pulses: systolic Gaussian plus a later, smaller diastolic wave; truth = clean argmax. */
export function synthPpg(o: PpgOptions): Synthetic {
  const rng = new Rng(o.seed);
  const n = Math.round(o.seconds * o.rateHz);
  const clean = new Float64Array(n);
  const placed: number[] = [];
  const meanRr = 60 / o.hrBpm;
  let t = 0.3 + 0.3 * rng.uniform();
  while (t < o.seconds - 0.05) {
    const at = t * o.rateHz;
    placed.push(at);
    const w = Math.min(0.12, 0.16 * meanRr);
    addWaves(
      clean,
      o.rateHz,
      at,
      [
        { offsetS: 0, amp: 1, widthS: 0.5 * w },
        { offsetS: 2.2 * w, amp: 0.45, widthS: 0.8 * w },
      ],
      1,
    );
    const rr = o.irregular ? meanRr * (0.6 + 0.8 * rng.uniform()) : meanRr * (1 + 0.03 * rng.normal());
    t += Math.max(0.33, rr);
  }
  // Truth: the clean waveform's maximum near each placed systolic centre.
  const beats = placed
    .map((c) => {
      let best = Math.round(c);
      const h = Math.round(0.05 * o.rateHz);
      for (let i = Math.max(0, Math.round(c) - h); i <= Math.min(n - 1, Math.round(c) + h); i++) {
        if ((clean[i] ?? 0) > (clean[best] ?? 0)) best = i;
      }
      return best;
    })
    .filter((b) => b >= 0 && b < n);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = i / o.rateHz;
    x[i] = (clean[i] ?? 0) + o.wander * Math.sin(2 * Math.PI * 0.2 * s) + o.noise * rng.normal();
  }
  return { x, beats };
}

export interface Score {
  readonly tp: number;
  readonly fn: number;
  readonly fp: number;
  readonly maxErr: number;
}

/**
 * One-to-one matching within ±tol samples. Beats and detections within `edge` samples of either
 * end of the window are left out (a detector cannot be judged on half a beat).
 */
export function score(
  truth: readonly number[],
  detected: ArrayLike<number>,
  n: number,
  tol: number,
  edge: number,
): Score {
  const inside = (i: number): boolean => i >= edge && i < n - edge;
  const det = Array.from(detected).filter(inside);
  const used = new Set<number>();
  let tp = 0;
  let fn = 0;
  let maxErr = 0;
  for (const b of truth.filter(inside)) {
    let best = -1;
    for (let j = 0; j < det.length; j++) {
      const d = det[j] ?? 0;
      if (used.has(j) || Math.abs(d - b) > tol) continue;
      if (best < 0 || Math.abs(d - b) < Math.abs((det[best] ?? 0) - b)) best = j;
    }
    if (best < 0) {
      fn++;
    } else {
      used.add(best);
      tp++;
      maxErr = Math.max(maxErr, Math.abs((det[best] ?? 0) - b));
    }
  }
  return { tp, fn, fp: det.length - used.size, maxErr };
}
