import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../../../models/format/manifest.ts';
import {
  ModelRunner,
  type FeatureExtractor,
  type PipelineEvent,
  type ResultStatus,
  type WindowResult,
} from '../../../../runtime/pipeline/index.ts';
import { SENSOR_FLAG } from '../../../../runtime/pipeline/types.ts';
import { loadedModel, manifestOf, SHA, windowOf } from './fixtures.ts';

const fall = manifestOf('fall-detector');

function runnerFor(
  manifest: Manifest,
  opts: { extractor?: FeatureExtractor; shadow?: boolean; deadlineMs?: number } = {},
) {
  const events: PipelineEvent[] = [];
  const observerCalls: string[] = [];
  const { model, state } = loadedModel(manifest, opts.extractor ? { extractor: opts.extractor } : {});
  const runner = new ModelRunner(
    model,
    {
      runtimeVersion: '9.9.9',
      inferenceDeadlineMs: opts.deadlineMs ?? 5_000,
      monoNow: () => performance.now(),
      shadow: opts.shadow ?? false,
    },
    {
      onEvent: (e) => observerCalls.push(e.kind),
      onResult: (r: WindowResult) => observerCalls.push(r.resultId),
    },
  );
  // The runner returns its events (the pipeline hands them to observers): collect them here.
  const process = runner.process.bind(runner);
  runner.process = async (window, context) => {
    const output = await process(window, context);
    events.push(...output.events);
    return output;
  };
  const forget = runner.forgetStream.bind(runner);
  runner.forgetStream = (streamId) => {
    const ended = forget(streamId);
    events.push(...ended);
    return ended;
  };
  return { runner, events, observerCalls, session: state };
}

const kind = (s: ResultStatus) => (s.kind === 'fallback' ? `fallback:${s.reason}` : s.kind);

/** Named feature values for the fall detector's rule (impact, stillness, posture change, impact width). */
function ruleExtractor(values: Record<string, number>): FeatureExtractor {
  const names = fall.model.featureNames;
  return {
    names,
    extract(window) {
      const x = window.channels[0] ?? new Float64Array(0);
      const mean = x.reduce((a, b) => a + b, 0) / x.length;
      const v = Float64Array.from(names, (name, i) => (i === 0 ? mean : (values[name] ?? 0)));
      return { kind: 'features', values: v, named: new Map(names.map((name, i) => [name, v[i] as number])) };
    },
  };
}

describe('ModelRunner', () => {
  it('puts provenance on every result: bundle, manifest hash, policy versions, runtime, backend, window', async () => {
    const { runner } = runnerFor(fall);
    const window = windowOf(fall, { index: 3 });
    const { result } = await runner.process(window);
    expect(result.status.kind).toBe('ok');
    expect(result.provenance).toEqual({
      bundleId: 'fall-detector@1.0.0',
      modelFamily: 'fall-detector',
      modelVersion: '1.0.0',
      sequence: 1,
      manifestSha256: SHA,
      thresholdsVersion: fall.thresholds.version,
      postprocessingVersion: fall.postprocessing.version,
      qualityPolicyVersion: fall.quality.version,
      fallbackPolicyVersion: fall.fallback.version,
      runtimeVersion: '9.9.9',
      backend: 'node',
    });
    expect(result).toMatchObject({
      resultId: 's1:3:fall-detector',
      windowIndex: 3,
      firstCounter: window.firstCounter,
      lastCounter: window.lastCounter,
      startMs: window.startMs,
      endMs: window.endMs,
      shadow: false,
    });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('applies thresholds, the indeterminate band, consecutive windows and the refractory period', async () => {
    const { runner, events } = runnerFor(fall); // operating 0.52, release 0.42, 2 windows, 60 s refractory
    const levels = [0.1, 0.45, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9];
    const statuses: string[] = [];
    for (const [i, level] of levels.entries()) {
      const { result } = await runner.process(windowOf(fall, { index: i, level }));
      const s = result.status;
      statuses.push(s.kind === 'ok' ? `${s.label}${s.alert ? '!' : ''}` : kind(s));
    }
    // The second run starts inside the refractory period: no new alert.
    expect(statuses).toEqual([
      'no_fall',
      'indeterminate',
      'fall',
      'fall!',
      'fall',
      'no_fall',
      'fall',
      'fall',
    ]);
    expect(events.filter((e) => e.kind === 'alert')).toHaveLength(1);
    expect(runner.stats()).toMatchObject({ windows: 8, ok: 7, indeterminate: 1, fallback: 0, alerts: 1 });
  });

  it('a window in flight when an override is set comes back as the override fallback, never ok', async () => {
    const { runner, events, session } = runnerFor(fall);
    session.mode = 'hold';
    const inFlight = runner.process(windowOf(fall, { index: 0, level: 0.97 }));
    await new Promise((r) => setImmediate(r)); // the batch is running
    runner.setOverride({ reason: 'MODEL_REVOKED', detail: 'revoked while in flight' });
    session.release();
    const { result } = await inFlight;
    expect(kind(result.status)).toBe('fallback:MODEL_REVOKED');
    expect(events.filter((e) => e.kind === 'alert')).toEqual([]);
  });

  it('decides windows in stream order: a quality failure does not overtake a window still in inference', async () => {
    // fall: 2 consecutive positive windows alert. In order: w0 positive, w1 fallback (resets the run),
    // w2 positive — no alert, whether the windows came one per frame or all at once.
    const { runner, events, session } = runnerFor(fall);
    session.mode = 'hold';
    const w0 = runner.process(windowOf(fall, { index: 0, level: 0.9 }));
    const w1 = runner.process(windowOf(fall, { index: 1, level: 0.9, flags: SENSOR_FLAG.SATURATED })); // a sensor flag
    const w2 = runner.process(windowOf(fall, { index: 2, level: 0.9 }));
    await new Promise((r) => setImmediate(r));
    session.release();
    await new Promise((r) => setImmediate(r));
    session.release();
    const results = await Promise.all([w0, w1, w2]);
    expect(results.map((o) => kind(o.result.status))).toEqual(['ok', 'fallback:QUALITY_SENSOR_FLAG', 'ok']);
    expect(results.map((o) => (o.result.status.kind === 'ok' ? o.result.status.alert : null))).toEqual([
      false,
      null,
      false,
    ]);
    expect(events.filter((e) => e.kind === 'alert')).toEqual([]);
  });

  it('suppress: a quality failure yields a fallback with its reason, never a score', async () => {
    const suppress = manifestOf('fall-detector', (s) => {
      s.fallback = { kind: 'suppress', version: '2.0.0' };
    });
    const { runner, session } = runnerFor(suppress);
    const { result, features } = await runner.process(
      windowOf(suppress, { flags: SENSOR_FLAG.SATURATED, level: 0.9 }),
    );
    expect(result.status).toMatchObject({
      kind: 'fallback',
      reason: 'QUALITY_SENSOR_FLAG',
      output: { kind: 'suppressed' },
    });
    expect(result.provenance.fallbackPolicyVersion).toBe('2.0.0');
    expect(features).toBeNull();
    expect(session.rows).toBe(0); // nothing reached the model
  });

  it('alert: the declared signal-quality message goes with the fallback', async () => {
    const af = manifestOf('af-screener');
    const { runner } = runnerFor(af);
    const { result } = await runner.process(windowOf(af, { flags: SENSOR_FLAG.LEAD_OFF }));
    expect(result.status).toMatchObject({
      kind: 'fallback',
      reason: 'QUALITY_SENSOR_FLAG',
      output: { kind: 'quality-alert', message: expect.stringContaining('could not be assessed') as unknown },
    });
  });

  it('rule: evaluated on trustworthy features (OOD, inference error, revoked), alerting under the refractory period', async () => {
    const impact = ruleExtractor({
      acc_mag_max_g: 4.2,
      acc_post_impact_sd_g: 0.05,
      acc_orientation_change_deg: 70,
      acc_impact_width_s: 0.08,
    });
    const { runner, events, session } = runnerFor(fall, { extractor: impact });
    session.mode = 'fail';
    const first = await runner.process(windowOf(fall, { index: 0 }));
    expect(first.result.status).toMatchObject({
      kind: 'fallback',
      reason: 'INFERENCE_ERROR',
      output: { kind: 'rule', positive: true, label: 'fall', ruleVersion: fall.fallback.version },
    });
    await runner.process(windowOf(fall, { index: 1 }));
    expect(events.flatMap((e) => (e.kind === 'alert' ? [e.source] : []))).toEqual(['fallback-rule']);
    runner.setOverride({ reason: 'MODEL_REVOKED', detail: 'bundle revoked' });
    const revoked = await runner.process(windowOf(fall, { index: 2, endMs: 9_000_000 }));
    expect(revoked.result.status).toMatchObject({
      reason: 'MODEL_REVOKED',
      output: { kind: 'rule', positive: true },
    });
    expect(events.filter((e) => e.kind === 'alert')).toHaveLength(2); // refractory over by then
    // A window that fails the raw gate has no trustworthy features: the rule is not evaluated.
    const bad = await runner.process(windowOf(fall, { index: 3, level: 20 }));
    expect(bad.result.status).toMatchObject({ reason: 'MODEL_REVOKED', output: { kind: 'suppressed' } });
    runner.setOverride(null);
    const noImpact = runnerFor(fall, { extractor: ruleExtractor({ acc_mag_max_g: 1.2 }) });
    noImpact.session.mode = 'fail';
    const quiet = await noImpact.runner.process(windowOf(fall));
    expect(quiet.result.status).toMatchObject({
      output: { kind: 'rule', positive: false, label: 'no-finding' },
    });
  });

  it('logs fallback episodes at their start and end only, with counts per reason', async () => {
    const { runner, events } = runnerFor(fall);
    const sequence: { level: number; flags?: number }[] = [
      { level: 0.1 },
      { level: 0.1, flags: SENSOR_FLAG.SATURATED },
      { level: 20 },
      { level: 0.1, flags: SENSOR_FLAG.SATURATED },
      { level: 0.1 },
      { level: 0.1, flags: SENSOR_FLAG.SATURATED },
    ];
    for (const [i, w] of sequence.entries()) await runner.process(windowOf(fall, { index: i, ...w }));
    const episodes = events.filter((e) => e.kind !== 'alert');
    expect(episodes.map((e) => e.kind)).toEqual([
      'fallback-episode-start',
      'fallback-episode-end',
      'fallback-episode-start',
    ]);
    expect(episodes[1]).toMatchObject({
      reason: 'QUALITY_SENSOR_FLAG',
      windows: 3,
      reasons: { QUALITY_SENSOR_FLAG: 2, QUALITY_RANGE: 1 },
    });
    expect(runner.stats().openEpisodes).toBe(1);
    runner.forgetStream('s1');
    expect(events.at(-1)).toMatchObject({ kind: 'fallback-episode-end', windows: 1 });
    expect(runner.stats()).toMatchObject({
      openEpisodes: 0,
      fallback: 4,
      fallbackByReason: { QUALITY_SENSOR_FLAG: 3, QUALITY_RANGE: 1 },
    });
  });

  it('turns inference errors, deadline misses and impossible scores into counted fallbacks', async () => {
    const { runner, session } = runnerFor(
      manifestOf('fall-detector', (s) => {
        s.fallback = { kind: 'suppress', version: '1.0.0' };
      }),
      { deadlineMs: 30 },
    );
    session.mode = 'fail';
    expect(kind((await runner.process(windowOf(fall, { index: 0 }))).result.status)).toBe(
      'fallback:INFERENCE_ERROR',
    );
    session.mode = 'nan';
    expect(kind((await runner.process(windowOf(fall, { index: 1 }))).result.status)).toBe(
      'fallback:INFERENCE_ERROR',
    );
    session.mode = 'hang';
    const started = performance.now();
    const late = await runner.process(windowOf(fall, { index: 2 }));
    expect(kind(late.result.status)).toBe('fallback:DEADLINE_MISS');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(runner.stats()).toMatchObject({ inferenceErrors: 2, deadlineMisses: 1, fallback: 3 });
    expect(runner.stats().latency.count).toBe(3);
  });

  it('never calls its observer itself: events and results come back for the pipeline to deliver', async () => {
    const { runner, observerCalls, events } = runnerFor(fall);
    await runner.process(windowOf(fall, { index: 0, level: 0.1, flags: SENSOR_FLAG.SATURATED }));
    runner.forgetStream('s1');
    expect(events.map((e) => e.kind)).toEqual(['fallback-episode-start', 'fallback-episode-end']);
    expect(observerCalls).toEqual([]);
  });

  it('turns a failure of its own into the declared fallback with INFERENCE_ERROR', () => {
    const { runner } = runnerFor(fall);
    const out = runner.internalFailure(windowOf(fall, { index: 4 }), 'internal runtime error');
    expect(kind(out.result.status)).toBe('fallback:INFERENCE_ERROR');
    expect(out.result.status).toMatchObject({ output: { kind: 'suppressed' } });
    expect(out.events.map((e) => e.kind)).toEqual(['fallback-episode-start']);
    expect(runner.stats()).toMatchObject({ fallback: 1, inferenceErrors: 1 });
  });

  it('a shadow runner never raises alerts', async () => {
    const { runner, events } = runnerFor(fall, { shadow: true });
    for (let i = 0; i < 3; i += 1) {
      const { result } = await runner.process(windowOf(fall, { index: i, level: 0.9 }));
      expect(result.shadow).toBe(true);
    }
    expect(events.filter((e) => e.kind === 'alert')).toHaveLength(0);
  });
});
