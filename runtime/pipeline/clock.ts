// The clock of one stream: sample counters are authoritative for *which* samples arrived (a counter
// gap is missing samples); frame timestamps say *when*. The first frame fixes a straight line
// t(c) = t0 + (c − c0)·1000/rate; every later frame's offset from that line (its residual) shows
// clock drift (a slope), transport jitter (noise) and timestamp jumps the counters do not explain
// (steps). The quality gate judges the spread of residuals within a window (docs/pipeline.md).

/** A residual step larger than this many sample periods (and 5 ms) is counted as a timestamp jump. */
const JUMP_PERIODS = 2;
const JUMP_MIN_MS = 5;

export class StreamClock {
  readonly periodMs: number;
  private c0 = 0;
  private t0 = 0;
  private started = false;
  /** Residual of the latest frame (ms). */
  residualMs = 0;
  /** Frames whose residual stepped by more than the jump threshold from the previous frame's. */
  jumps = 0;

  constructor(readonly rateHz: number) {
    this.periodMs = 1000 / rateHz;
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Records a frame's timestamp; returns its residual (0 for the first frame). */
  observe(counter: number, timestampMs: number): number {
    if (!this.started) {
      this.started = true;
      this.c0 = counter;
      this.t0 = timestampMs;
      this.residualMs = 0;
      return 0;
    }
    const residual = timestampMs - this.line(counter);
    if (Math.abs(residual - this.residualMs) > Math.max(JUMP_PERIODS * this.periodMs, JUMP_MIN_MS)) {
      this.jumps += 1;
    }
    this.residualMs = residual;
    return residual;
  }

  /** Where the straight line through the first frame puts a counter (ms since the epoch). */
  line(counter: number): number {
    return this.t0 + (counter - this.c0) * this.periodMs;
  }

  /** Device time of a counter under the latest residual. */
  timeOf(counter: number): number {
    return this.line(counter) + this.residualMs;
  }
}
