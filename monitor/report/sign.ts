// Reports and drift events as COSE_Sign1 (RFC 9052 §4.2) signed with the device key (Ed25519, alg
// EdDSA, kid and content type in the protected header: models/format's Vigil profile). The collector
// verifies over the bytes received, takes the key from its enrolment table (never from the message),
// and checks that the key is enrolled for the fleet and device the payload names.
import { CoseError, verifySign1, signSign1, type Ed25519, type Signer } from '../../models/format/index.ts';
import {
  decodeDriftEventPayload,
  decodeReportPayload,
  encodeDriftEventPayload,
  encodeReportPayload,
} from './codec.ts';
import { ReportError, type ReportErrorCode } from './errors.ts';
import {
  DRIFT_EVENT_CONTENT_TYPE,
  REPORT_CONTENT_TYPE,
  REPORT_LIMITS,
  type DriftEvent,
  type TelemetryReport,
} from './types.ts';

export function signReport(report: TelemetryReport, signer: Signer): Uint8Array {
  return signSign1({ payload: encodeReportPayload(report), contentType: REPORT_CONTENT_TYPE, signer });
}

export function signDriftEvent(event: DriftEvent, signer: Signer): Uint8Array {
  return signSign1({
    payload: encodeDriftEventPayload(event),
    contentType: DRIFT_EVENT_CONTENT_TYPE,
    signer,
  });
}

/** An enrolled device key, as the collector's enrolment table knows it. */
export interface EnrolledDeviceKey {
  readonly publicKey: Uint8Array;
  readonly fleet: string;
  readonly device: string;
}

export interface VerifyReportOptions {
  /** kid → enrolled key, or undefined (UNKNOWN_KEY). Retired keys must return undefined. */
  readonly resolveKey: (kid: string) => EnrolledDeviceKey | undefined;
  /** Cap on the signed message (default REPORT_LIMITS.maxBytes = 64 KiB). */
  readonly maxBytes?: number;
  readonly ed25519?: Ed25519;
}

export interface Verified<T> {
  readonly kid: string;
  readonly value: T;
  /** The payload bytes as signed (for storage next to the decoded form). */
  readonly payload: Uint8Array;
}

function coseCode(code: string): ReportErrorCode {
  switch (code) {
    case 'TOO_LARGE':
    case 'WRONG_CONTENT_TYPE':
    case 'DISALLOWED_ALG':
    case 'UNKNOWN_KEY':
    case 'BAD_SIGNATURE':
      return code;
    case 'MALFORMED_CBOR':
    case 'TRAILING_BYTES':
    case 'DUPLICATE_KEY':
    case 'INDEFINITE_LENGTH':
    case 'NON_CANONICAL':
    case 'LENGTH_OVERFLOW':
    case 'TOO_DEEP':
    case 'UNSUPPORTED_CBOR':
      return 'MALFORMED_CBOR';
    default:
      return 'NOT_COSE_SIGN1';
  }
}

function verifyEnvelope<T extends { readonly fleet: string; readonly device: string }>(
  bytes: Uint8Array,
  options: VerifyReportOptions,
  contentType: string,
  decode: (payload: Uint8Array, maxBytes: number) => T,
): Verified<T> {
  const maxBytes = options.maxBytes ?? REPORT_LIMITS.maxBytes;
  if (!(bytes instanceof Uint8Array)) throw new ReportError('BAD_FIELD', 'message must be bytes');
  if (bytes.length > maxBytes) {
    throw new ReportError('TOO_LARGE', `message of ${bytes.length} bytes exceeds the ${maxBytes}-byte cap`);
  }
  let enrolled: EnrolledDeviceKey | undefined;
  let verified;
  try {
    verified = verifySign1(bytes, {
      maxBytes,
      contentType,
      resolveKey: (kid) => {
        enrolled = options.resolveKey(kid);
        return enrolled;
      },
      ...(options.ed25519 ? { ed25519: options.ed25519 } : {}),
    });
  } catch (error) {
    if (error instanceof CoseError) {
      throw new ReportError(coseCode(error.code), error.message, null, { cause: error });
    }
    throw error;
  }
  const value = decode(verified.payload, maxBytes);
  if (enrolled === undefined || enrolled.fleet !== value.fleet || enrolled.device !== value.device) {
    throw new ReportError(
      'KEY_MISMATCH',
      `key ${JSON.stringify(verified.kid)} is not enrolled for ${value.fleet}/${value.device}`,
    );
  }
  return { kid: verified.kid, value, payload: verified.payload };
}

/** Verifies a signed report (signature first, then the payload field by field). Throws ReportError. */
export function verifyReport(bytes: Uint8Array, options: VerifyReportOptions): Verified<TelemetryReport> {
  return verifyEnvelope(bytes, options, REPORT_CONTENT_TYPE, decodeReportPayload);
}

/** Verifies a signed drift event. Throws ReportError. */
export function verifyDriftEvent(bytes: Uint8Array, options: VerifyReportOptions): Verified<DriftEvent> {
  return verifyEnvelope(bytes, options, DRIFT_EVENT_CONTENT_TYPE, decodeDriftEventPayload);
}
