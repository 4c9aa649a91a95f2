// Cross-stream micro-batching: ONNX Runtime's per-call overhead dominates small models (DESIGN.md:
// ≈15–20 µs per run at batch 1 and about the same at batch 64), so windows from many streams that
// complete close together share one session.run, while no window waits beyond its deadline.
//
// Policy (docs/pipeline.md "Batching and deadlines"): the first window of an empty queue waits at
// most `maxWaitMs` for company; a full batch (`maxBatch`) goes at once; windows that queue while a
// run is in flight go as soon as it returns. Every window has its own deadline: a watchdog resolves
// it as a miss when the deadline passes, whether it is still queued or inside a run that has not
// returned (a hung or slow session never holds results back beyond their deadline).
import type { ModelSession } from './backend.ts';
import { InferenceError } from './errors.ts';

export type BatchOutcome =
  | { readonly kind: 'score'; readonly score: number; readonly batchSize: number }
  | { readonly kind: 'error'; readonly error: InferenceError }
  | { readonly kind: 'deadline-miss'; readonly waitedMs: number };

export interface BatcherOptions {
  /** Largest batch handed to one session.run. */
  readonly maxBatch: number;
  /** How long the first queued window may wait for company before the batch runs. */
  readonly maxWaitMs: number;
}

export interface BatcherClock {
  monoNow(): number;
  /** Schedules `fn` after `ms` (0 = as soon as the current I/O turn ends). */
  schedule(fn: () => void, ms: number): void;
}

export const REAL_BATCHER_CLOCK: BatcherClock = {
  monoNow: () => performance.now(),
  schedule: (fn, ms) => {
    if (ms <= 0) setImmediate(fn);
    else setTimeout(fn, ms);
  },
};

interface Pending {
  readonly features: Float32Array | Float64Array;
  readonly deadlineMonoMs: number;
  readonly enqueuedMonoMs: number;
  readonly resolve: (outcome: BatchOutcome) => void;
  settled: boolean;
}

export interface BatcherStats {
  readonly runs: number;
  readonly windows: number;
  readonly deadlineMisses: number;
  readonly errors: number;
  readonly largestBatch: number;
  /** Windows waiting for a run right now. */
  readonly queued: number;
  /** Runs in flight right now (0 or 1). */
  readonly running: number;
}

export class MicroBatcher {
  private queue: Pending[] = [];
  private inRun: readonly Pending[] = [];
  private running = false;
  private flushScheduled = false;
  private flushImmediate = false;
  /** Time the watchdog is next due (Infinity: none scheduled). */
  private watchdogAt = Number.POSITIVE_INFINITY;
  private watchdogToken = 0;
  private readonly counters = { runs: 0, windows: 0, deadlineMisses: 0, errors: 0, largestBatch: 0 };

  constructor(
    private readonly session: ModelSession,
    private readonly options: BatcherOptions,
    private readonly clock: BatcherClock = REAL_BATCHER_CLOCK,
  ) {}

  get stats(): BatcherStats {
    return { ...this.counters, queued: this.queue.length, running: this.running ? 1 : 0 };
  }

  /**
   * Queues one row of features (converted to float32); resolves with its score, an error, or a
   * deadline miss. Never rejects.
   */
  submit(features: Float32Array | Float64Array, deadlineMonoMs: number): Promise<BatchOutcome> {
    return new Promise((resolve) => {
      const now = this.clock.monoNow();
      const item: Pending = { features, deadlineMonoMs, enqueuedMonoMs: now, resolve, settled: false };
      if (!(deadlineMonoMs > now)) {
        this.miss(item, now);
        return;
      }
      this.queue.push(item);
      this.armWatchdog(deadlineMonoMs, now);
      if (this.queue.length >= this.options.maxBatch) this.flushSoon(0);
      else this.flushSoon(this.options.maxWaitMs);
    });
  }

  private flushSoon(ms: number): void {
    if (this.running) return; // the running batch flushes again when it finishes
    if (this.flushScheduled && (ms > 0 || this.flushImmediate)) return;
    this.flushScheduled = true;
    if (ms <= 0) this.flushImmediate = true;
    this.clock.schedule(() => {
      this.flushScheduled = false;
      this.flushImmediate = false;
      void this.flush();
    }, ms);
  }

  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const now = this.clock.monoNow();
    const batch: Pending[] = [];
    let taken = 0;
    for (; taken < this.queue.length && batch.length < this.options.maxBatch; taken += 1) {
      const item = this.queue[taken] as Pending;
      if (item.settled) continue;
      if (item.deadlineMonoMs <= now) this.miss(item, now);
      else batch.push(item);
    }
    this.queue = taken >= this.queue.length ? [] : this.queue.slice(taken);
    if (batch.length > 0) await this.runBatch(batch);
    this.running = false;
    // Whatever queued during the run has already waited about one run's time: go at once.
    if (this.queue.length > 0) this.flushSoon(0);
  }

  private async runBatch(batch: readonly Pending[]): Promise<void> {
    const width = this.session.io.featureCount;
    const input = new Float32Array(batch.length * width);
    for (let row = 0; row < batch.length; row += 1) {
      const features = (batch[row] as Pending).features;
      if (features.length === width) input.set(features, row * width);
      else input.fill(Number.NaN, row * width, (row + 1) * width); // never reaches a score: see below
    }
    this.counters.runs += 1;
    this.counters.windows += batch.length;
    this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
    this.inRun = batch;
    let scores: Float32Array;
    try {
      scores = await this.session.run(input, batch.length);
    } catch (cause) {
      this.inRun = [];
      const error =
        cause instanceof InferenceError
          ? cause
          : new InferenceError('RUN_FAILED', `inference failed: ${String(cause)}`, { cause });
      for (const item of batch) {
        if (item.settled) continue;
        this.counters.errors += 1;
        this.settle(item, { kind: 'error', error });
      }
      return;
    }
    this.inRun = [];
    const done = this.clock.monoNow();
    for (let row = 0; row < batch.length; row += 1) {
      const item = batch[row] as Pending;
      if (item.settled) continue;
      if (item.features.length !== width) {
        this.counters.errors += 1;
        this.settle(item, {
          kind: 'error',
          error: new InferenceError(
            'BAD_BATCH',
            `row has ${item.features.length} features, the model takes ${width}`,
          ),
        });
      } else if (done > item.deadlineMonoMs) this.miss(item, done);
      else this.settle(item, { kind: 'score', score: scores[row] as number, batchSize: batch.length });
    }
  }

  /** Keeps one timer due at the earliest deadline still pending (older timers become stale). */
  private armWatchdog(deadlineMonoMs: number, now: number): void {
    if (deadlineMonoMs >= this.watchdogAt) return;
    this.watchdogAt = deadlineMonoMs;
    const token = ++this.watchdogToken;
    this.clock.schedule(
      () => {
        this.watchdog(token);
      },
      Math.max(0, deadlineMonoMs - now),
    );
  }

  private watchdog(token: number): void {
    if (token !== this.watchdogToken) return;
    const now = this.clock.monoNow();
    if (now < this.watchdogAt) {
      // Timers may fire a fraction of a millisecond early: wait for the rest.
      const at = this.watchdogAt;
      this.watchdogAt = Number.POSITIVE_INFINITY;
      this.armWatchdog(at, now);
      return;
    }
    this.watchdogAt = Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    const sweep = (items: readonly Pending[]): void => {
      for (const item of items) {
        if (item.settled) continue;
        if (item.deadlineMonoMs <= now) this.miss(item, now);
        else if (item.deadlineMonoMs < next) next = item.deadlineMonoMs;
      }
    };
    sweep(this.inRun);
    sweep(this.queue);
    if (this.queue.length > 0 && this.queue.every((item) => item.settled)) this.queue = [];
    if (next < Number.POSITIVE_INFINITY) this.armWatchdog(next, now);
  }

  private settle(item: Pending, outcome: BatchOutcome): void {
    item.settled = true;
    item.resolve(outcome);
  }

  private miss(item: Pending, now: number): void {
    this.counters.deadlineMisses += 1;
    this.settle(item, { kind: 'deadline-miss', waitedMs: now - item.enqueuedMonoMs });
  }
}
