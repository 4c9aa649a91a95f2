export type PipelineErrorCode =
  | 'UNKNOWN_STREAM' // samples for a stream that was never opened
  | 'DUPLICATE_STREAM' // a stream id opened twice
  | 'NO_MODEL_FOR_SENSOR' // no active model consumes this sensor kind
  | 'RATE_MISMATCH' // declared rate outside the manifest's tolerance
  | 'CHANNEL_MISMATCH' // wrong number of channels
  | 'BAD_FRAME' // empty, ragged, oversized or non-finite metadata
  | 'OUT_OF_ORDER' // counters went backwards or overlap what was already received
  | 'TOO_MANY_STREAMS'; // the gateway's stream limit is reached

export class PipelineError extends Error {
  constructor(
    readonly code: PipelineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PipelineError';
  }
}

/**
 * Failures inside the runtime (bugs or configuration, not the firmware's input): reported through
 * PipelineOptions.onInternalError (BAD_OPTIONS is thrown by the constructor). Apart from
 * PipelineError because the firmware bridge maps every PipelineError code onto a wire error code.
 */
export type PipelineInternalCode =
  | 'BAD_OPTIONS' // invalid PipelineOptions (e.g. a malformed sessionId)
  | 'RUNNER_FAILED' // a runner threw on a window: the window still gets an INFERENCE_ERROR fallback
  | 'OBSERVER_FAILED' // a result listener or observer threw: reported, the others still run
  | 'SHADOW_TIMEOUT'; // a shadow candidate did not settle within its own deadline: result dropped

export class PipelineInternalError extends Error {
  constructor(
    readonly code: PipelineInternalCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PipelineInternalError';
  }
}
