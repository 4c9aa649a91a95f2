export type InferenceErrorCode =
  | 'MODEL_MISSING' // the model file is not there
  | 'MODEL_CORRUPT' // ONNX Runtime refused to load the bytes
  | 'MODEL_SIGNATURE' // inputs/outputs differ from what the manifest declares
  | 'BACKEND_UNAVAILABLE' // the requested backend cannot load on this machine
  | 'RUN_FAILED' // session.run threw
  | 'BAD_BATCH' // the caller passed a batch of the wrong shape
  | 'CLOSED'; // the session was closed

export class InferenceError extends Error {
  constructor(
    readonly code: InferenceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InferenceError';
  }
}
