import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  OnnxError,
  buildMlpClassifier,
  decodeModel,
  encodeModel,
  mlpModelSpec,
  mlpReferenceForward,
  scoreWithOnnxRuntime,
} from '../../../../models/onnx/index.ts';
import type { MlpClassifierSpec, OnnxModelSpec } from '../../../../models/onnx/index.ts';

/** Small deterministic pseudo-random parameters (no RNG dependency: a fixed LCG). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function spec(
  activation: 'tanh' | 'relu',
  hidden: readonly number[],
  withImpute: boolean,
  seed = 1,
): MlpClassifierSpec {
  const rand = lcg(seed);
  const f = 5;
  const sizes = [f, ...hidden, 1];
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l] ?? 0;
    const outputs = sizes[l + 1] ?? 0;
    layers.push({
      weights: Float32Array.from({ length: inputs * outputs }, () => rand() * 2),
      bias: Float32Array.from({ length: outputs }, () => rand()),
    });
  }
  return {
    inputName: 'features',
    outputName: 'score',
    featureCount: f,
    ...(withImpute ? { impute: Float32Array.from([0.5, -1, 2, 0, 3]) } : {}),
    center: Float32Array.from([1, -2, 0.5, 0, 10]),
    scale: Float32Array.from([2, 0.5, 1, 3, 4]),
    layers,
    activation,
    output: 'sigmoid',
    docString: 'test model',
    metadata: { 'vigil.model': 'test', alpha: 'first' },
  };
}

function inputs(n: number, f: number, seed: number, nanEvery = 0): Float32Array {
  const rand = lcg(seed);
  const x = new Float32Array(n * f);
  for (let i = 0; i < x.length; i++) x[i] = nanEvery > 0 && i % nanEvery === 3 ? Number.NaN : rand() * 20;
  return x;
}

describe('ONNX MLP writer', () => {
  const cases: [string, MlpClassifierSpec][] = [
    ['tanh 5→8→1 with imputation', spec('tanh', [8], true)],
    ['relu 5→16→4→1 with imputation', spec('relu', [16, 4], true)],
    ['logistic regression 5→1', spec('tanh', [], true)],
    ['tanh without imputation', spec('tanh', [3], false)],
  ];

  for (const [name, s] of cases) {
    it(`${name}: onnxruntime matches the float64 reference within 1e-5 at several batch sizes`, async () => {
      const bytes = buildMlpClassifier(s);
      for (const n of [1, 7, 64]) {
        const x = inputs(n, s.featureCount, n, s.impute === undefined ? 0 : 4);
        const got = await scoreWithOnnxRuntime(bytes, x, s);
        const want = mlpReferenceForward(s, x, n);
        expect(got.length).toBe(n);
        for (let i = 0; i < n; i++) {
          expect(Math.abs((got[i] ?? Number.NaN) - (want[i] ?? Number.NaN))).toBeLessThan(1e-5);
        }
      }
    });
  }

  it('imputes NaN inside the graph: a NaN row scores like the row holding the impute values', async () => {
    const s = spec('tanh', [8], true);
    const impute = s.impute ?? new Float32Array(0);
    const x = new Float32Array([...Array<number>(5).fill(Number.NaN), ...impute]);
    const [a, b] = await scoreWithOnnxRuntime(buildMlpClassifier(s), x, s);
    expect(a).toBeDefined();
    expect(Number.isNaN(a)).toBe(false);
    expect(a).toBe(b);
  });

  it('without impute values NaN propagates to the score', async () => {
    const s = spec('tanh', [3], false);
    const x = new Float32Array([Number.NaN, 1, 2, 3, 4]);
    const [p] = await scoreWithOnnxRuntime(buildMlpClassifier(s), x, s);
    expect(Number.isNaN(p)).toBe(true);
  });

  it('is byte-identical for identical inputs and independent of metadata insertion order', () => {
    const a = buildMlpClassifier(spec('relu', [4], true));
    const b = buildMlpClassifier(spec('relu', [4], true));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const reordered = { ...spec('relu', [4], true), metadata: { alpha: 'first', 'vigil.model': 'test' } };
    expect(Buffer.from(buildMlpClassifier(reordered)).equals(Buffer.from(a))).toBe(true);
    const changed = buildMlpClassifier(spec('relu', [4], true, 2));
    expect(Buffer.from(changed).equals(Buffer.from(a))).toBe(false);
  });

  it('pins the encoding of a fixed model (a change here changes every committed model hash)', () => {
    const bytes = buildMlpClassifier(spec('tanh', [2], true, 9));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(
      'a2d5360edc757f34609bf01763df0fa8cf44c0f6b0a5aa0cd5d7f30168b7d52d',
    );
  });

  it('writes IR 8, opset 17, sorted metadata and a symbolic batch dimension', () => {
    const model = decodeModel(buildMlpClassifier(spec('tanh', [8], true))) as {
      ir_version: number;
      producer_name: string;
      opset_import: { domain?: string; version: number }[];
      metadata_props: { key: string; value: string }[];
      graph: {
        node: { op_type: string }[];
        input: { name: string; type: { tensor_type: { shape: { dim: object[] } } } }[];
        output: { name: string; type: { tensor_type: { shape: { dim: object[] } } } }[];
        initializer: { name: string; dims: number[]; data_type: number; raw_data: Uint8Array }[];
      };
    };
    expect(model.ir_version).toBe(8);
    expect(model.producer_name).toBe('vigil');
    expect(model.opset_import).toEqual([{ domain: '', version: 17 }]);
    expect(model.metadata_props.map((m) => m.key)).toEqual(['alpha', 'vigil.model']);
    expect(model.graph.node.map((n) => n.op_type)).toEqual([
      'IsNaN',
      'Where',
      'Sub',
      'Div',
      'Gemm',
      'Tanh',
      'Gemm',
      'Sigmoid',
    ]);
    expect(model.graph.input[0]?.name).toBe('features');
    expect(model.graph.input[0]?.type.tensor_type.shape.dim).toEqual([{ dim_param: 'N' }, { dim_value: 5 }]);
    expect(model.graph.output[0]?.type.tensor_type.shape.dim).toEqual([{ dim_param: 'N' }, { dim_value: 1 }]);
    const w0 = model.graph.initializer.find((i) => i.name === 'dense0_weight');
    expect(w0?.dims).toEqual([5, 8]);
    expect(w0?.data_type).toBe(1);
    // raw_data is little-endian float32.
    const first = new DataView(Uint8Array.from(w0?.raw_data ?? []).buffer).getFloat32(0, true);
    expect(first).toBe(spec('tanh', [8], true).layers[0]?.weights[0]);
  });

  it('rejects malformed specs with typed codes', () => {
    const good = spec('tanh', [4], true);
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof OnnxError ? e.code : 'other';
      }
      return undefined;
    };
    expect(code(() => buildMlpClassifier({ ...good, featureCount: 4 }))).toBe('BAD_SHAPE');
    expect(code(() => buildMlpClassifier({ ...good, scale: Float32Array.from([1, 0, 1, 1, 1]) }))).toBe(
      'BAD_VALUE',
    );
    expect(code(() => buildMlpClassifier({ ...good, outputName: 'features' }))).toBe('BAD_NAME');
    expect(code(() => buildMlpClassifier({ ...good, inputName: '1 bad' }))).toBe('BAD_NAME');
    expect(code(() => buildMlpClassifier({ ...good, layers: good.layers.slice(0, 1) }))).toBe('BAD_SHAPE');
    expect(code(() => buildMlpClassifier({ ...good, layers: [] }))).toBe('BAD_SHAPE');
    const nanLayer = { weights: Float32Array.from([Number.NaN, 0, 0, 0]), bias: Float32Array.from([0]) };
    expect(code(() => buildMlpClassifier({ ...good, layers: [good.layers[0] ?? nanLayer, nanLayer] }))).toBe(
      'BAD_VALUE',
    );
    const base: OnnxModelSpec = mlpModelSpec(good);
    expect(
      code(() =>
        encodeModel({
          ...base,
          nodes: [{ name: 'x', opType: 'Relu', inputs: ['missing'], outputs: ['y'] }],
        }),
      ),
    ).toBe('UNDEFINED_VALUE');
    expect(
      code(() =>
        encodeModel({
          ...base,
          nodes: [{ name: 'x', opType: 'Loop', inputs: ['features'], outputs: ['y'] }],
        }),
      ),
    ).toBe('UNSUPPORTED_OP');
    expect(code(() => encodeModel({ ...base, outputs: [{ name: 'nowhere', shape: ['N', 1] }] }))).toBe(
      'UNDEFINED_VALUE',
    );
    expect(code(() => decodeModel(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff])))).toBe('BAD_MODEL');
  });
});
