// Boot (docs/lifecycle.md "Crash safety"): the boot record and device identity, trust anchoring or
// rotation, removal of what a crash left half-done, integrity of the bundles in slots, revocations
// whose rollback did not happen, pending commands.
import { replayPending } from './apply-command.ts';
import { NO_EXTRA, type LifecycleCore } from './core.ts';
import { LifecycleError } from './errors.ts';
import { prune } from './prune.ts';
import { sweepRevocations } from './revocation.ts';
import { reverifySlots } from './reverify.ts';
import { rollback } from './rollback.ts';
import { offerTrust } from './trust-update.ts';

export async function boot(
  core: LifecycleCore,
  firstTrust: boolean,
  created: { storage: boolean; device: boolean },
): Promise<void> {
  const unclean = core.state.meta('running') === true;
  const owner = core.state.meta('device') as { deviceId?: unknown } | undefined;
  if (owner !== undefined && owner.deviceId !== core.device.deviceId) {
    throw new LifecycleError(
      'DEVICE_MISMATCH',
      `the state in ${core.options.dataDir} belongs to device ${String(owner.deviceId)}, not ${core.device.deviceId}`,
    );
  }
  core.state.transaction('writing the boot record', () => {
    core.state.setMeta('running', true);
    core.state.setMeta('device', {
      deviceId: core.device.deviceId,
      fleet: core.device.fleet,
      cohort: core.device.cohort,
      deviceClass: core.device.deviceClass,
    });
    core.audit.appendInTransaction('boot', 'runtime', {
      deviceId: core.device.deviceId,
      fleet: core.device.fleet,
      cohort: core.device.cohort,
      runtimeVersion: core.device.runtimeVersion,
      previousShutdown: firstTrust ? 'first-boot' : unclean ? 'unclean' : 'clean',
      deviceKey: core.deviceKey.kid,
      keysCreated: [...(created.storage ? ['storage'] : []), ...(created.device ? ['device'] : [])],
    });
  });
  if (firstTrust) {
    core.commit('anchoring the trust document', NO_EXTRA, () => {
      core.state.saveTrust({
        version: core.trustStore.version,
        sha256: core.trustStore.sha256,
        bytes: core.trustStore.bytes,
        acceptedAtMs: core.now(),
        source: core.options.trustSource ?? 'provisioning',
      });
      core.audit.appendInTransaction('trust-anchored', 'runtime', {
        version: core.trustStore.version,
        sha256: core.trustStore.sha256,
        source: core.options.trustSource ?? 'provisioning',
      });
    });
  } else if (core.options.trust) {
    offerTrust(core, core.options.trust, core.options.trustSource ?? 'boot');
  }
  await recover(core);
  core.reloadCache();
  await checkSlotIntegrity(core);
  await sweepRevocations(core, 'boot');
  // A trust rotation offered at this boot, or one whose re-verification a crash interrupted.
  await reverifySlots(core);
  for (const pending of core.state.pendingCommands()) {
    if (pending.bytes === null) continue;
    await replayPending(core, pending.bytes, pending.nonce);
  }
  core.state.transaction('pruning settled commands', () =>
    core.state.pruneCommands(core.now() - core.commandPolicy.clockSkewMs),
  );
  await prune(core);
}

/** Removes what a crash left half-done: staging files, bundle directories nobody committed. */
export async function recover(core: LifecycleCore): Promise<void> {
  const bundles = core.state.bundles();
  const known = new Set(bundles.map((b) => b.manifestSha256));
  const removed = await core.store.recover(known);
  const missing: string[] = [];
  for (const b of bundles) {
    if (!(await core.store.exists(b.manifestSha256))) missing.push(b.manifestSha256);
  }
  // A bundle row without files can only come from outside interference (files deleted): keep the
  // row (anti-rollback and evidence), mark it failed; slot holders are handled by the integrity check.
  if (removed.staging > 0 || removed.orphans.length > 0 || missing.length > 0) {
    core.commit('recording crash recovery', NO_EXTRA, () => {
      for (const sha of missing) core.state.setBundleState(sha, 'failed', 'bundle files missing on disk');
      core.audit.appendInTransaction('recovery', 'runtime', {
        stagingRemoved: removed.staging,
        uncommittedBundlesRemoved: removed.orphans,
        bundlesMissing: missing,
      });
    });
  }
}

/** Re-hashes the bundles in slots against their signed manifests; a mismatch is a safety event. */
export async function checkSlotIntegrity(core: LifecycleCore): Promise<void> {
  for (const slots of [...core.cache.values()]) {
    for (const slot of [slots.candidate, slots.lastKnownGood]) {
      if (!slot) continue;
      const problem = await core.integrityProblem(slot.manifestSha256);
      if (problem === null) continue;
      core.commit('dropping a damaged bundle', NO_EXTRA, () => {
        core.state.setBundleState(slot.manifestSha256, 'failed', problem);
        core.state.clearSlot(slots.family, slot.slot);
        core.audit.appendInTransaction('safety-event', 'runtime', {
          type: 'bundle-integrity',
          family: slots.family,
          slot: slot.slot,
          manifestSha256: slot.manifestSha256,
          detail: problem,
        });
      });
    }
    const active = core.cache.get(slots.family)?.active;
    if (active) {
      const problem = await core.integrityProblem(active.manifestSha256);
      if (problem !== null) {
        await rollback(core, slots.family, {
          cause: 'integrity',
          by: 'runtime',
          reason: problem,
          evidence: null,
          extra: NO_EXTRA,
        });
      }
    }
  }
}
