import { describe, expect, it } from 'vitest';
import type { InputSpec } from '../../../../models/format/manifest.ts';
import { PipelineError } from '../../../../runtime/pipeline/errors.ts';
import { StreamWindower, streamBufferBytes } from '../../../../runtime/pipeline/stream.ts';
import type { SamplesFrame, StreamSpec } from '../../../../runtime/pipeline/types.ts';

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

describe('StreamWindower', () => {
  it('cuts windows at the manifest window and hop, in counter order', () => {
    const w = new StreamWindower(spec, input, () => 0);
    const windows = [...w.push(frame(0, 25)), ...w.push(frame(25, 25))];
    expect(windows.map((x) => x.firstCounter)).toEqual([0, 10, 20, 30]);
    expect(windows.map((x) => x.index)).toEqual([0, 1, 2, 3]);
    const second = windows[1];
    expect(second?.channels[0]?.[0]).toBe(10);
    expect(second?.channels[0]?.[19]).toBe(29);
    expect(second?.channels[1]?.[5]).toBe(-15);
    expect(second?.startMs).toBe(1000);
    expect(second?.endMs).toBe(3000);
    expect(second?.missingSamples).toBe(0);
  });

  it('fills gaps with missing samples and skips windows entirely inside a gap', () => {
    const w = new StreamWindower(spec, input, () => 0);
    w.push(frame(0, 15));
    const windows = w.push(frame(75, 20));
    // Window [0,20) completes with 5 missing; windows starting at 10 (partly data) too; those inside
    // the gap (20..60) are skipped; the first windows after the gap hold the new data.
    const byStart = new Map(windows.map((x) => [x.firstCounter, x]));
    expect(byStart.get(0)?.missingSamples).toBe(5);
    expect(byStart.get(10)?.missingSamples).toBe(15);
    expect(byStart.has(30)).toBe(false);
    expect(byStart.get(70)?.missingSamples).toBe(5);
    expect(byStart.get(70)?.channels[0]?.[5]).toBe(75);
    expect(Number.isNaN(byStart.get(70)?.channels[0]?.[0])).toBe(true);
    expect(w.statistics.windowsSkipped).toBe(4);
    expect(w.statistics.gapSamples).toBe(60);
  });

  it('refuses a stream whose rate is outside the tolerance and resamples within it', () => {
    expect(codeOf(() => new StreamWindower({ ...spec, rateHz: 11 }, input, () => 0))).toBe('RATE_MISMATCH');
    const w = new StreamWindower({ ...spec, rateHz: 10.1 }, input, () => 0);
    const windows = w.push(frame(0, 30));
    expect(windows[0]?.channels[0]?.length).toBe(20);
  });

  it('rejects overlapping counters, ragged and empty frames with codes', () => {
    const w = new StreamWindower(spec, input, () => 0);
    w.push(frame(0, 10));
    expect(codeOf(() => w.push(frame(5, 10)))).toBe('OUT_OF_ORDER');
    expect(codeOf(() => w.push(frame(10, 0)))).toBe('BAD_FRAME');
    const ragged: SamplesFrame = { ...frame(10, 4), channels: [new Float32Array(4), new Float32Array(3)] };
    expect(codeOf(() => w.push(ragged))).toBe('BAD_FRAME');
    expect(codeOf(() => w.push({ ...frame(10, 4), channels: [new Float32Array(4)] }))).toBe(
      'CHANNEL_MISMATCH',
    );
    expect(w.statistics.framesRejected).toBe(4);
    // The stream keeps working after rejected frames.
    expect(w.push(frame(10, 10))).toHaveLength(1);
  });

  it('measures timestamp jitter against the declared rate', () => {
    const w = new StreamWindower(spec, input, () => 0);
    w.push(frame(0, 10, 0));
    const windows = w.push(frame(10, 10, 1500)); // 10 samples should take 1000 ms, took 1500
    expect(windows[0]?.rateJitterRel).toBeCloseTo(0.5, 6);
  });

  it('documents its memory bound', () => {
    expect(streamBufferBytes(input, 10, 2)).toBe(20 * (2 * 4 + 2));
  });
});
