export type {
  BackendChoice,
  BackendKind,
  BackendPreference,
  InferenceBackend,
  ModelIo,
  ModelSession,
} from './backend.ts';
export { InferenceError, type InferenceErrorCode } from './errors.ts';
export {
  DEFAULT_BACKEND_OPTIONS,
  selectBackend,
  type BackendLoaders,
  type BackendOptions,
} from './select.ts';
export { ortBackend, type OrtModule } from './ort-session.ts';
