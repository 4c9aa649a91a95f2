// The MLP binary classifier graph: NaN imputation, standardisation, dense layers, sigmoid.
//
//   x[N,F] ─IsNaN─► Where(isnan, impute, x) ─Sub(center)─► Div(scale) ─► Gemm ─► act ─► … ─► Gemm ─► Sigmoid ─► y[N,1]
//
// Everything the runtime would otherwise have to re-implement lives inside the graph, so what was
// validated is what runs: the imputation values (training medians) and the standardisation.
// All ops are default-domain opset 17 (IsNaN-13, Where-16, Sub/Div-14, Gemm-13, Tanh/Relu-13/14,
// Sigmoid-13); Where and Sub/Div broadcast the [F] constants over [N,F] (multidirectional).
import { OnnxError } from './errors.ts';
import { encodeModel } from './model.ts';
import type { FloatInitializer, OnnxModelSpec, OnnxNode } from './model.ts';

export type HiddenActivation = 'relu' | 'tanh';

export interface DenseLayerParams {
  /** Row-major [in, out]: weights[i * out + j] connects input i to unit j. */
  readonly weights: Float32Array;
  readonly bias: Float32Array;
}

export interface MlpClassifierSpec {
  readonly inputName: string;
  readonly outputName: string;
  readonly featureCount: number;
  /** Per-feature value that replaces NaN before standardisation (omit: NaN propagates). */
  readonly impute?: Float32Array;
  /** Per-feature centre subtracted (mean or median). */
  readonly center: Float32Array;
  /** Per-feature divisor (SD or scaled IQR); must be finite and non-zero. */
  readonly scale: Float32Array;
  /** Dense layers in order; the last one has a single output unit (the logit). */
  readonly layers: readonly DenseLayerParams[];
  /** Activation after every layer but the last. */
  readonly activation: HiddenActivation;
  readonly output: 'sigmoid';
  readonly graphName?: string;
  readonly docString: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly producerVersion?: string;
  readonly modelVersion?: number;
}

/** Version of this writer; recorded as ModelProto.producer_version unless overridden. */
export const ONNX_WRITER_VERSION = '1.0.0';

/** Batch dimension name used on the input [N, F] and output [N, 1]. */
export const BATCH_DIM = 'N';

export interface LayerShape {
  readonly inputs: number;
  readonly outputs: number;
}

/** Checks the spec and returns each layer's [in, out]. */
export function mlpLayerShapes(spec: MlpClassifierSpec): readonly LayerShape[] {
  const f = spec.featureCount;
  if (!Number.isSafeInteger(f) || f < 1) {
    throw new OnnxError('BAD_SHAPE', `featureCount must be a positive integer, got ${f}`);
  }
  if (spec.inputName === spec.outputName) {
    throw new OnnxError('BAD_NAME', 'inputName and outputName must differ');
  }
  const perFeature: [string, Float32Array | undefined][] = [
    ['impute', spec.impute],
    ['center', spec.center],
    ['scale', spec.scale],
  ];
  for (const [what, arr] of perFeature) {
    if (arr !== undefined && arr.length !== f) {
      throw new OnnxError('BAD_SHAPE', `${what} has ${arr.length} values, expected ${f}`);
    }
  }
  for (const s of spec.scale) {
    if (!Number.isFinite(s) || s === 0) {
      throw new OnnxError('BAD_VALUE', 'scale values must be finite and non-zero');
    }
  }
  if (spec.layers.length === 0) throw new OnnxError('BAD_SHAPE', 'at least one layer is required');
  const shapes: LayerShape[] = [];
  let inputs = f;
  spec.layers.forEach((layer, index) => {
    const outputs = layer.bias.length;
    if (outputs < 1 || layer.weights.length !== inputs * outputs) {
      throw new OnnxError(
        'BAD_SHAPE',
        `layer ${index}: ${layer.weights.length} weights and ${outputs} biases do not fit ${inputs} inputs`,
      );
    }
    shapes.push({ inputs, outputs });
    inputs = outputs;
  });
  if (inputs !== 1) throw new OnnxError('BAD_SHAPE', `the last layer must have 1 output, has ${inputs}`);
  return shapes;
}

/** The ONNX model description of an MLP classifier (see the diagram at the top of this file). */
export function mlpModelSpec(spec: MlpClassifierSpec): OnnxModelSpec {
  const shapes = mlpLayerShapes(spec);
  const f = spec.featureCount;
  const initializers: FloatInitializer[] = [];
  const nodes: OnnxNode[] = [];
  let current = spec.inputName;
  if (spec.impute !== undefined) {
    initializers.push({ name: 'impute_value', dims: [f], values: spec.impute });
    nodes.push({ name: 'impute_isnan', opType: 'IsNaN', inputs: [current], outputs: ['x_isnan'] });
    nodes.push({
      name: 'impute_where',
      opType: 'Where',
      inputs: ['x_isnan', 'impute_value', current],
      outputs: ['x_imputed'],
    });
    current = 'x_imputed';
  }
  initializers.push({ name: 'standardize_center', dims: [f], values: spec.center });
  initializers.push({ name: 'standardize_scale', dims: [f], values: spec.scale });
  nodes.push({
    name: 'standardize_sub',
    opType: 'Sub',
    inputs: [current, 'standardize_center'],
    outputs: ['x_centered'],
  });
  nodes.push({
    name: 'standardize_div',
    opType: 'Div',
    inputs: ['x_centered', 'standardize_scale'],
    outputs: ['x_standardized'],
  });
  current = 'x_standardized';
  const activationOp = spec.activation === 'tanh' ? 'Tanh' : 'Relu';
  spec.layers.forEach((layer, index) => {
    const shape = shapes[index];
    if (shape === undefined) throw new OnnxError('BAD_SHAPE', `layer ${index} has no shape`);
    const w = `dense${index}_weight`;
    const b = `dense${index}_bias`;
    initializers.push({ name: w, dims: [shape.inputs, shape.outputs], values: layer.weights });
    initializers.push({ name: b, dims: [shape.outputs], values: layer.bias });
    const last = index === spec.layers.length - 1;
    const linear = last ? 'logit' : `dense${index}_linear`;
    nodes.push({ name: `dense${index}_gemm`, opType: 'Gemm', inputs: [current, w, b], outputs: [linear] });
    if (last) {
      current = linear;
    } else {
      const activated = `dense${index}_${spec.activation}`;
      nodes.push({ name: activated, opType: activationOp, inputs: [linear], outputs: [activated] });
      current = activated;
    }
  });
  nodes.push({ name: 'output_sigmoid', opType: 'Sigmoid', inputs: [current], outputs: [spec.outputName] });
  return {
    graphName: spec.graphName ?? 'mlp_classifier',
    docString: spec.docString,
    producerName: 'vigil',
    producerVersion: spec.producerVersion ?? ONNX_WRITER_VERSION,
    domain: '',
    modelVersion: spec.modelVersion ?? 1,
    metadata: spec.metadata,
    inputs: [{ name: spec.inputName, shape: [BATCH_DIM, f] }],
    outputs: [{ name: spec.outputName, shape: [BATCH_DIM, 1] }],
    initializers,
    nodes,
  };
}

/** Serialises an MLP classifier as ONNX (IR 8, opset 17); identical inputs give identical bytes. */
export function buildMlpClassifier(spec: MlpClassifierSpec): Uint8Array {
  return encodeModel(mlpModelSpec(spec));
}

/**
 * Float64 forward pass over the same (float32) parameters as the graph, for parity checks.
 * `x` is row-major [n, featureCount]; returns p(positive) per row.
 */
export function mlpReferenceForward(spec: MlpClassifierSpec, x: ArrayLike<number>, n: number): Float64Array {
  const shapes = mlpLayerShapes(spec);
  const f = spec.featureCount;
  if (x.length !== n * f) throw new OnnxError('BAD_SHAPE', `x has ${x.length} values, expected ${n * f}`);
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let act = new Float64Array(f);
    for (let j = 0; j < f; j++) {
      let v = x[r * f + j] ?? Number.NaN;
      if (Number.isNaN(v) && spec.impute !== undefined) v = spec.impute[j] ?? Number.NaN;
      act[j] = (v - (spec.center[j] ?? 0)) / (spec.scale[j] ?? 1);
    }
    spec.layers.forEach((layer, index) => {
      const { inputs, outputs } = shapes[index] ?? { inputs: 0, outputs: 0 };
      const next = new Float64Array(outputs);
      for (let o = 0; o < outputs; o++) {
        let s = layer.bias[o] ?? 0;
        for (let i = 0; i < inputs; i++) s += (act[i] ?? 0) * (layer.weights[i * outputs + o] ?? 0);
        const last = index === spec.layers.length - 1;
        next[o] = last ? s : spec.activation === 'tanh' ? Math.tanh(s) : Math.max(0, s);
      }
      act = next;
    });
    out[r] = 1 / (1 + Math.exp(-(act[0] ?? 0)));
  }
  return out;
}
