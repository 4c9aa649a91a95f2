import { describe, expect, it } from 'vitest';
import type { ModelSession } from '../../../../runtime/inference/backend.ts';
import { MicroBatcher, type BatcherClock } from '../../../../runtime/inference/batcher.ts';
import { InferenceError } from '../../../../runtime/inference/errors.ts';

/** A session that scores each row by the mean of its features and records batch sizes. */
function fakeSession(runMs: number, clock: { t: number }, fail = false) {
  const batches: number[] = [];
  const session: ModelSession = {
    backend: 'node',
    io: { inputName: 'x', outputName: 'p', featureCount: 2 },
    run(features, batchSize) {
      batches.push(batchSize);
      clock.t += runMs;
      if (fail) return Promise.reject(new InferenceError('RUN_FAILED', 'boom'));
      const out = new Float32Array(batchSize);
      for (let i = 0; i < batchSize; i += 1)
        out[i] = ((features[2 * i] ?? 0) + (features[2 * i + 1] ?? 0)) / 2;
      return Promise.resolve(out);
    },
    close: () => Promise.resolve(),
  };
  return { session, batches };
}

/** Timers run in due order; `advance` moves time and lets promise callbacks run in between. */
function manualClock(state: { t: number }) {
  let timers: { at: number; seq: number; fn: () => void }[] = [];
  let seq = 0;
  const flushMicrotasks = async () => {
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
  };
  const clock: BatcherClock = {
    monoNow: () => state.t,
    schedule: (fn, ms) => timers.push({ at: state.t + Math.max(0, ms), seq: seq++, fn }),
  };
  return {
    clock,
    get pending() {
      return timers.length;
    },
    async advance(ms: number) {
      const target = state.t + ms;
      for (;;) {
        await flushMicrotasks();
        timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const next = timers[0];
        if (!next || next.at > target) break;
        timers = timers.slice(1);
        state.t = Math.max(state.t, next.at);
        next.fn();
      }
      state.t = Math.max(state.t, target);
      await flushMicrotasks();
    },
  };
}

describe('MicroBatcher', () => {
  it('puts windows that arrive together into one run and returns each row its own score', async () => {
    const state = { t: 0 };
    const m = manualClock(state);
    const { session, batches } = fakeSession(1, state);
    const batcher = new MicroBatcher(session, { maxBatch: 64, maxWaitMs: 2 }, m.clock);
    const outcomes = [0, 1, 2, 3, 4].map((i) => batcher.submit(Float32Array.of(i, i + 1), 100));
    expect(batcher.stats.queued).toBe(5);
    await m.advance(1);
    expect(batches).toEqual([]); // still waiting for company
    await m.advance(1);
    const results = await Promise.all(outcomes);
    expect(batches).toEqual([5]);
    expect(results.map((r) => (r.kind === 'score' ? r.score : -1))).toEqual([0.5, 1.5, 2.5, 3.5, 4.5]);
    expect(batcher.stats).toMatchObject({ runs: 1, windows: 5, queued: 0, running: 0, largestBatch: 5 });
  });

  it('accepts float64 features (converted to float32) and runs a full batch at once', async () => {
    const state = { t: 0 };
    const m = manualClock(state);
    const { session, batches } = fakeSession(0, state);
    const batcher = new MicroBatcher(session, { maxBatch: 2, maxWaitMs: 1000 }, m.clock);
    const a = batcher.submit(Float64Array.of(0.1, 0.3), 100);
    const b = batcher.submit(Float64Array.of(1, 1), 100);
    await m.advance(0);
    expect(batches).toEqual([2]);
    expect(await a).toMatchObject({
      kind: 'score',
      score: Math.fround(Math.fround(0.1) + Math.fround(0.3)) / 2,
    });
    expect((await b).kind).toBe('score');
  });

  it('splits at maxBatch and never exceeds it (real clock)', async () => {
    const state = { t: 0 };
    const { session, batches } = fakeSession(0, state);
    const batcher = new MicroBatcher(session, { maxBatch: 4, maxWaitMs: 1 });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => batcher.submit(Float32Array.of(i, i), performance.now() + 1e9)),
    );
    expect(results.every((r) => r.kind === 'score')).toBe(true);
    expect(Math.max(...batches)).toBeLessThanOrEqual(4);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('reports a deadline miss instead of a late score', async () => {
    const state = { t: 0 };
    const m = manualClock(state);
    const { session } = fakeSession(50, state);
    const batcher = new MicroBatcher(session, { maxBatch: 8, maxWaitMs: 1 }, m.clock);
    const late = batcher.submit(Float32Array.of(1, 1), 20);
    await m.advance(100);
    expect((await late).kind).toBe('deadline-miss');
    expect(batcher.stats.deadlineMisses).toBe(1);
  });

  it('resolves windows at their deadline even while a run hangs, and misses windows born late', async () => {
    const state = { t: 0 };
    const m = manualClock(state);
    const session: ModelSession = {
      backend: 'node',
      io: { inputName: 'x', outputName: 'p', featureCount: 2 },
      run: () => new Promise<Float32Array>(() => undefined), // never returns
      close: () => Promise.resolve(),
    };
    const batcher = new MicroBatcher(session, { maxBatch: 8, maxWaitMs: 1 }, m.clock);
    const first = batcher.submit(Float32Array.of(1, 1), 10);
    await m.advance(2); // the run starts and hangs
    const queued = batcher.submit(Float32Array.of(2, 2), 15);
    const settled: string[] = [];
    void first.then((o) => settled.push(`first:${o.kind}`));
    void queued.then((o) => settled.push(`queued:${o.kind}`));
    await m.advance(7);
    expect(settled).toEqual([]);
    await m.advance(1); // t = 10
    expect(settled).toEqual(['first:deadline-miss']);
    await m.advance(5); // t = 15
    expect(settled).toEqual(['first:deadline-miss', 'queued:deadline-miss']);
    expect(await batcher.submit(Float32Array.of(3, 3), 15)).toMatchObject({ kind: 'deadline-miss' });
    expect(batcher.stats).toMatchObject({ deadlineMisses: 3, running: 1, queued: 0 });
  });

  it('turns a failing run into an error outcome for every row, without rejecting', async () => {
    const state = { t: 0 };
    const m = manualClock(state);
    const { session } = fakeSession(0, state, true);
    const batcher = new MicroBatcher(session, { maxBatch: 8, maxWaitMs: 1 }, m.clock);
    const a = batcher.submit(Float32Array.of(1, 1), 100);
    const b = batcher.submit(Float32Array.of(1, 1), 100);
    await m.advance(1);
    const outcomes = await Promise.all([a, b]);
    expect(outcomes.map((o) => (o.kind === 'error' ? o.error.code : o.kind))).toEqual([
      'RUN_FAILED',
      'RUN_FAILED',
    ]);
    expect(batcher.stats.errors).toBe(2);
  });

  it('refuses a row of the wrong width without spoiling the others in its batch', async () => {
    const state = { t: 0 };
    const m = manualClock(state);
    const { session } = fakeSession(0, state);
    const batcher = new MicroBatcher(session, { maxBatch: 8, maxWaitMs: 1 }, m.clock);
    const bad = batcher.submit(Float32Array.of(1, 2, 3), 100);
    const good = batcher.submit(Float32Array.of(1, 3), 100);
    await m.advance(1);
    expect(await bad).toMatchObject({ kind: 'error', error: { code: 'BAD_BATCH' } });
    expect(await good).toMatchObject({ kind: 'score', score: 2 });
  });

  it('keeps few timers: one watchdog per deadline horizon, not one per window', async () => {
    const state = { t: 0 };
    const m = manualClock(state);
    const { session } = fakeSession(0, state);
    const batcher = new MicroBatcher(session, { maxBatch: 64, maxWaitMs: 2 }, m.clock);
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i += 1) all.push(batcher.submit(Float32Array.of(i, i), state.t + 50));
    expect(m.pending).toBeLessThanOrEqual(3);
    await m.advance(60);
    await Promise.all(all);
    expect(batcher.stats.windows).toBe(100);
    expect(batcher.stats.deadlineMisses).toBe(0);
  });
});
