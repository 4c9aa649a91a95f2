// Conditioning: detrending, normalisation, resampling.
import { MAX_SAMPLES, asSignal, defineOp } from '../define.ts';
import { OpError } from '../types.ts';
import { PolyphaseResampler, gcd, linearResample, outputLength } from '../dsp/resample.ts';
import { num, oneOf, paramsFail } from '../params.ts';
import { perChannel } from './common.ts';

export const detrendOp = defineOp({
  name: 'detrend',
  version: 1,
  summary: 'Removes the least-squares straight line (linear) or the mean (constant) from each channel.',
  reference: 'scipy.signal.detrend(x, type).',
  inputs: ['signal'],
  output: 'signal',
  params: {
    type: oneOf(['linear', 'constant'] as const, { description: 'What to remove.', default: 'linear' }),
  },
  prepare(shapes, p) {
    const s = asSignal(shapes[0]);
    const linear = p.type === 'linear';
    return {
      shape: s,
      kernel: perChannel(s, s.rateHz, (x, out) => {
        const n = x.length;
        if (n === 0) return;
        let sy = 0;
        for (let i = 0; i < n; i++) sy += x[i] ?? 0;
        const my = sy / n;
        let slope = 0;
        const mt = (n - 1) / 2;
        if (linear && n > 1) {
          // Least squares on t = 0..n−1: slope = Σ(t − t̄)(y − ȳ) / Σ(t − t̄)².
          let sty = 0;
          for (let i = 0; i < n; i++) sty += (i - mt) * ((x[i] ?? 0) - my);
          const stt = (n * (n * n - 1)) / 12;
          slope = sty / stt;
        }
        for (let i = 0; i < n; i++) out[i] = (x[i] ?? 0) - my - slope * (i - mt);
      }),
    };
  },
});

export const normalizeOp = defineOp({
  name: 'normalize',
  version: 1,
  summary:
    'Per-channel z-score ((x − mean)/SD, population SD) or min-max ((x − min)/(max − min)). A channel with zero spread (or any non-finite sample) becomes all NaN: not computable.',
  reference: 'Standard score / min-max scaling.',
  inputs: ['signal'],
  output: 'signal',
  params: {
    method: oneOf(['zscore', 'minmax'] as const, { description: 'Scaling method.', default: 'zscore' }),
  },
  prepare(shapes, p) {
    const s = asSignal(shapes[0]);
    const z = p.method === 'zscore';
    return {
      shape: s,
      kernel: perChannel(s, s.rateHz, (x, out) => {
        const n = x.length;
        let a = 0;
        let b = 1;
        if (z) {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += x[i] ?? 0;
          const m = sum / n;
          let ss = 0;
          for (let i = 0; i < n; i++) {
            const d = (x[i] ?? 0) - m;
            ss += d * d;
          }
          a = m;
          b = Math.sqrt(ss / n);
        } else {
          let lo = Infinity;
          let hi = -Infinity;
          for (let i = 0; i < n; i++) {
            const v = x[i] ?? NaN;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
            if (Number.isNaN(v)) lo = NaN;
          }
          a = lo;
          b = hi - lo;
        }
        const ok = Number.isFinite(a) && Number.isFinite(b) && b > 0;
        for (let i = 0; i < n; i++) out[i] = ok ? ((x[i] ?? 0) - a) / b : NaN;
      }),
    };
  },
});

/** p/q with p = round(r·1000) for rates given to the millihertz, reduced. */
function ratio(key: string, fromHz: number, toHz: number): { up: number; down: number } {
  const a = Math.round(toHz * 1000);
  const b = Math.round(fromHz * 1000);
  if (Math.abs(a - toHz * 1000) > 1e-6 * a || Math.abs(b - fromHz * 1000) > 1e-6 * b || a < 1 || b < 1) {
    paramsFail(key, `rates must be multiples of 0.001 Hz (from ${fromHz} Hz to ${toHz} Hz)`);
  }
  const g = gcd(a, b);
  return { up: a / g, down: b / g };
}

export const resampleOp = defineOp({
  name: 'resample',
  version: 1,
  summary:
    'Changes the sample rate by a rational factor up/down. polyphase: Kaiser-windowed (β = 5) anti-aliasing FIR with 10·max(up, down) taps per side, as scipy.signal.resample_poly; linear: straight-line interpolation (numpy.interp), no anti-aliasing. Output length ceil(n·up/down).',
  reference: 'scipy.signal.resample_poly (default window); numpy.interp.',
  inputs: ['signal'],
  output: 'signal',
  params: {
    targetHz: num({
      description: 'Output sample rate (multiple of 0.001 Hz).',
      unit: 'Hz',
      gt: 0,
      max: 100_000,
    }),
    method: oneOf(['polyphase', 'linear'] as const, {
      description: 'Interpolation method.',
      default: 'polyphase',
    }),
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    const { up, down } = ratio(key, s.rateHz, p.targetHz);
    const limit = p.method === 'polyphase' ? 1000 : 1_000_000;
    if (Math.max(up, down) > limit) {
      paramsFail(key, `rate ratio ${up}/${down} is too fine for ${p.method} resampling (max ${limit})`);
    }
    const shape = {
      kind: 'signal' as const,
      rateHz: p.targetHz,
      channels: s.channels,
      length: outputLength(s.length, up, down),
    };
    if (shape.length > MAX_SAMPLES)
      paramsFail(key, `output window of ${shape.length} samples exceeds ${MAX_SAMPLES}`);
    const outLen = (n: number): number => {
      const m = outputLength(n, up, down);
      if (m > MAX_SAMPLES)
        throw new OpError('BAD_INPUT', `${key}: output of ${m} samples exceeds ${MAX_SAMPLES}`);
      return m;
    };
    if (up === 1 && down === 1) {
      return {
        shape,
        kernel: perChannel(s, p.targetHz, (x, out) => {
          out.set(x);
        }),
      };
    }
    const poly = p.method === 'polyphase' ? new PolyphaseResampler(up, down) : null;
    return {
      shape,
      kernel: perChannel(
        s,
        p.targetHz,
        (x, out) => {
          if (poly !== null) poly.run(x, out);
          else linearResample(x, up, down, out);
        },
        outLen,
      ),
    };
  },
});
