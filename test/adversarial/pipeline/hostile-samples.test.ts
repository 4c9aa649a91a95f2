// Property tests (fast-check) on the whole pipeline with the real reference models: random and
// hostile frames (NaN, ±Infinity, huge values, empty, ragged, wrong types, extra channels, counters
// that go backwards or jump, absurd timestamps, wrong rates at open) never crash the pipeline — only
// PipelineError comes out of push/openStream, no internal error, no unhandled rejection — and no
// window holding a bad sample (non-finite, outside the physical range, missing, or flagged as the
// policy rejects) ever yields an `ok` or `indeterminate` result.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PipelineError,
  SENSOR_FLAG,
  type SamplesFrame,
  type WindowResult,
} from '../../../runtime/pipeline/index.ts';
import {
  referenceArtifacts,
  referencePipeline,
  type ReferencePipeline,
} from '../../integration/pipeline/helpers/reference.ts';

const fall = referenceArtifacts('fall-detector');
const af = referenceArtifacts('af-screener');
let rp: ReferencePipeline;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  rp = await referencePipeline([fall, af], { keepResults: false });
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await rp.close();
});

const HOSTILE_VALUES = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  3.4e38,
  -3.4e38,
  1e30,
  -16.5,
  17,
  5.5,
  -1e-45,
  0,
];

type Shape = 'ok' | 'ragged' | 'plain-array' | 'float64' | 'extra-channel' | 'null' | 'string' | 'bad-flags';

interface FrameRecipe {
  readonly skip: number; // counter offset from the next expected (negative: backwards)
  readonly length: number;
  readonly level: number;
  readonly corruptions: readonly { index: number; value: number; channel: number }[];
  readonly flag: number | null; // index of a sample flagged SATURATED | LEAD_OFF
  readonly shape: Shape;
  readonly timestampJitterMs: number;
}

const recipe = (maxLength: number): fc.Arbitrary<FrameRecipe> =>
  fc.record({
    skip: fc.oneof(
      { weight: 8, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: -40, max: 400 }) },
    ),
    length: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: maxLength }) },
      { weight: 1, arbitrary: fc.constant(0) },
    ),
    level: fc.double({ min: -3, max: 3, noNaN: true }),
    corruptions: fc.array(
      fc.record({
        index: fc.nat({ max: maxLength }),
        value: fc.oneof(fc.constantFrom(...HOSTILE_VALUES), fc.float()),
        channel: fc.nat({ max: 2 }),
      }),
      { maxLength: 3 },
    ),
    flag: fc.oneof(
      { weight: 5, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.nat({ max: maxLength }) },
    ),
    shape: fc.oneof(
      { weight: 12, arbitrary: fc.constant<Shape>('ok') },
      {
        weight: 1,
        arbitrary: fc.constantFrom<Shape>(
          'ragged',
          'plain-array',
          'float64',
          'extra-channel',
          'null',
          'string',
          'bad-flags',
        ),
      },
    ),
    timestampJitterMs: fc.oneof(
      { weight: 6, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.double({ min: -500, max: 500, noNaN: true }) },
    ),
  });

interface SentSample {
  readonly bad: boolean;
}

/** Builds the frame a recipe describes and records, per counter, whether the samples sent are bad. */
function build(
  r: FrameRecipe,
  streamId: string,
  first: number,
  rateHz: number,
  channels: number,
  range: number,
  rejectBits: number,
): { frame: unknown; samples: Map<number, SentSample> } {
  const arrays = Array.from({ length: channels }, (_, c) =>
    Float32Array.from(
      { length: r.length },
      (_, i) => r.level + 0.3 * Math.sin((first + i) * (0.37 + c * 0.11)) + (c === 2 ? 1 : 0),
    ),
  );
  for (const k of r.corruptions) {
    const a = arrays[k.channel % channels];
    if (a && k.index < r.length) a[k.index] = k.value;
  }
  const flags = new Uint8Array(r.length);
  if (r.flag !== null && r.flag < r.length) flags[r.flag] = SENSOR_FLAG.SATURATED | SENSOR_FLAG.LEAD_OFF;
  const samples = new Map<number, SentSample>();
  for (let i = 0; i < r.length; i += 1) {
    let bad = ((flags[i] as number) & rejectBits) !== 0;
    for (const a of arrays) {
      const v = a[i] as number;
      if (!Number.isFinite(v) || Math.abs(v) > range) bad = true;
    }
    samples.set(first + i, { bad });
  }
  const timestampMs = 1_767_225_600_000 + (first * 1000) / rateHz + r.timestampJitterMs;
  const base: SamplesFrame = { streamId, firstCounter: first, timestampMs, channels: arrays, flags };
  let frame: unknown = base;
  switch (r.shape) {
    case 'ok':
      break;
    case 'ragged':
      frame = {
        ...base,
        channels: arrays.map((a, c) => (c === 0 ? a.subarray(0, Math.max(0, a.length - 1)) : a)),
      };
      break;
    case 'plain-array':
      frame = { ...base, channels: arrays.map((a) => Array.from(a)) };
      break;
    case 'float64':
      frame = { ...base, channels: arrays.map((a) => Float64Array.from(a)) };
      break;
    case 'extra-channel':
      frame = { ...base, channels: [...arrays, new Float32Array(r.length)] };
      break;
    case 'null':
      frame = null;
      break;
    case 'string':
      frame = { ...base, firstCounter: String(first), timestampMs: 'now' };
      break;
    case 'bad-flags':
      frame = { ...base, flags: Array.from(flags) };
      break;
  }
  return { frame, samples };
}

async function runStream(
  sensor: 'accel' | 'ecg',
  recipes: readonly FrameRecipe[],
  streamId: string,
): Promise<{ results: WindowResult[]; sent: Map<number, SentSample> }> {
  const manifest = sensor === 'accel' ? fall.manifest : af.manifest;
  const rateHz = manifest.input.sampleRateHz;
  const channels = manifest.input.channels.length;
  const range = manifest.input.channels[0]?.max ?? 0;
  const rejectBits = manifest.quality.rejectFlags.reduce(
    (bits, name) =>
      bits | (name === 'saturated' ? SENSOR_FLAG.SATURATED : name === 'lead-off' ? SENSOR_FLAG.LEAD_OFF : 0),
    0,
  );
  const results: WindowResult[] = [];
  const off = rp.pipeline.onResult((r) => {
    if (r.streamId === streamId) results.push(r);
  });
  const sent = new Map<number, SentSample>();
  rp.pipeline.openStream({ deviceId: 'fuzz', streamId, sensor, rateHz, channelCount: channels });
  let next = 1000;
  try {
    for (const r of recipes) {
      const first = Math.max(0, next + r.skip);
      const { frame, samples } = build(r, streamId, first, rateHz, channels, range, rejectBits);
      try {
        rp.pipeline.push(frame as SamplesFrame);
        for (const [c, s] of samples) sent.set(c, s);
        next = first + r.length;
      } catch (error) {
        if (!(error instanceof PipelineError)) throw error;
      }
    }
    await rp.pipeline.drain();
  } finally {
    rp.pipeline.closeStream(streamId);
    off();
  }
  return { results, sent };
}

function assertNoBadOk(results: readonly WindowResult[], sent: ReadonlyMap<number, SentSample>): void {
  for (const r of results) {
    let bad = false;
    for (let c = r.firstCounter; c <= r.lastCounter && !bad; c += 1) {
      const s = sent.get(c);
      if (!s || s.bad) bad = true; // missing or bad sample
    }
    if (bad) expect(r.status.kind, `window ${r.resultId} holds a bad or missing sample`).toBe('fallback');
  }
}

let streamCount = 0;

describe('pipeline under hostile frames (fast-check)', () => {
  it('fall detector: never crashes, never an ok result for a window with a bad sample', async () => {
    let windows = 0;
    let okWindows = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(recipe(120), { minLength: 1, maxLength: 40 }), async (recipes) => {
        const { results, sent } = await runStream('accel', recipes, `fuzz-accel-${streamCount++}`);
        assertNoBadOk(results, sent);
        windows += results.length;
        okWindows += results.filter((r) => r.status.kind === 'ok').length;
      }),
      { numRuns: 120, seed: 4242 },
    );
    expect(rp.internalErrors).toEqual([]);
    expect(unhandled).toEqual([]);
    expect(windows).toBeGreaterThan(200);
    expect(okWindows).toBeGreaterThan(0); // the property also exercised windows that reach the model
  }, 60_000);

  it('AF screener: the same with long ECG windows', async () => {
    let windows = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(recipe(2500), { minLength: 4, maxLength: 30 }), async (recipes) => {
        const { results, sent } = await runStream('ecg', recipes, `fuzz-ecg-${streamCount++}`);
        assertNoBadOk(results, sent);
        windows += results.length;
      }),
      { numRuns: 25, seed: 4343 },
    );
    expect(windows).toBeGreaterThan(30);
    expect(rp.internalErrors).toEqual([]);
    expect(unhandled).toEqual([]);
  }, 60_000);

  it('openStream refuses hostile specs with a PipelineError only', () => {
    const anything = fc.anything({ withTypedArray: true, withBigInt: true, withNullPrototype: true });
    fc.assert(
      fc.property(
        fc.record(
          {
            deviceId: fc.oneof(fc.string(), anything),
            streamId: fc.oneof(fc.string({ maxLength: 300 }), anything),
            sensor: fc.oneof(fc.constantFrom('accel', 'ecg', 'ppg'), anything),
            rateHz: fc.oneof(fc.double(), fc.constantFrom(50, 250, 49, 251, 50.5), anything),
            channelCount: fc.oneof(fc.integer({ min: -2, max: 70 }), anything),
            cohort: anything,
          },
          { requiredKeys: [] },
        ),
        (spec) => {
          try {
            rp.pipeline.openStream(spec as never);
            rp.pipeline.closeStream((spec as { streamId: string }).streamId);
          } catch (error) {
            expect(error).toBeInstanceOf(PipelineError);
          }
        },
      ),
      { numRuns: 500, seed: 4444 },
    );
  });

  it('absurd timestamps and counters are refused with codes, never processed', () => {
    const id = `fuzz-ts-${streamCount++}`;
    rp.pipeline.openStream({ deviceId: 'fuzz', streamId: id, sensor: 'accel', rateHz: 50, channelCount: 3 });
    const x = new Float32Array(10);
    const codes: string[] = [];
    for (const [firstCounter, timestampMs] of [
      [0, Number.NaN],
      [0, 1e300],
      [-1, 0],
      [2 ** 53, 0],
      [0.5, 0],
    ] as const) {
      try {
        rp.pipeline.push({ streamId: id, firstCounter, timestampMs, channels: [x, x, x] });
      } catch (error) {
        codes.push(error instanceof PipelineError ? error.code : 'other');
      }
    }
    rp.pipeline.closeStream(id);
    expect(codes).toEqual(['BAD_FRAME', 'BAD_FRAME', 'BAD_FRAME', 'BAD_FRAME', 'BAD_FRAME']);
  });
});
