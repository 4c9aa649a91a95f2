// One error class for the fleet collector (DESIGN.md "Errors"): a closed union of string codes that the
// API maps to HTTP statuses and the CLI prints; tests assert the code, never the message.

export type CollectorErrorCode =
  | 'BAD_OPTIONS' // collector options failed validation at start
  | 'BAD_REQUEST' // an API or CLI input is missing, ill-typed or out of range
  | 'TOO_LARGE' // an input is larger than its cap (checked before parsing)
  | 'NOT_FOUND' // no such alert, device, model or profile
  | 'CONFLICT' // the request contradicts the current state (e.g. acknowledging a resolved alert)
  | 'BAD_PROFILE' // a reference profile or model registration failed validation
  | 'PROFILE_MISMATCH' // report counts do not fit the profile (or another report of the same profile)
  | 'BAD_ENROLMENT' // a device enrolment failed verification or contradicts an existing one
  | 'BAD_MESSAGE' // an MQTT message the collector cannot take (topic, size, format)
  | 'STORE_FAILED' // the storage backend failed (SQLite error, schema mismatch)
  | 'REPORT_FAILED'; // the surveillance report could not be produced (e.g. PDF rendering)

export class CollectorError extends Error {
  constructor(
    readonly code: CollectorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CollectorError';
  }
}
