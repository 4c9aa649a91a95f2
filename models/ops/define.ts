// Building blocks shared by every op: the definition helper, input validation and shape checks.
import { OpError } from './types.ts';
import type { OpImplementation, OpValue, OpValueKind, PreparedOp, ValueShape } from './types.ts';
import { describeValue, docsOf, parseWith, paramsFail } from './params.ts';
import type { ParamSpec, Parsed } from './params.ts';

/** Hard caps on what a window may hold; beyond them the input is refused, not processed slowly. */
export const MAX_CHANNELS = 64;
export const MAX_SAMPLES = 1 << 21;
export const MAX_RATE_HZ = 100_000;

export type SignalShape = Extract<ValueShape, { kind: 'signal' }>;
export type EventsShape = Extract<ValueShape, { kind: 'events' }>;
export type FeaturesShape = Extract<ValueShape, { kind: 'features' }>;
export type SignalValue = Extract<OpValue, { kind: 'signal' }>;
export type EventsValue = Extract<OpValue, { kind: 'events' }>;
export type SeriesValue = Extract<OpValue, { kind: 'series' }>;
export type FeaturesValue = Extract<OpValue, { kind: 'features' }>;

function badInput(message: string): never {
  throw new OpError('BAD_INPUT', message);
}

/** Checks a value handed in from outside (window, or a direct `apply`) and returns its shape. */
export function shapeOfValue(v: unknown, what: string): ValueShape {
  if (typeof v !== 'object' || v === null) badInput(`${what} must be an op value, got ${describeValue(v)}`);
  const o = v as Record<string, unknown>;
  switch (o.kind) {
    case 'signal': {
      const rateHz = o.rateHz;
      if (typeof rateHz !== 'number' || !(rateHz > 0 && rateHz <= MAX_RATE_HZ)) {
        badInput(`${what}.rateHz must be in (0, ${MAX_RATE_HZ}], got ${describeValue(rateHz)}`);
      }
      const chans = o.channels;
      if (!Array.isArray(chans) || chans.length === 0 || chans.length > MAX_CHANNELS) {
        badInput(`${what}.channels must be an array of 1..${MAX_CHANNELS} Float64Array`);
      }
      let length = -1;
      for (const c of chans as readonly unknown[]) {
        if (!(c instanceof Float64Array)) badInput(`${what}.channels must hold Float64Array only`);
        if (c.length > MAX_SAMPLES) badInput(`${what} has more than ${MAX_SAMPLES} samples per channel`);
        if (length >= 0 && c.length !== length) badInput(`${what}.channels have unequal lengths`);
        length = c.length;
      }
      return { kind: 'signal', rateHz, channels: chans.length, length };
    }
    case 'events': {
      const { rateHz, length, indices } = o;
      if (typeof rateHz !== 'number' || !(rateHz > 0 && rateHz <= MAX_RATE_HZ)) {
        badInput(`${what}.rateHz must be in (0, ${MAX_RATE_HZ}], got ${describeValue(rateHz)}`);
      }
      if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0 || length > MAX_SAMPLES) {
        badInput(`${what}.length must be an integer in 0..${MAX_SAMPLES}`);
      }
      if (!(indices instanceof Int32Array)) badInput(`${what}.indices must be an Int32Array`);
      let prev = -1;
      for (const i of indices) {
        if (i <= prev || i >= length)
          badInput(`${what}.indices must be strictly ascending within [0, length)`);
        prev = i;
      }
      return { kind: 'events', rateHz, length };
    }
    case 'series': {
      if (typeof o.unit !== 'string' || o.unit.length > 32) badInput(`${what}.unit must be a short string`);
      if (!(o.values instanceof Float64Array) || o.values.length > MAX_SAMPLES) {
        badInput(`${what}.values must be a Float64Array of at most ${MAX_SAMPLES} values`);
      }
      return { kind: 'series', unit: o.unit };
    }
    case 'features': {
      const { names, values } = o;
      if (!Array.isArray(names) || !(values instanceof Float64Array) || names.length !== values.length) {
        badInput(`${what} must have names (string[]) and values (Float64Array) of equal length`);
      }
      const list: readonly unknown[] = names;
      if (list.length > 4096 || !list.every((n): n is string => typeof n === 'string')) {
        badInput(`${what}.names must be at most 4096 strings`);
      }
      return { kind: 'features', names: list };
    }
    default:
      return badInput(
        `${what}.kind must be signal, events, series or features, got ${describeValue(o.kind)}`,
      );
  }
}

/** Input kinds and count against the op's declaration (compile time and direct `apply`). */
export function checkInputKinds(
  key: string,
  declared: readonly OpValueKind[],
  variadic: boolean,
  actual: readonly OpValueKind[],
): void {
  const countOk = variadic ? actual.length >= declared.length : actual.length === declared.length;
  if (!countOk) {
    badInput(
      `${key} takes ${variadic ? 'at least ' : ''}${declared.length} input(s) (${declared.join(', ')}), got ${actual.length}`,
    );
  }
  actual.forEach((kind, i) => {
    const want = declared[Math.min(i, declared.length - 1)];
    if (kind !== want) badInput(`${key} input ${i} must be ${want}, got ${kind}`);
  });
}

export interface OpSpecInput<S extends ParamSpec> {
  readonly name: string;
  readonly version: number;
  readonly summary: string;
  readonly reference: string;
  readonly inputs: readonly OpValueKind[];
  readonly variadic?: boolean;
  readonly output: OpValueKind;
  readonly params: S;
  /** Cross-field checks; call `fail` with a message to reject. */
  readonly check?: (p: Parsed<S>, fail: (message: string) => never) => void;
  readonly prepare: (shapes: readonly ValueShape[], p: Parsed<S>, key: string) => PreparedOp;
}

export function defineOp<S extends ParamSpec>(spec: OpSpecInput<S>): OpImplementation<Parsed<S>> {
  const key = `${spec.name}@${spec.version}`;
  const variadic = spec.variadic ?? false;
  const fail = (message: string): never => paramsFail(key, message);
  const op: OpImplementation<Parsed<S>> = {
    name: spec.name,
    version: spec.version,
    key,
    summary: spec.summary,
    reference: spec.reference,
    inputs: Object.freeze([...spec.inputs]),
    variadic,
    output: spec.output,
    params: docsOf(spec.params),
    parseParams(raw: unknown): Parsed<S> {
      const p = parseWith(spec.params, raw, key);
      spec.check?.(p, fail);
      return p;
    },
    prepare(shapes, p) {
      checkInputKinds(
        key,
        spec.inputs,
        variadic,
        shapes.map((s) => s.kind),
      );
      const prepared = spec.prepare(shapes, p, key);
      if (prepared.shape.kind !== spec.output) {
        throw new Error(`internal: ${key} produced ${prepared.shape.kind}, declared ${spec.output}`);
      }
      return prepared;
    },
    apply(inputs, p) {
      if (!Array.isArray(inputs)) badInput(`${key} inputs must be an array`);
      const shapes = inputs.map((v, i) => shapeOfValue(v, `${key} input ${i}`));
      return op.prepare(shapes, p).kernel.run(inputs);
    },
  };
  return Object.freeze(op);
}

// ---- shape helpers used inside `prepare` -------------------------------------------------------

export function asSignal(s: ValueShape | undefined): SignalShape {
  if (s?.kind !== 'signal') throw new OpError('BAD_INPUT', 'expected a signal input');
  return s;
}
export function asFeatures(s: ValueShape | undefined): FeaturesShape {
  if (s?.kind !== 'features') throw new OpError('BAD_INPUT', 'expected a features input');
  return s;
}

export function requireChannels(key: string, s: SignalShape, n: number): void {
  if (s.channels !== n) badInput(`${key} needs a ${n}-channel signal, got ${s.channels} channel(s)`);
}

/** Run-time accessors: the plan guarantees kinds, so a mismatch is an internal error. */
export function sig(v: OpValue | undefined): SignalValue {
  if (v?.kind !== 'signal') throw new OpError('BAD_INPUT', 'expected a signal value');
  return v;
}
export function evt(v: OpValue | undefined): EventsValue {
  if (v?.kind !== 'events') throw new OpError('BAD_INPUT', 'expected an events value');
  return v;
}
export function ser(v: OpValue | undefined): SeriesValue {
  if (v?.kind !== 'series') throw new OpError('BAD_INPUT', 'expected a series value');
  return v;
}
export function fea(v: OpValue | undefined): FeaturesValue {
  if (v?.kind !== 'features') throw new OpError('BAD_INPUT', 'expected a features value');
  return v;
}

/** Channel `i` of a signal (the plan checked the count at compile time). */
export function channel(v: SignalValue, i: number): Float64Array {
  const c = v.channels[i];
  if (c === undefined) throw new OpError('BAD_INPUT', `signal has no channel ${i}`);
  return c;
}

/** Features never carry ±Infinity: anything non-finite becomes NaN ("not computable"). */
export function sealFeatures(names: readonly string[], values: Float64Array): FeaturesValue {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) values[i] = NaN;
  }
  return { kind: 'features', names, values };
}

/** A reusable Float64Array of exactly `n` samples (reallocated only when `n` changes). */
export class Scratch {
  private buf = new Float64Array(0);
  get(n: number): Float64Array {
    if (this.buf.length !== n) this.buf = new Float64Array(n);
    return this.buf;
  }
}

export function checkNyquist(key: string, what: string, hz: number, rateHz: number): void {
  if (!(hz < rateHz / 2)) {
    paramsFail(key, `${what} (${hz} Hz) must be below the Nyquist frequency (${rateHz / 2} Hz) of the input`);
  }
}
