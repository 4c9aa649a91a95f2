// Scores rows with onnxruntime-node on the exported bytes: evaluation and reference profiles are
// computed on exactly what will be deployed (float32 graph), not on the float64 training weights.
// The native binding is imported on first call only, so importing models/ never loads it.
import { OnnxError } from './errors.ts';

export interface OnnxScoreOptions {
  readonly inputName: string;
  readonly outputName: string;
  readonly featureCount: number;
}

/** Runs a [N, F] → [N, 1] float model on row-major `x` (converted to float32); returns N scores. */
export async function scoreWithOnnxRuntime(
  modelBytes: Uint8Array,
  x: ArrayLike<number>,
  options: OnnxScoreOptions,
): Promise<Float32Array> {
  const f = options.featureCount;
  if (!Number.isSafeInteger(f) || f < 1 || x.length % f !== 0) {
    throw new OnnxError('BAD_SHAPE', `x has ${x.length} values, not a multiple of ${f}`);
  }
  const n = x.length / f;
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(modelBytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    const input = new ort.Tensor('float32', Float32Array.from(x), [n, f]);
    const result = await session.run({ [options.inputName]: input });
    const output = result[options.outputName];
    if (output === undefined || !(output.data instanceof Float32Array) || output.data.length !== n) {
      throw new OnnxError('BAD_MODEL', `output ${options.outputName} missing or not float32 [${n}, 1]`);
    }
    return Float32Array.from(output.data);
  } finally {
    await session.release();
  }
}
