// Counters the runtime exposes for the monitor and the health checks of a rollout: per model, per
// stream and for the inference queue. Latency is kept in a fixed log-spaced histogram (constant
// memory, mergeable), from which percentiles are read at bin resolution (±6 %).
import type { FallbackReason } from './result.ts';

/** Bin upper edges: 0.05 ms × 1.12^k up to ≈ 60 s. */
const LATENCY_FIRST_EDGE_MS = 0.05;
const LATENCY_GROWTH = 1.12;
const LATENCY_BINS = 125;

export class LatencyHistogram {
  private readonly counts = new Float64Array(LATENCY_BINS + 1);
  private total = 0;
  private maxMs = 0;

  add(ms: number): void {
    const v = ms > 0 ? ms : 0;
    let bin =
      v <= LATENCY_FIRST_EDGE_MS
        ? 0
        : Math.ceil(Math.log(v / LATENCY_FIRST_EDGE_MS) / Math.log(LATENCY_GROWTH));
    if (!(bin <= LATENCY_BINS)) bin = LATENCY_BINS;
    this.counts[bin] = (this.counts[bin] as number) + 1;
    this.total += 1;
    if (v > this.maxMs) this.maxMs = v;
  }

  get count(): number {
    return this.total;
  }

  /** Upper edge of the bin holding the p-th percentile (nearest rank); NaN when empty. */
  percentile(p: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let bin = 0; bin <= LATENCY_BINS; bin += 1) {
      seen += this.counts[bin] as number;
      if (seen >= rank) {
        return bin === LATENCY_BINS
          ? this.maxMs
          : Math.min(this.maxMs, LATENCY_FIRST_EDGE_MS * LATENCY_GROWTH ** bin);
      }
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    return { count: this.total, p50Ms: this.percentile(50), p99Ms: this.percentile(99), maxMs: this.maxMs };
  }
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** What one model runner has done since it was created. */
export interface RunnerStats {
  readonly modelFamily: string;
  readonly bundleId: string;
  readonly shadow: boolean;
  readonly windows: number;
  readonly ok: number;
  readonly indeterminate: number;
  readonly fallback: number;
  readonly fallbackByReason: Readonly<Partial<Record<FallbackReason, number>>>;
  /** Alerts raised by the model (ok results) and by the declared fallback rule. */
  readonly alerts: number;
  readonly ruleAlerts: number;
  /** Same as fallbackByReason.INFERENCE_ERROR / DEADLINE_MISS, named for health checks. */
  readonly inferenceErrors: number;
  readonly deadlineMisses: number;
  /** Streams currently inside a fallback episode. */
  readonly openEpisodes: number;
  /** Window complete → result, over every result. */
  readonly latency: LatencySummary;
}
