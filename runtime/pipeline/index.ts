export {
  PipelineError,
  PipelineInternalError,
  type PipelineErrorCode,
  type PipelineInternalCode,
} from './errors.ts';
export type { FeatureExtractor, FeatureOutcome, FeatureReference } from './features.ts';
export { MAX_ABS_TIMESTAMP_MS, MAX_STREAM_CHANNELS, MAX_STREAM_RATE_HZ, validateFrame } from './frame.ts';
export {
  HELD_RUN_MIN_SAMPLES,
  HELD_RUN_S,
  heldRunSamples,
  measureChannels,
  type ChannelRange,
  type RawWindowStats,
} from './measure.ts';
export {
  ACTIVITY_BUCKET_MS,
  ActivityTracker,
  MIN_MOTION_COVERAGE,
  needsMotion,
  type ActivityWindow,
} from './motion.ts';
export { episodeLogger, type EpisodeLog } from './log.ts';
export type { PipelineEvent, PipelineObserver } from './observer.ts';
export { checkOod } from './ood.ts';
export {
  DEFAULT_MOTION_WAIT_MS,
  DEFAULT_SHADOW_GRACE_MS,
  Pipeline,
  type FamilyRunners,
  type FamilyStats,
  type PipelineOptions,
  type PipelineStats,
  type ResultListener,
  type ShadowListener,
} from './pipeline.ts';
export { decide, initialPostprocessState, type Decision, type PostprocessState } from './postprocess.ts';
export { checkRawWindow, rawStatsOf, rejectMask, type QualityVerdict } from './quality.ts';
export {
  MAX_RESULT_ID_BYTES,
  resultIdOf,
  type FallbackOutput,
  type FallbackReason,
  type ResultProvenance,
  type ResultStatus,
  type ResultStatusKind,
  type WindowResult,
} from './result.ts';
export { evaluateRule, RuleEvaluationError } from './rule.ts';
export {
  ModelRunner,
  type LoadedModel,
  type RunnerOptions,
  type RunnerOutput,
  type WindowContext,
} from './runner.ts';
export { LatencyHistogram, type LatencySummary, type RunnerStats } from './stats.ts';
export { MAX_FRAME_SAMPLES, StreamWindower, streamBufferBytes, type StreamStats } from './stream.ts';
export { SENSOR_FLAG, SENSOR_FLAG_NAMES, type SamplesFrame, type StreamSpec, type Window } from './types.ts';
