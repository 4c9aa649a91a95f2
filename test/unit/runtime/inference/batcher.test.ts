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

function manualClock(state: { t: number }): BatcherClock & { tick(): void } {
  const pending: (() => void)[] = [];
  return {
    monoNow: () => state.t,
    schedule: (fn) => pending.push(fn),
    tick() {
      while (pending.length > 0) pending.shift()?.();
    },
  };
}

describe('MicroBatcher', () => {
  it('puts windows that arrive together into one run and returns each row its own score', async () => {
    const state = { t: 0 };
    const clock = manualClock(state);
    const { session, batches } = fakeSession(1, state);
    const batcher = new MicroBatcher(session, { maxBatch: 64, maxWaitMs: 2 }, clock);
    const outcomes = [0, 1, 2, 3, 4].map((i) => batcher.submit(Float32Array.of(i, i + 1), 100));
    clock.tick();
    const results = await Promise.all(outcomes);
    expect(batches).toEqual([5]);
    expect(results.map((r) => (r.kind === 'score' ? r.score : -1))).toEqual([0.5, 1.5, 2.5, 3.5, 4.5]);
  });

  it('splits at maxBatch and never exceeds it', async () => {
    const state = { t: 0 };
    const { session, batches } = fakeSession(0, state);
    const batcher = new MicroBatcher(session, { maxBatch: 4, maxWaitMs: 1 });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => batcher.submit(Float32Array.of(i, i), 1e12)),
    );
    expect(results.every((r) => r.kind === 'score')).toBe(true);
    expect(Math.max(...batches)).toBeLessThanOrEqual(4);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('reports a deadline miss instead of a late score', async () => {
    const state = { t: 0 };
    const clock = manualClock(state);
    const { session } = fakeSession(50, state);
    const batcher = new MicroBatcher(session, { maxBatch: 8, maxWaitMs: 1 }, clock);
    const late = batcher.submit(Float32Array.of(1, 1), 20);
    clock.tick();
    expect((await late).kind).toBe('deadline-miss');
    expect(batcher.stats.deadlineMisses).toBe(1);
  });

  it('turns a failing run into an error outcome for every row, without rejecting', async () => {
    const state = { t: 0 };
    const clock = manualClock(state);
    const { session } = fakeSession(0, state, true);
    const batcher = new MicroBatcher(session, { maxBatch: 8, maxWaitMs: 1 }, clock);
    const a = batcher.submit(Float32Array.of(1, 1), 100);
    const b = batcher.submit(Float32Array.of(1, 1), 100);
    clock.tick();
    const outcomes = await Promise.all([a, b]);
    expect(outcomes.map((o) => (o.kind === 'error' ? o.error.code : o.kind))).toEqual([
      'RUN_FAILED',
      'RUN_FAILED',
    ]);
  });
});
