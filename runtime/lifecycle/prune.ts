// Bounded disk use (docs/lifecycle.md "Install"): superseded bundles go first, failed and revoked ones
// (evidence) last; a bundle in a slot never.
import { NO_EXTRA, type LifecycleCore } from './core.ts';

/** Bounded disk use: superseded bundles first, then old failed/revoked evidence; never a slot. */
export async function prune(core: LifecycleCore): Promise<void> {
  const inSlot = new Set(
    [...core.cache.values()].flatMap((s) =>
      [s.active, s.candidate, s.lastKnownGood].flatMap((x) => (x ? [x.manifestSha256] : [])),
    ),
  );
  const all = core.state
    .bundles()
    .sort((a, b) => a.installedAtMs - b.installedAtMs || a.sequence - b.sequence);
  const free = all.filter((b) => !inSlot.has(b.manifestSha256));
  const evidence = free.filter((b) => b.state !== 'installed');
  const doomed = new Set(
    evidence
      .slice(0, Math.max(0, evidence.length - core.policy.keepFailedBundles))
      .map((b) => b.manifestSha256),
  );
  let count = all.length - doomed.size;
  let bytes = all.filter((b) => !doomed.has(b.manifestSha256)).reduce((sum, b) => sum + b.bytes, 0);
  for (const b of [...free.filter((x) => x.state === 'installed'), ...evidence]) {
    if (count <= core.policy.maxInstalledBundles && bytes <= core.policy.maxStoreBytes) break;
    if (doomed.has(b.manifestSha256)) continue;
    doomed.add(b.manifestSha256);
    count -= 1;
    bytes -= b.bytes;
  }
  for (const b of all) {
    if (!doomed.has(b.manifestSha256)) continue;
    core.commit(`pruning ${b.bundleId}`, NO_EXTRA, () => {
      core.state.deleteBundle(b.manifestSha256);
      // Its suppression can never apply again (a bundle out of every slot never serves again).
      const sameId = core.state.bundles().some((o) => o.bundleId === b.bundleId);
      const suppressionDropped = !sameId && core.state.deleteSuppression(b.bundleId);
      core.audit.appendInTransaction('bundle-pruned', 'runtime', {
        family: b.family,
        bundleId: b.bundleId,
        manifestSha256: b.manifestSha256,
        state: b.state,
        bytes: b.bytes,
        suppressionDropped,
      });
    });
    core.reloadSuppressions();
    core.manifests.delete(b.manifestSha256);
    core.fault('prune:committed');
    await core.store.remove(b.manifestSha256);
  }
}
