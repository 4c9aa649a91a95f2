// Install (docs/lifecycle.md "Install"): private copy → verify → extract while hashing → fsynced rename
// → activation re-check → one transaction with the audit records. A rejection changes nothing but the
// audit trail.
import path from 'node:path';
import { BundleError, bytesToHex, openBundle, sha256, withFileSource } from '../../models/format/index.ts';
import { ZERO_SHADOW, type InstalledBundle } from '../state/index.ts';
import { validatePreprocessingWithOps, verifyBundleFile } from '../verify/index.ts';
import type { StagedCopy } from './bundle-store.ts';
import { ActionFailure, NO_EXTRA, message, type AuditEntry, type LifecycleCore } from './core.ts';
import type { RejectCode } from './errors.ts';
import type { InstallOptions } from './options.ts';
import { prune } from './prune.ts';
import { stageAllows, widestApprovedStage } from './stages.ts';
import { bundleSummary as summary } from './status.ts';
import type { InstallOutcome } from './types.ts';

export async function install(
  core: LifecycleCore,
  file: string,
  options: InstallOptions,
): Promise<InstallOutcome> {
  const actor = options.actor ?? (options.source === 'mqtt' ? 'transport' : core.localActor);
  const context = {
    source: options.source,
    transferId: options.transferId ?? null,
    file: path.basename(file),
  };
  let copy: StagedCopy;
  try {
    copy = await core.store.stageCopy(file, core.limits.maxBundleBytes);
  } catch (error) {
    const errno = (error as { code?: unknown }).code;
    const code: RejectCode =
      error instanceof RangeError
        ? 'TOO_LARGE'
        : errno === 'ENOSPC' || errno === 'EDQUOT'
          ? 'STORAGE_FULL'
          : 'UNREADABLE';
    return rejectInstall(core, actor, context, code, message(error));
  }
  let extracted: string | null = null;
  let committed = false;
  try {
    core.fault('install:copied');
    core.record('bundle-received', actor, { ...context, bytes: copy.size, containerSha256: copy.sha256 });
    const frozen = core.state.frozen();
    if (frozen.frozen) {
      return rejectInstall(core, actor, context, 'FROZEN', `frozen by ${frozen.by}: ${frozen.reason}`);
    }
    // The signed manifest bytes are kept with the bundle (its identity, re-decoded at every boot), and
    // the whole COSE_Sign (its approvals are verified again before a promotion and after a trust rotation).
    const { manifestBytes, coseSign } = await withFileSource(copy.path, async (source) => {
      const { header, cose } = await openBundle(source, { limits: core.limits, allowUnsigned: true });
      return { manifestBytes: Uint8Array.from(cose.payload), coseSign: Uint8Array.from(header.cose) };
    });
    const manifestSha = bytesToHex(sha256(manifestBytes));
    const existing = core.state.bundle(manifestSha);
    if (existing) {
      // A revoked or failed bundle is never "installed" again, however often it is re-sent: the
      // sender (and the fleet, through the transfer status) must learn that it is refused and why.
      switch (existing.state) {
        case 'revoked':
          return rejectInstall(
            core,
            actor,
            context,
            'REVOKED_BUNDLE',
            `${existing.bundleId} was revoked on this device: ${existing.stateDetail ?? 'no detail'}`,
          );
        case 'failed':
          return rejectInstall(
            core,
            actor,
            context,
            'NOT_USABLE',
            `${existing.bundleId} failed on this device and is not used again: ${existing.stateDetail ?? 'no detail'}`,
          );
        case 'installed':
          break;
      }
      if (existing.containerSha256 !== copy.sha256) {
        await widenApprovals(core, copy, coseSign, existing, actor, context);
      }
      const now = core.state.bundle(manifestSha) ?? existing;
      return {
        kind: 'duplicate',
        bundle: summary(now),
        slot: core.state.slotOfBundle(manifestSha)?.slot ?? null,
      };
    }
    const verified = await verifyBundleFile(copy.path, {
      trust: core.trustStore,
      target: {
        kind: 'device',
        deviceClass: core.device.deviceClass,
        runtimeVersion: core.device.runtimeVersion,
        installed: core.state.installedFamilies(),
        revokedBundles: core.state.revocations(),
      },
      stage: 'shadow',
      now: core.now,
      limits: core.limits,
      validatePreprocessing: core.options.validatePreprocessing ?? validatePreprocessingWithOps,
      ...(core.options.verifyPolicy ? { policy: core.options.verifyPolicy } : {}),
    });
    const manifest = verified.manifest;
    if (verified.manifestSha256 !== manifestSha) {
      throw new BundleError('DIGEST_MISMATCH', 'the staged copy changed between reading and verifying it');
    }
    const approvedFor = widestApprovedStage(verified.approvals, core.trustStore) ?? 'shadow';
    core.record('bundle-verified', actor, {
      ...context,
      bundleId: manifest.bundleId,
      family: manifest.modelFamily,
      sequence: manifest.sequence,
      manifestSha256: verified.manifestSha256,
      approvedFor,
      trustVersion: verified.trustVersion,
      approvals: verified.approvals.map((a) => ({
        kid: a.kid,
        role: a.role,
        reviewer: a.reviewer,
        timeMs: a.timeMs,
        scope: a.scope,
      })),
    });
    if (options.transferId !== undefined) core.emitStatus(options.transferId, 'verified');
    core.fault('install:verified');
    extracted = await core.store.extract(copy, verified);
    core.fault('install:extracted');
    const sha = verified.manifestSha256;
    core.manifests.set(sha, manifest);
    const bundle: InstalledBundle = {
      manifestSha256: sha,
      bundleId: manifest.bundleId,
      family: manifest.modelFamily,
      version: manifest.version,
      sequence: manifest.sequence,
      manifestBytes,
      approvals: verified.approvals.map((a) => ({
        kid: a.kid,
        role: a.role,
        reviewer: a.reviewer,
        timeMs: a.timeMs,
        scope: a.scope,
      })),
      approvedFor,
      coseSign,
      containerSha256: copy.sha256,
      bytes: copy.size,
      state: 'installed',
      stateDetail: null,
      source: options.source,
      transferId: options.transferId ?? null,
      installedAtMs: core.now(),
    };
    const family = manifest.modelFamily;
    const slots = core.slotsOf(family);
    const previousCandidate = slots.candidate ? core.state.bundle(slots.candidate.manifestSha256) : undefined;
    const activate = slots.active === null && approvedFor === 'full';
    // Activation re-hashes the files; the serving host then loads the model from re-hashed bytes
    // (readStagedFile). A candidate is loaded too: what cannot load is rejected here, not in shadow.
    if (activate) await core.store.recheck(sha, manifest);
    if (activate || slots.active !== null) await core.prepareOrThrow(sha, bundle);
    const installedRecord: AuditEntry = [
      'bundle-installed',
      actor,
      {
        ...context,
        bundleId: bundle.bundleId,
        family,
        sequence: bundle.sequence,
        manifestSha256: sha,
        approvedFor,
      },
    ];
    core.commit(`installing ${bundle.bundleId}`, NO_EXTRA, () => {
      core.state.insertBundle(bundle);
      core.state.addSequence(family, bundle.sequence);
      core.audit.appendInTransaction(...installedRecord);
      if (previousCandidate) {
        core.audit.appendInTransaction('bundle-superseded', actor, {
          family,
          bundleId: previousCandidate.bundleId,
          manifestSha256: previousCandidate.manifestSha256,
          by: bundle.bundleId,
        });
      }
      if (activate) {
        core.state.clearSlot(family, 'candidate');
        core.state.putSlot({
          slot: 'active',
          family,
          manifestSha256: sha,
          sinceMs: core.now(),
          mode: { kind: 'model' },
          probation: core.startProbation(manifest),
          activation: { via: 'first-install' },
        });
        core.audit.appendInTransaction('bundle-activated', actor, {
          family,
          bundleId: bundle.bundleId,
          manifestSha256: sha,
          via: 'first-install',
          probationWindows: manifest.rollout.probation.windows,
        });
      } else {
        core.state.putSlot({
          slot: 'candidate',
          family,
          manifestSha256: sha,
          sinceMs: core.now(),
          stage: 'shadow',
          shadow: ZERO_SHADOW,
        });
        core.audit.appendInTransaction('bundle-shadow-started', actor, {
          family,
          bundleId: bundle.bundleId,
          manifestSha256: sha,
          approvedFor,
          shadowing: slots.active ? (core.state.bundle(slots.active.manifestSha256)?.bundleId ?? null) : null,
          autoPromote: manifest.rollout.autoPromote,
        });
      }
    });
    committed = true;
    core.fault('install:committed');
    core.applyPlans();
    const stored = core.state.bundle(sha) ?? bundle;
    if (activate) return { kind: 'activated', bundle: summary(stored) };
    if (slots.active === null) return { kind: 'installed', bundle: summary(stored) };
    return {
      kind: 'shadow',
      bundle: summary(stored),
      superseded: previousCandidate ? summary(previousCandidate) : null,
    };
  } catch (error) {
    if (error instanceof BundleError) return rejectInstall(core, actor, context, error.code, error.message);
    if (error instanceof ActionFailure) return rejectInstall(core, actor, context, error.code, error.message);
    throw error;
  } finally {
    if (!committed && extracted !== null) {
      await core.store.remove(path.basename(extracted)).catch((e: unknown) => {
        core.report(e, 'removing an uncommitted bundle');
      });
    }
    await core.store.discard(copy).catch((e: unknown) => {
      core.report(e, 'removing a staging copy');
    });
    if (committed)
      await prune(core).catch((e: unknown) => {
        core.report(e, 'pruning bundles');
      });
  }
}

export function rejectInstall(
  core: LifecycleCore,
  actor: string,
  context: Readonly<Record<string, unknown>>,
  code: RejectCode,
  detail: string,
): InstallOutcome {
  core.record('bundle-rejected', actor, { ...context, code, detail });
  return { kind: 'rejected', code, detail };
}

/**
 * The same manifest arriving with other approvals (e.g. a canary release approved for `full` after its
 * canary went well): the approvals are verified in full (offline target: the bundle is already
 * installed, so anti-rollback does not apply) and, when they allow a wider stage, replace the stored
 * ones. Nothing else about the bundle changes; fewer or narrower approvals change nothing.
 */
async function widenApprovals(
  core: LifecycleCore,
  copy: StagedCopy,
  coseSign: Uint8Array,
  existing: InstalledBundle,
  actor: string,
  context: Readonly<Record<string, unknown>>,
): Promise<void> {
  const verified = await verifyBundleFile(copy.path, {
    trust: core.trustStore,
    target: {
      kind: 'offline',
      deviceClass: core.device.deviceClass,
      runtimeVersion: core.device.runtimeVersion,
    },
    stage: 'shadow',
    now: core.now,
    limits: core.limits,
    validatePreprocessing: core.options.validatePreprocessing ?? validatePreprocessingWithOps,
  });
  const approvedFor = widestApprovedStage(verified.approvals, core.trustStore) ?? 'shadow';
  if (verified.manifestSha256 !== existing.manifestSha256 || stageAllows(existing.approvedFor, approvedFor))
    return;
  const approvals = verified.approvals.map((a) => ({
    kid: a.kid,
    role: a.role,
    reviewer: a.reviewer,
    timeMs: a.timeMs,
    scope: a.scope,
  }));
  core.commit(`widening the approvals of ${existing.bundleId}`, NO_EXTRA, () => {
    core.state.setApprovals(existing.manifestSha256, approvals, approvedFor, copy.sha256, coseSign);
    core.audit.appendInTransaction('bundle-verified', actor, {
      ...context,
      bundleId: existing.bundleId,
      family: existing.family,
      manifestSha256: existing.manifestSha256,
      approvedFor,
      widenedFrom: existing.approvedFor,
      trustVersion: verified.trustVersion,
      approvals,
    });
  });
}
