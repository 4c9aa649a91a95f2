// One error class for model building (DESIGN.md "Errors"): tests assert `code`, not the message.

export type TrainingErrorCode =
  | 'BAD_OPTION' // hyperparameter or option out of range
  | 'BAD_DATA' // shape mismatch, non-binary label, infinite feature, duplicate id
  | 'DEGENERATE_FEATURE' // a feature with no finite training value
  | 'SINGLE_CLASS' // a split lacks positives or negatives
  | 'BAD_SPLIT'; // split fractions invalid

export class TrainingError extends Error {
  constructor(
    readonly code: TrainingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TrainingError';
  }
}
