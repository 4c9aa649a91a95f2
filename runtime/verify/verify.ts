// The device-side verification chain for a .vbundle. Order (issue #3, DESIGN.md "Update path"):
//   size caps → strict CBOR/COSE parse → signatures (distinct trusted keys; role and algorithm from the
//   trust store) → release policy (required roles, thresholds, scope) → manifest → file digests
//   (streamed, constant-time) → anti-rollback → expiry (device clock ± skew) → device class →
//   runtime version and precursor → revocation lists.
// It reads only: it takes the device state as input and returns a VerifiedBundle or throws a
// BundleError, so nothing can be written to active state on a failure.
import {
  BUNDLE_SIGNER_ROLES,
  BundleError,
  bytesToHex,
  checkBundleFiles,
  decodeManifest,
  digestsEqual,
  inRange,
  openBundle,
  parseApproval,
  sha256,
  verifySignerOfSign,
  withFileSource,
  DEFAULT_BUNDLE_LIMITS,
  type Approval,
  type BundleLimits,
  type ByteSource,
  type DecodedSign,
  type DeploymentStage,
  type IndexEntry,
  type Manifest,
} from '../../models/format/index.ts';
import { findBundleRevocation, type TrustStore } from '../trust/index.ts';
import { validatePreprocessingWithOps } from './preprocessing.ts';
import type { VerificationTarget } from './state.ts';

export interface VerifyPolicy {
  /** How far the device clock may be off when checking created/expiry times and approval times. */
  readonly clockSkewMs: number;
  /** Largest accepted step of the sequence number over the installed one (TUF fast-forward). */
  readonly maxSequenceJump: number;
}

export const DEFAULT_VERIFY_POLICY: VerifyPolicy = Object.freeze({
  clockSkewMs: 5 * 60_000,
  maxSequenceJump: 1000,
});

export interface VerifyBundleOptions {
  readonly trust: TrustStore;
  readonly target: VerificationTarget;
  /** The deployment stage the bundle is being verified for (approval scopes must allow it). */
  readonly stage: DeploymentStage;
  /** The device clock, in ms since the Unix epoch. */
  readonly now: () => number;
  readonly policy?: Partial<VerifyPolicy>;
  readonly limits?: BundleLimits;
  /**
   * Checks the manifest's preprocessing against the op catalogue; throws BundleError UNKNOWN_OP or
   * BAD_PREPROCESSING. Default: `compilePreprocessing` from models/ops.
   */
  readonly validatePreprocessing?: (manifest: Manifest) => void;
}

export interface VerifiedApproval extends Approval {
  /** The stages the approval's scope allows under the trust store's release policy. */
  readonly allows: readonly DeploymentStage[];
}

export interface VerifiedBundle {
  readonly manifest: Manifest;
  /** SHA-256 of the signed manifest bytes: this release's identity in audit records. */
  readonly manifestSha256: string;
  readonly approvals: readonly VerifiedApproval[];
  readonly stage: DeploymentStage;
  readonly trustVersion: number;
  readonly trustSha256: string;
  /** Where each file's bytes are in the container (for extraction). */
  readonly index: readonly IndexEntry[];
  readonly bundleBytes: number;
  /** Checks not made because the target did not provide what they need (offline verification). */
  readonly checksSkipped: readonly SkippedCheck[];
}

export type SkippedCheck = 'anti-rollback' | 'device-class' | 'runtime-version' | 'precursor';

/** Verifies a bundle file (see `verifyBundle`). */
export async function verifyBundleFile(file: string, options: VerifyBundleOptions): Promise<VerifiedBundle> {
  return withFileSource(file, (source) => verifyBundle(source, options));
}

/** Runs the whole verification chain over `source`. Throws BundleError; returns only on success. */
export async function verifyBundle(
  source: ByteSource,
  options: VerifyBundleOptions,
): Promise<VerifiedBundle> {
  const policy: VerifyPolicy = { ...DEFAULT_VERIFY_POLICY, ...options.policy };
  const now = options.now();
  const { header, cose } = await openBundle(source, { limits: options.limits ?? DEFAULT_BUNDLE_LIMITS });
  const approvals = checkSignatures(cose, options.trust);
  checkReleasePolicy(approvals, options.trust, options.stage);

  const manifest = decodeManifest(cose.payload);
  for (const a of approvals) {
    if (a.timeMs < manifest.createdAtMs - policy.clockSkewMs) {
      throw new BundleError(
        'BAD_APPROVAL',
        `the approval by ${a.kid} is dated before the bundle was created`,
      );
    }
  }
  (options.validatePreprocessing ?? validatePreprocessingWithOps)(manifest);
  await checkBundleFiles(source, header, manifest.files);

  const manifestSha256 = bytesToHex(sha256(cose.payload));
  const skipped = checkDevice(manifest, manifestSha256, options.target, now, policy);
  const revoked =
    options.trust.bundleRevocation({ ...manifest, manifestSha256 }) ??
    (options.target.kind === 'device'
      ? findBundleRevocation(options.target.revokedBundles ?? [], { ...manifest, manifestSha256 })
      : undefined);
  if (revoked !== undefined) {
    throw new BundleError('REVOKED_BUNDLE', `${manifest.bundleId} has been revoked: ${revoked.reason}`);
  }
  return {
    manifest,
    manifestSha256,
    approvals,
    stage: options.stage,
    trustVersion: options.trust.version,
    trustSha256: options.trust.sha256,
    index: header.index,
    bundleBytes: source.size,
    checksSkipped: skipped,
  };
}

/**
 * Every COSE_Signature must be by a distinct, known, unrevoked key, claim the role the trust store
 * gives that key, name this manifest as its subject, and verify over the received bytes.
 */
function checkSignatures(cose: DecodedSign, trust: TrustStore): VerifiedApproval[] {
  const subject = sha256(cose.payload);
  const seen = new Set<string>();
  const out: VerifiedApproval[] = [];
  for (const signer of cose.signatures) {
    if (seen.has(signer.kid)) {
      throw new BundleError(
        'DUPLICATE_SIGNER',
        `key ${signer.kid} signed the bundle more than once; a key counts once`,
      );
    }
    seen.add(signer.kid);
    const revocation = trust.keyRevocation(signer.kid);
    if (revocation !== undefined) {
      throw new BundleError(
        'REVOKED_KEY',
        `key ${signer.kid} was revoked (${revocation.reason}); its approvals do not count`,
      );
    }
    const key = trust.key(signer.kid);
    if (key === undefined) {
      throw new BundleError(
        'UNKNOWN_KEY',
        `key ${signer.kid} is not in the device's trust store (version ${trust.version})`,
      );
    }
    const approval = parseApproval(signer);
    if (approval.role !== key.role) {
      throw new BundleError(
        'ROLE_MISMATCH',
        `key ${signer.kid} is a ${key.role} key but signed as ${approval.role}`,
      );
    }
    if (!(BUNDLE_SIGNER_ROLES as readonly string[]).includes(key.role)) {
      throw new BundleError('ROLE_MISMATCH', `${key.role} keys do not sign bundles (key ${signer.kid})`);
    }
    if (!digestsEqual(approval.subject, subject)) {
      throw new BundleError(
        'APPROVAL_MISMATCH',
        `the approval by ${signer.kid} was made for a different manifest`,
      );
    }
    if (!verifySignerOfSign(cose, signer, key.publicKey, { ed25519: trust.ed25519 })) {
      throw new BundleError(
        'BAD_SIGNATURE',
        `the signature by ${signer.kid} does not verify over this bundle`,
      );
    }
    let allows: readonly DeploymentStage[] = [];
    if (approval.scope !== null) {
      const scope = trust.scope(approval.scope);
      if (scope === undefined) {
        throw new BundleError(
          'BAD_APPROVAL',
          `the approval by ${signer.kid} names an unknown scope ${approval.scope}`,
        );
      }
      allows = scope.allows;
    }
    out.push({ ...approval, allows });
  }
  return out;
}

/** Each required role needs its threshold of distinct keys whose approval scope allows `stage`. */
function checkReleasePolicy(
  approvals: readonly VerifiedApproval[],
  trust: TrustStore,
  stage: DeploymentStage,
): void {
  for (const role of trust.document.releasePolicy.requiredRoles) {
    const threshold = trust.threshold(role);
    const ofRole = approvals.filter((a) => a.role === role);
    if (ofRole.length < threshold) {
      throw new BundleError(
        'POLICY_UNSATISFIED',
        `the release policy needs ${threshold} ${role} approval${threshold === 1 ? '' : 's'}; the bundle has ${ofRole.length}`,
      );
    }
    const inScope = ofRole.filter((a) => a.allows.includes(stage));
    if (inScope.length < threshold) {
      throw new BundleError(
        'SCOPE_INSUFFICIENT',
        `${role} approved this bundle for ${ofRole.map((a) => a.scope ?? 'no scope').join(', ')}, which does not cover ${stage} deployment`,
      );
    }
  }
}

function checkDevice(
  manifest: Manifest,
  manifestSha256: string,
  target: VerificationTarget,
  now: number,
  policy: VerifyPolicy,
): SkippedCheck[] {
  const skipped: SkippedCheck[] = [];
  // Anti-rollback (RFC 9124 "monotonic sequence number"; TUF rollback and fast-forward attacks).
  if (target.kind === 'device') {
    const installed = target.installed.get(manifest.modelFamily);
    const highest = installed?.highestSequence;
    if (highest !== undefined && manifest.sequence < highest) {
      throw new BundleError(
        'ROLLBACK',
        `${manifest.bundleId} has sequence ${manifest.sequence}, below the installed ${highest} for ${manifest.modelFamily}`,
      );
    }
    if (highest !== undefined && manifest.sequence === highest) {
      throw new BundleError(
        'ALREADY_INSTALLED',
        `sequence ${highest} of ${manifest.modelFamily} is already installed (${manifestSha256.slice(0, 12)}…)`,
      );
    }
    const base = highest ?? 0;
    if (manifest.sequence - base > policy.maxSequenceJump) {
      throw new BundleError(
        'SEQUENCE_JUMP',
        `sequence ${manifest.sequence} is ${manifest.sequence - base} ahead of ${base}; at most ${policy.maxSequenceJump} is accepted`,
      );
    }
  } else {
    skipped.push('anti-rollback');
  }
  // Expiry against the device clock, allowing the documented skew either way.
  if (now > manifest.expiresAtMs + policy.clockSkewMs) {
    throw new BundleError(
      'EXPIRED',
      `${manifest.bundleId} expired on ${new Date(manifest.expiresAtMs).toISOString()}`,
    );
  }
  if (manifest.createdAtMs > now + policy.clockSkewMs) {
    throw new BundleError(
      'NOT_YET_VALID',
      `${manifest.bundleId} is dated ${new Date(manifest.createdAtMs).toISOString()}, in the device's future`,
    );
  }
  const deviceClass = target.deviceClass;
  if (deviceClass === null) {
    skipped.push('device-class');
  } else if (
    !manifest.deviceClasses.some(
      (c) => c.vendorId === deviceClass.vendorId && c.classId === deviceClass.classId,
    )
  ) {
    throw new BundleError(
      'WRONG_DEVICE_CLASS',
      `${manifest.bundleId} is not made for ${deviceClass.vendorId}/${deviceClass.classId} (it lists ${manifest.deviceClasses
        .map((c) => `${c.vendorId}/${c.classId}`)
        .join(', ')})`,
    );
  }
  if (target.runtimeVersion === null) {
    skipped.push('runtime-version');
  } else if (
    !inRange(target.runtimeVersion, manifest.runtime.minVersion, manifest.runtime.maxVersionExclusive)
  ) {
    throw new BundleError(
      'RUNTIME_INCOMPATIBLE',
      `runtime ${target.runtimeVersion} is outside [${manifest.runtime.minVersion}, ${manifest.runtime.maxVersionExclusive ?? '∞'})`,
    );
  }
  if (manifest.precursorSequence !== null) {
    if (target.kind === 'device') {
      const installed = target.installed.get(manifest.modelFamily);
      if (!(installed?.sequences.includes(manifest.precursorSequence) ?? false)) {
        throw new BundleError(
          'MISSING_PRECURSOR',
          `${manifest.bundleId} requires sequence ${manifest.precursorSequence} of ${manifest.modelFamily} to be installed first`,
        );
      }
    } else {
      skipped.push('precursor');
    }
  }
  return skipped;
}
