// Error domains of the bundle format. Each layer has one class with a closed union of stable codes;
// an outer layer re-throws an inner error under its own class with the same code (and the inner error
// as `cause`), so callers only ever catch the class of the layer they called.

/** Strict CBOR decoding (RFC 8949 §4.2 deterministic encoding, plus Vigil's limits). */
export type CborErrorCode =
  | 'TOO_LARGE' // input longer than the caller's cap
  | 'MALFORMED_CBOR' // not well-formed CBOR (RFC 8949 §5.3.1), including invalid UTF-8 in text
  | 'TRAILING_BYTES' // bytes left after the single top-level item
  | 'DUPLICATE_KEY' // the same key twice in one map
  | 'INDEFINITE_LENGTH' // an indefinite-length string, array or map (§3.2.2)
  | 'NON_CANONICAL' // not deterministic: longer-than-needed heads or floats, unsorted keys (§4.2.1)
  | 'LENGTH_OVERFLOW' // a declared length larger than the bytes that remain
  | 'TOO_DEEP' // nesting deeper than the limit
  | 'UNSUPPORTED_CBOR'; // valid CBOR outside Vigil's profile (tags not allowed here, undefined, huge ints)

/** COSE structures (RFC 9052) and Ed25519 signatures (RFC 9053). */
export type CoseErrorCode =
  | CborErrorCode
  | 'NOT_COSE_SIGN' // not a tagged COSE_Sign (98) with the expected shape
  | 'NOT_COSE_SIGN1' // not a tagged COSE_Sign1 (18) with the expected shape
  | 'UNSIGNED' // a COSE_Sign without any COSE_Signature
  | 'BAD_HEADER' // a header parameter with the wrong type, a duplicate label, or an unknown critical one
  | 'UNPROTECTED_HEADER' // a security-relevant parameter in an unprotected header
  | 'DISALLOWED_ALG' // an algorithm other than EdDSA/Ed25519 (-8, -19)
  | 'UNKNOWN_KEY' // a kid the key resolver does not know
  | 'BAD_SIGNATURE' // the signature does not verify over the Sig_structure
  | 'WRONG_CONTENT_TYPE'; // the body's content type is not the one the caller expects

/** Bundles: container, manifest, approvals, release policy and the device-side verification chain. */
export type BundleErrorCode =
  | CoseErrorCode
  | 'BAD_CONTAINER' // not a .vbundle container, or its header/index is malformed or truncated
  | 'BAD_MANIFEST' // the manifest has a missing, unknown or ill-typed field or an out-of-range value
  | 'UNKNOWN_OP' // preprocessing names an op or op version the runtime does not have
  | 'BAD_PREPROCESSING' // preprocessing parameters or graph are invalid for the op catalogue
  | 'REVOKED_KEY' // an approval was made with a key the trust store revoked
  | 'ROLE_MISMATCH' // the approval's role is not the role the trust store binds to its key
  | 'DUPLICATE_SIGNER' // the same key approved twice
  | 'APPROVAL_MISMATCH' // an approval made for a different manifest (pasted from another bundle)
  | 'BAD_APPROVAL' // an approval's reviewer, time or scope is missing or invalid
  | 'POLICY_UNSATISFIED' // a role the release policy requires has too few distinct approving keys
  | 'SCOPE_INSUFFICIENT' // approvals exist but their scope does not cover the requested stage
  | 'BAD_PATH' // a file path that is absolute, climbs (`..`), uses backslashes or odd characters
  | 'DUPLICATE_PATH' // two files with the same path (compared case-insensitively)
  | 'UNLISTED_FILE' // a file present in the bundle but not listed in the signed manifest
  | 'MISSING_FILE' // a file listed in the signed manifest but not present
  | 'SIZE_MISMATCH' // a file whose size differs from the signed size
  | 'DIGEST_MISMATCH' // a file whose SHA-256 differs from the signed digest
  | 'ROLLBACK' // a lower sequence than the one installed for the family
  | 'ALREADY_INSTALLED' // the installed sequence itself (a no-op for the caller)
  | 'SEQUENCE_JUMP' // a sequence further ahead than the configured cap (fast-forward)
  | 'EXPIRED' // past its expiry on the device clock (beyond the allowed skew)
  | 'NOT_YET_VALID' // created in the future on the device clock (beyond the allowed skew)
  | 'WRONG_DEVICE_CLASS' // not made for this device's vendor/class
  | 'RUNTIME_INCOMPATIBLE' // the runtime version is outside the bundle's range
  | 'MISSING_PRECURSOR' // the required precursor sequence is not installed
  | 'REVOKED_BUNDLE'; // the bundle is on a revocation list

/** Key files on disk (`vigil keygen`). */
export type KeyFileErrorCode =
  | 'KEY_PERMISSIONS' // the secret key file is readable or writable by group or others
  | 'BAD_KEY_FILE' // not a Vigil key file, or its fields are invalid or inconsistent
  | 'KEY_EXISTS'; // refusing to overwrite an existing key file

abstract class CodedError<C extends string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class CborError extends CodedError<CborErrorCode> {
  override readonly name = 'CborError';
}

export class CoseError extends CodedError<CoseErrorCode> {
  override readonly name = 'CoseError';
}

export class BundleError extends CodedError<BundleErrorCode> {
  override readonly name = 'BundleError';
}

export class KeyFileError extends CodedError<KeyFileErrorCode> {
  override readonly name = 'KeyFileError';
}

/** Runs `fn`, re-throwing a CborError as a CoseError with the same code (and the original as cause). */
export function asCoseError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CborError) throw new CoseError(err.code, err.message, { cause: err });
    throw err;
  }
}

/** Runs `fn`, re-throwing a CborError or CoseError as a BundleError with the same code. */
export function asBundleError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CborError || err instanceof CoseError) {
      throw new BundleError(err.code, err.message, { cause: err });
    }
    throw err;
  }
}
