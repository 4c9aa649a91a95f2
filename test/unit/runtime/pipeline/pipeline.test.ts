import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../../../models/format/manifest.ts';
import {
  ModelRunner,
  Pipeline,
  PipelineError,
  type PipelineOptions,
  type WindowResult,
} from '../../../../runtime/pipeline/index.ts';
import { loadedModel, manifestOf } from './fixtures.ts';

const T0 = 1_767_225_600_000;

/** A PPG model (64 Hz, 8 s windows every 4 s) that gates by the wearer's accelerometer at 0.1 g. */
const ppg = manifestOf('af-screener', (s) => {
  s.bundleId = 'ppg-test@1.0.0';
  s.modelFamily = 'ppg-test';
  s.input = {
    sensor: 'ppg',
    channels: [{ name: 'ppg', unit: 'au', min: -10, max: 10 }],
    sampleRateHz: 64,
    rateToleranceRel: 0.01,
    windowS: 8,
    hopS: 4,
  };
  s.quality = {
    version: '1.0.0',
    maxMissingFraction: 0,
    maxClippedFraction: 0.01,
    flatlinePeakToPeak: 0.01,
    maxRateJitterRel: 0.01,
    rejectFlags: [],
    sqi: [{ name: 'activity_level_g', min: null, max: 0.5 }],
    motionGateG: 0.1,
  };
});

function setup(manifests: readonly Manifest[], options: Partial<PipelineOptions> = {}) {
  const results: WindowResult[] = [];
  const errors: unknown[] = [];
  const pipeline = new Pipeline({
    maxStreams: 8,
    monoNow: () => performance.now(),
    onInternalError: (e) => errors.push(e),
    ...options,
  });
  for (const m of manifests) {
    const { model } = loadedModel(m);
    const runner = new ModelRunner(
      model,
      { runtimeVersion: '1', inferenceDeadlineMs: 5_000, monoNow: () => performance.now(), shadow: false },
      pipeline.observer,
    );
    pipeline.setFamily(m.modelFamily, { active: runner, shadow: null });
  }
  pipeline.onResult((r) => results.push(r));
  return { pipeline, results, errors };
}

function ppgFrames(pipeline: Pipeline, fromS: number, toS: number, streamId = 'ppg') {
  const rate = 64;
  for (let s = fromS; s < toS; s += 1) {
    const first = s * rate;
    const x = Float32Array.from(
      { length: rate },
      (_, i) => 0.3 + 0.5 * Math.sin((2 * Math.PI * 1.2 * (first + i)) / rate),
    );
    pipeline.push({ streamId, firstCounter: first, timestampMs: T0 + s * 1000, channels: [x] });
  }
}

function accelFrames(pipeline: Pipeline, fromS: number, toS: number, vigorG: number, streamId = 'acc') {
  const rate = 50;
  for (let s = fromS; s < toS; s += 1) {
    const first = s * rate;
    const t = (i: number) => (first + i) / rate;
    const x = Float32Array.from({ length: rate }, (_, i) => vigorG * Math.sin(2 * Math.PI * 2.5 * t(i)));
    const y = Float32Array.from({ length: rate }, (_, i) => 0.01 * Math.sin(7 * t(i)));
    const z = Float32Array.from({ length: rate }, (_, i) => 1 + 0.003 * Math.cos(5 * t(i)));
    pipeline.push({ streamId, firstCounter: first, timestampMs: T0 + s * 1000, channels: [x, y, z] });
  }
}

/** Statuses in window order (fallbacks can be delivered before earlier windows' scores). */
const reasons = (results: readonly WindowResult[]) =>
  [...results]
    .sort((a, b) => a.windowIndex - b.windowIndex)
    .map((r) => (r.status.kind === 'fallback' ? r.status.reason : r.status.kind));

const open = (
  pipeline: Pipeline,
  streamId: string,
  sensor: 'ppg' | 'accel',
  rateHz: number,
  channelCount: number,
) => {
  pipeline.openStream({ deviceId: 'wearer-1', streamId, sensor, rateHz, channelCount });
};

describe('Pipeline motion gating (PPG by the same device’s accelerometer)', () => {
  it('fails closed with its own reason when the device has no accelerometer stream', async () => {
    const { pipeline, results } = setup([ppg]);
    open(pipeline, 'ppg', 'ppg', 64, 1);
    ppgFrames(pipeline, 0, 12);
    await pipeline.drain();
    expect(reasons(results)).toEqual(['QUALITY_MOTION_UNAVAILABLE', 'QUALITY_MOTION_UNAVAILABLE']);
  });

  it('accepts an accelerometer no model reads as an auxiliary stream, and gates by its activity', async () => {
    const { pipeline, results } = setup([ppg]);
    open(pipeline, 'acc', 'accel', 50, 3);
    open(pipeline, 'ppg', 'ppg', 64, 1);
    expect(pipeline.stats()).toMatchObject({ streams: 2, auxiliaryStreams: 1 });
    accelFrames(pipeline, 0, 8, 0.01); // still
    accelFrames(pipeline, 8, 16, 2); // running
    ppgFrames(pipeline, 0, 16);
    await pipeline.drain();
    // Windows [0,8) still → ok; [4,12) and [8,16) include running → refused.
    expect(reasons(results)).toEqual(['ok', 'QUALITY_MOTION', 'QUALITY_MOTION']);
    const detail = results[1]?.status.kind === 'fallback' ? results[1].status.detail : '';
    expect(detail).toMatch(/exceeds the motion gate 0.1 g/);
  });

  it('holds a PPG window until the accelerometer covers its span, then releases it', async () => {
    const { pipeline, results } = setup([ppg]);
    open(pipeline, 'acc', 'accel', 50, 3);
    open(pipeline, 'ppg', 'ppg', 64, 1);
    accelFrames(pipeline, 0, 5, 0.01);
    ppgFrames(pipeline, 0, 8);
    expect(pipeline.stats().waitingForMotion).toBe(1);
    expect(results).toHaveLength(0);
    accelFrames(pipeline, 5, 8, 0.01);
    await pipeline.drain();
    expect(reasons(results)).toEqual(['ok']);
    expect(pipeline.stats().waitingForMotion).toBe(0);
  });

  it('judges a waiting window on what arrived when the wait expires: not enough data fails closed', async () => {
    const timers: (() => void)[] = [];
    const { pipeline, results } = setup([ppg], { schedule: (fn) => timers.push(fn), motionWaitMs: 100 });
    open(pipeline, 'acc', 'accel', 50, 3);
    open(pipeline, 'ppg', 'ppg', 64, 1);
    accelFrames(pipeline, 0, 5, 0.01);
    ppgFrames(pipeline, 0, 8);
    expect(timers).toHaveLength(1);
    timers[0]?.();
    await pipeline.drain();
    expect(reasons(results)).toEqual(['QUALITY_MOTION_UNAVAILABLE']);
    const detail = results[0]?.status.kind === 'fallback' ? results[0].status.detail : '';
    expect(detail).toMatch(/covers 250 of 400 samples/);
  });

  it('refuses an accelerometer stream when no model reads or gates by it', () => {
    const { pipeline } = setup([manifestOf('af-screener')]);
    expect(() => {
      open(pipeline, 'acc', 'accel', 50, 3);
    }).toThrow(PipelineError);
    try {
      open(pipeline, 'acc', 'accel', 50, 3);
    } catch (error) {
      expect((error as PipelineError).code).toBe('NO_MODEL_FOR_SENSOR');
    }
  });
});

describe('Pipeline', () => {
  const fall = manifestOf('fall-detector');

  it('closes the streams of a removed family, so firmware learns it (no window silently dropped)', async () => {
    const { pipeline, results } = setup([fall]);
    open(pipeline, 'acc', 'accel', 50, 3);
    accelFrames(pipeline, 0, 6, 0.1);
    await pipeline.drain();
    const before = results.length;
    expect(before).toBeGreaterThan(0);
    pipeline.removeFamily(fall.modelFamily);
    expect(pipeline.hasStream('acc')).toBe(false);
    expect(() => {
      accelFrames(pipeline, 6, 7, 0.1);
    }).toThrow(PipelineError); // UNKNOWN_STREAM: the firmware reopens…
    try {
      open(pipeline, 'acc', 'accel', 50, 3);
      expect.unreachable('the stream opened without a model');
    } catch (error) {
      expect((error as PipelineError).code).toBe('NO_MODEL_FOR_SENSOR'); // …and is told why
    }
    expect(results.length).toBe(before);
  });

  it('refuses malformed specs and frames with codes and keeps serving', async () => {
    const { pipeline, results } = setup([fall]);
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error instanceof PipelineError ? error.code : 'other';
      }
      return 'none';
    };
    expect(
      code(() => {
        pipeline.openStream(null as never);
      }),
    ).toBe('BAD_FRAME');
    expect(
      code(() => {
        open(pipeline, '', 'accel', 50, 3);
      }),
    ).toBe('BAD_FRAME');
    expect(
      code(() => {
        open(pipeline, 'a', 'accel', Number.POSITIVE_INFINITY, 3);
      }),
    ).toBe('RATE_MISMATCH');
    expect(
      code(() => {
        open(pipeline, 'a', 'accel', 50, 0);
      }),
    ).toBe('CHANNEL_MISMATCH');
    expect(
      code(() => {
        open(pipeline, 'a', 'ppg', 64, 1);
      }),
    ).toBe('NO_MODEL_FOR_SENSOR');
    open(pipeline, 'acc', 'accel', 50, 3);
    expect(
      code(() => {
        open(pipeline, 'acc', 'accel', 50, 3);
      }),
    ).toBe('DUPLICATE_STREAM');
    expect(code(() => pipeline.push(undefined as never))).toBe('BAD_FRAME');
    expect(code(() => pipeline.push({ streamId: 42 } as never))).toBe('UNKNOWN_STREAM');
    accelFrames(pipeline, 0, 4, 0.3);
    await pipeline.drain();
    expect(results).toHaveLength(1);
  });

  it('reports a listener that throws as an internal error and keeps delivering', async () => {
    const { pipeline, results, errors } = setup([fall]);
    pipeline.onResult(() => {
      throw new Error('listener bug');
    });
    open(pipeline, 'acc', 'accel', 50, 3);
    accelFrames(pipeline, 0, 6, 0.3);
    await pipeline.drain();
    expect(results).toHaveLength(3);
    expect(errors).toHaveLength(3);
    expect(pipeline.stats().internalErrors).toBe(3);
  });

  it('feeds a shadow candidate the same windows and pairs the results; counters per family', async () => {
    const { pipeline } = setup([fall]);
    const active = pipeline.family('fall-detector')?.active;
    if (!active) throw new Error('no family');
    const candidate = new ModelRunner(
      loadedModel(
        manifestOf('fall-detector', (s) => {
          s.version = '1.1.0';
          s.bundleId = 'fall-detector@1.1.0';
        }),
      ).model,
      { runtimeVersion: '1', inferenceDeadlineMs: 5_000, monoNow: () => performance.now(), shadow: true },
      pipeline.observer,
    );
    pipeline.setFamily('fall-detector', { active, shadow: candidate });
    const pairs: [string, string][] = [];
    pipeline.onShadowPair((a, c) => pairs.push([a.provenance.bundleId, c.provenance.bundleId]));
    open(pipeline, 'acc', 'accel', 50, 3);
    accelFrames(pipeline, 0, 5, 0.3);
    await pipeline.drain();
    expect(pairs).toEqual([
      ['fall-detector@1.0.0', 'fall-detector@1.1.0'],
      ['fall-detector@1.0.0', 'fall-detector@1.1.0'],
    ]);
    const stats = pipeline.stats();
    expect(stats.families[0]).toMatchObject({
      family: 'fall-detector',
      active: { windows: 2, ok: 2 },
      shadow: { windows: 2, shadow: true },
      batcher: { windows: 2 },
    });
  });

  it('rebuilds the windowers of open streams when a new model reads another window', async () => {
    const { pipeline, results } = setup([fall]);
    open(pipeline, 'acc', 'accel', 50, 3);
    const longer = manifestOf('fall-detector', (s) => {
      s.version = '2.0.0';
      s.bundleId = 'fall-detector@2.0.0';
      s.sequence = 2;
      (s.input as { windowS: number }).windowS = 2;
    });
    const runner = new ModelRunner(
      loadedModel(longer).model,
      { runtimeVersion: '1', inferenceDeadlineMs: 5_000, monoNow: () => performance.now(), shadow: false },
      pipeline.observer,
    );
    pipeline.setFamily('fall-detector', { active: runner, shadow: null });
    accelFrames(pipeline, 0, 3, 0.3);
    await pipeline.drain();
    expect(results.map((r) => [r.provenance.bundleId, r.lastCounter - r.firstCounter + 1])).toEqual([
      ['fall-detector@2.0.0', 100],
      ['fall-detector@2.0.0', 100],
    ]);
  });
});
