// Lifecycle rejection codes (one domain, closed union). Install rejections also carry the
// verification chain's BundleError codes unchanged (docs/bundle-format.md §7).
import type { BundleErrorCode } from '../../models/format/index.ts';

export type CommandRejectCode =
  | 'TOO_LARGE' // above the command size cap, not even decoded
  | 'NOT_SIGNED' // not a COSE_Sign1 (e.g. a bare CBOR command)
  | 'MALFORMED' // a COSE_Sign1 whose payload is not a valid command (fields, types, CBOR profile)
  | 'WRONG_CONTENT_TYPE' // signed, but not a command
  | 'DISALLOWED_ALG' // an algorithm other than EdDSA
  | 'UNKNOWN_KEY' // signed by a key the trust store does not hold
  | 'REVOKED_KEY' // signed by a revoked key
  | 'WRONG_ROLE' // signed by a key of another role than `release`
  | 'THRESHOLD_NOT_MET' // the trust store needs more than one release signature
  | 'BAD_SIGNATURE' // the signature does not verify
  | 'OTHER_DEVICE' // aimed at another fleet, device list or cohort
  | 'NOT_YET_VALID' // issued in the future (beyond the clock skew)
  | 'EXPIRED' // past its expiry
  | 'VALIDITY_TOO_LONG' // expiry too far after issue (keeps the replay store bounded)
  | 'REPLAYED'; // this nonce was seen before

export type ActionRejectCode =
  | 'FROZEN' // frozen: no installs, promotions or manual rollbacks
  | 'NO_ACTIVE' // the family has no active bundle
  | 'NO_CANDIDATE' // promote: the family has no candidate
  | 'CANDIDATE_MISMATCH' // promote: the command names another bundle than the candidate
  | 'UNKNOWN_FAMILY' // the family is not installed here
  | 'UNKNOWN_BUNDLE' // suppress-outputs: no installed bundle has this id
  | 'SCOPE_INSUFFICIENT' // the approvals' scope does not allow this promotion (shadow-only, canary fleet-wide)
  | 'CRITERIA_UNMET' // shadow evidence below the rollout policy and no `force`
  | 'PROBATION_ACTIVE' // the active bundle is still on probation
  | 'NO_LAST_KNOWN_GOOD' // rollback: nothing to roll back to
  | 'NOT_USABLE' // the bundle was revoked or failed before
  | 'LOAD_FAILED' // the runtime could not load the bundle's model
  | 'UNREADABLE' // install: the file cannot be read
  | 'STORAGE_FULL' // install: no space for the staging copy or extraction
  | 'NO_TRUST' // no trust anchor provisioned
  | 'DEVICE_MISMATCH'; // the state belongs to another device id (wrong config or data directory)

export type LifecycleErrorCode = CommandRejectCode | ActionRejectCode;

/** Any code a rejection reported to a caller or the audit log can carry. */
export type RejectCode = LifecycleErrorCode | BundleErrorCode;

export class LifecycleError extends Error {
  constructor(
    readonly code: LifecycleErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LifecycleError';
  }
}
