// Compiles a manifest's preprocessing list into an executable plan, and runs it.
// Compilation is what bundle verification calls: every op/version, parameter, value name, kind,
// channel count and rate is checked here, so a plan that compiles cannot fail for a structural
// reason at run time. Running reuses each step's scratch buffers (about 1,000 windows/s per
// gateway), so `signal`/`events`/`series` values seen through `runAll` are overwritten by the
// next run of the same plan; `features` values are always fresh.
import { OpError } from './types.ts';
import type { OpKernel, OpValue, PreprocessingStep, ValueShape } from './types.ts';
import { MAX_CHANNELS, MAX_RATE_HZ, MAX_SAMPLES, shapeOfValue } from './define.ts';
import type { FeaturesValue } from './define.ts';
import { lookupOp } from './catalogue.ts';
import { describeValue } from './params.ts';

export const INPUT_NAME = 'input';
export const MAX_STEPS = 64;
const MAX_STEP_INPUTS = 16;
const NAME_RE = /^[a-z][a-z0-9_]{0,63}$/;
const STEP_KEYS = new Set(['op', 'version', 'inputs', 'output', 'params']);

/** What the window looks like, from the manifest's input spec. */
export interface PlanInput {
  readonly rateHz: number;
  readonly channels: number;
  /** Samples per channel in a nominal window (windowS × rateHz). */
  readonly length: number;
}

export interface CompiledStep {
  readonly index: number;
  /** `name@version`. */
  readonly op: string;
  readonly inputs: readonly string[];
  readonly output: string;
  /** Parameters after validation, with defaults filled in (what actually runs). */
  readonly params: unknown;
  readonly shape: ValueShape;
}

export interface CompileOptions {
  /** When given, the final features must carry exactly these names in this order. */
  readonly expectedFeatureNames?: readonly string[];
}

export interface CompiledPlan {
  readonly input: PlanInput;
  readonly steps: readonly CompiledStep[];
  readonly finalFeatures: string;
  readonly featureNames: readonly string[];
  shapeOf(name: string): ValueShape | undefined;
  /** Runs the steps the final features depend on; returns them (fresh array). */
  run(input: OpValue): FeaturesValue;
  /** Runs every step; returns every value by name (see the aliasing note at the top). */
  runAll(input: OpValue): ReadonlyMap<string, OpValue>;
}

function graphError(message: string): never {
  throw new OpError('BAD_GRAPH', message);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function checkName(v: unknown, where: string): string {
  if (typeof v !== 'string' || !NAME_RE.test(v)) {
    graphError(`${where} must be a value name matching ${NAME_RE.source}, got ${describeValue(v)}`);
  }
  return v;
}

function checkPlanInput(input: unknown): PlanInput {
  if (!isRecord(input)) throw new OpError('BAD_INPUT', 'plan input shape must be an object');
  const { rateHz, channels, length } = input;
  if (typeof rateHz !== 'number' || !(rateHz > 0 && rateHz <= MAX_RATE_HZ)) {
    throw new OpError(
      'BAD_INPUT',
      `input rateHz must be in (0, ${MAX_RATE_HZ}], got ${describeValue(rateHz)}`,
    );
  }
  if (
    typeof channels !== 'number' ||
    !Number.isSafeInteger(channels) ||
    channels < 1 ||
    channels > MAX_CHANNELS
  ) {
    throw new OpError(
      'BAD_INPUT',
      `input channels must be an integer in 1..${MAX_CHANNELS}, got ${describeValue(channels)}`,
    );
  }
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 1 || length > MAX_SAMPLES) {
    throw new OpError(
      'BAD_INPUT',
      `input length must be an integer in 1..${MAX_SAMPLES}, got ${describeValue(length)}`,
    );
  }
  return Object.freeze({ rateHz, channels, length });
}

/** Prefixes errors from inside a step with its position, keeping the code. */
function inStep<T>(i: number, label: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof OpError) throw new OpError(e.code, `step ${i} (${label}): ${e.message}`, { cause: e });
    throw e;
  }
}

interface Bound {
  readonly kernel: OpKernel;
  readonly inputSlots: readonly number[];
  readonly outSlot: number;
  /** Reused argument list (no allocation per run). */
  readonly args: OpValue[];
}

/**
 * Validates and binds `steps` (untrusted manifest content, checked field by field) for windows
 * shaped like `input`; `finalFeatures` names the features value that feeds the model.
 */
export function compilePreprocessing(
  steps: readonly PreprocessingStep[],
  input: PlanInput,
  finalFeatures: string,
  options: CompileOptions = {},
): CompiledPlan {
  const inputShape = checkPlanInput(input);
  const rawSteps: unknown = steps;
  if (!Array.isArray(rawSteps))
    graphError(`preprocessing must be an array of steps, got ${describeValue(rawSteps)}`);
  const list: readonly unknown[] = rawSteps;
  if (list.length === 0) graphError('preprocessing must have at least one step');
  if (list.length > MAX_STEPS) graphError(`preprocessing has ${list.length} steps; at most ${MAX_STEPS}`);
  checkName(finalFeatures, 'final features name');

  const slots = new Map<string, number>([[INPUT_NAME, 0]]);
  const shapes: ValueShape[] = [
    { kind: 'signal', rateHz: inputShape.rateHz, channels: inputShape.channels, length: inputShape.length },
  ];
  // Every output name in the list, to tell a forward reference from a typo.
  const laterOutputs = new Set<string>();
  for (const s of list) if (isRecord(s) && typeof s.output === 'string') laterOutputs.add(s.output);

  const compiled: CompiledStep[] = [];
  const bound: Bound[] = [];
  list.forEach((raw, i) => {
    if (!isRecord(raw)) graphError(`step ${i} must be an object, got ${describeValue(raw)}`);
    for (const k of Object.keys(raw)) {
      if (!STEP_KEYS.has(k)) graphError(`step ${i} has unknown field ${describeValue(k)}`);
    }
    const { op: opName, version, inputs, output, params } = raw;
    if (typeof opName !== 'string')
      throw new OpError('UNKNOWN_OP', `step ${i}: op must be a string, got ${describeValue(opName)}`);
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
      throw new OpError(
        'UNKNOWN_VERSION',
        `step ${i} (${opName.slice(0, 64)}): version must be a positive integer, got ${describeValue(version)}`,
      );
    }
    const op = inStep(i, opName.slice(0, 64), () => lookupOp(opName, version));
    const label = op.key;
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_STEP_INPUTS) {
      graphError(`step ${i} (${label}): inputs must be an array of 1..${MAX_STEP_INPUTS} value names`);
    }
    const inputNames = (inputs as readonly unknown[]).map((n, j) =>
      checkName(n, `step ${i} (${label}) inputs[${j}]`),
    );
    const outName = checkName(output, `step ${i} (${label}) output`);
    const inputSlots = inputNames.map((n) => {
      const slot = slots.get(n);
      if (slot === undefined) {
        graphError(
          laterOutputs.has(n)
            ? `step ${i} (${label}) uses ${JSON.stringify(n)} before the step that produces it (steps run in order; cycles are impossible)`
            : `step ${i} (${label}) uses ${JSON.stringify(n)}, which no earlier step produces (and is not ${JSON.stringify(INPUT_NAME)})`,
        );
      }
      return slot;
    });
    if (slots.has(outName))
      graphError(`step ${i} (${label}) output ${JSON.stringify(outName)} is already defined`);
    const parsed = inStep(i, label, () => op.parseParams(params));
    const inShapes = inputSlots.map((s) => shapes[s] as ValueShape);
    const prepared = inStep(i, label, () => op.prepare(inShapes, parsed));
    const outSlot = shapes.length;
    shapes.push(prepared.shape);
    slots.set(outName, outSlot);
    compiled.push(
      Object.freeze({
        index: i,
        op: label,
        inputs: Object.freeze(inputNames),
        output: outName,
        params: parsed,
        shape: prepared.shape,
      }),
    );
    bound.push({ kernel: prepared.kernel, inputSlots, outSlot, args: [] });
  });

  const finalSlot = slots.get(finalFeatures);
  if (finalSlot === undefined)
    graphError(`no step produces the final features ${JSON.stringify(finalFeatures)}`);
  const finalShape = shapes[finalSlot];
  if (finalShape?.kind !== 'features') {
    graphError(
      `final value ${JSON.stringify(finalFeatures)} must be features, got ${finalShape?.kind ?? 'nothing'}`,
    );
  }
  const expected = options.expectedFeatureNames;
  if (expected !== undefined) {
    const same =
      expected.length === finalShape.names.length && expected.every((n, j) => n === finalShape.names[j]);
    if (!same) {
      graphError(
        `final features are [${finalShape.names.join(', ')}] but the model expects [${expected.join(', ')}]`,
      );
    }
  }

  // Steps the final features depend on (others, e.g. quality indices, run only in runAll).
  const needed = new Set<number>([finalSlot]);
  for (let j = bound.length - 1; j >= 0; j--) {
    const b = bound[j];
    if (b !== undefined && needed.has(b.outSlot)) for (const s of b.inputSlots) needed.add(s);
  }
  const runSteps = bound.filter((b) => needed.has(b.outSlot));
  const values: (OpValue | undefined)[] = new Array<OpValue | undefined>(shapes.length).fill(undefined);
  const names = [...slots.keys()];

  const admit = (v: OpValue): void => {
    const s = shapeOfValue(v, 'window');
    if (s.kind !== 'signal') throw new OpError('BAD_INPUT', `window must be a signal, got ${s.kind}`);
    if (s.channels !== inputShape.channels) {
      throw new OpError(
        'BAD_INPUT',
        `window has ${s.channels} channel(s); the plan expects ${inputShape.channels}`,
      );
    }
    if (Math.abs(s.rateHz - inputShape.rateHz) > 1e-9 * inputShape.rateHz) {
      throw new OpError(
        'BAD_INPUT',
        `window rate ${s.rateHz} Hz differs from the plan's ${inputShape.rateHz} Hz`,
      );
    }
    values[0] = v;
  };
  const exec = (list: readonly Bound[]): void => {
    for (const b of list) {
      const args = b.args;
      for (let j = 0; j < b.inputSlots.length; j++) {
        const v = values[b.inputSlots[j] ?? 0];
        if (v === undefined) throw new Error('internal: plan value missing');
        args[j] = v;
      }
      values[b.outSlot] = b.kernel.run(args);
    }
  };
  const clear = (): void => {
    values.fill(undefined);
  };

  const plan: CompiledPlan = {
    input: inputShape,
    steps: Object.freeze(compiled),
    finalFeatures,
    featureNames: finalShape.names,
    shapeOf(name) {
      const s = slots.get(name);
      return s === undefined ? undefined : shapes[s];
    },
    run(v) {
      admit(v);
      try {
        exec(runSteps);
        const out = values[finalSlot];
        if (out?.kind !== 'features') throw new Error('internal: final value is not features');
        return out;
      } finally {
        clear();
      }
    },
    runAll(v) {
      admit(v);
      try {
        exec(bound);
        const m = new Map<string, OpValue>();
        names.forEach((n, j) => {
          const val = values[j];
          if (val !== undefined) m.set(n, val);
        });
        return m;
      } finally {
        clear();
      }
    },
  };
  return Object.freeze(plan);
}
