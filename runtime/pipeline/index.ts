export { PipelineError, type PipelineErrorCode } from './errors.ts';
export type { FeatureExtractor, FeatureOutcome, FeatureReference } from './features.ts';
export type { PipelineEvent, PipelineObserver } from './observer.ts';
export { checkOod } from './ood.ts';
export {
  Pipeline,
  type FamilyRunners,
  type PipelineOptions,
  type ResultListener,
  type ShadowListener,
} from './pipeline.ts';
export { decide, initialPostprocessState, type Decision, type PostprocessState } from './postprocess.ts';
export { checkRawWindow, rejectMask, type QualityVerdict } from './quality.ts';
export type {
  FallbackOutput,
  FallbackReason,
  ResultProvenance,
  ResultStatus,
  ResultStatusKind,
  WindowResult,
} from './result.ts';
export { evaluateRule, RuleEvaluationError } from './rule.ts';
export { ModelRunner, type LoadedModel, type RunnerOptions, type RunnerOutput } from './runner.ts';
export { StreamWindower, streamBufferBytes, type StreamStats } from './stream.ts';
export { SENSOR_FLAG, SENSOR_FLAG_NAMES, type SamplesFrame, type StreamSpec, type Window } from './types.ts';
