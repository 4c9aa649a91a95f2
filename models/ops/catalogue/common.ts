// Kernel helpers shared by the catalogue files.
import type { OpKernel, OpValue } from '../types.ts';
import { Scratch, channel, sig } from '../define.ts';
import type { SignalShape, SignalValue } from '../define.ts';

/**
 * A kernel that maps each channel of a signal to a channel of the same rate, with scratch reused
 * between runs. `outLength` gives the output length for an input length.
 */
export function perChannel(
  shape: SignalShape,
  outRateHz: number,
  fn: (x: Float64Array, out: Float64Array, ch: number) => void,
  outLength: (n: number) => number = (n) => n,
): OpKernel {
  const scratch = Array.from({ length: shape.channels }, () => new Scratch());
  return {
    run(inputs: readonly OpValue[]): SignalValue {
      const s = sig(inputs[0]);
      const channels = scratch.map((buf, ch) => {
        const x = channel(s, ch);
        const out = buf.get(outLength(x.length));
        fn(x, out, ch);
        return out;
      });
      return { kind: 'signal', rateHz: outRateHz, channels };
    },
  };
}
