// What `vigil status` and the daemon report: slots per family with their rollout evidence judged
// against each bundle's signed policy, installed bundles, trust, freeze, audit head. Built from the
// state tables, so a read-only inspection (no lock, no audit records) gives the same view.
import type { Manifest } from '../../models/format/index.ts';
import type {
  AuditLog,
  DeviceState,
  InstalledBundle,
  ProbationCounters,
  ShadowCounters,
} from '../state/index.ts';
import { judgeProbation, promotionCheck } from './evidence.ts';
import type { BundleSummary, DeviceIdentity, FamilyStatus, LifecycleStatus } from './types.ts';

export function bundleSummary(b: InstalledBundle): BundleSummary {
  return {
    manifestSha256: b.manifestSha256,
    bundleId: b.bundleId,
    family: b.family,
    version: b.version,
    sequence: b.sequence,
    approvedFor: b.approvedFor,
    state: b.state,
    stateDetail: b.stateDetail,
    source: b.source,
    installedAtMs: b.installedAtMs,
  };
}

export interface StateView {
  readonly state: DeviceState;
  readonly audit: AuditLog;
  readonly device: DeviceIdentity;
  readonly trust: { readonly version: number; readonly sha256: string };
  readonly deviceKey: { readonly kid: string; readonly publicKey: string };
  readonly manifestOf: (manifestSha256: string) => Manifest;
  /** Evidence counted since the last write (the running lifecycle's; none when inspecting). */
  readonly live?: (
    manifestSha256: string,
  ) => { readonly probation: ProbationCounters | null; readonly shadow: ShadowCounters | null } | undefined;
  readonly probationMinRateWindows: number;
}

export function describeState(view: StateView): LifecycleStatus {
  const { state } = view;
  const live = (sha: string) => view.live?.(sha);
  const families: FamilyStatus[] = [];
  for (const slots of state.allSlots()) {
    const active = slots.active;
    const activeBundle = active ? state.bundle(active.manifestSha256) : undefined;
    const candidate = slots.candidate;
    const candidateBundle = candidate ? state.bundle(candidate.manifestSha256) : undefined;
    const lkg = slots.lastKnownGood;
    const lkgBundle = lkg ? state.bundle(lkg.manifestSha256) : undefined;
    const probation =
      active?.probation.kind === 'running'
        ? {
            ...active.probation,
            counters: live(active.manifestSha256)?.probation ?? active.probation.counters,
          }
        : (active?.probation ?? null);
    const shadow = candidate ? (live(candidate.manifestSha256)?.shadow ?? candidate.shadow) : null;
    families.push({
      family: slots.family,
      active:
        active && activeBundle && probation
          ? {
              bundle: bundleSummary(activeBundle),
              sinceMs: active.sinceMs,
              mode: active.mode,
              activation: active.activation,
              probation,
              verdict:
                probation.kind === 'running'
                  ? judgeProbation(
                      probation.counters,
                      view.manifestOf(active.manifestSha256).rollout.probation,
                      view.probationMinRateWindows,
                    )
                  : null,
            }
          : null,
      candidate:
        candidate && candidateBundle && shadow
          ? {
              bundle: bundleSummary(candidateBundle),
              sinceMs: candidate.sinceMs,
              stage: candidate.stage,
              shadow,
              promotion: promotionCheck(shadow, view.manifestOf(candidate.manifestSha256).rollout),
              autoPromote: view.manifestOf(candidate.manifestSha256).rollout.autoPromote,
            }
          : null,
      lastKnownGood: lkg && lkgBundle ? { bundle: bundleSummary(lkgBundle), sinceMs: lkg.sinceMs } : null,
    });
  }
  const head = view.audit.headCheckpoint();
  return {
    deviceId: view.device.deviceId,
    fleet: view.device.fleet,
    cohort: view.device.cohort,
    frozen: state.frozen(),
    trust: view.trust,
    families,
    bundles: state.bundles().map(bundleSummary),
    revocations: state.revocations().length,
    suppressions: state.suppressions(),
    audit: { records: head.count, headHash: head.headHash, checkpoints: view.audit.checkpointCount() },
    deviceKey: view.deviceKey,
  };
}
