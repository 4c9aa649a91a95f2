// Re-verification of installed bundles (docs/lifecycle.md "Re-verification"): `approvedFor` was computed
// at install against the trust store of that day. Before a bundle starts serving by promotion, and
// after every trust rotation, its stored COSE_Sign and its files on disk go through the verification
// chain again (runtime/verify) against the CURRENT trust store: signatures (a revoked, removed or
// re-keyed approver no longer counts), release policy and thresholds, scopes, file digests, trust
// revocations, and expiry on the given clock.
import { BundleError, type ByteSource, type Manifest } from '../../models/format/index.ts';
import type { ActiveSlot, DeploymentStage, InstalledBundle, Slot } from '../state/index.ts';
import { findBundleRevocation } from '../trust/index.ts';
import { DEFAULT_VERIFY_POLICY, validatePreprocessingWithOps, verifyBundle } from '../verify/index.ts';
import { NO_EXTRA, type LifecycleCore } from './core.ts';
import type { RejectCode } from './errors.ts';
import { completeWithdrawals } from './revocation.ts';
import { stageAllows, widestApprovedStage } from './stages.ts';

export type Reverification =
  | {
      readonly kind: 'valid';
      readonly approvedFor: DeploymentStage;
      readonly trustVersion: number;
      /** `signatures`: the COSE_Sign verified again; `approval-records`: a bundle stored without it. */
      readonly checked: 'signatures' | 'approval-records';
    }
  | { readonly kind: 'invalid'; readonly code: RejectCode; readonly detail: string };

export interface ReverifyOptions {
  /** The clock expiry (and `created`) are judged by: now for a bundle about to start serving. */
  readonly atMs: number;
  /**
   * Also check what installing it today would check about this device: class, runtime version, the
   * op catalogue. True for a candidate; false for a bundle that already served (the question there is
   * only whether its approvals still hold).
   */
  readonly device: boolean;
}

const invalid = (code: RejectCode, detail: string): Reverification => ({ kind: 'invalid', code, detail });

/** Verifies an installed bundle again against the current trust store. Never throws BundleError. */
export async function reverifyBundle(
  core: LifecycleCore,
  bundle: InstalledBundle,
  options: ReverifyOptions,
): Promise<Reverification> {
  const sha = bundle.manifestSha256;
  const manifest = core.manifestOf(sha);
  const deviceRevocation = findBundleRevocation(core.state.revocations(), {
    ...manifest,
    manifestSha256: sha,
  });
  if (deviceRevocation !== undefined) {
    return invalid('REVOKED_BUNDLE', `${bundle.bundleId} has been revoked: ${deviceRevocation.reason}`);
  }
  if (bundle.coseSign === null) return reverifyRecords(core, bundle, manifest, options);
  let source: ByteSource;
  try {
    source = await core.store.openSigned(sha, bundle.coseSign, manifest);
  } catch (error) {
    if (error instanceof BundleError) return invalid(error.code, error.message);
    throw error;
  }
  try {
    const verified = await verifyBundle(source, {
      trust: core.trustStore,
      target: {
        kind: 'offline',
        deviceClass: options.device ? core.device.deviceClass : null,
        runtimeVersion: options.device ? core.device.runtimeVersion : null,
      },
      stage: 'shadow',
      now: () => options.atMs,
      limits: core.limits,
      validatePreprocessing: options.device
        ? (core.options.validatePreprocessing ?? validatePreprocessingWithOps)
        : () => undefined,
      ...(core.options.verifyPolicy ? { policy: core.options.verifyPolicy } : {}),
    });
    if (verified.manifestSha256 !== sha) {
      return invalid('DIGEST_MISMATCH', `the stored signatures of ${bundle.bundleId} cover another manifest`);
    }
    return {
      kind: 'valid',
      approvedFor: widestApprovedStage(verified.approvals, core.trustStore) ?? 'shadow',
      trustVersion: verified.trustVersion,
      checked: 'signatures',
    };
  } catch (error) {
    if (error instanceof BundleError) return invalid(error.code, error.message);
    throw error;
  } finally {
    await source.close();
  }
}

/**
 * A bundle installed before its COSE_Sign was kept: its approval records (verified at install) are
 * judged against the current trust store — revoked or unknown keys, roles, scopes, thresholds,
 * revocations — and its expiry on the given clock. Not a cryptographic re-check (documented).
 */
function reverifyRecords(
  core: LifecycleCore,
  bundle: InstalledBundle,
  manifest: Manifest,
  options: ReverifyOptions,
): Reverification {
  const trust = core.trustStore;
  const revoked = trust.bundleRevocation({ ...manifest, manifestSha256: bundle.manifestSha256 });
  if (revoked !== undefined) {
    return invalid('REVOKED_BUNDLE', `${bundle.bundleId} has been revoked: ${revoked.reason}`);
  }
  const approvals: { role: string; allows: readonly DeploymentStage[] }[] = [];
  for (const a of bundle.approvals) {
    const revocation = trust.keyRevocation(a.kid);
    if (revocation !== undefined) {
      return invalid(
        'REVOKED_KEY',
        `key ${a.kid} was revoked (${revocation.reason}); its approval does not count`,
      );
    }
    const key = trust.key(a.kid);
    if (key === undefined) {
      return invalid(
        'UNKNOWN_KEY',
        `key ${a.kid} is not in the device's trust store (version ${trust.version})`,
      );
    }
    if (key.role !== a.role) return invalid('ROLE_MISMATCH', `key ${a.kid} is now a ${key.role} key`);
    let allows: readonly DeploymentStage[] = [];
    if (a.scope !== null) {
      const scope = trust.scope(a.scope);
      if (scope === undefined)
        return invalid('BAD_APPROVAL', `the approval by ${a.kid} names an unknown scope`);
      allows = scope.allows;
    }
    approvals.push({ role: a.role, allows });
  }
  const approvedFor = widestApprovedStage(approvals, trust);
  if (approvedFor === null) {
    return invalid(
      'POLICY_UNSATISFIED',
      `the approvals of ${bundle.bundleId} no longer meet the release policy`,
    );
  }
  const skew = { ...DEFAULT_VERIFY_POLICY, ...core.options.verifyPolicy }.clockSkewMs;
  if (options.atMs > manifest.expiresAtMs + skew) {
    return invalid(
      'EXPIRED',
      `${bundle.bundleId} expired on ${new Date(manifest.expiresAtMs).toISOString()}`,
    );
  }
  return { kind: 'valid', approvedFor, trustVersion: trust.version, checked: 'approval-records' };
}

/** What a bundle in a slot needs to keep serving: the scope it was activated with. */
function servingStage(active: ActiveSlot): DeploymentStage {
  switch (active.activation.via) {
    case 'first-install':
      return 'full';
    case 'promotion':
      return active.activation.scope;
    case 'rollback':
      // It served before (first install or a promotion we no longer know): at least canary.
      return 'canary';
  }
}

/** Records a changed `approvedFor` (narrower or wider under the current trust store). */
export function noteApprovedFor(
  core: LifecycleCore,
  bundle: InstalledBundle,
  verdict: Extract<Reverification, { kind: 'valid' }>,
  phase: 'promotion' | 'trust-rotation',
): void {
  if (verdict.approvedFor === bundle.approvedFor) return;
  core.commit(`re-verifying ${bundle.bundleId}`, NO_EXTRA, () => {
    core.state.setApprovedFor(bundle.manifestSha256, verdict.approvedFor);
    core.audit.appendInTransaction('bundle-verified', 'runtime', {
      bundleId: bundle.bundleId,
      family: bundle.family,
      manifestSha256: bundle.manifestSha256,
      approvedFor: verdict.approvedFor,
      previousApprovedFor: bundle.approvedFor,
      reverified: phase,
      checked: verdict.checked,
      trustVersion: verdict.trustVersion,
    });
  });
}

/**
 * A bundle that no longer qualifies leaves its slot, in one transaction with its `bundle-withdrawn`
 * record (code and detail): it is marked `failed` (never used again here; a new release is needed).
 * An active bundle is withdrawn like a revoked one (the declared fallback answers from this commit
 * on) and then rolled back (`completeWithdrawals`).
 */
export function withdraw(
  core: LifecycleCore,
  family: string,
  slot: Slot,
  verdict: Extract<Reverification, { kind: 'invalid' }>,
  phase: 'promotion' | 'trust-rotation',
): void {
  const bundle = core.state.bundle(slot.manifestSha256);
  const detail = `${verdict.code}: ${verdict.detail}`;
  core.commit(`withdrawing ${bundle?.bundleId ?? slot.manifestSha256}`, NO_EXTRA, () => {
    core.state.setBundleState(slot.manifestSha256, 'failed', `re-verification at ${phase}: ${detail}`);
    if (slot.slot === 'active') {
      const fresh = core.state.slots(family).active ?? slot;
      core.state.putSlot({ ...fresh, mode: { kind: 'withdrawn', reason: 'approval-withdrawn', detail } });
    } else {
      core.state.clearSlot(family, slot.slot);
    }
    core.audit.appendInTransaction('bundle-withdrawn', 'runtime', {
      family,
      slot: slot.slot,
      bundleId: bundle?.bundleId ?? null,
      manifestSha256: slot.manifestSha256,
      code: verdict.code,
      detail: verdict.detail,
      phase,
      trustVersion: core.trustStore.version,
    });
  });
  core.applyPlans();
  if (slot.slot === 'candidate' && bundle?.transferId != null)
    core.emitStatus(bundle.transferId, 'rejected', verdict.code);
}

/** device_meta key: the trust version the bundles in slots were last re-verified against. */
const REVERIFIED_KEY = 'slotsVerifiedAgainstTrust';

/**
 * After a trust rotation (or at a boot that finds the last one's re-verification undone): every bundle
 * in a slot is verified again against the current trust store. A candidate as if it were about to
 * serve (now, this device); a last-known-good and the active model on the clock of their install — a
 * release that served keeps serving after its expiry date, but not once its approvals stop holding. A
 * last-known-good must still be approved for at least canary, the active model for the scope it was
 * activated with; otherwise it is withdrawn (the active one rolled back, or the declared fallback).
 */
export async function reverifySlots(core: LifecycleCore): Promise<void> {
  const version = core.trustStore.version;
  if (core.state.meta(REVERIFIED_KEY) === version) return;
  for (const family of [...core.cache.keys()]) {
    const order = [core.slotsOf(family).candidate, core.slotsOf(family).lastKnownGood];
    for (const slot of order) {
      if (!slot) continue;
      await judge(core, family, slot);
    }
    const active = core.slotsOf(family).active;
    if (active?.mode.kind === 'model') await judge(core, family, active);
  }
  await completeWithdrawals(core, 'runtime');
  core.state.transaction('recording the re-verification', () => {
    core.state.setMeta(REVERIFIED_KEY, version);
  });
}

async function judge(core: LifecycleCore, family: string, slot: Slot): Promise<void> {
  const bundle = core.state.bundle(slot.manifestSha256);
  if (bundle?.state !== 'installed') return; // revoked or failed: handled by the sweep already
  const verdict = await reverifyBundle(
    core,
    bundle,
    slot.slot === 'candidate'
      ? { atMs: core.now(), device: true }
      : { atMs: bundle.installedAtMs, device: false },
  );
  if (verdict.kind === 'invalid') {
    withdraw(core, family, slot, verdict, 'trust-rotation');
    return;
  }
  noteApprovedFor(core, bundle, verdict, 'trust-rotation');
  const needed =
    slot.slot === 'active' ? servingStage(slot) : slot.slot === 'last-known-good' ? 'canary' : null;
  if (needed !== null && !stageAllows(verdict.approvedFor, needed)) {
    withdraw(
      core,
      family,
      slot,
      {
        kind: 'invalid',
        code: 'SCOPE_INSUFFICIENT',
        detail: `${bundle.bundleId} is now approved for ${verdict.approvedFor} only; serving as ${slot.slot} needs ${needed}`,
      },
      'trust-rotation',
    );
  }
}
