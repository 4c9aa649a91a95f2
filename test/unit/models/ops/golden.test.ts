// Golden vectors: expected values from SciPy/NumPy (test/fixtures/ops/generate.py, committed with
// its output). Tolerances are relative to the largest expected magnitude.
import { describe, expect, it } from 'vitest';
import {
  applyOp,
  channelOf,
  expectClose,
  expectNumber,
  f64,
  featuresOf,
  fixture,
  signal,
} from './helpers.ts';

interface FilterFixture {
  readonly rateHz: number;
  readonly inputs: Readonly<Record<string, readonly (number | null)[]>>;
  readonly cases: readonly {
    readonly op: string;
    readonly params: Readonly<Record<string, unknown>>;
    readonly input: string;
    readonly expected: readonly (number | null)[];
  }[];
}

describe('filters vs scipy.signal (butter/iirnotch/firwin with sosfilt, sosfiltfilt, lfilter)', () => {
  const fx = fixture('filters.json') as FilterFixture;
  for (const c of fx.cases) {
    it(`${c.op} ${JSON.stringify(c.params)} on ${c.input}`, () => {
      const x = fx.inputs[c.input] ?? [];
      const y = applyOp(`${c.op}@1`, c.params, [signal(fx.rateHz, x)]);
      // Float64 cascades agree with SciPy to ~1e-12; 1e-9 leaves room for the summation order.
      expectClose(channelOf(y), f64(c.expected), 1e-9, c.op);
    });
  }

  it('filters every channel independently and identically', () => {
    const x = f64(fx.inputs.x ?? []);
    const y = applyOp('butter_bandpass@1', { lowHz: 5, highHz: 15 }, [
      signal(
        fx.rateHz,
        x,
        x.map((v) => 2 * v),
      ),
    ]);
    const a = channelOf(y, 0);
    const b = channelOf(y, 1);
    expectClose(
      b,
      a.map((v) => 2 * v),
      1e-12,
    );
  });
});

interface ConditioningFixture {
  readonly input: readonly (number | null)[];
  readonly cases: readonly {
    readonly op: string;
    readonly params: Readonly<Record<string, unknown>>;
    readonly rateHz: number;
    readonly expected: readonly (number | null)[];
  }[];
}

describe('detrend / normalize / resample vs scipy.signal.detrend, numpy, resample_poly, numpy.interp', () => {
  const fx = fixture('conditioning.json') as ConditioningFixture;
  for (const c of fx.cases) {
    it(`${c.op} ${JSON.stringify(c.params)} from ${c.rateHz} Hz`, () => {
      const y = applyOp(`${c.op}@1`, c.params, [signal(c.rateHz, fx.input)]);
      expectClose(channelOf(y), f64(c.expected), 1e-9, c.op);
      if (c.op === 'resample' && y.kind === 'signal') expect(y.rateHz).toBe(c.params.targetHz);
    });
  }
});

interface SqiFixture {
  readonly cases: readonly {
    readonly name: string;
    readonly rateHz: number;
    readonly params: Readonly<Record<string, unknown>>;
    readonly input: readonly (number | null)[];
    readonly expected: Readonly<Record<string, number | null>>;
  }[];
}

describe('ecg_sqi vs scipy.signal.welch band powers and scipy.stats.kurtosis', () => {
  for (const c of (fixture('sqi.json') as SqiFixture).cases) {
    it(c.name, () => {
      const f = featuresOf(applyOp('ecg_sqi@1', c.params, [signal(c.rateHz, c.input)]));
      for (const [k, v] of Object.entries(c.expected)) expectNumber(f[k], v, 1e-9, `${c.name} ${k}`);
    });
  }
});

interface RrFixture {
  readonly names: readonly string[];
  readonly cases: readonly {
    readonly name: string;
    readonly minIntervals: number;
    readonly rr: readonly (number | null)[];
    readonly expected: Readonly<Record<string, number | null>>;
  }[];
}

describe('rr_features vs an independent NumPy implementation', () => {
  const fx = fixture('rr.json') as RrFixture;
  for (const c of fx.cases) {
    it(c.name, () => {
      const out = applyOp('rr_features@1', { minIntervals: c.minIntervals }, [
        { kind: 'series', unit: 'ms', values: f64(c.rr) },
      ]);
      expect(out.kind === 'features' ? out.names : []).toEqual(fx.names);
      const f = featuresOf(out);
      for (const [k, v] of Object.entries(c.expected)) expectNumber(f[k], v, 1e-9, `${c.name} ${k}`);
    });
  }
});

interface AccelFixture {
  readonly names: readonly string[];
  readonly cases: readonly {
    readonly name: string;
    readonly rateHz: number;
    readonly params: Readonly<Record<string, unknown>>;
    readonly x: readonly (number | null)[];
    readonly y: readonly (number | null)[];
    readonly z: readonly (number | null)[];
    readonly expected: Readonly<Record<string, number | null>>;
  }[];
}

describe('accel_features vs an independent NumPy implementation', () => {
  const fx = fixture('accel.json') as AccelFixture;
  for (const c of fx.cases) {
    it(c.name, () => {
      const out = applyOp('accel_features@1', c.params, [signal(c.rateHz, c.x, c.y, c.z)]);
      expect(out.kind === 'features' ? out.names : []).toEqual(fx.names);
      expect(fx.names).toHaveLength(16);
      const f = featuresOf(out);
      for (const [k, v] of Object.entries(c.expected)) expectNumber(f[k], v, 1e-9, `${c.name} ${k}`);
    });
  }
});

interface PpgFixture {
  readonly cases: readonly {
    readonly name: string;
    readonly rateHz: number;
    readonly x: readonly (number | null)[];
    readonly peaks: readonly number[];
    readonly expected: Readonly<Record<string, number | null>>;
  }[];
}

describe('ppg_template_sqi vs an independent NumPy implementation', () => {
  for (const c of (fixture('ppg_template.json') as PpgFixture).cases) {
    it(c.name, () => {
      const f = featuresOf(
        applyOp('ppg_template_sqi@1', {}, [
          signal(c.rateHz, c.x),
          { kind: 'events', rateHz: c.rateHz, length: c.x.length, indices: Int32Array.from(c.peaks) },
        ]),
      );
      for (const [k, v] of Object.entries(c.expected)) expectNumber(f[k], v, 1e-9, `${c.name} ${k}`);
    });
  }
});
