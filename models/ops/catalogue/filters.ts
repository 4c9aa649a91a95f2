// Linear filters: Butterworth low/high/band-pass, IIR notch, windowed-sinc FIR band-pass.
// Every filter runs per channel. `mode` chooses the phase behaviour:
//   zero_phase    forward-backward (scipy.signal.sosfiltfilt, odd padding): no delay, squared magnitude
//   causal        one forward pass from a zero state (scipy.signal.sosfilt)
//   causal_steady one forward pass from the steady state for x[0] (sosfilt with zi = sosfilt_zi·x[0]),
//                 which avoids the start-up step on signals with an offset
import { asSignal, checkNyquist, defineOp } from '../define.ts';
import { butterBandpass, butterHighpass, butterLowpass, iirNotch } from '../dsp/butter.ts';
import { firCausal, firWindow, firZeroPhase, firwinBand } from '../dsp/fir.ts';
import { SosFilter } from '../dsp/sos.ts';
import type { Sos } from '../dsp/sos.ts';
import type { OpKernel } from '../types.ts';
import type { SignalShape } from '../define.ts';
import { int, num, oneOf } from '../params.ts';
import { perChannel } from './common.ts';

type IirMode = 'zero_phase' | 'causal' | 'causal_steady';

const iirMode = oneOf(['zero_phase', 'causal', 'causal_steady'] as const, {
  description:
    'zero_phase: forward-backward (sosfiltfilt); causal: forward from zero state (sosfilt); causal_steady: forward from the steady state for the first sample.',
  default: 'zero_phase',
});

function iirKernel(shape: SignalShape, sos: Sos, mode: IirMode): OpKernel {
  const filters = Array.from({ length: shape.channels }, () => new SosFilter(sos));
  return perChannel(shape, shape.rateHz, (x, out, ch) => {
    const f = filters[ch];
    if (f === undefined) return;
    switch (mode) {
      case 'zero_phase':
        f.zeroPhase(x, out);
        break;
      case 'causal':
        f.causal(x, out, false);
        break;
      case 'causal_steady':
        f.causal(x, out, true);
        break;
    }
  });
}

const BUTTER_REF =
  'Butterworth (1930); bilinear transform with pre-warping. Design via fili CalcCascades; matches scipy.signal.butter(order, fc, btype, output="sos").';

export const butterLowpassOp = defineOp({
  name: 'butter_lowpass',
  version: 1,
  summary: 'Butterworth low-pass as cascaded biquads.',
  reference: BUTTER_REF,
  inputs: ['signal'],
  output: 'signal',
  params: {
    cutoffHz: num({ description: '−3 dB cutoff frequency.', unit: 'Hz', gt: 0 }),
    order: int({
      description: 'Filter order (even: one biquad per pole pair).',
      min: 2,
      max: 8,
      parity: 'even',
      default: 4,
    }),
    mode: iirMode,
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    checkNyquist(key, 'cutoffHz', p.cutoffHz, s.rateHz);
    return { shape: s, kernel: iirKernel(s, butterLowpass(p.order, p.cutoffHz, s.rateHz), p.mode) };
  },
});

export const butterHighpassOp = defineOp({
  name: 'butter_highpass',
  version: 1,
  summary: 'Butterworth high-pass as cascaded biquads (e.g. baseline-wander removal).',
  reference: BUTTER_REF,
  inputs: ['signal'],
  output: 'signal',
  params: {
    cutoffHz: num({ description: '−3 dB cutoff frequency.', unit: 'Hz', gt: 0 }),
    order: int({
      description: 'Filter order (even: one biquad per pole pair).',
      min: 2,
      max: 8,
      parity: 'even',
      default: 2,
    }),
    mode: iirMode,
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    checkNyquist(key, 'cutoffHz', p.cutoffHz, s.rateHz);
    return { shape: s, kernel: iirKernel(s, butterHighpass(p.order, p.cutoffHz, s.rateHz), p.mode) };
  },
});

export const butterBandpassOp = defineOp({
  name: 'butter_bandpass',
  version: 1,
  summary: 'Butterworth band-pass (low-pass prototype of order N → band-pass of order 2N, N biquads).',
  reference:
    'Butterworth prototype, low-pass→band-pass transform, bilinear transform; hand-written, same definition as scipy.signal.butter(N, [f1, f2], "bandpass", output="sos").',
  inputs: ['signal'],
  output: 'signal',
  params: {
    lowHz: num({ description: 'Lower −3 dB edge.', unit: 'Hz', gt: 0 }),
    highHz: num({ description: 'Upper −3 dB edge.', unit: 'Hz', gt: 0 }),
    order: int({ description: 'Prototype order N (band-pass order 2N).', min: 1, max: 8, default: 2 }),
    mode: iirMode,
  },
  check(p, fail) {
    if (!(p.lowHz < p.highHz)) fail(`lowHz (${p.lowHz}) must be below highHz (${p.highHz})`);
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    checkNyquist(key, 'highHz', p.highHz, s.rateHz);
    return { shape: s, kernel: iirKernel(s, butterBandpass(p.order, p.lowHz, p.highHz, s.rateHz), p.mode) };
  },
});

export const notchOp = defineOp({
  name: 'notch',
  version: 1,
  summary: 'Second-order IIR notch at f0 with quality factor Q (−3 dB width f0/Q), e.g. powerline.',
  reference: 'scipy.signal.iirnotch; Orfanidis, Introduction to Signal Processing (1996), §11.3.',
  inputs: ['signal'],
  output: 'signal',
  params: {
    f0Hz: num({ description: 'Frequency to remove.', unit: 'Hz', gt: 0 }),
    q: num({ description: 'Quality factor f0 / (−3 dB bandwidth).', gt: 0, max: 1000, default: 30 }),
    mode: iirMode,
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    checkNyquist(key, 'f0Hz', p.f0Hz, s.rateHz);
    return { shape: s, kernel: iirKernel(s, iirNotch(p.f0Hz, p.q, s.rateHz), p.mode) };
  },
});

export const firBandpassOp = defineOp({
  name: 'fir_bandpass',
  version: 1,
  summary:
    'Linear-phase windowed-sinc FIR band-pass, unit gain at the band centre. zero_phase compensates the (taps−1)/2 delay using odd reflection at the edges; causal is a plain convolution from zero state.',
  reference: 'Windowed-sinc design as scipy.signal.firwin(taps, [f1, f2], pass_zero=False, window).',
  inputs: ['signal'],
  output: 'signal',
  params: {
    lowHz: num({ description: 'Lower band edge (−6 dB).', unit: 'Hz', gt: 0 }),
    highHz: num({ description: 'Upper band edge (−6 dB).', unit: 'Hz', gt: 0 }),
    taps: int({
      description:
        'Number of taps (odd, so the delay is a whole number of samples). Transition width ≈ 3.3·rate/taps with Hamming (≈ 5.5·rate/taps with Blackman): low edges below that are not reached.',
      min: 3,
      max: 1025,
      parity: 'odd',
      default: 101,
    }),
    window: oneOf(['hamming', 'hann', 'blackman'] as const, {
      description: 'Window applied to the ideal sinc.',
      default: 'hamming',
    }),
    mode: oneOf(['zero_phase', 'causal'] as const, {
      description: 'zero_phase: delay-compensated, odd-reflected edges; causal: lfilter(h, 1, x).',
      default: 'zero_phase',
    }),
  },
  check(p, fail) {
    if (!(p.lowHz < p.highHz)) fail(`lowHz (${p.lowHz}) must be below highHz (${p.highHz})`);
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    checkNyquist(key, 'highHz', p.highHz, s.rateHz);
    const nyq = s.rateHz / 2;
    const h = firwinBand(p.taps, p.lowHz / nyq, p.highHz / nyq, firWindow(p.window, p.taps));
    const zero = p.mode === 'zero_phase';
    return {
      shape: s,
      kernel: perChannel(s, s.rateHz, (x, out) => {
        if (zero) firZeroPhase(h, x, out);
        else firCausal(h, x, out);
      }),
    };
  },
});
