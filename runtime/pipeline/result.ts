// What the pipeline returns for every window. The status is a tagged union so that a fallback can
// never be mistaken for a model output (DESIGN.md, "Safety first").
import { createHash } from 'node:crypto';
import type { BackendKind } from '../inference/backend.ts';
import type { Window } from './types.ts';

/** Why the model's output was not used for a window. */
export type FallbackReason =
  | 'QUALITY_NAN' // ±Infinity samples, or NaN samples from the firmware beyond the missing tolerance
  | 'QUALITY_RANGE' // values outside the channel's physical range
  | 'QUALITY_FLATLINE'
  | 'QUALITY_CLIPPING'
  | 'QUALITY_MISSING' // too many missing samples (gaps)
  | 'QUALITY_RATE_JITTER' // frame timestamps drift or jump against the declared rate
  | 'QUALITY_SENSOR_FLAG' // e.g. lead-off reported by the firmware
  | 'QUALITY_SQI' // a signal quality index outside its bounds
  | 'QUALITY_MOTION' // PPG window during too much accelerometer activity
  | 'QUALITY_MOTION_UNAVAILABLE' // motion gating needed, but no accelerometer data covers the window
  | 'OOD_SUPPORT' // features outside the reference profile's support
  | 'OOD_DISTANCE' // features too far from the reference
  | 'FEATURES_INVALID' // preprocessing produced no usable features
  | 'INFERENCE_ERROR'
  | 'DEADLINE_MISS'
  | 'MODEL_REVOKED' // the active bundle was revoked: the declared fallback runs instead
  | 'OUTPUTS_SUPPRESSED'; // a drift alarm's declared safe action

/** What the declared fallback policy produced instead of a model output. */
export type FallbackOutput =
  | { readonly kind: 'suppressed' }
  | { readonly kind: 'quality-alert'; readonly message: string }
  | {
      readonly kind: 'rule';
      readonly ruleVersion: string;
      readonly positive: boolean;
      readonly label: string;
    };

export type ResultStatus =
  | {
      readonly kind: 'ok';
      readonly score: number;
      /** Label after thresholds and hysteresis. */
      readonly label: string;
      readonly positive: boolean;
      /** True when post-processing raised an alert on this window (consecutive rule, refractory). */
      readonly alert: boolean;
    }
  | { readonly kind: 'indeterminate'; readonly score: number; readonly reason: 'SCORE_BAND' }
  | {
      readonly kind: 'fallback';
      readonly reason: FallbackReason;
      /** Plain detail for logs and the black box (never raw samples). */
      readonly detail: string;
      readonly output: FallbackOutput;
    };

export type ResultStatusKind = ResultStatus['kind'];

/** Enough to explain a result months later: which approved configuration produced it. */
export interface ResultProvenance {
  readonly bundleId: string;
  readonly modelFamily: string;
  readonly modelVersion: string;
  readonly sequence: number;
  readonly manifestSha256: string;
  readonly thresholdsVersion: string;
  readonly postprocessingVersion: string;
  readonly qualityPolicyVersion: string;
  readonly fallbackPolicyVersion: string;
  readonly runtimeVersion: string;
  readonly backend: BackendKind;
}

export interface WindowResult {
  /**
   * Unique per device, never reused (across stream reopens and reboots): see resultIdOf. Opaque,
   * printable ASCII, at most 128 bytes. Labels refer to it.
   */
  readonly resultId: string;
  readonly deviceId: string;
  readonly streamId: string;
  readonly windowIndex: number;
  readonly firstCounter: number;
  readonly lastCounter: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly cohort: string;
  readonly status: ResultStatus;
  readonly provenance: ResultProvenance;
  /** From window complete to result ready. */
  readonly latencyMs: number;
  /** True for a shadow candidate's result: never delivered to the firmware. */
  readonly shadow: boolean;
}

/** Result ids are at most this long (bytes; printable ASCII): the bridge and C client carry them. */
export const MAX_RESULT_ID_BYTES = 128;

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * The id of the result of `family`'s model for a window, unique for the device: the window's epoch
 * (pipeline session and windower number) tells apart the cuts of a stream that reopened or was
 * rebuilt, whose window indexes restart at 0. `{streamId}:{epoch}:{index}:{family}`; a stream id
 * that is not printable ASCII or would make the id longer than MAX_RESULT_ID_BYTES is replaced by
 * `~` and 16 hex digits of its SHA-256 (the epoch alone already makes the id unique). Opaque to
 * consumers: labels send it back verbatim. Windows without an epoch (built by hand, or recorded
 * before epochs existed) keep the older `{streamId}:{index}:{family}`.
 */
export function resultIdOf(window: Pick<Window, 'streamId' | 'index' | 'epoch'>, family: string): string {
  const epoch = window.epoch ?? '';
  if (epoch === '') return `${window.streamId}:${window.index}:${family}`;
  const tail = `:${epoch}:${window.index}:${family}`;
  const stream = window.streamId;
  if (stream.length + tail.length <= MAX_RESULT_ID_BYTES && PRINTABLE_ASCII.test(stream)) {
    return stream + tail;
  }
  return `~${createHash('sha256').update(stream).digest('hex').slice(0, 16)}${tail}`;
}
