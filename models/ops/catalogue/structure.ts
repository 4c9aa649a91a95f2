// Structural ops: channel selection, vector magnitude, feature concatenation and selection.
import { OpError } from '../types.ts';
import { asFeatures, asSignal, channel, defineOp, fea, sealFeatures, sig } from '../define.ts';
import { intList, nameList, paramsFail } from '../params.ts';

export const selectChannels = defineOp({
  name: 'select_channels',
  version: 1,
  summary: 'Picks channels of a signal by index, in the order given (indices may repeat).',
  reference: 'Identity selection; no numerical processing.',
  inputs: ['signal'],
  output: 'signal',
  params: {
    channels: intList({
      description: 'Zero-based channel indices to keep, in output order.',
      min: 0,
      max: 63,
      minItems: 1,
      maxItems: 64,
    }),
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    for (const c of p.channels) {
      if (c >= s.channels) paramsFail(key, `channel ${c} does not exist (input has ${s.channels})`);
    }
    const picks = p.channels;
    return {
      shape: { kind: 'signal', rateHz: s.rateHz, channels: picks.length, length: s.length },
      kernel: {
        run(inputs) {
          const v = sig(inputs[0]);
          // Views of the input arrays: ops never mutate their inputs, so no copy is needed.
          return { kind: 'signal', rateHz: v.rateHz, channels: picks.map((c) => channel(v, c)) };
        },
      },
    };
  },
});

export const magnitude = defineOp({
  name: 'magnitude',
  version: 1,
  summary: 'Euclidean norm of three channels, sample by sample: √(x² + y² + z²) → one channel.',
  reference: 'Vector magnitude of a tri-axial accelerometer (orientation-independent).',
  inputs: ['signal'],
  output: 'signal',
  params: {
    channels: intList({
      description: 'The three channels (x, y, z) to combine.',
      min: 0,
      max: 63,
      minItems: 3,
      maxItems: 3,
      default: [0, 1, 2],
    }),
  },
  prepare(shapes, p, key) {
    const s = asSignal(shapes[0]);
    for (const c of p.channels) {
      if (c >= s.channels) paramsFail(key, `channel ${c} does not exist (input has ${s.channels})`);
    }
    const [cx, cy, cz] = p.channels as readonly [number, number, number];
    const one = { kind: 'signal' as const, rateHz: s.rateHz, channels: 1, length: s.length };
    let buf = new Float64Array(0);
    return {
      shape: one,
      kernel: {
        run(inputs) {
          const v = sig(inputs[0]);
          const x = channel(v, cx);
          const y = channel(v, cy);
          const z = channel(v, cz);
          if (buf.length !== x.length) buf = new Float64Array(x.length);
          for (let i = 0; i < x.length; i++) {
            const a = x[i] ?? 0;
            const b = y[i] ?? 0;
            const c = z[i] ?? 0;
            buf[i] = Math.sqrt(a * a + b * b + c * c);
          }
          return { kind: 'signal', rateHz: v.rateHz, channels: [buf] };
        },
      },
    };
  },
});

export const concatFeatures = defineOp({
  name: 'concat_features',
  version: 1,
  summary: 'Concatenates feature vectors in input order; names must stay unique.',
  reference: 'Identity concatenation; no numerical processing.',
  inputs: ['features'],
  variadic: true,
  output: 'features',
  params: {},
  prepare(shapes) {
    const names: string[] = [];
    const seen = new Set<string>();
    for (const s of shapes) {
      for (const n of asFeatures(s).names) {
        if (seen.has(n))
          throw new OpError('BAD_INPUT', `concat_features@1: feature ${JSON.stringify(n)} appears twice`);
        seen.add(n);
        names.push(n);
      }
    }
    const frozen = Object.freeze(names);
    return {
      shape: { kind: 'features', names: frozen },
      kernel: {
        run(inputs) {
          const out = new Float64Array(frozen.length);
          let o = 0;
          for (const v of inputs) {
            const f = fea(v);
            out.set(f.values, o);
            o += f.values.length;
          }
          return sealFeatures(frozen, out);
        },
      },
    };
  },
});

export const selectFeatures = defineOp({
  name: 'select_features',
  version: 1,
  summary: 'Keeps the named features, in the order given (e.g. the order the model expects).',
  reference: 'Identity selection; no numerical processing.',
  inputs: ['features'],
  output: 'features',
  params: {
    names: nameList({ description: 'Feature names to keep, in output order.', minItems: 1, maxItems: 256 }),
  },
  prepare(shapes, p, key) {
    const s = asFeatures(shapes[0]);
    const idx = p.names.map((n) => {
      const i = s.names.indexOf(n);
      if (i < 0)
        paramsFail(
          key,
          `feature ${JSON.stringify(n)} is not produced by the input (has: ${s.names.join(', ')})`,
        );
      return i;
    });
    const names = Object.freeze([...p.names]);
    return {
      shape: { kind: 'features', names },
      kernel: {
        run(inputs) {
          const f = fea(inputs[0]);
          const out = new Float64Array(idx.length);
          idx.forEach((i, o) => {
            out[o] = f.values[i] ?? NaN;
          });
          return sealFeatures(names, out);
        },
      },
    };
  },
});
