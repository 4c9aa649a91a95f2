// Rational-rate resampling.
//
// 'polyphase' reproduces scipy.signal.resample_poly(x, up, down) with its defaults: low-pass FIR
// firwin(2·10·max(up, down) + 1, 1/max(up, down), window=('kaiser', 5.0)) · up, zero padding
// outside the window, output length ceil(n·up/down), and SciPy's alignment (output sample m sits
// at input time m·down/up). Computed directly as y[m] = Σₙ x[n]·h[(m + pre)·down − pad − n·up],
// which only touches the taps of one polyphase branch per output.
// 'linear' is numpy.interp at times m·down/up (held at the last sample beyond the end).
import { firwinBand, kaiserWindow } from './fir.ts';

export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

export function outputLength(n: number, up: number, down: number): number {
  return Math.ceil((n * up) / down);
}

export class PolyphaseResampler {
  readonly h: Float64Array;
  private readonly prePad: number;
  private readonly preRemove: number;

  constructor(
    readonly up: number,
    readonly down: number,
  ) {
    const maxRate = Math.max(up, down);
    const halfLen = 10 * maxRate;
    const taps = 2 * halfLen + 1;
    const h = firwinBand(taps, 0, 1 / maxRate, kaiserWindow(taps, 5.0));
    for (let i = 0; i < taps; i++) h[i] = (h[i] ?? 0) * up;
    this.h = h;
    this.prePad = down - (halfLen % down);
    this.preRemove = Math.floor((halfLen + this.prePad) / down);
  }

  run(x: Float64Array, out: Float64Array): void {
    const n = x.length;
    const { up, down, h } = this;
    const L = h.length;
    for (let m = 0; m < out.length; m++) {
      const t = (m + this.preRemove) * down - this.prePad;
      // taps index t − k·up must lie in [0, L)
      const kLo = Math.max(0, Math.ceil((t - L + 1) / up));
      const kHi = Math.min(n - 1, Math.floor(t / up));
      let acc = 0;
      for (let k = kLo; k <= kHi; k++) acc += (x[k] ?? 0) * (h[t - k * up] ?? 0);
      out[m] = acc;
    }
  }
}

export function linearResample(x: Float64Array, up: number, down: number, out: Float64Array): void {
  const n = x.length;
  for (let m = 0; m < out.length; m++) {
    const t = (m * down) / up;
    const i = Math.floor(t);
    if (i >= n - 1) {
      out[m] = x[n - 1] ?? NaN;
    } else {
      const f = t - i;
      const a = x[i] ?? 0;
      const b = x[i + 1] ?? 0;
      out[m] = f === 0 ? a : a + (b - a) * f;
    }
  }
}
