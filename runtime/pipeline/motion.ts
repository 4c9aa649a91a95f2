// Motion context for PPG: the same device's accelerometer, summarised per time bucket so that any
// window's span can be judged (activity_level_g = SD of |a| over the span, as activity_level@1
// computes it on a window). The pipeline keeps one tracker per accelerometer stream while a loaded
// model gates by motion, and looks it up by device id (docs/pipeline.md "Motion gating").
import type { Manifest } from '../../models/format/manifest.ts';
import { StreamClock } from './clock.ts';
import { PipelineError } from './errors.ts';
import { validateFrame } from './frame.ts';
import type { SamplesFrame, StreamSpec } from './types.ts';

/** Bucket width: the span of a window is widened to whole buckets. */
export const ACTIVITY_BUCKET_MS = 250;
/** At least this share of the accelerometer samples a span should hold must be there. */
export const MIN_MOTION_COVERAGE = 0.9;
/** History kept beyond the longest motion-gated window (for late PPG windows). */
export const ACTIVITY_SLACK_MS = 10_000;

export interface ActivityWindow {
  /** Accelerometer samples in the (bucket-widened) span. */
  readonly samples: number;
  /** Samples the span should hold at the stream's declared rate. */
  readonly expected: number;
  /** Population SD of the acceleration magnitude over those samples, g (NaN below 2 samples). */
  readonly activityG: number;
  /** The accelerometer stream that supplied it. */
  readonly streamId: string;
}

/** Whether a manifest's quality policy needs the device's accelerometer (PPG motion gating). */
export function needsMotion(manifest: Manifest): boolean {
  const q = manifest.quality;
  return q.motionGateG !== null || q.sqi.some((b) => b.name === 'activity_level_g');
}

/** Sums of |a| − 1 g per time bucket: n, Σd, Σd² (shifted by 1 g to keep precision near rest). */
export class ActivityTracker {
  private readonly keys: Float64Array;
  private readonly sums: Float64Array;
  private readonly periodMs: number;
  /** Device time just after the latest sample added (ms); -Infinity before any. */
  coveredUntilMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly streamId: string,
    readonly rateHz: number,
    retentionMs: number,
  ) {
    const buckets = Math.ceil(retentionMs / ACTIVITY_BUCKET_MS) + 2;
    this.keys = new Float64Array(buckets).fill(Number.NaN);
    this.sums = new Float64Array(buckets * 3);
    this.periodMs = 1000 / rateHz;
  }

  /** Bytes held per tracker for a retention (documented bound). */
  static bytesFor(retentionMs: number): number {
    return (Math.ceil(retentionMs / ACTIVITY_BUCKET_MS) + 2) * 32;
  }

  /** Adds samples [from, from + count) of a 3-axis (or 1-channel magnitude) frame starting at `firstMs`. */
  add(channels: readonly Float32Array[], firstMs: number): void {
    const x = channels[0] as Float32Array;
    const three = channels.length >= 3;
    const y = three ? (channels[1] as Float32Array) : x;
    const z = three ? (channels[2] as Float32Array) : x;
    const count = x.length;
    const size = this.keys.length;
    let key = Number.NaN;
    let at = 0;
    for (let i = 0; i < count; i += 1) {
      const t = firstMs + i * this.periodMs;
      const a = x[i] as number;
      const m = three ? Math.sqrt(a * a + (y[i] as number) ** 2 + (z[i] as number) ** 2) : Math.abs(a);
      if (!Number.isFinite(m)) continue; // a missing sample covers nothing
      const k = Math.floor(t / ACTIVITY_BUCKET_MS);
      if (k !== key) {
        key = k;
        const slot = ((k % size) + size) % size;
        at = slot * 3;
        if (this.keys[slot] !== k) {
          this.keys[slot] = k;
          this.sums[at] = 0;
          this.sums[at + 1] = 0;
          this.sums[at + 2] = 0;
        }
      }
      const d = m - 1;
      this.sums[at] = (this.sums[at] as number) + 1;
      this.sums[at + 1] = (this.sums[at + 1] as number) + d;
      this.sums[at + 2] = (this.sums[at + 2] as number) + d * d;
    }
    this.coveredUntilMs = Math.max(this.coveredUntilMs, firstMs + count * this.periodMs);
  }

  /** Activity over [startMs, endMs), widened to whole buckets. */
  query(startMs: number, endMs: number): ActivityWindow {
    const first = Math.floor(startMs / ACTIVITY_BUCKET_MS);
    const last = Math.ceil(endMs / ACTIVITY_BUCKET_MS) - 1;
    const size = this.keys.length;
    let n = 0;
    let s1 = 0;
    let s2 = 0;
    const buckets = Math.max(0, last - first + 1);
    if (buckets <= size) {
      for (let k = first; k <= last; k += 1) {
        const slot = ((k % size) + size) % size;
        if (this.keys[slot] !== k) continue;
        n += this.sums[slot * 3] as number;
        s1 += this.sums[slot * 3 + 1] as number;
        s2 += this.sums[slot * 3 + 2] as number;
      }
    }
    const mean = n > 0 ? s1 / n : 0;
    return {
      samples: n,
      expected: (buckets * ACTIVITY_BUCKET_MS * this.rateHz) / 1000,
      activityG: n >= 2 ? Math.sqrt(Math.max(0, s2 / n - mean * mean)) : Number.NaN,
      streamId: this.streamId,
    };
  }
}

/**
 * An accelerometer stream opened only to give PPG models their motion context (no model reads it):
 * frames are validated and ordered like any stream's, and only feed the tracker.
 */
export class AuxiliaryStream {
  private nextCounter = -1;
  private readonly clock: StreamClock;
  framesRejected = 0;

  constructor(
    readonly spec: StreamSpec,
    readonly tracker: ActivityTracker,
  ) {
    this.clock = new StreamClock(spec.rateHz);
  }

  push(frame: SamplesFrame): void {
    let length: number;
    try {
      length = validateFrame(frame, this.spec.streamId, this.spec.channelCount);
    } catch (error) {
      this.framesRejected += 1;
      throw error;
    }
    if (this.nextCounter >= 0 && frame.firstCounter < this.nextCounter) {
      this.framesRejected += 1;
      throw new PipelineError(
        'OUT_OF_ORDER',
        `stream ${this.spec.streamId}: frame starts at counter ${frame.firstCounter}, expected ${this.nextCounter} or later`,
      );
    }
    this.clock.observe(frame.firstCounter, frame.timestampMs);
    this.nextCounter = frame.firstCounter + length;
    this.tracker.add(frame.channels, this.clock.timeOf(frame.firstCounter));
  }
}
