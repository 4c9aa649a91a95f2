// Power spectral density by Welch's method with fft.js, same definition as
// scipy.signal.welch(x, fs, window='hann' (periodic), nperseg, noverlap=nperseg/2, nfft,
// detrend='constant', scaling='density', average='mean'), one-sided.
// nperseg is a power of two (fft.js needs one); a window shorter than nperseg is treated as one
// segment of its own length, zero-padded to the next power of two (SciPy: nperseg=n, nfft=2^k).
import FFT from 'fft.js';

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

interface FftLike {
  realTransform(out: Float64Array, data: Float64Array): void;
}

export class Welch {
  private readonly ffts = new Map<number, FftLike>();
  private seg = new Float64Array(0);
  private spec = new Float64Array(0);
  private psd = new Float64Array(0);
  private win = new Float64Array(0);
  private wss = 0;

  /** `nperseg` must be a power of two ≥ 4. */
  constructor(readonly nperseg: number) {}

  private fft(size: number): FftLike {
    let f = this.ffts.get(size);
    if (f === undefined) {
      f = new FFT(size);
      this.ffts.set(size, f);
    }
    return f;
  }

  /**
   * One-sided PSD (units²/Hz) of x; returns the bin spacing and a view of nfft/2 + 1 bins
   * (valid until the next call). Needs x.length ≥ 4.
   */
  run(x: Float64Array, rateHz: number): { readonly df: number; readonly psd: Float64Array } {
    const n = x.length;
    const seglen = Math.min(this.nperseg, n);
    const nfft = nextPow2(seglen);
    const step = seglen - Math.floor(seglen / 2);
    const nseg = Math.floor((n - seglen) / step) + 1;
    const bins = nfft / 2 + 1;
    if (this.seg.length !== nfft) {
      this.seg = new Float64Array(nfft);
      this.spec = new Float64Array(2 * nfft);
    }
    if (this.psd.length !== bins) this.psd = new Float64Array(bins);
    const psd = this.psd;
    psd.fill(0);
    // Periodic Hann window of length seglen (cached: windows have a fixed length in practice).
    if (this.win.length !== seglen) {
      this.win = new Float64Array(seglen);
      this.wss = 0;
      for (let i = 0; i < seglen; i++) {
        const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / seglen);
        this.win[i] = w;
        this.wss += w * w;
      }
    }
    const win = this.win;
    const wss = this.wss;
    const f = this.fft(nfft);
    for (let s = 0; s < nseg; s++) {
      const off = s * step;
      let m = 0;
      for (let i = 0; i < seglen; i++) m += x[off + i] ?? 0;
      m /= seglen;
      this.seg.fill(0);
      for (let i = 0; i < seglen; i++) this.seg[i] = ((x[off + i] ?? 0) - m) * (win[i] ?? 0);
      f.realTransform(this.spec, this.seg);
      for (let k = 0; k < bins; k++) {
        const re = this.spec[2 * k] ?? 0;
        const im = this.spec[2 * k + 1] ?? 0;
        psd[k] = (psd[k] ?? 0) + re * re + im * im;
      }
    }
    const norm = 1 / (rateHz * wss * nseg);
    for (let k = 0; k < bins; k++) {
      const twoSided = k === 0 || k === bins - 1 ? 1 : 2;
      psd[k] = (psd[k] ?? 0) * norm * twoSided;
    }
    return { df: rateHz / nfft, psd };
  }
}

/** Σ PSD over bins with lo ≤ f ≤ hi, times df (band power, closed interval). */
export function bandPower(psd: Float64Array, df: number, lo: number, hi: number): number {
  let s = 0;
  const k0 = Math.max(0, Math.ceil(lo / df - 1e-9));
  const k1 = Math.min(psd.length - 1, Math.floor(hi / df + 1e-9));
  for (let k = k0; k <= k1; k++) s += psd[k] ?? 0;
  return s * df;
}
