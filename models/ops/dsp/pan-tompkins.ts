// QRS detection after Pan & Tompkins, "A real-time QRS detection algorithm", IEEE TBME 32(3),
// 1985. Stages (section numbers of the paper):
//   II.A  band-pass 5–15 Hz (here a zero-phase Butterworth, N = 2, instead of the integer filters
//         designed for 200 Hz, so any rate works and no delay has to be tracked)
//   II.B  five-point derivative, II.C squaring, II.D moving-window integration (150 ms; centred,
//         because whole windows are processed offline)
//   III.A adaptive thresholds on the integrated signal: SPKI/NPKI running estimates (1/8 updates,
//         1/4 after search-back), THRESHOLD_I1 = NPKI + 0.25 (SPKI − NPKI), THRESHOLD_I2 = ½·I1,
//         initialised from the first 2 s (max/3, mean/2)
//   III.B search-back when no QRS for 166 % of the average of the last 8 RR intervals, taking
//         the largest peak above THRESHOLD_I2 (a monotonic max-queue keeps this linear in time);
//         thresholds halved while the rhythm is irregular (an RR outside 92–116 % of the mean)
//   III.C 200 ms refractory; a peak within 360 ms of the last QRS whose maximal slope is below half
//         of that QRS's slope is a T wave
// The paper's parallel threshold set on the filtered signal is not used; the filtered signal
// serves the slope test and the location refinement: the fiducial moves to the extreme of the
// band-passed signal within ±½ integration window, then (refine = 'raw') to the extreme of the
// input, averaged over ~20 ms, with the same polarity within ±25 ms.
import { SosFilter } from './sos.ts';
import { butterBandpass } from './butter.ts';
import { movingAverage } from './stats.ts';

export interface PanTompkinsParams {
  readonly lowHz: number;
  readonly highHz: number;
  readonly integrationMs: number;
  readonly refractoryMs: number;
  readonly tWaveMs: number;
  readonly searchBackFactor: number;
  readonly learnS: number;
  readonly polarity: 'auto' | 'positive' | 'negative';
  readonly refine: 'raw' | 'filtered';
}

export class PanTompkins {
  private readonly filter: SosFilter;
  private readonly win: number;
  private readonly refr: number;
  private readonly tWave: number;
  private readonly learn: number;
  private readonly refineHalf: number;
  private readonly smoothHalf: number;
  private bp = new Float64Array(0);
  private d = new Float64Array(0);
  private mwi = new Float64Array(0);
  private cand = new Int32Array(0);
  private queue = new Int32Array(0);
  private qrs = new Int32Array(0);
  private out = new Int32Array(0);

  constructor(
    readonly rateHz: number,
    readonly p: PanTompkinsParams,
  ) {
    this.filter = new SosFilter(butterBandpass(2, p.lowHz, p.highHz, rateHz));
    const w = Math.max(1, Math.round((p.integrationMs / 1000) * rateHz));
    this.win = w % 2 === 1 ? w : w + 1;
    this.refr = Math.max(1, Math.round((p.refractoryMs / 1000) * rateHz));
    this.tWave = Math.round((p.tWaveMs / 1000) * rateHz);
    this.learn = Math.max(1, Math.round(p.learnS * rateHz));
    this.refineHalf = Math.max(1, Math.round(0.025 * rateHz));
    this.smoothHalf = Math.floor(Math.round(0.02 * rateHz) / 2);
  }

  private ensure(n: number): void {
    if (this.bp.length !== n) {
      this.bp = new Float64Array(n);
      this.d = new Float64Array(n);
      this.mwi = new Float64Array(n);
    }
    if (this.cand.length < n) {
      const cap = Math.max(16, n);
      this.cand = new Int32Array(cap);
      this.queue = new Int32Array(cap);
      this.qrs = new Int32Array(cap);
      this.out = new Int32Array(cap);
    }
  }

  /** Detected R-peak sample indices, ascending; a view valid until the next call. */
  detect(x: Float64Array): Int32Array {
    const n = x.length;
    this.ensure(n);
    if (n < 5) return this.out.subarray(0, 0);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(x[i])) return this.out.subarray(0, 0); // undefined ECG: nothing to find
    }
    const { bp, d, mwi, cand, refr } = this;
    this.filter.zeroPhase(x, bp);
    const k = this.rateHz / 8;
    for (let i = 0; i < n; i++) {
      const a = bp[Math.max(0, i - 2)] ?? 0;
      const b = bp[Math.max(0, i - 1)] ?? 0;
      const c = bp[Math.min(n - 1, i + 1)] ?? 0;
      const e = bp[Math.min(n - 1, i + 2)] ?? 0;
      const v = (2 * c + e - a - 2 * b) * k;
      d[i] = v * v; // squared derivative, reused below; slopes are √d
    }
    movingAverage(d, this.win, mwi);

    // Candidate fiducial marks: local maxima of the integrated signal, one per refractory period.
    let nc = 0;
    for (let i = 1; i < n - 1; i++) {
      const v = mwi[i] ?? 0;
      if (!(v > (mwi[i - 1] ?? 0) && v >= (mwi[i + 1] ?? 0))) continue;
      const last = nc > 0 ? (cand[nc - 1] ?? 0) : -Infinity;
      if (i - last < refr) {
        if (v > (mwi[last] ?? 0)) cand[nc - 1] = i;
      } else {
        cand[nc++] = i;
      }
    }

    // Learning phase (III.A).
    const learn = Math.min(n, this.learn);
    let mx = 0;
    let sum = 0;
    for (let i = 0; i < learn; i++) {
      const v = mwi[i] ?? 0;
      if (v > mx) mx = v;
      sum += v;
    }
    let spki = mx / 3;
    let npki = sum / learn / 2;
    let thr1 = npki + 0.25 * (spki - npki);
    let thr2 = 0.5 * thr1;

    const rr = [0, 0, 0, 0, 0, 0, 0, 0];
    let rrCount = 0;
    let rrHead = 0;
    const rrAvg = (): number => {
      const m = Math.min(rrCount, 8);
      let s = 0;
      for (let j = 0; j < m; j++) s += rr[j] ?? 0;
      return s / m;
    };
    let nq = 0;
    let lastQrs = -1;
    let lastSlope = 0;
    const qrs = this.qrs;
    const slopeAt = (c: number): number => {
      const h = this.win >> 1;
      let m = 0;
      for (let i = Math.max(0, c - h); i <= Math.min(n - 1, c + h); i++) {
        const v = d[i] ?? 0;
        if (v > m) m = v;
      }
      return Math.sqrt(m);
    };
    const accept = (c: number, v: number, searchBack: boolean): void => {
      spki = searchBack ? 0.25 * v + 0.75 * spki : 0.125 * v + 0.875 * spki;
      if (lastQrs >= 0) {
        rr[rrHead] = c - lastQrs;
        rrHead = (rrHead + 1) % 8;
        rrCount++;
        if (rrCount >= 8) {
          const avg = rrAvg();
          irregular = rr.some((r) => r < 0.92 * avg || r > 1.16 * avg);
        }
      }
      lastQrs = c;
      lastSlope = slopeAt(c);
      qrs[nq++] = c;
    };
    // III.B: with an irregular rhythm (any of the last 8 RR outside 92–116 % of their mean) the
    // thresholds are halved.
    let irregular = false;
    const update = (): void => {
      thr1 = npki + 0.25 * (spki - npki);
      if (irregular) thr1 *= 0.5;
      thr2 = 0.5 * thr1;
    };

    // Max-queue over candidates not taken as QRS since the last QRS (positions ascending, values
    // descending): its head is the search-back choice.
    const q = this.queue;
    let qh = 0;
    let qt = 0;
    let pushPtr = 0;
    const pushUpTo = (limit: number, ci: number): void => {
      while (pushPtr < ci && (cand[pushPtr] ?? 0) <= limit) {
        const pc = cand[pushPtr] ?? 0;
        if (lastQrs < 0 || pc > lastQrs + refr) {
          const v = mwi[pc] ?? 0;
          while (qt > qh && (mwi[cand[q[qt - 1] ?? 0] ?? 0] ?? 0) <= v) qt--;
          q[qt++] = pushPtr;
        }
        pushPtr++;
      }
    };
    const searchBack = (c: number): void => {
      while (rrCount >= 1 && c - lastQrs > this.p.searchBackFactor * rrAvg() && qt > qh) {
        const head = cand[q[qh] ?? 0] ?? 0;
        const v = mwi[head] ?? 0;
        if (!(v > thr2)) break;
        accept(head, v, true);
        update();
        while (qt > qh && (cand[q[qh] ?? 0] ?? 0) <= lastQrs + refr) qh++;
      }
    };

    for (let ci = 0; ci < nc; ci++) {
      const c = cand[ci] ?? 0;
      const v = mwi[c] ?? 0;
      pushUpTo(c - refr, ci);
      searchBack(c);
      if (lastQrs >= 0 && c - lastQrs < refr) continue; // within refractory of a search-back beat
      if (v > thr1) {
        const isT = nq > 0 && c - lastQrs < this.tWave && slopeAt(c) < 0.5 * lastSlope;
        if (isT) {
          npki = 0.125 * v + 0.875 * npki;
        } else {
          accept(c, v, false);
          qh = qt = 0;
          pushPtr = ci + 1;
        }
      } else {
        npki = 0.125 * v + 0.875 * npki;
      }
      update();
    }
    pushUpTo(n - 1, nc);
    searchBack(n);

    return this.refineAll(x, nq);
  }

  private refineAll(x: Float64Array, nq: number): Int32Array {
    const { bp, mwi, qrs, out } = this;
    const n = x.length;
    const h = this.win >> 1;
    let no = 0;
    let lastScore = 0;
    for (let j = 0; j < nq; j++) {
      const c = qrs[j] ?? 0;
      let best = c;
      let bestV = -Infinity;
      let sign = 1;
      for (let i = Math.max(0, c - h); i <= Math.min(n - 1, c + h); i++) {
        const b = bp[i] ?? 0;
        const v = this.p.polarity === 'auto' ? Math.abs(b) : this.p.polarity === 'positive' ? b : -b;
        if (v > bestV) {
          bestV = v;
          best = i;
          sign = this.p.polarity === 'auto' ? (b < 0 ? -1 : 1) : this.p.polarity === 'positive' ? 1 : -1;
        }
      }
      if (this.p.refine === 'raw') {
        // Extreme of the input averaged over ±smoothHalf samples (~20 ms): on broad (ectopic)
        // peaks a single noisy sample would otherwise decide the location.
        const r0 = best;
        const sh = this.smoothHalf;
        let rv = -Infinity;
        for (let i = Math.max(0, r0 - this.refineHalf); i <= Math.min(n - 1, r0 + this.refineHalf); i++) {
          let acc = 0;
          let cnt = 0;
          for (let j = Math.max(0, i - sh); j <= Math.min(n - 1, i + sh); j++) {
            acc += x[j] ?? 0;
            cnt++;
          }
          const v = (sign * acc) / cnt;
          if (v > rv) {
            rv = v;
            best = i;
          }
        }
      }
      const score = mwi[c] ?? 0;
      const prev = no > 0 ? (out[no - 1] ?? 0) : -Infinity;
      if (best - prev < this.refr) {
        // Two fiducials refined onto (nearly) the same beat: keep the stronger one.
        if (score > lastScore) {
          out[no - 1] = best;
          lastScore = score;
        }
        continue;
      }
      if (no > 0 && best <= prev) continue;
      out[no++] = best;
      lastScore = score;
    }
    return out.subarray(0, no);
  }
}
