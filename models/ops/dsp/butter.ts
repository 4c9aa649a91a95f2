// IIR designs as second-order sections.
//
// Low-pass and high-pass Butterworth come from `fili` (CalcCascades: bilinear transform of the
// analog sections with pre-warped cutoff, Q_k = 1 / (2 sin((2k+1)π / 2N))); they match
// scipy.signal.butter(N, fc, output='sos') to ~1e-15 (test/fixtures/ops/filters.json). fili only
// builds even orders (one biquad per pole pair).
//
// The band-pass is hand-written: fili's band-pass cascades RBJ band-pass biquads that all share
// one centre frequency and are parameterised by centre and Q, so it cannot place the band edges
// and is not the Butterworth band-pass of the textbook/SciPy definition. Here: analog Butterworth
// prototype poles, low-pass → band-pass transform (ω0 = √(ω1ω2), B = ω2 − ω1 on pre-warped edges),
// bilinear transform, gain as in scipy.signal.butter(N, [f1, f2], 'bandpass') (zpk route:
// buttap → lp2bp_zpk → bilinear_zpk). Each section carries one zero at z = 1 and one at z = −1.
//
// The notch is scipy.signal.iirnotch (Orfanidis, Introduction to Signal Processing, §11.3):
// −3 dB bandwidth f0/Q, unit gain far from f0.
import Fili from 'fili';
import type { Sos } from './sos.ts';

interface C {
  re: number;
  im: number;
}
const c = (re: number, im = 0): C => ({ re, im });
const add = (a: C, b: C): C => c(a.re + b.re, a.im + b.im);
const sub = (a: C, b: C): C => c(a.re - b.re, a.im - b.im);
const mul = (a: C, b: C): C => c(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
const scale = (a: C, k: number): C => c(a.re * k, a.im * k);
function div(a: C, b: C): C {
  const d = b.re * b.re + b.im * b.im;
  return c((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d);
}
function csqrt(a: C): C {
  const r = Math.hypot(a.re, a.im);
  const re = Math.sqrt((r + a.re) / 2);
  const im = Math.sqrt(Math.max(0, (r - a.re) / 2));
  return c(re, a.im < 0 ? -im : im);
}

function fromFili(sections: readonly { a: readonly number[]; b: readonly number[]; k: number }[]): Sos {
  const sos = new Float64Array(6 * sections.length);
  sections.forEach((s, i) => {
    const k = s.k;
    sos.set([(s.b[0] ?? 0) * k, (s.b[1] ?? 0) * k, (s.b[2] ?? 0) * k, 1, s.a[0] ?? 0, s.a[1] ?? 0], 6 * i);
  });
  return sos;
}

/** Butterworth low-pass of even `order` (2..12) at `cutoffHz`. */
export function butterLowpass(order: number, cutoffHz: number, rateHz: number): Sos {
  const cascades = new Fili.CalcCascades();
  return fromFili(
    cascades.lowpass({ order: order / 2, characteristic: 'butterworth', Fs: rateHz, Fc: cutoffHz }),
  );
}

/** Butterworth high-pass of even `order` (2..12) at `cutoffHz`. */
export function butterHighpass(order: number, cutoffHz: number, rateHz: number): Sos {
  const cascades = new Fili.CalcCascades();
  return fromFili(
    cascades.highpass({ order: order / 2, characteristic: 'butterworth', Fs: rateHz, Fc: cutoffHz }),
  );
}

/**
 * Butterworth band-pass from an order-`order` prototype (filter order 2·order, `order` sections),
 * same definition as scipy.signal.butter(order, [lowHz, highHz], 'bandpass', fs=rateHz).
 */
export function butterBandpass(order: number, lowHz: number, highHz: number, rateHz: number): Sos {
  const fs2 = 2 * rateHz;
  const w1 = fs2 * Math.tan((Math.PI * lowHz) / rateHz);
  const w2 = fs2 * Math.tan((Math.PI * highHz) / rateHz);
  const bw = w2 - w1;
  const wo2 = w1 * w2;
  // Analog band-pass poles in conjugate pairs (upper half-plane representative of each section).
  const pairs: C[][] = [];
  for (let k = 0; k < order; k++) {
    // buttap: p_k = −exp(iπ(2k − N + 1)/(2N)), k = 0..N−1
    const theta = (Math.PI * (2 * k - order + 1)) / (2 * order);
    const p = c(-Math.cos(theta), -Math.sin(theta));
    if (p.im < -1e-12) continue; // its conjugate partner produces the same sections
    const pl = scale(p, bw / 2);
    const root = csqrt(sub(mul(pl, pl), c(wo2)));
    const r1 = add(pl, root);
    const r2 = sub(pl, root);
    if (Math.abs(p.im) > 1e-12) {
      pairs.push([r1, c(r1.re, -r1.im)], [r2, c(r2.re, -r2.im)]);
    } else if (Math.abs(r1.im) > 1e-12 * Math.hypot(r1.re, r1.im)) {
      pairs.push([r1, r2]); // r2 is the conjugate of r1
    } else {
      pairs.push([c(r1.re), c(r2.re)]); // two real poles
    }
  }
  // Bilinear transform z = (fs2 + s)/(fs2 − s); gain k = (B·fs2)^N / Π(fs2 − p) (zeros: N at s = 0),
  // accumulated one section at a time to stay far from overflow.
  const sos = new Float64Array(6 * pairs.length);
  let gain = c(1);
  pairs.forEach(([pa, pb], i) => {
    if (pa === undefined || pb === undefined) return;
    const za = div(add(c(fs2), pa), sub(c(fs2), pa));
    const zb = div(add(c(fs2), pb), sub(c(fs2), pb));
    gain = div(scale(gain, bw * fs2), mul(sub(c(fs2), pa), sub(c(fs2), pb)));
    const sum = add(za, zb);
    const prod = mul(za, zb);
    sos.set([1, 0, -1, 1, -sum.re, prod.re], 6 * i);
  });
  const k = gain.re;
  for (let j = 0; j < 3; j++) sos[j] = (sos[j] ?? 0) * k;
  return sos;
}

/** IIR notch at f0Hz with quality factor q (scipy.signal.iirnotch). */
export function iirNotch(f0Hz: number, q: number, rateHz: number): Sos {
  const w0 = (2 * Math.PI * f0Hz) / rateHz;
  const bw = w0 / q;
  const beta = Math.tan(bw / 2); // gb = 1/√2 ⇒ √(1 − gb²)/gb = 1
  const g = 1 / (1 + beta);
  const cw = Math.cos(w0);
  return Float64Array.of(g, -2 * g * cw, g, 1, -2 * g * cw, 2 * g - 1);
}
