// Delivery guarantees (safety review finding "shadow blocks active", repro r3): the active result
// reaches the firmware as soon as the active runner is done, whatever the shadow candidate does
// (throw, hang, never settle); observers are called outside the runner, each guarded; a runner that
// throws on an active window still answers with an INFERENCE_ERROR fallback; latencyMs is taken
// when the result is handed over.
import { describe, expect, it } from 'vitest';
import {
  ModelRunner,
  Pipeline,
  PipelineInternalError,
  type FeatureExtractor,
  type PipelineObserver,
  type PipelineOptions,
  type WindowResult,
} from '../../../../runtime/pipeline/index.ts';
import { loadedModel, manifestOf, type SessionMode } from './fixtures.ts';

const T0 = 1_767_225_600_000;
const fall = manifestOf('fall-detector');
const candidateManifest = manifestOf('fall-detector', (s) => {
  s.version = '1.1.0';
  s.bundleId = 'fall-detector@1.1.0';
});

const throwingExtractor: FeatureExtractor = {
  names: fall.model.featureNames,
  extract() {
    throw new Error('op bug');
  },
};

interface Setup {
  readonly activeExtractor?: FeatureExtractor;
  readonly activeObserver?: PipelineObserver;
  readonly candidate?: { extractor?: FeatureExtractor; mode?: SessionMode; deadlineMs?: number };
  readonly options?: Partial<PipelineOptions>;
}

function setup(s: Setup = {}) {
  const results: { result: WindowResult; shadowStillRunning: boolean }[] = [];
  const errors: unknown[] = [];
  const pairs: [WindowResult, WindowResult][] = [];
  const pipeline = new Pipeline({
    maxStreams: 8,
    monoNow: () => performance.now(),
    onInternalError: (e) => errors.push(e),
    ...s.options,
  });
  const active = new ModelRunner(
    loadedModel(fall, s.activeExtractor ? { extractor: s.activeExtractor } : {}).model,
    { runtimeVersion: '1', inferenceDeadlineMs: 5_000, monoNow: () => performance.now(), shadow: false },
    s.activeObserver ?? pipeline.observer,
  );
  let shadow: ModelRunner | null = null;
  if (s.candidate) {
    const c = loadedModel(
      candidateManifest,
      s.candidate.extractor ? { extractor: s.candidate.extractor } : {},
    );
    c.state.mode = s.candidate.mode ?? 'ok';
    shadow = new ModelRunner(
      c.model,
      {
        runtimeVersion: '1',
        inferenceDeadlineMs: s.candidate.deadlineMs ?? 5_000,
        monoNow: () => performance.now(),
        shadow: true,
      },
      pipeline.observer,
    );
  }
  pipeline.setFamily('fall-detector', { active, shadow });
  pipeline.onResult((result) => {
    // A candidate that holds results back would still be running when they arrive only after it.
    const stillRunning = (pipeline.stats().families[0]?.shadow?.windows ?? 0) > pairs.length;
    results.push({ result, shadowStillRunning: stillRunning });
  });
  pipeline.onShadowPair((a, c) => pairs.push([a, c]));
  pipeline.openStream({ deviceId: 'w1', streamId: 'acc', sensor: 'accel', rateHz: 50, channelCount: 3 });
  const feed = (seconds: number) => {
    for (let s = 0; s < seconds; s += 1) {
      const first = s * 50;
      const t = (i: number) => (first + i) / 50;
      pipeline.push({
        streamId: 'acc',
        firstCounter: first,
        timestampMs: T0 + s * 1000,
        channels: [
          Float32Array.from({ length: 50 }, (_, i) => 0.3 * Math.sin(2 * Math.PI * 2.5 * t(i))),
          Float32Array.from({ length: 50 }, (_, i) => 0.01 * Math.sin(7 * t(i))),
          Float32Array.from({ length: 50 }, (_, i) => 1 + 0.003 * Math.cos(5 * t(i))),
        ],
      });
    }
  };
  return { pipeline, results, errors, pairs, feed, active, shadow };
}

const kinds = (results: readonly { result: WindowResult }[]) =>
  results.map(({ result: r }) =>
    r.status.kind === 'fallback' ? `fallback:${r.status.reason}` : r.status.kind,
  );
const codes = (errors: readonly unknown[]) =>
  errors.map((e) => (e instanceof PipelineInternalError ? e.code : 'other'));

describe('Pipeline delivery: the shadow candidate never touches the active path', () => {
  it('a candidate whose preprocessing throws: every active result still reaches the firmware', async () => {
    const { pipeline, results, errors, pairs, feed } = setup({ candidate: { extractor: throwingExtractor } });
    feed(5);
    await pipeline.drain();
    expect(kinds(results)).toEqual(['ok', 'ok']);
    expect(codes(errors)).toEqual(['RUNNER_FAILED', 'RUNNER_FAILED']);
    const family = pipeline.stats().families[0];
    expect(family).toMatchObject({
      active: { windows: 2, ok: 2 },
      shadow: { windows: 2, fallback: 2, inferenceErrors: 2 },
      shadowFailures: 2,
    });
    // The comparison counts the failure against the candidate.
    expect(pairs.map(([a, c]) => [a.status.kind, c.status.kind])).toEqual([
      ['ok', 'fallback'],
      ['ok', 'fallback'],
    ]);
  });

  it('a candidate whose session hangs: active results arrive at once, not at its deadline', async () => {
    const { pipeline, results, pairs, feed } = setup({ candidate: { mode: 'hang', deadlineMs: 400 } });
    const started = performance.now();
    feed(5);
    await new Promise<void>((resolve) => {
      const poll = () => {
        if (results.length === 2) resolve();
        else setTimeout(poll, 1);
      };
      poll();
    });
    const arrivedAfterMs = performance.now() - started;
    expect(results.every((r) => r.shadowStillRunning)).toBe(true);
    expect(pairs).toHaveLength(0);
    expect(arrivedAfterMs).toBeLessThan(400);
    for (const { result } of results) expect(result.latencyMs).toBeLessThanOrEqual(arrivedAfterMs);
    await pipeline.drain();
    expect(pairs.map(([, c]) => (c.status.kind === 'fallback' ? c.status.reason : c.status.kind))).toEqual([
      'DEADLINE_MISS',
      'DEADLINE_MISS',
    ]);
  });

  it('a candidate that never settles is abandoned at its own deadline plus the grace', async () => {
    const timers: { fn: () => void; ms: number }[] = [];
    const { pipeline, results, errors, pairs, feed, shadow } = setup({
      candidate: { deadlineMs: 300 },
      options: { schedule: (fn, ms) => timers.push({ fn, ms }), shadowGraceMs: 200 },
    });
    if (!shadow) throw new Error('no shadow');
    shadow.process = () => new Promise(() => undefined);
    feed(5);
    const drained = pipeline.drain();
    await new Promise((r) => setTimeout(r, 5));
    expect(kinds(results)).toEqual(['ok', 'ok']);
    expect(timers.map((t) => t.ms)).toEqual([500, 500]);
    for (const t of timers) t.fn();
    await drained;
    expect(codes(errors)).toEqual(['SHADOW_TIMEOUT', 'SHADOW_TIMEOUT']);
    expect(pairs).toHaveLength(0);
    expect(pipeline.stats()).toMatchObject({ inFlight: 0, families: [{ shadowTimeouts: 2 }] });
  });
});

describe('Pipeline delivery: observers and runner failures never silence a result', () => {
  it('an observer that throws is reported; the result still reaches the firmware', async () => {
    const { pipeline, results, errors, feed } = setup({
      activeObserver: {
        onResult: () => {
          throw new Error('monitor bug');
        },
        onEvent: () => {
          throw new Error('audit bug');
        },
      },
    });
    feed(5);
    await pipeline.drain();
    expect(kinds(results)).toEqual(['ok', 'ok']);
    expect(codes(errors)).toEqual(['OBSERVER_FAILED', 'OBSERVER_FAILED']);
    expect(pipeline.stats().internalErrors).toBe(2);
  });

  it('the active runner throwing gives the firmware an INFERENCE_ERROR fallback, never silence', async () => {
    const { pipeline, results, errors, feed } = setup({ activeExtractor: throwingExtractor });
    feed(5);
    await pipeline.drain();
    expect(kinds(results)).toEqual(['fallback:INFERENCE_ERROR', 'fallback:INFERENCE_ERROR']);
    expect(results[0]?.result.status).toMatchObject({
      output: { kind: 'suppressed' },
      detail: expect.stringMatching(/internal runtime error/) as unknown,
    });
    expect(codes(errors)).toEqual(['RUNNER_FAILED', 'RUNNER_FAILED']);
    expect(pipeline.stats().families[0]?.active).toMatchObject({ windows: 2, inferenceErrors: 2 });
  });

  it('latencyMs is measured when the result is handed over', async () => {
    let now = 0;
    const { pipeline, results, feed } = setup({ options: { monoNow: () => now } });
    feed(5);
    now = 37; // the windows completed at 0; the results are handed over at 37
    await pipeline.drain();
    expect(results.map(({ result }) => result.latencyMs)).toEqual([37, 37]);
  });
});
