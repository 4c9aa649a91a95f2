export type {
  BackendChoice,
  BackendKind,
  BackendPreference,
  InferenceBackend,
  ModelIo,
  ModelSession,
} from './backend.ts';
export {
  MicroBatcher,
  REAL_BATCHER_CLOCK,
  type BatchOutcome,
  type BatcherClock,
  type BatcherOptions,
  type BatcherStats,
} from './batcher.ts';
export { InferenceError, type InferenceErrorCode } from './errors.ts';
export {
  CURRENT_PLATFORM,
  DEFAULT_BACKEND_OPTIONS,
  DEFAULT_LOADERS,
  NATIVE_PLATFORMS,
  selectBackend,
  type BackendLoaders,
  type BackendOptions,
  type HostPlatform,
} from './select.ts';
export { ortBackend, type OrtModule, type OrtSession } from './ort-session.ts';
