// The contract between the signed manifest's `preprocessing` list and the op implementations.
// A manifest composes named, versioned ops into a small DAG over named values; the runtime and the
// training code run the very same functions, so what was validated is what runs on the device.

/** A value flowing between preprocessing steps. Samples are Float64 for numeric headroom. */
export type OpValue =
  /** Uniformly sampled channels of one window (equal lengths). */
  | { readonly kind: 'signal'; readonly rateHz: number; readonly channels: readonly Float64Array[] }
  /** Sample indices (ascending) of detected events such as R peaks, within a window of `length` samples. */
  | {
      readonly kind: 'events';
      readonly rateHz: number;
      readonly length: number;
      readonly indices: Int32Array;
    }
  /** A plain numeric series without a sample rate, e.g. RR intervals in ms. */
  | { readonly kind: 'series'; readonly unit: string; readonly values: Float64Array }
  /** Named scalar features, in a fixed order. NaN marks "not computable for this window". */
  | { readonly kind: 'features'; readonly names: readonly string[]; readonly values: Float64Array };

export type OpValueKind = OpValue['kind'];

export type OpErrorCode =
  | 'UNKNOWN_OP' // name not in the catalogue
  | 'UNKNOWN_VERSION' // name known, version not
  | 'BAD_PARAMS' // params fail validation
  | 'BAD_INPUT' // wrong number or kind of inputs, or inconsistent shapes
  | 'BAD_GRAPH'; // undefined value names, duplicate outputs, cycles

export class OpError extends Error {
  constructor(
    readonly code: OpErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OpError';
  }
}

/** One catalogue entry. `parseParams` validates `unknown` field by field (it comes from a manifest). */
export interface OpDefinition<P = unknown> {
  readonly name: string;
  readonly version: number;
  readonly summary: string;
  readonly inputs: readonly OpValueKind[];
  readonly output: OpValueKind;
  parseParams(raw: unknown): P;
  apply(inputs: readonly OpValue[], params: P): OpValue;
}

/** A step as written in the manifest. `inputs` name earlier outputs or the window itself (`input`). */
export interface PreprocessingStep {
  readonly op: string;
  readonly version: number;
  readonly inputs: readonly string[];
  readonly output: string;
  readonly params: Readonly<Record<string, unknown>>;
}

// ---------------------------------------------------------------------------------------------
// Compatible extensions (ops library): compile-time shapes and prepared kernels.

/** What compilation knows about a value before any sample arrives. Lengths may differ at run time. */
export type ValueShape =
  | {
      readonly kind: 'signal';
      readonly rateHz: number;
      readonly channels: number;
      /** Samples per channel in a nominal window (from the manifest); kernels accept any length. */
      readonly length: number;
    }
  | { readonly kind: 'events'; readonly rateHz: number; readonly length: number }
  | { readonly kind: 'series'; readonly unit: string }
  | { readonly kind: 'features'; readonly names: readonly string[] };

/**
 * A step bound to its parameters and input shapes. `run` may reuse buffers it owns between calls:
 * `signal`, `events` and `series` outputs are valid until the next `run` of the same kernel;
 * `features` outputs are always freshly allocated.
 */
export interface OpKernel {
  run(inputs: readonly OpValue[]): OpValue;
}

export interface PreparedOp {
  readonly shape: ValueShape;
  readonly kernel: OpKernel;
}

/** Documentation of one parameter (for docs/ops.md and error messages). */
export interface ParamDoc {
  readonly name: string;
  readonly type: string;
  readonly unit: string | null;
  /** Default as it appears in a manifest (JSON text), or null when the parameter is required. */
  readonly default: string | null;
  readonly description: string;
}

/** A catalogue entry: the contract above plus what the plan compiler needs. */
export interface OpImplementation<P = unknown> extends OpDefinition<P> {
  /** `name@version`. */
  readonly key: string;
  /** When true, the last input kind may repeat (at least `inputs.length` inputs). */
  readonly variadic: boolean;
  readonly params: readonly ParamDoc[];
  /** Where the method comes from (paper, standard or reference implementation). */
  readonly reference: string;
  /** Checks params against the input shapes (rates, channel counts, names) and binds a kernel. */
  prepare(shapes: readonly ValueShape[], params: P): PreparedOp;
}
