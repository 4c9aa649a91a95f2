// Public API of the preprocessing ops library (shared by training in models/ and the runtime).
export { OpError } from './types.ts';
export type {
  OpDefinition,
  OpErrorCode,
  OpImplementation,
  OpKernel,
  OpValue,
  OpValueKind,
  ParamDoc,
  PreparedOp,
  PreprocessingStep,
  ValueShape,
} from './types.ts';
export { OP_CATALOGUE, lookupOp } from './catalogue.ts';
export { INPUT_NAME, MAX_STEPS, compilePreprocessing } from './plan.ts';
export type { CompileOptions, CompiledPlan, CompiledStep, PlanInput } from './plan.ts';
export { MAX_CHANNELS, MAX_RATE_HZ, MAX_SAMPLES } from './define.ts';
export type { EventsValue, FeaturesValue, SeriesValue, SignalValue } from './define.ts';
export { SQI_FEATURES, SQI_OUTPUT, sqiSteps } from './sqi.ts';
export { ACCEL_FEATURE_NAMES } from './dsp/accel.ts';
export { RR_FEATURE_NAMES } from './dsp/hrv.ts';
export { ECG_SQI_NAMES } from './catalogue/ecg.ts';
export { PPG_SQI_NAMES } from './catalogue/ppg.ts';
export { ACTIVITY_NAMES } from './catalogue/accel.ts';
export { catalogueMarkdown, describeOp } from './describe.ts';
