// Cross-stream micro-batching: ONNX Runtime's per-call overhead dominates small models (DESIGN.md:
// ≈15–20 µs per run at batch 1 and about the same at batch 64), so windows from many streams that
// complete close together share one session.run, while no window waits beyond its deadline.
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
  readonly features: Float32Array;
  readonly deadlineMonoMs: number;
  readonly enqueuedMonoMs: number;
  readonly resolve: (outcome: BatchOutcome) => void;
}

export interface BatcherStats {
  readonly runs: number;
  readonly windows: number;
  readonly deadlineMisses: number;
  readonly errors: number;
  readonly largestBatch: number;
}

export class MicroBatcher {
  private queue: Pending[] = [];
  private running = false;
  private flushScheduled = false;
  private readonly counters = { runs: 0, windows: 0, deadlineMisses: 0, errors: 0, largestBatch: 0 };

  constructor(
    private readonly session: ModelSession,
    private readonly options: BatcherOptions,
    private readonly clock: BatcherClock = REAL_BATCHER_CLOCK,
  ) {}

  get stats(): BatcherStats {
    return { ...this.counters };
  }

  /** Queues one row of features; resolves with its score, an error, or a deadline miss. Never rejects. */
  submit(features: Float32Array, deadlineMonoMs: number): Promise<BatchOutcome> {
    return new Promise((resolve) => {
      this.queue.push({ features, deadlineMonoMs, enqueuedMonoMs: this.clock.monoNow(), resolve });
      if (this.queue.length >= this.options.maxBatch) this.flushSoon(0);
      else this.flushSoon(this.options.maxWaitMs);
    });
  }

  private flushSoon(ms: number): void {
    if (this.running) return; // the running batch flushes again when it finishes
    if (this.flushScheduled && ms > 0) return;
    this.flushScheduled = true;
    this.clock.schedule(() => {
      this.flushScheduled = false;
      void this.flush();
    }, ms);
  }

  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const now = this.clock.monoNow();
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    for (const item of this.queue) {
      if (item.deadlineMonoMs <= now) this.miss(item, now);
      else if (batch.length < this.options.maxBatch) batch.push(item);
      else rest.push(item);
    }
    this.queue = rest;
    if (batch.length > 0) await this.runBatch(batch);
    this.running = false;
    // Whatever queued during the run has already waited about one run's time: go at once.
    if (this.queue.length > 0) this.flushSoon(0);
  }

  private async runBatch(batch: readonly Pending[]): Promise<void> {
    const width = this.session.io.featureCount;
    const input = new Float32Array(batch.length * width);
    batch.forEach((item, row) => {
      input.set(item.features, row * width);
    });
    this.counters.runs += 1;
    this.counters.windows += batch.length;
    this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
    let scores: Float32Array;
    try {
      scores = await this.session.run(input, batch.length);
    } catch (cause) {
      const error =
        cause instanceof InferenceError
          ? cause
          : new InferenceError('RUN_FAILED', `inference failed: ${String(cause)}`, { cause });
      this.counters.errors += batch.length;
      for (const item of batch) item.resolve({ kind: 'error', error });
      return;
    }
    const done = this.clock.monoNow();
    batch.forEach((item, row) => {
      if (done > item.deadlineMonoMs) this.miss(item, done);
      else item.resolve({ kind: 'score', score: scores[row] as number, batchSize: batch.length });
    });
  }

  private miss(item: Pending, now: number): void {
    this.counters.deadlineMisses += 1;
    item.resolve({ kind: 'deadline-miss', waitedMs: now - item.enqueuedMonoMs });
  }
}
