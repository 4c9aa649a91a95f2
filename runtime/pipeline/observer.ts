// What the pipeline tells the rest of the runtime (monitor, audit, black box) — an interface, so
// the data keeps flowing one way: pipeline → observers.
import type { FallbackReason, WindowResult } from './result.ts';
import type { Window } from './types.ts';

export type PipelineEvent =
  | {
      readonly kind: 'fallback-episode-start';
      readonly streamId: string;
      readonly modelFamily: string;
      readonly bundleId: string;
      /** Reason of the episode's first window. */
      readonly reason: FallbackReason;
      readonly atMs: number;
    }
  | {
      readonly kind: 'fallback-episode-end';
      readonly streamId: string;
      readonly modelFamily: string;
      readonly bundleId: string;
      readonly reason: FallbackReason;
      readonly startMs: number;
      readonly endMs: number;
      readonly windows: number;
      /** Windows of the episode per reason (an episode spans consecutive fallbacks of any reason). */
      readonly reasons: Readonly<Partial<Record<FallbackReason, number>>>;
    }
  | {
      readonly kind: 'alert';
      readonly resultId: string;
      readonly streamId: string;
      readonly modelFamily: string;
      readonly bundleId: string;
      readonly label: string;
      readonly atMs: number;
      /** 'model' for an ok result's alert, 'fallback-rule' when the declared rule fired. */
      readonly source: 'model' | 'fallback-rule' | 'quality';
    };

export interface PipelineObserver {
  /** Every result, with the features the model saw (null when preprocessing never ran). */
  onResult?(result: WindowResult, features: Float64Array | null, window: Window): void;
  onEvent?(event: PipelineEvent): void;
}
