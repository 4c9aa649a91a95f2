// One error class for reference profiles (DESIGN.md "Errors"): tests assert `code`, not the message.
// Parse errors also carry the path of the offending field, e.g. `features[2].edges[5]`.

export type ProfileErrorCode =
  | 'BAD_INPUT' // builder input: shapes, infinite values, names
  | 'BAD_OPTION' // builder options out of range
  | 'DEGENERATE' // a variable without a single non-NaN reference value
  | 'BAD_TYPE' // parse: wrong JSON/CBOR type
  | 'MISSING_FIELD'
  | 'UNKNOWN_FIELD'
  | 'BAD_VALUE' // parse: value out of range
  | 'TOO_LARGE' // parse: array or string beyond the caps
  | 'UNSUPPORTED_VERSION'
  | 'INCONSISTENT'; // parse: fields that disagree (counts vs edges, proportions vs counts, …)

export class ProfileError extends Error {
  constructor(
    readonly code: ProfileErrorCode,
    message: string,
    readonly path = '',
    options?: { cause?: unknown },
  ) {
    super(path === '' ? message : `${path}: ${message}`, options);
    this.name = 'ProfileError';
  }
}
