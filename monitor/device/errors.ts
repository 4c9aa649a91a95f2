// One error class for the device-side monitor (DESIGN.md "Errors"): tests assert `code`.

export type MonitorErrorCode =
  | 'BAD_OPTIONS' // invalid monitor options (ids, versions, limits)
  | 'BAD_MODEL' // a manifest/profile pair the monitor cannot use (feature mismatch, threshold not an edge, …)
  | 'BAD_STATE' // persisted state that fails validation (the monitor then starts fresh)
  | 'STORE_FAILED'; // the state store could not be read or written

export class MonitorError extends Error {
  constructor(
    readonly code: MonitorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MonitorError';
  }
}
