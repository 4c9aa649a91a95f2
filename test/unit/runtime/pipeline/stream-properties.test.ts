// Properties of the windower under random frame sequences (sizes, gaps, NaN, timestamps): windows
// sit on the hop grid in order, have the model's length, count their missing samples exactly, and
// the same frames always give the same windows.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InputSpec } from '../../../../models/format/manifest.ts';
import { PipelineError } from '../../../../runtime/pipeline/errors.ts';
import { StreamWindower } from '../../../../runtime/pipeline/stream.ts';
import type { SamplesFrame, StreamSpec, Window } from '../../../../runtime/pipeline/types.ts';

const input: InputSpec = {
  sensor: 'ecg',
  channels: [{ name: 'v', unit: 'mV', min: -5, max: 5 }],
  sampleRateHz: 20,
  rateToleranceRel: 0.05,
  windowS: 3,
  hopS: 1,
};

const step: fc.Arbitrary<Step> = fc.record({
  gap: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }) },
  ),
  length: fc.integer({ min: 1, max: 90 }),
  nanAt: fc.option(fc.nat({ max: 89 }), { nil: undefined }),
  jitterMs: fc.integer({ min: -30, max: 30 }),
});

interface Step {
  readonly gap: number;
  readonly length: number;
  readonly nanAt: number | undefined;
  readonly jitterMs: number;
}

function run(rateHz: number, steps: readonly Step[]) {
  const spec: StreamSpec = { deviceId: 'd', streamId: 's', sensor: 'ecg', rateHz, channelCount: 1 };
  const w = new StreamWindower(spec, input, () => 0);
  const windows: Window[] = [];
  const present = new Map<number, boolean>(); // counter → NaN sent?
  let next = 7;
  for (const s of steps) {
    const first = next + s.gap;
    const x = Float32Array.from({ length: s.length }, (_, i) => Math.sin((first + i) / 3));
    if (s.nanAt !== undefined && s.nanAt < s.length) x[s.nanAt] = Number.NaN;
    const frame: SamplesFrame = {
      streamId: 's',
      firstCounter: first,
      timestampMs: 1e12 + (first * 1000) / rateHz + s.jitterMs,
      channels: [x],
    };
    windows.push(...w.push(frame));
    for (let i = 0; i < s.length; i += 1) present.set(first + i, Number.isNaN(x[i]));
    next = first + s.length;
  }
  return { w, windows, present };
}

describe('StreamWindower properties', () => {
  it('windows lie on the hop grid, in order, with exact missing/NaN counts; same frames, same windows', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(20, 19.5, 20.6),
        fc.array(step, { minLength: 1, maxLength: 40 }),
        (rate, steps) => {
          const { w, windows, present } = run(rate, steps);
          const native = w.nativeWindow;
          const origin = 7 + (steps[0]?.gap ?? 0); // the first frame's counter anchors the grid
          let previous = -1;
          for (const win of windows) {
            expect(win.index).toBeGreaterThan(previous);
            previous = win.index;
            expect(win.firstCounter).toBe(origin + win.index * w.nativeHop);
            expect(win.lastCounter - win.firstCounter + 1).toBe(native);
            expect(win.channels[0]?.length).toBe(w.modelWindow);
            let missing = 0;
            let nan = 0;
            for (let c = win.firstCounter; c <= win.lastCounter; c += 1) {
              const p = present.get(c);
              if (p === undefined) missing += 1;
              else if (p) nan += 1;
            }
            expect(win.missingSamples).toBe(missing);
            expect(win.raw?.nanSamples).toBe(nan);
            expect(win.rateJitterRel).toBeGreaterThanOrEqual(0);
            expect(Number.isFinite(win.startMs) && win.endMs > win.startMs - 1000).toBe(true);
          }
          const again = run(rate, steps).windows;
          expect(again.map((x) => [x.index, x.missingSamples, x.rateJitterRel, x.startMs])).toEqual(
            windows.map((x) => [x.index, x.missingSamples, x.rateJitterRel, x.startMs]),
          );
          const stats = w.statistics;
          expect(stats.windowsEmitted).toBe(windows.length);
        },
      ),
      { numRuns: 300, seed: 77 },
    );
  });

  it('only PipelineError escapes, whatever the frame', () => {
    const w = new StreamWindower(
      { deviceId: 'd', streamId: 's', sensor: 'ecg', rateHz: 20, channelCount: 1 },
      input,
      () => 0,
    );
    fc.assert(
      fc.property(
        fc.anything({ withTypedArray: true, withNullPrototype: true, withBigInt: true }),
        (frame) => {
          try {
            w.push(frame as SamplesFrame);
          } catch (error) {
            expect(error).toBeInstanceOf(PipelineError);
          }
        },
      ),
      { numRuns: 2000, seed: 78 },
    );
  });
});
