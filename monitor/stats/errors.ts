// One error class for the statistics library (DESIGN.md "Errors"): tests assert `code`, not the message.

export type StatsErrorCode =
  | 'BAD_EDGES' // bin edges not finite, not strictly increasing, or fewer than two
  | 'LENGTH_MISMATCH' // counts / proportions / points do not match the bin layout
  | 'BAD_COUNTS' // negative, non-finite or non-integer where integers are required
  | 'BAD_PROPORTIONS' // negative, non-finite, or not summing to 1
  | 'BAD_ARGUMENT' // any other out-of-range argument (alpha, n, sd, seed, …)
  | 'EMPTY_SAMPLE' // a statistic was asked of zero observations
  | 'BAD_STATE' // a serialised detector state or threshold table failed validation
  | 'THRESHOLD_NOT_EDGE' // an operating threshold that is not a score-bin edge
  | 'NOT_CONVERGED'; // an iterative special function or calibration did not converge

export class StatsError extends Error {
  constructor(
    readonly code: StatsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StatsError';
  }
}
