// Property tests (fast-check, fixed seeds): hostile inputs never crash an op or a plan with
// anything but OpError('BAD_INPUT'), never hang, and features are finite or NaN — never ±Infinity.
// Garbage in a manifest is always refused with an OpError code.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OP_CATALOGUE, OpError, compilePreprocessing, sqiSteps } from '../../../../models/ops/index.ts';
import type {
  OpImplementation,
  OpValue,
  OpValueKind,
  PreprocessingStep,
} from '../../../../models/ops/index.ts';
import { AF_ECG_INPUT, AF_ECG_STEPS, AF_PPG_INPUT, AF_PPG_STEPS, FALL_INPUT, FALL_STEPS } from './plans.ts';

const SEED = 20240611;
const TIME_LIMIT_MS = 2000;

/** Valid parameters and the signal each op is exercised with. */
const SETUP: Readonly<
  Record<
    string,
    { readonly params: Record<string, unknown>; readonly rateHz: number; readonly channels: number }
  >
> = {
  'select_channels@1': { params: { channels: [1, 0] }, rateHz: 250, channels: 2 },
  'magnitude@1': { params: {}, rateHz: 50, channels: 3 },
  'butter_lowpass@1': { params: { cutoffHz: 10 }, rateHz: 250, channels: 2 },
  'butter_highpass@1': { params: { cutoffHz: 0.5, mode: 'causal_steady' }, rateHz: 250, channels: 1 },
  'butter_bandpass@1': { params: { lowHz: 5, highHz: 15 }, rateHz: 250, channels: 1 },
  'notch@1': { params: { f0Hz: 50 }, rateHz: 250, channels: 1 },
  'fir_bandpass@1': { params: { lowHz: 5, highHz: 15, taps: 31 }, rateHz: 250, channels: 1 },
  'detrend@1': { params: {}, rateHz: 250, channels: 1 },
  'normalize@1': { params: { method: 'minmax' }, rateHz: 250, channels: 1 },
  'resample@1': { params: { targetHz: 100 }, rateHz: 250, channels: 1 },
  'pan_tompkins@1': { params: {}, rateHz: 250, channels: 1 },
  'pulse_peaks@1': { params: {}, rateHz: 64, channels: 1 },
  'rr_intervals@1': { params: {}, rateHz: 250, channels: 1 },
  'rr_features@1': { params: { minIntervals: 2 }, rateHz: 250, channels: 1 },
  'accel_features@1': { params: {}, rateHz: 50, channels: 3 },
  'activity_level@1': { params: {}, rateHz: 50, channels: 3 },
  'ecg_sqi@1': { params: {}, rateHz: 250, channels: 1 },
  'ppg_template_sqi@1': { params: { minBeats: 2 }, rateHz: 64, channels: 1 },
  'concat_features@1': { params: {}, rateHz: 250, channels: 1 },
  'select_features@1': { params: { names: ['b', 'a'] }, rateHz: 250, channels: 1 },
};

const hostileSample = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -5, max: 5, noNaN: true }) },
  { weight: 2, arbitrary: fc.double() }, // includes NaN, ±Infinity, −0, extremes
  { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 1e308, -1e308, 5e-324, 0) },
);

/** Hostile sample arrays: random, constant, empty, length 1, huge values. */
const hostileArray = fc.oneof(
  fc.array(hostileSample, { maxLength: 600 }),
  fc.tuple(hostileSample, fc.integer({ min: 0, max: 600 })).map(([v, n]) => new Array<number>(n).fill(v)),
  fc.constantFrom([], [1], [NaN], [Infinity]),
  fc.array(fc.double({ min: -1e300, max: 1e300, noNaN: true }), { minLength: 1, maxLength: 300 }),
);

function hostileSignal(rateHz: number, channels: number): fc.Arbitrary<OpValue> {
  return fc
    .tuple(hostileArray, fc.array(hostileSample, { minLength: channels, maxLength: channels }))
    .map(([base, offsets]) => ({
      kind: 'signal' as const,
      rateHz,
      channels: offsets.map((o, c) => Float64Array.from(base, (v, i) => (c === 0 ? v : v * (i % 3) + o))),
    }));
}

function hostileEvents(rateHz: number): fc.Arbitrary<OpValue> {
  return fc
    .tuple(fc.integer({ min: 0, max: 2000 }), fc.array(fc.integer({ min: 0, max: 1999 }), { maxLength: 80 }))
    .map(([length, idx]) => {
      const sorted = [...new Set(idx.filter((i) => i < length))].sort((a, b) => a - b);
      return { kind: 'events' as const, rateHz, length, indices: Int32Array.from(sorted) };
    });
}

const hostileSeries: fc.Arbitrary<OpValue> = hostileArray.map((v) => ({
  kind: 'series' as const,
  unit: 'ms',
  values: Float64Array.from(v, (x) => x * 400 + 800),
}));

const hostileFeatures: fc.Arbitrary<OpValue> = fc
  .array(hostileSample, { minLength: 2, maxLength: 2 })
  .map((v) => ({ kind: 'features' as const, names: ['a', 'b'], values: Float64Array.from(v) }));

function inputsFor(op: OpImplementation, rateHz: number, channels: number): fc.Arbitrary<OpValue[]> {
  const kinds: OpValueKind[] = op.variadic ? [...op.inputs, ...op.inputs] : [...op.inputs];
  return fc.tuple(
    ...kinds.map((k): fc.Arbitrary<OpValue> => {
      switch (k) {
        case 'signal':
          return hostileSignal(rateHz, channels);
        case 'events':
          return hostileEvents(rateHz);
        case 'series':
          return hostileSeries;
        case 'features':
          return hostileFeatures;
      }
    }),
  );
}

function checkOutput(v: OpValue): void {
  switch (v.kind) {
    case 'features':
      for (const x of v.values) expect(x === Infinity || x === -Infinity, `feature ${x}`).toBe(false);
      expect(v.names).toHaveLength(v.values.length);
      break;
    case 'events': {
      let prev = -1;
      for (const i of v.indices) {
        expect(i).toBeGreaterThan(prev);
        expect(i).toBeLessThan(v.length);
        prev = i;
      }
      break;
    }
    case 'signal': {
      const n = v.channels[0]?.length ?? 0;
      for (const c of v.channels) expect(c.length).toBe(n);
      break;
    }
    case 'series':
      break;
  }
}

function onlyBadInput(fn: () => OpValue): void {
  const t0 = performance.now();
  try {
    checkOutput(fn());
  } catch (e) {
    if (!(e instanceof OpError)) throw e;
    expect(e.code, e.message).toBe('BAD_INPUT');
  }
  expect(performance.now() - t0).toBeLessThan(TIME_LIMIT_MS);
}

describe('every op on hostile inputs', () => {
  it('has a setup for every catalogue entry', () => {
    expect(Object.keys(SETUP).sort()).toEqual([...OP_CATALOGUE.keys()].sort());
  });
  for (const [key, op] of OP_CATALOGUE) {
    const setup = SETUP[key];
    if (setup === undefined) continue;
    it(`${key}: returns a well-formed value or OpError BAD_INPUT, quickly`, () => {
      const params = op.parseParams(setup.params);
      fc.assert(
        fc.property(inputsFor(op, setup.rateHz, setup.channels), (inputs) => {
          onlyBadInput(() => op.apply(inputs, params));
        }),
        { seed: SEED, numRuns: 60 },
      );
    });
  }

  it('direct apply refuses malformed values with BAD_INPUT', () => {
    const op = OP_CATALOGUE.get('detrend@1');
    if (op === undefined) throw new Error('missing');
    const params = op.parseParams({});
    fc.assert(
      fc.property(fc.anything(), fc.array(fc.anything(), { maxLength: 3 }), (a, list) => {
        for (const inputs of [[a], list, a]) {
          try {
            checkOutput(op.apply(inputs as OpValue[], params));
          } catch (e) {
            expect(e).toBeInstanceOf(OpError);
            expect((e as OpError).code).toBe('BAD_INPUT');
          }
        }
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('plans on hostile windows', () => {
  const plans = [
    ['fall', compilePreprocessing(FALL_STEPS, FALL_INPUT, 'features')],
    ['af-ecg', compilePreprocessing(AF_ECG_STEPS, AF_ECG_INPUT, 'features')],
    ['af-ppg', compilePreprocessing(AF_PPG_STEPS, AF_PPG_INPUT, 'features')],
    ['ecg-sqi', compilePreprocessing(sqiSteps(['ecg_psqi']), AF_ECG_INPUT, 'sqi')],
    ['ppg-sqi', compilePreprocessing(sqiSteps(['ppg_template_sqi']), AF_PPG_INPUT, 'sqi')],
  ] as const;
  for (const [name, plan] of plans) {
    it(`${name}: features finite or NaN for any samples`, () => {
      fc.assert(
        fc.property(hostileSignal(plan.input.rateHz, plan.input.channels), (w) => {
          onlyBadInput(() => plan.run(w));
        }),
        { seed: SEED, numRuns: 80 },
      );
    });
  }

  it('anything that is not a matching window is refused with BAD_INPUT', () => {
    const plan = compilePreprocessing(FALL_STEPS, FALL_INPUT, 'features');
    const wrongWindow = fc.oneof(
      fc.anything(),
      fc.record({
        kind: fc.constant('signal'),
        rateHz: fc.double(),
        channels: fc.array(fc.anything(), { maxLength: 4 }),
      }),
      hostileSignal(50, 2),
      hostileSignal(25, 3),
    );
    fc.assert(
      fc.property(wrongWindow, (w) => {
        try {
          plan.run(w as OpValue);
        } catch (e) {
          expect(e).toBeInstanceOf(OpError);
          expect((e as OpError).code).toBe('BAD_INPUT');
          return;
        }
        throw new Error('accepted a window that does not match the plan');
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('compilation of garbage', () => {
  const keys = [...OP_CATALOGUE.keys()];
  const garbageParams = fc.oneof(
    fc.anything(),
    fc.dictionary(fc.string({ maxLength: 12 }), fc.anything(), { maxKeys: 4 }),
    fc.constantFrom(...keys).map((k) => {
      const p = SETUP[k]?.params ?? {};
      return Object.fromEntries(Object.keys(p).map((n) => [n, 'x']));
    }),
    fc.record(
      { cutoffHz: fc.double(), lowHz: fc.double(), highHz: fc.double(), order: fc.double() },
      { requiredKeys: [] },
    ),
  );

  it('random params for every op are accepted or refused with an OpError code', () => {
    fc.assert(
      fc.property(fc.constantFrom(...keys), garbageParams, (key, params) => {
        const [op = '', version = '1'] = key.split('@');
        const steps: PreprocessingStep[] = [
          {
            op,
            version: Number(version),
            inputs: ['input'],
            output: 'x',
            params: params as Record<string, unknown>,
          },
        ];
        try {
          compilePreprocessing(steps, AF_ECG_INPUT, 'x');
        } catch (e) {
          expect(e).toBeInstanceOf(OpError);
          expect(['BAD_PARAMS', 'BAD_INPUT', 'BAD_GRAPH']).toContain((e as OpError).code);
        }
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('string params where numbers belong are always BAD_PARAMS', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('butter_lowpass', 'notch', 'pan_tompkins', 'accel_features'),
        fc.string(),
        (op, s) => {
          const field = {
            butter_lowpass: 'cutoffHz',
            notch: 'f0Hz',
            pan_tompkins: 'lowHz',
            accel_features: 'preImpactS',
          }[op];
          const steps: PreprocessingStep[] = [
            { op, version: 1, inputs: ['input'], output: 'x', params: { [field]: s } },
          ];
          try {
            compilePreprocessing(steps, { rateHz: 250, channels: 3, length: 7500 }, 'x');
          } catch (e) {
            expect(e).toBeInstanceOf(OpError);
            expect((e as OpError).code).toBe('BAD_PARAMS');
            return;
          }
          throw new Error('accepted a string parameter');
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('random step lists and input shapes never throw anything but OpError', () => {
    const stepLike = fc.record(
      {
        op: fc.oneof(fc.constantFrom(...keys.map((k) => k.split('@')[0] ?? '')), fc.anything()),
        version: fc.oneof(fc.constant(1), fc.anything()),
        inputs: fc.oneof(
          fc.constant(['input']),
          fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
          fc.anything(),
        ),
        output: fc.oneof(fc.constant('x'), fc.string({ maxLength: 8 }), fc.anything()),
        params: fc.oneof(fc.constant({}), fc.anything()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), fc.array(stepLike, { maxLength: 5 })),
        fc.oneof(fc.constant(AF_ECG_INPUT), fc.anything()),
        fc.oneof(fc.constant('x'), fc.anything()),
        (steps, input, final) => {
          try {
            compilePreprocessing(steps as PreprocessingStep[], input as typeof AF_ECG_INPUT, final as string);
          } catch (e) {
            if (!(e instanceof OpError)) throw e;
          }
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });
});
