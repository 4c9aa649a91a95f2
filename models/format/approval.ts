// An approval is one COSE_Signature on a bundle. Its protected header carries, besides alg and kid,
// who approved (reviewer), in which role, when, for which deployment scope, and the SHA-256 of the
// manifest it approves (the subject). These are text labels listed in `crit`, so a generic COSE
// verifier that does not understand them must refuse rather than ignore them (RFC 9052 §3.1).
import type { CborKey, CborValue } from './cbor/value.ts';
import { isBytes } from './cbor/value.ts';
import { HEADER, type DecodedSigner, type HeaderMap } from './cose.ts';
import { BundleError } from './errors.ts';
import { isRoleName, type RoleName } from './roles.ts';

export const APPROVAL_LABELS = Object.freeze({
  role: 'vigil-role',
  reviewer: 'vigil-reviewer',
  time: 'vigil-time',
  scope: 'vigil-scope',
  subject: 'vigil-subject',
});

export const APPROVAL_CRITICAL: ReadonlySet<CborKey> = new Set(Object.values(APPROVAL_LABELS));

/** Content type of a bundle's payload (the manifest). */
export const MANIFEST_CONTENT_TYPE = 'application/vnd.vigil.manifest+cbor';

export interface ApprovalClaims {
  readonly role: RoleName;
  /** Who approved, as `NAME <EMAIL>`. */
  readonly reviewer: string;
  readonly timeMs: number;
  /** The widest deployment scope approved (a scope name from the release policy), or null. */
  readonly scope: string | null;
  /** SHA-256 of the manifest payload this approval is for. */
  readonly subject: Uint8Array;
}

export interface Approval extends ApprovalClaims {
  readonly kid: string;
  readonly alg: number;
}

const MAX_TIME_MS = 10_000_000_000_000;
export const REVIEWER_PATTERN = /^[^<>\n]{1,200} <[^<>\s@]+@[^<>\s@]+>$/;

/** The extra protected header parameters of an approval. */
export function approvalHeader(claims: ApprovalClaims): HeaderMap {
  const entries: [CborKey, CborValue][] = [
    [APPROVAL_LABELS.role, claims.role],
    [APPROVAL_LABELS.reviewer, claims.reviewer],
    [APPROVAL_LABELS.time, claims.timeMs],
    [APPROVAL_LABELS.subject, claims.subject],
  ];
  if (claims.scope !== null) entries.push([APPROVAL_LABELS.scope, claims.scope]);
  entries.push([HEADER.crit, entries.map(([label]) => label)]);
  return new Map(entries);
}

function bad(signer: DecodedSigner, what: string): never {
  throw new BundleError('BAD_APPROVAL', `the approval by ${JSON.stringify(signer.kid)} ${what}`);
}

/** Reads the approval claims of a decoded signer (its crit was already checked by the COSE layer). */
export function parseApproval(signer: DecodedSigner): Approval {
  const h = signer.protected;
  const role = h.get(APPROVAL_LABELS.role);
  if (role === undefined) bad(signer, 'names no role');
  if (!isRoleName(role))
    bad(signer, `names an unknown role ${JSON.stringify(typeof role === 'string' ? role : '?')}`);
  const reviewer = h.get(APPROVAL_LABELS.reviewer);
  if (typeof reviewer !== 'string' || reviewer.length === 0 || reviewer.length > 256) {
    bad(signer, 'names no reviewer');
  }
  const timeMs = h.get(APPROVAL_LABELS.time);
  if (typeof timeMs !== 'number' || !Number.isSafeInteger(timeMs) || timeMs < 0 || timeMs > MAX_TIME_MS) {
    bad(signer, 'has no valid time');
  }
  const scope = h.get(APPROVAL_LABELS.scope) ?? null;
  if (scope !== null && (typeof scope !== 'string' || scope.length === 0 || scope.length > 64)) {
    bad(signer, 'has an invalid scope');
  }
  const subject = h.get(APPROVAL_LABELS.subject);
  if (!isBytes(subject) || subject.length !== 32) bad(signer, 'does not name the manifest it approves');
  const crit = h.get(HEADER.crit);
  const critical = Array.isArray(crit) ? (crit as readonly CborValue[]) : [];
  for (const label of Object.values(APPROVAL_LABELS)) {
    if (h.has(label) && !critical.includes(label)) bad(signer, `does not mark ${label} critical`);
  }
  return { kid: signer.kid, alg: signer.alg, role, reviewer, timeMs, scope, subject };
}
