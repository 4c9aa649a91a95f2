import type { CoseErrorCode } from '../../models/format/index.ts';

/** Trust documents, their rotation, and role-bound signatures made with trust-store keys. */
export type TrustErrorCode =
  | CoseErrorCode
  | 'NOT_TRUST_DOCUMENT' // the signed payload is not a Vigil trust document
  | 'BAD_TRUST_DOCUMENT' // a missing, unknown or ill-typed field, or inconsistent keys/roles/thresholds
  | 'THRESHOLD_NOT_MET' // a trust anchor not signed by its own root threshold
  | 'ROTATION_OLD_THRESHOLD' // version N+1 lacks the root threshold of the trusted version N
  | 'ROTATION_NEW_THRESHOLD' // version N+1 lacks its own root threshold
  | 'VERSION_NOT_NEXT' // a newer version that skips one (only N+1 follows N)
  | 'TRUST_ROLLBACK' // a version not newer than the trusted one
  | 'DUPLICATE_SIGNER' // the same key signed twice
  | 'REVOKED_KEY' // a signature by a revoked key
  | 'ROLE_MISMATCH' // a signature by a key of another role than the one required
  | 'UNKNOWN_DEVICE'; // a device key nobody enrolled, or an invalid enrolment

export class TrustError extends Error {
  override readonly name = 'TrustError';
  constructor(
    readonly code: TrustErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
