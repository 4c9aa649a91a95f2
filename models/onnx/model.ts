// A small, validated description of an ONNX model and its deterministic protobuf encoding.
// Determinism: no timestamps; protobufjs writes fields in field-number order; repeated fields keep
// the caller's order (nodes in topological order as given); metadata is sorted by key (UTF-16
// code-unit order); tensors are written as little-endian raw_data. Same spec => same bytes.
import { OnnxError } from './errors.ts';
import { AttributeType, DataType, modelProtoType } from './schema.ts';

/** ONNX IR version 8 and default-domain opset 17 (what Debian's python3-onnx 1.12 checks). */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

/** Ops the writer accepts; all are in the default domain at opset 17. */
export const SUPPORTED_OPS: ReadonlySet<string> = new Set([
  'Add',
  'Div',
  'Gemm',
  'Identity',
  'IsNaN',
  'MatMul',
  'Mul',
  'Relu',
  'Sigmoid',
  'Sub',
  'Tanh',
  'Where',
]);

export type OnnxAttribute =
  | { readonly kind: 'int'; readonly name: string; readonly value: number }
  | { readonly kind: 'float'; readonly name: string; readonly value: number }
  | { readonly kind: 'ints'; readonly name: string; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly name: string; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly name: string; readonly value: string };

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: readonly OnnxAttribute[];
}

/** A float32 constant. `values` is row-major over `dims`. */
export interface FloatInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly values: Float32Array;
}

/** A fixed dimension (number) or a symbolic one such as the batch dimension `'N'`. */
export type Dim = number | string;

export interface FloatValueInfo {
  readonly name: string;
  readonly shape: readonly Dim[];
  readonly docString?: string;
}

export interface OnnxModelSpec {
  readonly graphName: string;
  readonly docString: string;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly domain: string;
  readonly modelVersion: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly inputs: readonly FloatValueInfo[];
  readonly outputs: readonly FloatValueInfo[];
  readonly initializers: readonly FloatInitializer[];
  readonly nodes: readonly OnnxNode[];
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.:/-]*$/;

function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new OnnxError('BAD_NAME', `${what}: invalid name ${JSON.stringify(name)}`);
  }
}

function checkDims(dims: readonly Dim[], what: string): void {
  for (const d of dims) {
    if (typeof d === 'number') {
      if (!Number.isSafeInteger(d) || d < 0) {
        throw new OnnxError('BAD_SHAPE', `${what}: bad dimension ${d}`);
      }
    } else {
      checkName(d, `${what} symbolic dimension`);
    }
  }
}

/** Validates names, definitions before use (topological order), shapes and op allow-list. */
export function validateModelSpec(spec: OnnxModelSpec): void {
  checkName(spec.graphName, 'graph');
  if (!Number.isSafeInteger(spec.modelVersion) || spec.modelVersion < 0) {
    throw new OnnxError('BAD_VALUE', `modelVersion must be a non-negative integer`);
  }
  const defined = new Set<string>();
  const define = (name: string, what: string): void => {
    checkName(name, what);
    if (defined.has(name)) throw new OnnxError('BAD_NAME', `${what}: duplicate value ${name}`);
    defined.add(name);
  };
  for (const input of spec.inputs) {
    define(input.name, 'graph input');
    checkDims(input.shape, `input ${input.name}`);
  }
  for (const init of spec.initializers) {
    define(init.name, 'initializer');
    checkDims(init.dims, `initializer ${init.name}`);
    const size = init.dims.reduce((a, d) => a * d, 1);
    if (size !== init.values.length) {
      throw new OnnxError(
        'BAD_SHAPE',
        `initializer ${init.name}: ${init.values.length} values for dims [${init.dims.join(',')}]`,
      );
    }
    for (const v of init.values) {
      if (!Number.isFinite(v)) {
        throw new OnnxError('BAD_VALUE', `initializer ${init.name}: non-finite value`);
      }
    }
  }
  const nodeNames = new Set<string>();
  for (const node of spec.nodes) {
    checkName(node.name, 'node');
    if (nodeNames.has(node.name)) throw new OnnxError('BAD_NAME', `duplicate node ${node.name}`);
    nodeNames.add(node.name);
    if (!SUPPORTED_OPS.has(node.opType)) {
      throw new OnnxError('UNSUPPORTED_OP', `node ${node.name}: op ${node.opType}`);
    }
    for (const input of node.inputs) {
      if (!defined.has(input)) {
        throw new OnnxError('UNDEFINED_VALUE', `node ${node.name} reads undefined ${input}`);
      }
    }
    for (const output of node.outputs) define(output, `node ${node.name} output`);
    for (const attr of node.attributes ?? []) checkName(attr.name, `node ${node.name} attribute`);
  }
  for (const output of spec.outputs) {
    checkName(output.name, 'graph output');
    checkDims(output.shape, `output ${output.name}`);
    if (!defined.has(output.name)) {
      throw new OnnxError('UNDEFINED_VALUE', `graph output ${output.name} is never produced`);
    }
  }
  for (const [key, value] of Object.entries(spec.metadata)) {
    if (key.length === 0 || typeof value !== 'string') {
      throw new OnnxError('BAD_VALUE', `metadata entry ${JSON.stringify(key)} is invalid`);
    }
  }
}

function float32LittleEndian(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] ?? 0, true);
  return bytes;
}

function valueInfo(info: FloatValueInfo): Record<string, unknown> {
  return {
    name: info.name,
    ...(info.docString === undefined ? {} : { doc_string: info.docString }),
    type: {
      tensor_type: {
        elem_type: DataType.FLOAT,
        shape: {
          dim: info.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })),
        },
      },
    },
  };
}

function attribute(attr: OnnxAttribute): Record<string, unknown> {
  switch (attr.kind) {
    case 'int':
      return { name: attr.name, type: AttributeType.INT, i: attr.value };
    case 'float':
      return { name: attr.name, type: AttributeType.FLOAT, f: attr.value };
    case 'ints':
      return { name: attr.name, type: AttributeType.INTS, ints: [...attr.value] };
    case 'floats':
      return { name: attr.name, type: AttributeType.FLOATS, floats: [...attr.value] };
    case 'string':
      return { name: attr.name, type: AttributeType.STRING, s: new TextEncoder().encode(attr.value) };
  }
}

/** Compares strings by UTF-16 code units (locale-independent, unlike localeCompare). */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Encodes a validated spec as ModelProto bytes (IR 8, opset 17). Byte-identical for equal specs. */
export function encodeModel(spec: OnnxModelSpec): Uint8Array {
  validateModelSpec(spec);
  const metadata = Object.keys(spec.metadata)
    .sort(compareCodeUnits)
    .map((key) => ({ key, value: spec.metadata[key] }));
  const model = {
    ir_version: ONNX_IR_VERSION,
    producer_name: spec.producerName,
    producer_version: spec.producerVersion,
    domain: spec.domain,
    model_version: spec.modelVersion,
    doc_string: spec.docString,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    metadata_props: metadata,
    graph: {
      name: spec.graphName,
      node: spec.nodes.map((node) => ({
        name: node.name,
        op_type: node.opType,
        input: [...node.inputs],
        output: [...node.outputs],
        attribute: (node.attributes ?? []).map(attribute),
      })),
      initializer: spec.initializers.map((init) => ({
        name: init.name,
        dims: [...init.dims],
        data_type: DataType.FLOAT,
        raw_data: float32LittleEndian(init.values),
      })),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  };
  const type = modelProtoType();
  const encoded = type.encode(type.fromObject(model)).finish();
  return Uint8Array.from(encoded);
}

/** Decodes ModelProto bytes into a plain object (snake_case fields, int64 as number); for tests and tools. */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  try {
    const type = modelProtoType();
    return type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true });
  } catch (cause) {
    throw new OnnxError('BAD_MODEL', 'bytes are not an ONNX ModelProto', { cause });
  }
}
