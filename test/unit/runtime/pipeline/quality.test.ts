import { describe, expect, it } from 'vitest';
import type { InputSpec, QualityPolicy } from '../../../../models/format/manifest.ts';
import { checkRawWindow, rejectMask } from '../../../../runtime/pipeline/quality.ts';
import { StreamWindower } from '../../../../runtime/pipeline/stream.ts';
import { SENSOR_FLAG, type Window } from '../../../../runtime/pipeline/types.ts';

const input: InputSpec = {
  sensor: 'ecg',
  channels: [{ name: 'lead_i', unit: 'mV', min: -5, max: 5 }],
  sampleRateHz: 100,
  rateToleranceRel: 0.01,
  windowS: 2,
  hopS: 2,
};
const policy: QualityPolicy = {
  version: 'q1',
  maxMissingFraction: 0.05,
  maxClippedFraction: 0.02,
  flatlinePeakToPeak: 0.05,
  maxRateJitterRel: 0.02,
  rejectFlags: ['lead-off', 'saturated'],
  sqi: [],
  motionGateG: null,
};
const N = 200;

/** A clean 200-sample window: a sine with a little deterministic wobble (never repeats exactly). */
function samples(): Float32Array {
  return Float32Array.from({ length: N }, (_, i) => Math.sin(i / 5) + 0.001 * Math.sin(i * 1.7));
}

function windowOf(
  x: Float32Array,
  opts: { flags?: Uint8Array; skip?: [number, number]; timestamps?: (counter: number) => number } = {},
): Window {
  const w = new StreamWindower(
    { deviceId: 'd', streamId: 's', sensor: 'ecg', rateHz: 100, channelCount: 1 },
    input,
    () => 0,
  );
  const at = opts.timestamps ?? ((c: number) => c * 10);
  const frames: [number, number][] = opts.skip
    ? [
        [0, opts.skip[0]],
        [opts.skip[1], N],
      ]
    : [
        [0, 100],
        [100, N],
      ];
  const out: Window[] = [];
  for (const [a, b] of frames) {
    out.push(
      ...w.push({
        streamId: 's',
        firstCounter: a,
        timestampMs: at(a),
        channels: [x.subarray(a, b)],
        ...(opts.flags ? { flags: opts.flags.subarray(a, b) } : {}),
      }),
    );
  }
  const window = out[0];
  if (!window) throw new Error('no window');
  return window;
}

const verdict = (w: Window, p: QualityPolicy = policy) => checkRawWindow(w, input, p, rejectMask(p));
const reason = (w: Window, p: QualityPolicy = policy) => {
  const v = verdict(w, p);
  return v.kind === 'fail' ? v.reason : 'pass';
};

describe('checkRawWindow', () => {
  it('passes a clean window', () => {
    expect(verdict(windowOf(samples()))).toEqual({ kind: 'pass' });
  });

  it('rejects flagged samples only for the flags the policy names', () => {
    const flags = new Uint8Array(N);
    flags[17] = SENSOR_FLAG.LEAD_OFF;
    expect(reason(windowOf(samples(), { flags }))).toBe('QUALITY_SENSOR_FLAG');
    const motionOnly = new Uint8Array(N);
    motionOnly[17] = SENSOR_FLAG.MOTION;
    expect(reason(windowOf(samples(), { flags: motionOnly }))).toBe('pass');
  });

  it('counts counter gaps and firmware NaN as missing, each with its own code', () => {
    expect(reason(windowOf(samples(), { skip: [100, 110] }))).toBe('pass'); // 5 % = the limit
    expect(reason(windowOf(samples(), { skip: [100, 111] }))).toBe('QUALITY_MISSING');
    const nan = samples();
    nan.fill(Number.NaN, 30, 41);
    expect(reason(windowOf(nan))).toBe('QUALITY_NAN');
    const few = samples();
    few[30] = Number.NaN;
    expect(reason(windowOf(few))).toBe('pass');
    expect(reason(windowOf(few), { ...policy, maxMissingFraction: 0 })).toBe('QUALITY_NAN');
  });

  it('rejects any ±Infinity sample', () => {
    const x = samples();
    x[3] = Number.NEGATIVE_INFINITY;
    expect(reason(windowOf(x))).toBe('QUALITY_NAN');
  });

  it('rejects timing that drifts or jumps beyond the policy', () => {
    const jump = (c: number) => (c < 100 ? c * 10 : c * 10 + 50); // +50 ms at the second frame: 2.5 %
    expect(reason(windowOf(samples(), { timestamps: jump }))).toBe('QUALITY_RATE_JITTER');
    const small = (c: number) => (c < 100 ? c * 10 : c * 10 + 30); // 1.5 %
    expect(reason(windowOf(samples(), { timestamps: small }))).toBe('pass');
  });

  it('rejects values outside the physical range', () => {
    const x = samples();
    x[50] = 7;
    expect(verdict(windowOf(x))).toMatchObject({ kind: 'fail', reason: 'QUALITY_RANGE' });
  });

  it('rejects a flat window and a stuck sensor', () => {
    expect(reason(windowOf(new Float32Array(N).fill(0.01)))).toBe('QUALITY_FLATLINE');
    const tiny = Float32Array.from({ length: N }, (_, i) => 0.01 * Math.sin(i));
    expect(reason(windowOf(tiny))).toBe('QUALITY_FLATLINE'); // peak-to-peak 0.02 < 0.05 mV
    const stuck = samples();
    stuck.fill(stuck[60] as number, 60, 71); // 11 samples (5.5 %) hold one value
    expect(reason(windowOf(stuck))).toBe('QUALITY_FLATLINE');
    const short = samples();
    short.fill(short[60] as number, 60, 66); // 6 samples (3 %): within the missing tolerance
    expect(reason(windowOf(short))).toBe('pass');
  });

  it('counts samples at a rail: a repeated extreme or the declared range edge', () => {
    const clipped = Float32Array.from(samples(), (v) => Math.min(0.9, v));
    // sin reaches 0.9 on ~14 % of samples
    expect(reason(windowOf(clipped))).toBe('QUALITY_CLIPPING');
    const light = samples();
    light[10] = 1.2;
    light[11] = 1.2;
    light[150] = 1.2; // three samples (1.5 %) at one maximum, with a plateau: under 2 %
    expect(reason(windowOf(light))).toBe('pass');
    light[170] = 1.2;
    light[180] = 1.2; // five (2.5 %)
    expect(reason(windowOf(light))).toBe('QUALITY_CLIPPING');
    // A periodic signal touching the same maximum once per period (no plateau) is not clipped.
    const periodic = Float32Array.from({ length: N }, (_, i) => Math.sin((2 * Math.PI * i) / 25));
    expect(reason(windowOf(periodic))).toBe('pass');
    const rail = samples();
    rail[20] = 5;
    rail[21] = 4.5;
    expect(reason(windowOf(rail), { ...policy, maxClippedFraction: 0 })).toBe('QUALITY_CLIPPING');
  });

  it('applies the checks in the documented order', () => {
    const x = samples();
    x[3] = Number.POSITIVE_INFINITY;
    x[50] = 7;
    const flags = new Uint8Array(N);
    flags[0] = SENSOR_FLAG.SATURATED;
    expect(reason(windowOf(x, { flags }))).toBe('QUALITY_SENSOR_FLAG');
    expect(reason(windowOf(x))).toBe('QUALITY_NAN');
  });

  it('measures windows built elsewhere (no raw stats) the same way', () => {
    const built = windowOf(samples());
    const { raw: _raw, ...legacy } = built;
    expect(verdict(legacy)).toEqual({ kind: 'pass' });
    const x = Float64Array.from(built.channels[0] ?? []);
    x[5] = Number.NaN;
    x[6] = Number.NaN;
    expect(
      reason({ ...legacy, channels: [x], missingSamples: 1 }, { ...policy, maxMissingFraction: 0.005 }),
    ).toBe('QUALITY_NAN');
    expect(reason({ ...legacy, channels: [] })).toBe('QUALITY_MISSING');
  });
});
