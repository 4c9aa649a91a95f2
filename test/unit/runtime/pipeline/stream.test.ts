import { describe, expect, it } from 'vitest';
import type { InputSpec } from '../../../../models/format/manifest.ts';
import { PipelineError } from '../../../../runtime/pipeline/errors.ts';
import { StreamWindower, streamBufferBytes } from '../../../../runtime/pipeline/stream.ts';
import type { SamplesFrame, StreamSpec, Window } from '../../../../runtime/pipeline/types.ts';

const input: InputSpec = {
  sensor: 'accel',
  channels: [
    { name: 'x', unit: 'g', min: -16, max: 16 },
    { name: 'y', unit: 'g', min: -16, max: 16 },
  ],
  sampleRateHz: 10,
  rateToleranceRel: 0.02,
  windowS: 2,
  hopS: 1,
};
const spec: StreamSpec = { deviceId: 'd1', streamId: 's1', sensor: 'accel', rateHz: 10, channelCount: 2 };

function frame(first: number, length: number, startMs = first * 100): SamplesFrame {
  const x = Float32Array.from({ length }, (_, i) => first + i);
  const y = Float32Array.from({ length }, (_, i) => -(first + i));
  return { streamId: 's1', firstCounter: first, timestampMs: startMs, channels: [x, y] };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof PipelineError) return error.code;
    throw error;
  }
  return 'none';
}

function feed(w: StreamWindower, frames: readonly SamplesFrame[]): Window[] {
  return frames.flatMap((f) => w.push(f));
}

describe('StreamWindower', () => {
  it('cuts windows at the manifest window and hop, in counter order, whatever the frame sizes', () => {
    for (const size of [1, 3, 7, 25, 50]) {
      const w = new StreamWindower(spec, input, () => 0);
      const frames = Array.from({ length: Math.ceil(50 / size) }, (_, k) =>
        frame(k * size, Math.min(size, 50 - k * size)),
      );
      const windows = feed(w, frames);
      expect(windows.map((x) => x.firstCounter)).toEqual([0, 10, 20, 30]);
      expect(windows.map((x) => x.index)).toEqual([0, 1, 2, 3]);
      const second = windows[1];
      expect(second?.channels[0]?.[0]).toBe(10);
      expect(second?.channels[0]?.[19]).toBe(29);
      expect(second?.channels[1]?.[5]).toBe(-15);
      expect(second?.startMs).toBe(1000);
      expect(second?.endMs).toBe(3000);
      expect(second?.missingSamples).toBe(0);
      expect(second?.rateJitterRel).toBe(0);
      expect(second?.raw?.channels[0]).toMatchObject({ min: 10, max: 29, atMin: 1, atMax: 1 });
    }
  });

  it('fills gaps with missing samples and skips windows entirely inside a gap', () => {
    const w = new StreamWindower(spec, input, () => 0);
    w.push(frame(0, 15));
    const windows = w.push(frame(75, 20));
    const byStart = new Map(windows.map((x) => [x.firstCounter, x]));
    expect([...byStart.keys()]).toEqual([0, 10, 60, 70]);
    expect(byStart.get(0)?.missingSamples).toBe(5);
    expect(byStart.get(10)?.missingSamples).toBe(15);
    expect(byStart.get(60)?.missingSamples).toBe(15);
    expect(byStart.get(70)?.missingSamples).toBe(5);
    expect(byStart.get(70)?.channels[0]?.[5]).toBe(75);
    expect(Number.isNaN(byStart.get(70)?.channels[0]?.[0])).toBe(true);
    expect(byStart.get(60)?.index).toBe(6);
    expect(w.statistics.windowsSkipped).toBe(4);
    expect(w.statistics.gapSamples).toBe(60);
    expect(w.statistics.gaps).toBe(1);
  });

  it('handles an enormous counter jump in constant time and keeps windowing after it', () => {
    const w = new StreamWindower(spec, input, () => 0);
    w.push(frame(0, 20));
    const jump = 10 * 2 ** 46; // timestamps need not follow: counters decide which samples are missing
    const started = performance.now();
    const windows = w.push(frame(jump, 30, 5000));
    expect(performance.now() - started).toBeLessThan(50);
    const complete = windows.filter((x) => x.missingSamples === 0);
    expect(complete.map((x) => x.firstCounter)).toEqual([jump, jump + 10]);
    expect(complete[0]?.channels[0]?.[0]).toBe(Math.fround(jump));
    expect(w.statistics.windowsSkipped).toBe(jump / 10 - 3);
  });

  it('refuses a stream whose declared rate is outside the tolerance and resamples within it', () => {
    expect(codeOf(() => new StreamWindower({ ...spec, rateHz: 10.3 }, input, () => 0))).toBe('RATE_MISMATCH');
    expect(codeOf(() => new StreamWindower({ ...spec, rateHz: Number.NaN }, input, () => 0))).toBe(
      'RATE_MISMATCH',
    );
    expect(codeOf(() => new StreamWindower({ ...spec, channelCount: 3 }, input, () => 0))).toBe(
      'CHANNEL_MISMATCH',
    );
    const long: InputSpec = { ...input, windowS: 10, hopS: 5 };
    const w = new StreamWindower({ ...spec, rateHz: 10.1 }, long, () => 0);
    expect(w.nativeWindow).toBe(101);
    expect(w.modelWindow).toBe(100);
    const windows = w.push(frame(0, 101));
    const x = windows[0]?.channels[0];
    expect(x?.length).toBe(100);
    // A ramp stays a ramp: model sample i sits at native position i·101/100.
    for (const i of [0, 1, 50, 99]) expect(x?.[i]).toBeCloseTo((i * 101) / 100, 10);
    expect(windows[0]?.rateHz).toBe(10);
    expect(windows[0]?.raw?.nativeLength).toBe(101);
  });

  it('rejects overlapping counters, ragged, empty and malformed frames with codes, then keeps working', () => {
    const w = new StreamWindower(spec, input, () => 0);
    w.push(frame(0, 10));
    const f = frame(10, 4);
    const hostile: unknown[] = [
      null,
      42,
      { ...f, channels: 'xy' },
      { ...f, channels: [[1, 2, 3, 4], new Float32Array(4)] },
      { ...f, channels: [new Float64Array(4), new Float64Array(4)] },
      { ...f, channels: [new Float32Array(4), new Float32Array(3)] },
      { ...f, channels: [new Float32Array(0), new Float32Array(0)] },
      { ...f, flags: new Uint8Array(3) },
      { ...f, flags: [0, 0, 0, 0] },
      { ...f, firstCounter: -1 },
      { ...f, firstCounter: 1.5 },
      { ...f, firstCounter: '10' },
      { ...f, firstCounter: Number.MAX_SAFE_INTEGER },
      { ...f, timestampMs: Number.NaN },
      { ...f, timestampMs: Number.POSITIVE_INFINITY },
      { ...f, timestampMs: 1e300 },
    ];
    for (const h of hostile) expect(codeOf(() => w.push(h as SamplesFrame))).toBe('BAD_FRAME');
    expect(codeOf(() => w.push(frame(5, 10)))).toBe('OUT_OF_ORDER');
    expect(codeOf(() => w.push({ ...frame(10, 4), channels: [new Float32Array(4)] }))).toBe(
      'CHANNEL_MISMATCH',
    );
    expect(w.statistics.framesRejected).toBe(hostile.length + 2);
    expect(w.push(frame(10, 10))).toHaveLength(1);
  });

  it('measures the timing spread: a timestamp jump the counters do not explain, and clock drift', () => {
    const w = new StreamWindower(spec, input, () => 0);
    w.push(frame(0, 10, 0));
    const windows = w.push(frame(10, 10, 1500)); // 10 samples should take 1000 ms, took 1500
    expect(windows[0]?.rateJitterRel).toBeCloseTo(500 / 2000, 9);
    expect(windows[0]?.endMs).toBe(2500);
    expect(w.statistics.timestampJumps).toBe(1);
    // Later windows that no longer contain the jump are clean again.
    const later = w.push(frame(20, 10, 2500));
    expect(later[0]?.rateJitterRel).toBe(0);

    // The device clock runs 1 % slow against the declared rate: timestamps drift 1 % per window.
    const d = new StreamWindower(spec, input, () => 0);
    const drifting = Array.from({ length: 10 }, (_, k) => frame(k * 5, 5, k * 5 * 101));
    const out = feed(d, drifting);
    expect(out.at(-1)?.rateJitterRel).toBeCloseTo(0.0075, 9); // three 505 ms frames span 15 ms over 2 s
    expect(d.statistics.timestampJumps).toBe(0);
  });

  it('tells counter gaps, NaN and ±Infinity samples from the firmware apart', () => {
    const w = new StreamWindower(spec, input, () => 0);
    const f = frame(0, 20);
    (f.channels[0] as Float32Array)[3] = Number.NaN;
    (f.channels[1] as Float32Array)[3] = Number.NaN;
    (f.channels[1] as Float32Array)[7] = Number.NaN;
    (f.channels[0] as Float32Array)[9] = Number.POSITIVE_INFINITY;
    const [window] = w.push(f);
    expect(window?.missingSamples).toBe(0);
    expect(window?.raw?.nanSamples).toBe(2);
    expect(window?.raw?.infiniteSamples).toBe(1);
    expect(w.statistics.nanSamples).toBe(2);
    // Finite extremes ignore the non-finite samples.
    expect(window?.raw?.channels[0]?.max).toBe(19);
  });

  it('flags held (stuck) runs but not a plateau at an extreme', () => {
    const w = new StreamWindower(spec, input, () => 0);
    const f = frame(0, 20);
    for (const c of f.channels) c.fill(c[5] as number, 5, 11); // 6 identical samples mid-range
    const [window] = w.push(f);
    expect(window?.raw?.heldSamples).toBe(6);
    const w2 = new StreamWindower(spec, input, () => 0);
    const g = frame(0, 20);
    for (const c of g.channels) c.fill(c[19] as number, 13, 20); // a run at the window's extreme
    expect(w2.push(g)[0]?.raw?.heldSamples).toBe(0);
  });

  it('copies flags and reports their union and count', () => {
    const w = new StreamWindower(spec, input, () => 0);
    const f = { ...frame(0, 20), flags: new Uint8Array(20) };
    f.flags[4] = 1;
    f.flags[5] = 4;
    const [window] = w.push(f);
    expect(window?.flagsUnion).toBe(5);
    expect(window?.flaggedSamples).toBe(2);
  });

  it('documents its memory bound', () => {
    expect(streamBufferBytes(input, 10, 2)).toBe(20 * 2 * 4 + 2 * 72);
    // Fall detector: 4 s at 50 Hz, 3 axes, hop 1 s; AF screener: 30 s at 250 Hz, 1 lead, hop 5 s.
    const fall: InputSpec = {
      ...input,
      channels: [...input.channels, ...input.channels.slice(0, 1)],
      sampleRateHz: 50,
      windowS: 4,
    };
    expect(streamBufferBytes(fall, 50, 3)).toBe(200 * 12 + 4 * 72);
    const af: InputSpec = {
      ...input,
      channels: input.channels.slice(0, 1),
      sampleRateHz: 250,
      windowS: 30,
      hopS: 5,
    };
    expect(streamBufferBytes(af, 250, 1)).toBe(7500 * 4 + 6 * 72);
  });
});
