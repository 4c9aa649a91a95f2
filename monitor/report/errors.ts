// One error class for telemetry report encoding, signing, decoding and validation (DESIGN.md "Errors").
// The collector counts rejections by `code`; tests assert the code, never the message.

export type ReportErrorCode =
  | 'TOO_LARGE' // more bytes than the caller's cap (checked before anything is decoded)
  | 'MALFORMED_CBOR' // not one well-formed item in Vigil's strict deterministic CBOR profile
  | 'NOT_COSE_SIGN1' // not a tagged COSE_Sign1 with the expected shape and header rules
  | 'WRONG_CONTENT_TYPE' // the COSE content type is not the report's (or the event's)
  | 'DISALLOWED_ALG' // a signature algorithm other than EdDSA/Ed25519
  | 'UNKNOWN_KEY' // the signer's kid is not an enrolled device key
  | 'BAD_SIGNATURE' // the signature does not verify over the received bytes
  | 'KEY_MISMATCH' // a valid signature by a key enrolled for another fleet or device
  | 'UNSUPPORTED_VERSION' // a format version this decoder does not implement
  | 'BAD_FIELD' // a missing, unknown, ill-typed or out-of-range field (the message names its path)
  | 'INCONSISTENT' // fields that contradict each other (totals that do not add up, Σy > n, …)
  | 'BAD_INPUT'; // the encoder was given a report that violates the format (a caller bug)

export class ReportError extends Error {
  constructor(
    readonly code: ReportErrorCode,
    message: string,
    /** Path of the offending field in the decoded report (e.g. `features[3]`), when known. */
    readonly path: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(path === null ? message : `${path}: ${message}`, options);
    this.name = 'ReportError';
  }
}
