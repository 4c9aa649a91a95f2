// Per-stream state: a ring buffer of the last window's worth of samples, sample counters, gap filling
// and window cutting at the manifest's window/hop. Memory per stream is bounded by one window:
// (channels × 4 B + 1 B flags + 1 B missing) × window samples at the stream's native rate.
import type { InputSpec } from '../../models/format/manifest.ts';
import { PipelineError } from './errors.ts';
import type { SamplesFrame, StreamSpec, Window } from './types.ts';

const MAX_FRAME_SAMPLES = 1 << 16;

export interface StreamStats {
  readonly samplesReceived: number;
  readonly framesReceived: number;
  readonly gapSamples: number;
  readonly windowsEmitted: number;
  /** Windows that fell entirely inside a gap: nothing to analyse, counted instead. */
  readonly windowsSkipped: number;
  readonly framesRejected: number;
}

interface FrameAnchor {
  counter: number;
  timestampMs: number;
}

/** Bytes of buffer a stream holds for a given input spec and declared rate (documented bound). */
export function streamBufferBytes(input: InputSpec, declaredRateHz: number, channelCount: number): number {
  const nativeWindow = Math.round(input.windowS * declaredRateHz);
  return nativeWindow * (channelCount * 4 + 2);
}

export class StreamWindower {
  private readonly nativeWindow: number;
  private readonly nativeHop: number;
  private readonly modelWindow: number;
  private readonly samples: Float32Array[];
  private readonly flags: Uint8Array;
  private readonly missing: Uint8Array;
  /** Counter of the next sample expected; -1 before the first frame. */
  private nextCounter = -1;
  /** Counter at which window `windowIndex` starts. */
  private windowStart = 0;
  private windowIndex = 0;
  private readonly anchors: FrameAnchor[] = [];
  private stats = {
    samplesReceived: 0,
    framesReceived: 0,
    gapSamples: 0,
    windowsEmitted: 0,
    windowsSkipped: 0,
    framesRejected: 0,
  };

  constructor(
    readonly spec: StreamSpec,
    private readonly input: InputSpec,
    private readonly monoNow: () => number,
  ) {
    const relative = Math.abs(spec.rateHz / input.sampleRateHz - 1);
    if (!(relative <= input.rateToleranceRel)) {
      throw new PipelineError(
        'RATE_MISMATCH',
        `stream ${spec.streamId} declares ${spec.rateHz} Hz; the model needs ${input.sampleRateHz} Hz ` +
          `± ${(input.rateToleranceRel * 100).toFixed(1)} %`,
      );
    }
    if (spec.channelCount !== input.channels.length) {
      throw new PipelineError(
        'CHANNEL_MISMATCH',
        `stream ${spec.streamId} has ${spec.channelCount} channels; the model needs ${input.channels.length}`,
      );
    }
    this.nativeWindow = Math.round(input.windowS * spec.rateHz);
    this.nativeHop = Math.max(1, Math.round(input.hopS * spec.rateHz));
    this.modelWindow = Math.round(input.windowS * input.sampleRateHz);
    this.samples = Array.from({ length: spec.channelCount }, () => new Float32Array(this.nativeWindow));
    this.flags = new Uint8Array(this.nativeWindow);
    this.missing = new Uint8Array(this.nativeWindow);
  }

  get statistics(): StreamStats {
    return { ...this.stats };
  }

  /** Appends a frame and returns the windows it completed (possibly none). */
  push(frame: SamplesFrame): Window[] {
    const length = this.validate(frame);
    if (this.nextCounter < 0) {
      this.nextCounter = frame.firstCounter;
      this.windowStart = frame.firstCounter;
    }
    if (frame.firstCounter < this.nextCounter) {
      this.stats.framesRejected += 1;
      throw new PipelineError(
        'OUT_OF_ORDER',
        `stream ${this.spec.streamId}: frame starts at counter ${frame.firstCounter}, ` +
          `expected ${this.nextCounter} or later`,
      );
    }
    const windows: Window[] = [];
    const gap = frame.firstCounter - this.nextCounter;
    if (gap > 0) this.fillGap(gap, windows);
    this.rememberAnchor(frame.firstCounter, frame.timestampMs);
    for (let i = 0; i < length; i += 1) {
      const slot = this.nextCounter % this.nativeWindow;
      for (let c = 0; c < this.samples.length; c += 1) {
        (this.samples[c] as Float32Array)[slot] = (frame.channels[c] as Float32Array)[i] as number;
      }
      this.flags[slot] = frame.flags ? (frame.flags[i] as number) & 0xff : 0;
      this.missing[slot] = 0;
      this.nextCounter += 1;
      if (this.nextCounter === this.windowStart + this.nativeWindow) windows.push(this.cut());
    }
    this.stats.framesReceived += 1;
    this.stats.samplesReceived += length;
    return windows;
  }

  private validate(frame: SamplesFrame): number {
    const reject = (message: string): never => {
      this.stats.framesRejected += 1;
      throw new PipelineError('BAD_FRAME', `stream ${this.spec.streamId}: ${message}`);
    };
    if (frame.channels.length !== this.samples.length) {
      this.stats.framesRejected += 1;
      throw new PipelineError(
        'CHANNEL_MISMATCH',
        `stream ${this.spec.streamId}: frame has ${frame.channels.length} channels, expected ${this.samples.length}`,
      );
    }
    const length = frame.channels[0]?.length ?? 0;
    if (length === 0) reject('empty frame');
    if (length > MAX_FRAME_SAMPLES) reject(`frame of ${length} samples exceeds ${MAX_FRAME_SAMPLES}`);
    if (frame.channels.some((ch) => ch.length !== length)) reject('channels differ in length');
    if (frame.flags && frame.flags.length !== length) reject('flags differ in length from the samples');
    if (!Number.isSafeInteger(frame.firstCounter) || frame.firstCounter < 0) reject('bad sample counter');
    if (!Number.isFinite(frame.timestampMs)) reject('non-finite timestamp');
    return length;
  }

  /** Marks `gap` samples missing; windows that lie entirely in the gap are skipped, not analysed. */
  private fillGap(gap: number, windows: Window[]): void {
    this.stats.gapSamples += gap;
    const gapStart = this.nextCounter;
    const gapEnd = gapStart + gap;
    // 1. Windows that began before the gap and end inside it complete with missing samples.
    while (this.windowStart < gapStart && this.windowStart + this.nativeWindow <= gapEnd) {
      const windowEnd = this.windowStart + this.nativeWindow;
      while (this.nextCounter < windowEnd) this.markMissing();
      windows.push(this.cut());
    }
    // 2. Windows entirely inside the gap hold nothing to analyse: skip and count them.
    while (this.windowStart >= gapStart && this.windowStart + this.nativeWindow <= gapEnd) {
      this.windowStart += this.nativeHop;
      this.windowIndex += 1;
      this.stats.windowsSkipped += 1;
    }
    // 3. The last window's worth of the gap stays in the ring for the windows still open.
    this.nextCounter = Math.max(this.nextCounter, gapEnd - this.nativeWindow);
    while (this.nextCounter < gapEnd) this.markMissing();
  }

  private markMissing(): void {
    const slot = this.nextCounter % this.nativeWindow;
    for (const channel of this.samples) channel[slot] = Number.NaN;
    this.flags[slot] = 0;
    this.missing[slot] = 1;
    this.nextCounter += 1;
  }

  private rememberAnchor(counter: number, timestampMs: number): void {
    this.anchors.push({ counter, timestampMs });
    // Keep anchors that can still fall inside a future window.
    while (this.anchors.length > 2 && (this.anchors[1] as FrameAnchor).counter <= this.windowStart) {
      this.anchors.shift();
    }
  }

  private timeOf(counter: number): number {
    let anchor = this.anchors[0] as FrameAnchor;
    for (const candidate of this.anchors) {
      if (candidate.counter <= counter) anchor = candidate;
    }
    return anchor.timestampMs + ((counter - anchor.counter) * 1000) / this.spec.rateHz;
  }

  /** Largest relative deviation between frame timestamps and what the declared rate predicts. */
  private jitter(from: number, to: number): number {
    let worst = 0;
    let previous: FrameAnchor | undefined;
    for (const anchor of this.anchors) {
      if (anchor.counter < from || anchor.counter >= to) continue;
      if (previous) {
        const expected = ((anchor.counter - previous.counter) * 1000) / this.spec.rateHz;
        const observed = anchor.timestampMs - previous.timestampMs;
        if (expected > 0) worst = Math.max(worst, Math.abs(observed - expected) / expected);
      }
      previous = anchor;
    }
    return worst;
  }

  private cut(): Window {
    const start = this.windowStart;
    const end = start + this.nativeWindow;
    let flagsUnion = 0;
    let flaggedSamples = 0;
    let missingSamples = 0;
    for (let counter = start; counter < end; counter += 1) {
      const slot = counter % this.nativeWindow;
      const flag = this.flags[slot] as number;
      flagsUnion |= flag;
      if (flag !== 0) flaggedSamples += 1;
      missingSamples += this.missing[slot] as number;
    }
    const channels = this.samples.map((ring) => this.extract(ring, start));
    const window: Window = {
      deviceId: this.spec.deviceId,
      streamId: this.spec.streamId,
      sensor: this.spec.sensor,
      cohort: this.spec.cohort ?? '',
      index: this.windowIndex,
      firstCounter: start,
      lastCounter: end - 1,
      startMs: this.timeOf(start),
      endMs: this.timeOf(end),
      rateHz: this.input.sampleRateHz,
      channels,
      flagsUnion,
      flaggedSamples,
      missingSamples,
      rateJitterRel: this.jitter(start, end),
      completedAtMonoMs: this.monoNow(),
    };
    this.windowIndex += 1;
    this.windowStart += this.nativeHop;
    this.stats.windowsEmitted += 1;
    return window;
  }

  /** Copies the window out of the ring, resampling linearly to the model's rate when they differ. */
  private extract(ring: Float32Array, start: number): Float64Array {
    const out = new Float64Array(this.modelWindow);
    if (this.modelWindow === this.nativeWindow) {
      for (let i = 0; i < this.modelWindow; i += 1) out[i] = ring[(start + i) % this.nativeWindow] as number;
      return out;
    }
    const step = (this.nativeWindow - 1) / Math.max(1, this.modelWindow - 1);
    for (let i = 0; i < this.modelWindow; i += 1) {
      const position = i * step;
      const left = Math.floor(position);
      const right = Math.min(this.nativeWindow - 1, left + 1);
      const fraction = position - left;
      const a = ring[(start + left) % this.nativeWindow] as number;
      const b = ring[(start + right) % this.nativeWindow] as number;
      out[i] = a + (b - a) * fraction;
    }
    return out;
  }
}
