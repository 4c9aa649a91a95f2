// One error class for evaluation (DESIGN.md "Errors"): tests assert `code`, not the message.

export type EvaluationErrorCode =
  | 'BAD_INPUT' // lengths differ, label not 0/1, score not finite or outside [0, 1]
  | 'BAD_ARGUMENT' // threshold, target, bin count or bootstrap option out of range
  | 'UNKNOWN_METRIC' // acceptance criterion names a metric or cohort that does not exist
  | 'SINGLE_CLASS'; // a computation that needs both classes got one

export class EvaluationError extends Error {
  constructor(
    readonly code: EvaluationErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EvaluationError';
  }
}
