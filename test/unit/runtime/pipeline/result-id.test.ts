// Result ids are never reused (safety review finding "result ids reused across stream reopens",
// repro r6): a window's index restarts at 0 when a stream reopens or its windower is rebuilt, so ids
// carry the window's epoch (pipeline session + windower number); a delayed label joins the result it
// names, not a newer window that happens to share stream, index and family.
import { describe, expect, it } from 'vitest';
import { DeviceRuntime } from '../../../../runtime/device.ts';
import {
  MAX_RESULT_ID_BYTES,
  ModelRunner,
  Pipeline,
  PipelineInternalError,
  resultIdOf,
  type WindowResult,
} from '../../../../runtime/pipeline/index.ts';
import { loadedModel, manifestOf } from './fixtures.ts';

const T0 = 1_767_225_600_000;
const fall = manifestOf('fall-detector');

function gateway(sessionId: string, labelJoinCapacity = 1000) {
  const pipeline = new Pipeline({
    maxStreams: 8,
    monoNow: () => performance.now(),
    onInternalError: () => undefined,
    sessionId,
  });
  const runner = new ModelRunner(
    loadedModel(fall).model,
    { runtimeVersion: '1', inferenceDeadlineMs: 5_000, monoNow: () => performance.now(), shadow: false },
    pipeline.observer,
  );
  pipeline.setFamily('fall-detector', { active: runner, shadow: null });
  const runtime = new DeviceRuntime(pipeline, { deviceId: 'gw', labelJoinCapacity, frozen: () => false });
  const results: WindowResult[] = [];
  runtime.onResult((r) => results.push(r));
  const joined: { labelled: string; result: WindowResult }[] = [];
  runtime.addLabelObserver({ onLabel: (result, label) => joined.push({ labelled: label.resultId, result }) });
  /** One session of a wearer: open, 5 s of signal (windows 0 and 1), close. */
  const session = async (t0: number, streamId = 'w1/acc') => {
    runtime.openStream({ deviceId: 'w1', streamId, sensor: 'accel', rateHz: 50, channelCount: 3 });
    for (let s = 0; s < 5; s += 1) {
      const first = s * 50;
      const t = (i: number) => (first + i) / 50;
      runtime.pushSamples({
        streamId,
        firstCounter: first,
        timestampMs: t0 + s * 1000,
        channels: [
          Float32Array.from({ length: 50 }, (_, i) => 0.3 * Math.sin(2 * Math.PI * 2.5 * t(i))),
          Float32Array.from({ length: 50 }, (_, i) => 0.01 * Math.sin(7 * t(i))),
          Float32Array.from({ length: 50 }, (_, i) => 1 + 0.003 * Math.cos(5 * t(i))),
        ],
      });
    }
    await runtime.drain();
    runtime.closeStream(streamId);
  };
  return { pipeline, runtime, results, joined, session };
}

describe('result ids', () => {
  it('are not reused when a stream reopens: a label for the morning result joins the morning result', async () => {
    const g = gateway('boot1');
    await g.session(T0);
    const morning = g.results[0] as WindowResult;
    await g.session(T0 + 3_600_000); // the wearer reconnects an hour later: indexes restart at 0
    const afternoon = g.results.filter((r) => r.startMs >= T0 + 3_600_000);
    expect(afternoon.map((r) => r.windowIndex)).toEqual([0, 1]);
    expect(g.results.map((r) => r.resultId)).toEqual([
      'w1/acc:boot1.1:0:fall-detector',
      'w1/acc:boot1.1:1:fall-detector',
      'w1/acc:boot1.2:0:fall-detector',
      'w1/acc:boot1.2:1:fall-detector',
    ]);
    const label = { value: 1 as const, source: 'clinician' as const, atMs: T0 + 3_700_000 };
    expect(g.runtime.submitLabel({ ...label, resultId: morning.resultId })).toEqual({ kind: 'accepted' });
    expect(g.joined).toHaveLength(1);
    expect(g.joined[0]?.result.startMs).toBe(morning.startMs);
    expect(g.joined[0]?.result.startMs).toBe(T0);
    // The afternoon window 0 is a different result: its own label is accepted, not a duplicate.
    const next = afternoon[0]?.resultId ?? '';
    expect(g.runtime.submitLabel({ ...label, resultId: next })).toEqual({ kind: 'accepted' });
    expect(g.joined[1]?.result.startMs).toBe(T0 + 3_600_000);
  });

  it('differ across boots (pipeline sessions) and are reproducible for a given session id', async () => {
    const a = gateway('boot1');
    const b = gateway('boot2');
    await a.session(T0);
    await b.session(T0);
    expect(a.results.map((r) => r.resultId)).not.toEqual(b.results.map((r) => r.resultId));
    expect(b.results[0]?.resultId).toBe('w1/acc:boot2.1:0:fall-detector');
    const defaults = [
      new Pipeline({ maxStreams: 1, monoNow: () => 0, onInternalError: () => undefined }),
      new Pipeline({ maxStreams: 1, monoNow: () => 0, onInternalError: () => undefined }),
    ];
    expect(defaults[0]?.sessionId).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(defaults[0]?.sessionId).not.toBe(defaults[1]?.sessionId);
    expect(
      () =>
        new Pipeline({ maxStreams: 1, monoNow: () => 0, onInternalError: () => undefined, sessionId: 'a:b' }),
    ).toThrow(PipelineInternalError);
  });

  it('change epoch when a new model rebuilds the windowers of open streams', async () => {
    const g = gateway('boot1');
    g.runtime.openStream({ deviceId: 'w1', streamId: 's', sensor: 'accel', rateHz: 50, channelCount: 3 });
    const longer = manifestOf('fall-detector', (s) => {
      s.version = '2.0.0';
      s.bundleId = 'fall-detector@2.0.0';
      (s.input as { windowS: number }).windowS = 2;
    });
    const runner = new ModelRunner(
      loadedModel(longer).model,
      { runtimeVersion: '1', inferenceDeadlineMs: 5_000, monoNow: () => performance.now(), shadow: false },
      g.pipeline.observer,
    );
    g.pipeline.setFamily('fall-detector', { active: runner, shadow: null });
    const wobble = (level: number) =>
      Float32Array.from({ length: 100 }, (_, i) => level + 0.05 * Math.sin(i));
    const channels = [wobble(0.1), wobble(0.2), wobble(1)];
    g.runtime.pushSamples({ streamId: 's', firstCounter: 0, timestampMs: T0, channels });
    await g.runtime.drain();
    expect(g.results.map((r) => r.resultId)).toEqual(['s:boot1.2:0:fall-detector']);
  });

  it('stay printable ASCII within 128 bytes whatever the stream id', () => {
    const family = 'f'.repeat(64);
    const epoch = `${'S'.repeat(16)}.${Number.MAX_SAFE_INTEGER.toString(36)}`;
    const index = Number.MAX_SAFE_INTEGER;
    for (const streamId of [
      'd'.repeat(64) + '/' + 's'.repeat(64),
      'x'.repeat(256),
      'wearer 1/ecg',
      'ü/ecg',
    ]) {
      const id = resultIdOf({ streamId, epoch, index }, family);
      expect(Buffer.byteLength(id)).toBeLessThanOrEqual(MAX_RESULT_ID_BYTES);
      expect(id).toMatch(/^[\x21-\x7e]+$/);
      expect(id.startsWith('~')).toBe(true);
      expect(id.endsWith(`:${epoch}:${index}:${family}`)).toBe(true);
    }
    expect(resultIdOf({ streamId: 'dev-1/ecg0', epoch: 'k3.1', index: 17 }, 'af-screener')).toBe(
      'dev-1/ecg0:k3.1:17:af-screener',
    );
    // Windows without an epoch (hand-built, or recorded before epochs) keep the older form.
    expect(resultIdOf({ streamId: 's1', index: 3 }, 'fall-detector')).toBe('s1:3:fall-detector');
  });

  it('a label for a result that left the join window is unknown-result', async () => {
    const g = gateway('boot1', 1);
    await g.session(T0);
    const first = g.results[0]?.resultId ?? '';
    const label = { value: 0 as const, source: 'ground-truth' as const, atMs: T0 + 10_000 };
    expect(g.runtime.submitLabel({ ...label, resultId: first })).toEqual({ kind: 'unknown-result' });
    expect(g.runtime.submitLabel({ ...label, resultId: g.results[1]?.resultId ?? '' })).toEqual({
      kind: 'accepted',
    });
  });
});
