// Output suppression (docs/lifecycle.md "Output suppression"): a drift policy's declared safe action
// `suppress-outputs` (or an operator) makes a bundle's declared fallback answer every window, with
// reason OUTPUTS_SUPPRESSED, for as long as that bundle is the active model — across promotions,
// rollbacks, revocations of other bundles and restarts — until it is lifted. It is part of the serving
// plan (servingPlans), persisted and audited, not a runner setting that the next plan would undo.
//
// These run synchronously, outside the queue of lifecycle operations: a safe action must not wait for
// an install to finish, and they touch no slot (only the suppression table and its record).
import { StateError, type Suppression } from '../state/index.ts';
import type { LifecycleCore } from './core.ts';

export type SuppressionOutcome =
  | { readonly kind: 'suppressed'; readonly suppression: Suppression }
  | { readonly kind: 'lifted'; readonly suppression: Suppression }
  /** Already suppressed (suppress) or not suppressed (lift): nothing recorded. */
  | { readonly kind: 'unchanged'; readonly suppression: Suppression | null }
  | { readonly kind: 'rejected'; readonly code: 'UNKNOWN_BUNDLE'; readonly detail: string };

function open(core: LifecycleCore): void {
  if (core.closed) throw new StateError('DB_WRITE_FAILED', 'the lifecycle is closed');
}

export function suppressOutputs(
  core: LifecycleCore,
  bundleId: string,
  request: { readonly reason: string; readonly actor: string; readonly sinceMs?: number },
): SuppressionOutcome {
  open(core);
  const existing = core.suppressions.get(bundleId);
  if (existing) return { kind: 'unchanged', suppression: existing };
  const bundle = core.state.bundles().find((b) => b.bundleId === bundleId);
  if (!bundle) return { kind: 'rejected', code: 'UNKNOWN_BUNDLE', detail: `no installed bundle ${bundleId}` };
  const suppression: Suppression = {
    bundleId,
    family: bundle.family,
    sinceMs: request.sinceMs ?? core.now(),
    reason: request.reason,
    actor: request.actor,
  };
  const active = core.slotsOf(bundle.family).active;
  const activeNow = active ? core.state.bundle(active.manifestSha256)?.bundleId === bundleId : false;
  core.state.transaction('suppressing outputs', () => {
    core.state.addSuppression(suppression);
    core.audit.appendInTransaction('outputs-suppressed', request.actor, {
      bundleId,
      family: bundle.family,
      sinceMs: suppression.sinceMs,
      reason: request.reason,
      activeNow,
    });
  });
  core.reloadSuppressions();
  core.publishAudit();
  core.applyPlans();
  return { kind: 'suppressed', suppression };
}

export function liftSuppression(
  core: LifecycleCore,
  bundleId: string,
  request: { readonly reason: string; readonly actor: string },
): SuppressionOutcome {
  open(core);
  const existing = core.suppressions.get(bundleId);
  if (!existing) return { kind: 'unchanged', suppression: null };
  core.state.transaction('lifting an output suppression', () => {
    core.state.deleteSuppression(bundleId);
    core.audit.appendInTransaction('suppression-lifted', request.actor, {
      bundleId,
      family: existing.family,
      sinceMs: existing.sinceMs,
      suppressedBy: existing.actor,
      suppressedFor: existing.reason,
      reason: request.reason,
    });
  });
  core.reloadSuppressions();
  core.publishAudit();
  core.applyPlans();
  return { kind: 'lifted', suppression: existing };
}
