// Values that flow through the stream pipeline: frames in, windows inside, results out.
import type { SensorKind } from '../../models/format/manifest.ts';
import type { RawWindowStats } from './measure.ts';

/** Per-sample sensor flags set by the firmware (bit field). */
export const SENSOR_FLAG = Object.freeze({
  LEAD_OFF: 1 << 0,
  SATURATED: 1 << 1,
  MOTION: 1 << 2,
});

export const SENSOR_FLAG_NAMES: Readonly<Record<string, number>> = Object.freeze({
  'lead-off': SENSOR_FLAG.LEAD_OFF,
  saturated: SENSOR_FLAG.SATURATED,
  motion: SENSOR_FLAG.MOTION,
});

/** How a stream announces itself (from the bridge's `hello` / stream open). */
export interface StreamSpec {
  readonly deviceId: string;
  readonly streamId: string;
  readonly sensor: SensorKind;
  /** Rate the firmware declares for this stream. */
  readonly rateHz: number;
  readonly channelCount: number;
  /** Cohort key of the wearer, used only for drift grouping (e.g. `age=65+;placement=wrist`). */
  readonly cohort?: string;
}

/** A batch of consecutive samples from one stream. */
export interface SamplesFrame {
  readonly streamId: string;
  /** Counter of the first sample; counters increase by one per sample. */
  readonly firstCounter: number;
  /** Device time of the first sample, ms since the Unix epoch. */
  readonly timestampMs: number;
  /** One array per channel, equal lengths, in the channel's physical unit. */
  readonly channels: readonly Float32Array[];
  /** Optional per-sample flags (SENSOR_FLAG bits), same length as the channels. */
  readonly flags?: Uint8Array;
}

/** A complete window cut from a stream, resampled to the model's rate when needed. */
export interface Window {
  readonly deviceId: string;
  readonly streamId: string;
  readonly sensor: SensorKind;
  readonly cohort: string;
  /** Index of the window in its stream (0, 1, 2, …); restarts when the stream is reopened. */
  readonly index: number;
  /**
   * Which cut of the stream the window belongs to: `{pipeline session}.{windower number}`, unique
   * per gateway boot and per stream opening (and windower rebuild), so that result ids built from
   * it are never reused. Empty or absent on windows built elsewhere (tests, older recordings).
   */
  readonly epoch?: string;
  readonly firstCounter: number;
  readonly lastCounter: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly rateHz: number;
  /** Samples per channel (NaN where a sample was missing). */
  readonly channels: readonly Float64Array[];
  /** OR of the flags of every sample in the window, and the count of flagged samples per flag bit. */
  readonly flagsUnion: number;
  readonly flaggedSamples: number;
  /** Samples that never arrived (gaps), filled with NaN. */
  readonly missingSamples: number;
  /**
   * Timing deviation over the window: spread (max − min) of the frame timestamps' offsets from the
   * clock the counters and the declared rate predict, divided by the window's duration. Clock drift ε
   * gives ≈ ε; a timestamp jump of d ms that the counters do not explain gives ≈ d / duration.
   */
  readonly rateJitterRel: number;
  /** performance.now() when the window completed: latency is measured from here. */
  readonly completedAtMonoMs: number;
  /**
   * Measurements of the raw samples (native rate, before resampling) for the quality gate. Always
   * set by StreamWindower; absent on windows built elsewhere (the gate then measures `channels`).
   */
  readonly raw?: RawWindowStats;
}
