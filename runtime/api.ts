// The runtime as the firmware bridge (and any other front end) sees it: open streams, push samples,
// receive results and alerts, submit delayed labels, ask for status. Implemented by the device
// runtime (runtime/device.ts); the bridge depends on this interface only.
import type { PipelineEvent } from './pipeline/observer.ts';
import type { WindowResult } from './pipeline/result.ts';
import type { SamplesFrame, StreamSpec } from './pipeline/types.ts';

/** Delayed ground truth or clinician feedback for an earlier result (joined by the drift monitor). */
export interface LabelSubmission {
  readonly resultId: string;
  /** 1 = the positive class was present, 0 = absent. */
  readonly value: 0 | 1;
  readonly source: 'ground-truth' | 'clinician';
  readonly atMs: number;
}

export type LabelOutcome =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'unknown-result' } // too old (outside the join window) or never produced
  | { readonly kind: 'duplicate' };

export interface ModelStatus {
  readonly modelFamily: string;
  readonly bundleId: string;
  readonly version: string;
  readonly sequence: number;
  readonly sensor: string;
  readonly backend: string;
  readonly candidateBundleId: string | null;
}

export interface RuntimeStatus {
  readonly deviceId: string;
  readonly runtimeVersion: string;
  readonly models: readonly ModelStatus[];
  readonly openStreams: number;
  readonly frozen: boolean;
}

export type AlertEvent = Extract<PipelineEvent, { kind: 'alert' }>;

export interface DeviceRuntimeApi {
  readonly deviceId: string;
  /** Throws PipelineError (RATE_MISMATCH, CHANNEL_MISMATCH, NO_MODEL_FOR_SENSOR, DUPLICATE_STREAM…). */
  openStream(spec: StreamSpec): void;
  closeStream(streamId: string): void;
  /**
   * Throws PipelineError on a bad frame; the stream stays usable. Returns how many windows the frame
   * completed (the bridge holds credit while a device has many windows waiting for results).
   */
  pushSamples(frame: SamplesFrame): number;
  /** Results meant for the firmware (never a shadow candidate's). Returns an unsubscribe function. */
  onResult(listener: (result: WindowResult) => void): () => void;
  onAlert(listener: (alert: AlertEvent) => void): () => void;
  submitLabel(label: LabelSubmission): LabelOutcome;
  status(): RuntimeStatus;
  /** Resolves when every window received so far has produced its result. */
  drain(): Promise<void>;
}
