// PPG systolic-peak detection after Elgendi et al., "Systolic peak detection in acceleration
// photoplethysmograms measured from emergency responders in tropical conditions", PLoS ONE
// 8(10):e76585, 2013 ("two event-related moving averages"):
//   band-pass 0.5–8 Hz (zero-phase Butterworth, N = 2), clip negatives, square;
//   MA_peak over W1 = 111 ms, MA_beat over W2 = 667 ms (centred);
//   blocks of interest where MA_peak > MA_beat + β·mean(y²), β = 0.02;
//   a block at least W1 wide holds one systolic peak: the maximum of the band-passed signal.
// Added here: a refractory period (the larger of two peaks closer than it survives) and an
// optional refinement to the maximum of the input (averaged over ±25 ms) within ±refineMs.
import { SosFilter } from './sos.ts';
import { butterBandpass } from './butter.ts';
import { movingAverage } from './stats.ts';

export interface PulseParams {
  readonly lowHz: number;
  readonly highHz: number;
  readonly peakWindowMs: number;
  readonly beatWindowMs: number;
  readonly beta: number;
  readonly refractoryMs: number;
  readonly refine: 'raw' | 'filtered';
  readonly refineMs: number;
}

function odd(v: number): number {
  const r = Math.max(1, Math.round(v));
  return r % 2 === 1 ? r : r + 1;
}

export class PulsePeaks {
  private readonly filter: SosFilter;
  private readonly w1: number;
  private readonly w2: number;
  private readonly refr: number;
  private readonly refineHalf: number;
  private readonly smoothHalf: number;
  private bp = new Float64Array(0);
  private y = new Float64Array(0);
  private maPeak = new Float64Array(0);
  private maBeat = new Float64Array(0);
  private out = new Int32Array(0);

  constructor(
    readonly rateHz: number,
    readonly p: PulseParams,
  ) {
    this.filter = new SosFilter(butterBandpass(2, p.lowHz, p.highHz, rateHz));
    this.w1 = odd((p.peakWindowMs / 1000) * rateHz);
    this.w2 = odd((p.beatWindowMs / 1000) * rateHz);
    this.refr = Math.max(1, Math.round((p.refractoryMs / 1000) * rateHz));
    this.refineHalf = Math.round((p.refineMs / 1000) * rateHz);
    this.smoothHalf = Math.round(0.025 * rateHz);
  }

  /** Systolic peak indices, ascending; a view valid until the next call. */
  detect(x: Float64Array): Int32Array {
    const n = x.length;
    if (this.bp.length !== n) {
      this.bp = new Float64Array(n);
      this.y = new Float64Array(n);
      this.maPeak = new Float64Array(n);
      this.maBeat = new Float64Array(n);
    }
    if (this.out.length < n) this.out = new Int32Array(Math.max(16, n));
    const out = this.out;
    if (n < 3) return out.subarray(0, 0);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(x[i])) return out.subarray(0, 0);
    }
    const { bp, y, maPeak, maBeat } = this;
    this.filter.zeroPhase(x, bp);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = Math.max(0, bp[i] ?? 0);
      y[i] = v * v;
      sum += v * v;
    }
    movingAverage(y, this.w1, maPeak);
    movingAverage(y, this.w2, maBeat);
    const alpha = this.p.beta * (sum / n);
    let no = 0;
    let i = 0;
    while (i < n) {
      if (!((maPeak[i] ?? 0) > (maBeat[i] ?? 0) + alpha)) {
        i++;
        continue;
      }
      const start = i;
      while (i < n && (maPeak[i] ?? 0) > (maBeat[i] ?? 0) + alpha) i++;
      if (i - start < this.w1) continue;
      let best = start;
      for (let j = start; j < i; j++) if ((bp[j] ?? 0) > (bp[best] ?? 0)) best = j;
      if (this.p.refine === 'raw' && this.refineHalf > 0) {
        // Maximum of the input averaged over ±smoothHalf samples (~±25 ms): the systolic peak is
        // broad, so single noisy samples must not decide its location.
        const c = best;
        const sh = this.smoothHalf;
        let bestV = -Infinity;
        for (let j = Math.max(0, c - this.refineHalf); j <= Math.min(n - 1, c + this.refineHalf); j++) {
          let acc = 0;
          let cnt = 0;
          for (let k = Math.max(0, j - sh); k <= Math.min(n - 1, j + sh); k++) {
            acc += x[k] ?? 0;
            cnt++;
          }
          if (acc / cnt > bestV) {
            bestV = acc / cnt;
            best = j;
          }
        }
      }
      const prev = no > 0 ? (out[no - 1] ?? 0) : -Infinity;
      if (best - prev < this.refr) {
        if ((bp[best] ?? 0) > (bp[prev] ?? 0)) out[no - 1] = best;
        continue;
      }
      out[no++] = best;
    }
    return out.subarray(0, no);
  }
}
