// Windowed-sinc FIR design and filtering.
//
// Design follows scipy.signal.firwin (cutoffs relative to Nyquist, symmetric window, gain scaled
// to exactly 1 at the pass-band centre). Hand-written rather than fili's FirCoeffs: fili builds
// the band-pass from DC-normalised low-passes (so the pass-band gain differs from 1 by the
// low-pass ripple) and offers no Hann/Blackman or Kaiser-by-β windows, so it does not reproduce
// the reference design the golden vectors check.

export type FirWindow = 'hamming' | 'hann' | 'blackman';

/** Symmetric window of length m (scipy.signal.get_window(..., fftbins=False)). */
export function firWindow(kind: FirWindow, m: number): Float64Array {
  const w = new Float64Array(m);
  if (m === 1) {
    w[0] = 1;
    return w;
  }
  for (let i = 0; i < m; i++) {
    const t = (2 * Math.PI * i) / (m - 1);
    switch (kind) {
      case 'hamming':
        w[i] = 0.54 - 0.46 * Math.cos(t);
        break;
      case 'hann':
        w[i] = 0.5 - 0.5 * Math.cos(t);
        break;
      case 'blackman':
        w[i] = 0.42 - 0.5 * Math.cos(t) + 0.08 * Math.cos(2 * t);
        break;
    }
  }
  return w;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges for all x). */
export function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser window of length m and shape β (scipy.signal.windows.kaiser, symmetric). */
export function kaiserWindow(m: number, beta: number): Float64Array {
  const w = new Float64Array(m);
  if (m === 1) {
    w[0] = 1;
    return w;
  }
  const den = besselI0(beta);
  for (let i = 0; i < m; i++) {
    const r = (2 * i) / (m - 1) - 1;
    w[i] = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / den;
  }
  return w;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/**
 * One pass band [left, right] (fractions of Nyquist, 0 ≤ left < right ≤ 1) with the given window;
 * scaled to unit gain at 0 (left = 0), Nyquist (right = 1) or the band centre.
 */
export function firwinBand(taps: number, left: number, right: number, window: Float64Array): Float64Array {
  const h = new Float64Array(taps);
  const alpha = (taps - 1) / 2;
  for (let i = 0; i < taps; i++) {
    const m = i - alpha;
    h[i] = (right * sinc(right * m) - left * sinc(left * m)) * (window[i] ?? 0);
  }
  const f = left === 0 ? 0 : right === 1 ? 1 : (left + right) / 2;
  let s = 0;
  for (let i = 0; i < taps; i++) s += (h[i] ?? 0) * Math.cos(Math.PI * (i - alpha) * f);
  for (let i = 0; i < taps; i++) h[i] = (h[i] ?? 0) / s;
  return h;
}

/** Causal FIR with zero initial state: y[n] = Σ h[k]·x[n−k] (scipy.signal.lfilter(h, 1, x)). */
export function firCausal(h: Float64Array, x: Float64Array, out: Float64Array): void {
  const n = x.length;
  const m = h.length;
  for (let i = 0; i < n; i++) {
    let acc = 0;
    const kmax = Math.min(m - 1, i);
    for (let k = 0; k <= kmax; k++) acc += (h[k] ?? 0) * (x[i - k] ?? 0);
    out[i] = acc;
  }
}

/**
 * Zero-phase (delay-compensated) FIR for odd-length symmetric h: y[n] = Σ h[k]·e[n + c − k],
 * c = (m−1)/2, where e is x extended by odd reflection about its end samples (as
 * scipy.signal.filtfilt's padtype 'odd'); beyond the reflectable range e is 0.
 */
export function firZeroPhase(h: Float64Array, x: Float64Array, out: Float64Array): void {
  const n = x.length;
  if (n === 0) return;
  const m = h.length;
  const c = (m - 1) / 2;
  const first = x[0] ?? 0;
  const last = x[n - 1] ?? 0;
  const ext = (j: number): number => {
    if (j >= 0 && j < n) return x[j] ?? 0;
    if (j < 0) return -j < n ? 2 * first - (x[-j] ?? 0) : 0;
    const r = 2 * (n - 1) - j;
    return r >= 0 ? 2 * last - (x[r] ?? 0) : 0;
  };
  for (let i = 0; i < n; i++) {
    let acc = 0;
    const base = i + c;
    if (base - (m - 1) >= 0 && base < n) {
      for (let k = 0; k < m; k++) acc += (h[k] ?? 0) * (x[base - k] ?? 0);
    } else {
      for (let k = 0; k < m; k++) acc += (h[k] ?? 0) * ext(base - k);
    }
    out[i] = acc;
  }
}
