// Per-stream state: a ring buffer of one window of samples at the stream's own rate, per-block
// counters, gap filling, the stream clock, and window cutting at the manifest's window/hop
// (docs/pipeline.md "Streams and windows"). Memory per stream is fixed when the stream opens and
// never grows with the data: see streamBufferBytes.
import type { InputSpec } from '../../models/format/manifest.ts';
import { StreamClock } from './clock.ts';
import { PipelineError } from './errors.ts';
import { validateFrame } from './frame.ts';
import {
  channelRange,
  countHeld,
  finiteRange,
  finiteRangeAndHeld,
  heldRunSamples,
  type RawWindowStats,
} from './measure.ts';
import type { SamplesFrame, StreamSpec, Window } from './types.ts';

export { MAX_FRAME_SAMPLES } from './frame.ts';

export interface StreamStats {
  readonly samplesReceived: number;
  readonly framesReceived: number;
  /** Samples missing from counter gaps (NaN samples sent by the firmware are counted apart). */
  readonly gapSamples: number;
  /** Counter gaps (events). */
  readonly gaps: number;
  /** Samples the firmware sent as NaN. */
  readonly nanSamples: number;
  /** Frames whose timestamp stepped away from the stream clock (docs/pipeline.md). */
  readonly timestampJumps: number;
  readonly windowsEmitted: number;
  /** Windows that fell entirely inside a gap: nothing to analyse, counted instead. */
  readonly windowsSkipped: number;
  readonly framesRejected: number;
}

/** Status bits of one incoming time point (any channel). */
const NAN = 2; // NaN sent by the firmware
const INF = 4; // ±Infinity sent by the firmware

/**
 * Per timing block (gcd of window and hop, so that every window is a whole number of blocks): the
 * residual at its start, min, max and latest (timing), then the union of sensor flags, flagged,
 * missing, NaN and ±Infinity sample counts — kept as samples arrive, so that cutting a window merges
 * a few blocks instead of rescanning the window (every sample is in window/hop windows).
 */
const BLOCK_FIELDS = 9;
const B_FLAGS = 4;
const B_FLAGGED = 5;
const B_MISSING = 6;
const B_NAN = 7;
const B_INF = 8;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

interface Geometry {
  readonly nativeWindow: number;
  readonly nativeHop: number;
  readonly modelWindow: number;
  readonly blockSize: number;
}

function geometry(input: InputSpec, rateHz: number): Geometry {
  const nativeWindow = Math.max(1, Math.round(input.windowS * rateHz));
  const nativeHop = Math.min(nativeWindow, Math.max(1, Math.round(input.hopS * rateHz)));
  return {
    nativeWindow,
    nativeHop,
    modelWindow: Math.max(1, Math.round(input.windowS * input.sampleRateHz)),
    blockSize: gcd(nativeWindow, nativeHop),
  };
}

/**
 * Bytes of sample state one stream holds for a model's input at a declared rate: 4 B per channel per
 * native window sample (float32 ring) plus 72 B per block (window/gcd(window, hop) blocks). Object
 * headers and per-stream model state (≈ 2.5 KB of heap, bench/pipeline.bench.ts) come on top.
 */
export function streamBufferBytes(input: InputSpec, declaredRateHz: number, channelCount: number): number {
  const g = geometry(input, declaredRateHz);
  return g.nativeWindow * channelCount * 4 + (g.nativeWindow / g.blockSize) * BLOCK_FIELDS * 8;
}

export class StreamWindower {
  readonly nativeWindow: number;
  readonly nativeHop: number;
  readonly modelWindow: number;
  private readonly blockSize: number;
  private readonly blocksPerWindow: number;
  private readonly ring: Float32Array[];
  private readonly blocks: Float64Array;
  private readonly heldRun: number;
  private readonly clock: StreamClock;
  /** First counter of the stream: windows and timing blocks are aligned to it. */
  private origin = 0;
  /** Counter of the next sample expected; -1 before the first frame. */
  private nextCounter = -1;
  /** Counter at which window `windowIndex` starts. */
  private windowStart = 0;
  private windowIndex = 0;
  private stats = {
    samplesReceived: 0,
    framesReceived: 0,
    gapSamples: 0,
    gaps: 0,
    nanSamples: 0,
    windowsEmitted: 0,
    windowsSkipped: 0,
    framesRejected: 0,
  };

  constructor(
    readonly spec: StreamSpec,
    private readonly input: InputSpec,
    private readonly monoNow: () => number,
    /** Put on every window (Window.epoch): identifies this cut of the stream. */
    private readonly epoch = '',
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
    const g = geometry(input, spec.rateHz);
    this.nativeWindow = g.nativeWindow;
    this.nativeHop = g.nativeHop;
    this.modelWindow = g.modelWindow;
    this.blockSize = g.blockSize;
    this.blocksPerWindow = g.nativeWindow / g.blockSize;
    this.ring = Array.from({ length: spec.channelCount }, () => new Float32Array(this.nativeWindow));
    this.blocks = new Float64Array(this.blocksPerWindow * BLOCK_FIELDS);
    this.heldRun = heldRunSamples(spec.rateHz);
    this.clock = new StreamClock(spec.rateHz);
  }

  get statistics(): StreamStats {
    return { ...this.stats, timestampJumps: this.clock.jumps };
  }

  /** Device time (ms) of a counter on this stream's clock; NaN before the first frame. */
  timeOf(counter: number): number {
    return this.clock.isStarted ? this.clock.timeOf(counter) : Number.NaN;
  }

  /** Counter of the next sample expected (-1 before the first frame). */
  get expectedCounter(): number {
    return this.nextCounter;
  }

  /** Appends a frame and returns the windows it completed (possibly none). Throws PipelineError. */
  push(frame: SamplesFrame): Window[] {
    let length: number;
    try {
      length = validateFrame(frame, this.spec.streamId, this.ring.length);
    } catch (error) {
      this.stats.framesRejected += 1;
      throw error;
    }
    if (this.nextCounter < 0) {
      this.origin = frame.firstCounter;
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
    const residual = this.clock.observe(frame.firstCounter, frame.timestampMs);
    // The frame's timestamp describes its first sample: the block holding it sees this residual.
    if ((this.nextCounter - this.origin) % this.blockSize !== 0)
      this.noteResidual(this.nextCounter, residual);
    let offset = 0;
    while (offset < length) {
      const untilWindowEnd = this.windowStart + this.nativeWindow - this.nextCounter;
      const count = Math.min(length - offset, untilWindowEnd);
      this.write(frame, offset, count);
      offset += count;
      if (this.nextCounter === this.windowStart + this.nativeWindow) windows.push(this.cut());
    }
    this.stats.framesReceived += 1;
    this.stats.samplesReceived += length;
    return windows;
  }

  // --- ring writes ----------------------------------------------------------------------------

  /** Copies `count` samples of the frame (from `offset`) into the ring, marking their status. */
  private write(frame: SamplesFrame, offset: number, count: number): void {
    const n = this.nativeWindow;
    let done = 0;
    while (done < count) {
      const slot = this.nextCounter % n;
      const run = Math.min(count - done, n - slot);
      this.startBlocks(this.nextCounter, run);
      const from = offset + done;
      for (let c = 0; c < this.ring.length; c += 1) {
        const source = frame.channels[c] as Float32Array;
        (this.ring[c] as Float32Array).set(source.subarray(from, from + run), slot);
      }
      this.markStatus(frame, from, run);
      this.nextCounter += run;
      done += run;
    }
  }

  private markStatus(frame: SamplesFrame, from: number, run: number): void {
    const channels = frame.channels;
    const flags = frame.flags;
    const blocks = this.blocks;
    const b = this.blockSize;
    let at = this.blockOffset(this.nextCounter);
    let toBoundary = b - ((this.nextCounter - this.origin) % b);
    let nan = 0;
    for (let i = 0; i < run; i += 1) {
      if (toBoundary === 0) {
        at = this.blockOffset(this.nextCounter + i);
        toBoundary = b;
      }
      toBoundary -= 1;
      let s = 0;
      for (let c = 0; c < channels.length; c += 1) {
        const v = (channels[c] as Float32Array)[from + i] as number;
        if (v - v !== 0) s |= v === v ? INF : NAN;
      }
      if (s !== 0) {
        if (s & NAN) {
          nan += 1;
          blocks[at + B_NAN] = (blocks[at + B_NAN] as number) + 1;
        }
        if (s & INF) blocks[at + B_INF] = (blocks[at + B_INF] as number) + 1;
      }
      const flag = flags ? (flags[from + i] as number) : 0;
      if (flag !== 0) {
        blocks[at + B_FLAGS] = (blocks[at + B_FLAGS] as number) | flag;
        blocks[at + B_FLAGGED] = (blocks[at + B_FLAGGED] as number) + 1;
      }
    }
    this.stats.nanSamples += nan;
  }

  /** Marks `count` samples from nextCounter as missing (a counter gap). */
  private writeMissing(count: number): void {
    const n = this.nativeWindow;
    let done = 0;
    while (done < count) {
      const slot = this.nextCounter % n;
      const run = Math.min(count - done, n - slot);
      this.startBlocks(this.nextCounter, run);
      for (const channel of this.ring) channel.fill(Number.NaN, slot, slot + run);
      // Missing counts per block (a run may cross block boundaries).
      for (let c = this.nextCounter; c < this.nextCounter + run;) {
        const toBoundary = this.blockSize - ((c - this.origin) % this.blockSize);
        const k = Math.min(toBoundary, this.nextCounter + run - c);
        const at = this.blockOffset(c) + B_MISSING;
        this.blocks[at] = (this.blocks[at] as number) + k;
        c += k;
      }
      this.nextCounter += run;
      done += run;
    }
  }

  /**
   * Handles a counter gap in O(window) whatever its length: windows ending inside the gap complete
   * with missing samples, windows entirely inside it are skipped and counted, and only the last
   * window's worth of the gap is written to the ring.
   */
  private fillGap(gap: number, windows: Window[]): void {
    this.stats.gapSamples += gap;
    this.stats.gaps += 1;
    const gapStart = this.nextCounter;
    const gapEnd = gapStart + gap;
    const n = this.nativeWindow;
    // 1. Windows that began before the gap and end inside it complete with missing samples.
    while (this.windowStart < gapStart && this.windowStart + n <= gapEnd) {
      this.writeMissing(this.windowStart + n - this.nextCounter);
      windows.push(this.cut());
    }
    // 2. Windows entirely inside the gap hold nothing to analyse: skip and count them.
    if (this.windowStart >= gapStart && this.windowStart + n <= gapEnd) {
      const skipped = Math.floor((gapEnd - n - this.windowStart) / this.nativeHop) + 1;
      this.windowStart += skipped * this.nativeHop;
      this.windowIndex += skipped;
      this.stats.windowsSkipped += skipped;
    }
    // 3. Only samples that open windows can still contain go to the ring (from a block boundary).
    const earliest = Math.min(this.windowStart, gapEnd);
    const aligned = this.origin + Math.floor((earliest - this.origin) / this.blockSize) * this.blockSize;
    if (aligned > this.nextCounter) this.nextCounter = aligned;
    this.writeMissing(gapEnd - this.nextCounter);
  }

  // --- timing blocks --------------------------------------------------------------------------

  private blockOffset(counter: number): number {
    return (Math.floor((counter - this.origin) / this.blockSize) % this.blocksPerWindow) * BLOCK_FIELDS;
  }

  /** Starts every block whose first counter lies in [from, from + count) at the current residual. */
  private startBlocks(from: number, count: number): void {
    const b = this.blockSize;
    const rel = from - this.origin;
    let first = from + ((b - (rel % b)) % b);
    const r = this.clock.residualMs;
    for (; first < from + count; first += b) {
      const at = this.blockOffset(first);
      this.blocks[at] = r;
      this.blocks[at + 1] = r;
      this.blocks[at + 2] = r;
      this.blocks[at + 3] = r;
      this.blocks.fill(0, at + B_FLAGS, at + BLOCK_FIELDS);
    }
  }

  private noteResidual(counter: number, residual: number): void {
    const at = this.blockOffset(counter);
    const blocks = this.blocks;
    if (residual < (blocks[at + 1] as number)) blocks[at + 1] = residual;
    if (residual > (blocks[at + 2] as number)) blocks[at + 2] = residual;
    blocks[at + 3] = residual;
  }

  // --- cutting ---------------------------------------------------------------------------------

  private cut(): Window {
    const start = this.windowStart;
    const n = this.nativeWindow;
    const end = start + n;
    const slot = start % n;
    // Sensor flags and sample status over the window: merged from its blocks.
    let flagsUnion = 0;
    let flaggedSamples = 0;
    let missingSamples = 0;
    let nanSamples = 0;
    let infiniteSamples = 0;
    const blocks = this.blocks;
    for (let at = 0; at < blocks.length; at += BLOCK_FIELDS) {
      flagsUnion |= blocks[at + B_FLAGS] as number;
      flaggedSamples += blocks[at + B_FLAGGED] as number;
      missingSamples += blocks[at + B_MISSING] as number;
      nanSamples += blocks[at + B_NAN] as number;
      infiniteSamples += blocks[at + B_INF] as number;
    }
    // Native samples, unwrapped (float32 → float64) into one allocation per window (a typed array
    // allocation costs about as much as copying a few hundred samples); when the window must be
    // resampled, the native copy goes to a shared scratch buffer instead (cut is synchronous).
    const channelCount = this.ring.length;
    const resampling = this.modelWindow !== n;
    const buffer = resampling ? scratch(n * channelCount) : new Float64Array(n * channelCount);
    const native: Float64Array[] = [];
    for (let c = 0; c < channelCount; c += 1) {
      const ring = this.ring[c] as Float32Array;
      const out = buffer.subarray(c * n, (c + 1) * n);
      out.set(ring.subarray(slot, n));
      if (slot > 0) out.set(ring.subarray(0, slot), n - slot);
      native.push(out);
    }
    const allFinite = missingSamples + nanSamples + infiniteSamples === 0;
    let raw: RawWindowStats;
    const only = native[0];
    if (allFinite && channelCount === 1 && only) {
      const { range, held } = finiteRangeAndHeld(only, this.heldRun);
      raw = {
        nativeLength: n,
        nativeRateHz: this.spec.rateHz,
        nanSamples,
        infiniteSamples,
        heldSamples: held,
        channels: [range],
      };
    } else {
      const ranges = native.map((x) => (allFinite ? finiteRange(x) : channelRange(x)));
      raw = {
        nativeLength: n,
        nativeRateHz: this.spec.rateHz,
        nanSamples,
        infiniteSamples,
        heldSamples: countHeld(native, this.heldRun, ranges),
        channels: ranges,
      };
    }
    // Timing: spread of residuals over the window's blocks.
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (let b = 0; b < this.blocksPerWindow; b += 1) {
      const at = b * BLOCK_FIELDS;
      low = Math.min(low, this.blocks[at + 1] as number);
      high = Math.max(high, this.blocks[at + 2] as number);
    }
    const durationMs = n * this.clock.periodMs;
    const first = this.blocks[this.blockOffset(start)] as number;
    const last = this.blocks[this.blockOffset(end - 1) + 3] as number;
    const window: Window = {
      deviceId: this.spec.deviceId,
      streamId: this.spec.streamId,
      sensor: this.spec.sensor,
      cohort: this.spec.cohort ?? '',
      index: this.windowIndex,
      epoch: this.epoch,
      firstCounter: start,
      lastCounter: end - 1,
      startMs: this.clock.line(start) + first,
      endMs: this.clock.line(end) + last,
      rateHz: this.input.sampleRateHz,
      channels: resampling ? this.resampleAll(native) : native,
      flagsUnion,
      flaggedSamples,
      missingSamples,
      rateJitterRel: (high - low) / durationMs,
      completedAtMonoMs: this.monoNow(),
      raw,
    };
    this.windowIndex += 1;
    this.windowStart += this.nativeHop;
    this.stats.windowsEmitted += 1;
    return window;
  }

  /**
   * Linear interpolation from the stream's rate to the model's (only ever within the manifest's
   * rate tolerance): model sample i sits at native position i·n/m. A NaN neighbour gives NaN.
   */
  private resampleAll(native: readonly Float64Array[]): Float64Array[] {
    const m = this.modelWindow;
    const buffer = new Float64Array(m * native.length);
    return native.map((x, c) => {
      const out = buffer.subarray(c * m, (c + 1) * m);
      const n = x.length;
      const step = n / m;
      for (let i = 0; i < m; i += 1) {
        const position = Math.min(n - 1, i * step);
        const left = Math.floor(position);
        const fraction = position - left;
        const a = x[left] as number;
        out[i] = fraction === 0 ? a : a + ((x[Math.min(n - 1, left + 1)] as number) - a) * fraction;
      }
      return out;
    });
  }
}

let scratchBuffer = new Float64Array(0);

/** A scratch buffer shared by every windower (cut never yields, so one at a time uses it). */
function scratch(length: number): Float64Array {
  if (scratchBuffer.length < length) scratchBuffer = new Float64Array(length);
  return scratchBuffer.subarray(0, length);
}
