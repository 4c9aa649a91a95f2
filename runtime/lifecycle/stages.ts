// How far a verified bundle may go on this device: the widest deployment stage for which every role
// the release policy requires has its threshold of distinct approvals whose scope allows the stage
// (the same rule the verifier applies for one stage, docs/bundle-format.md §7 step 4).
import type { TrustStore } from '../trust/index.ts';
import type { DeploymentStage } from '../state/index.ts';

const WIDEST_FIRST: readonly DeploymentStage[] = ['full', 'canary', 'shadow'];

export function widestApprovedStage(
  approvals: readonly { readonly role: string; readonly allows: readonly DeploymentStage[] }[],
  trust: TrustStore,
): DeploymentStage | null {
  for (const stage of WIDEST_FIRST) {
    const ok = trust.document.releasePolicy.requiredRoles.every(
      (role) =>
        approvals.filter((a) => a.role === role && a.allows.includes(stage)).length >= trust.threshold(role),
    );
    if (ok) return stage;
  }
  return null;
}

/** Is `stage` within what `approvedFor` allows? (shadow ⊂ canary ⊂ full) */
export function stageAllows(approvedFor: DeploymentStage, stage: DeploymentStage): boolean {
  return WIDEST_FIRST.indexOf(approvedFor) <= WIDEST_FIRST.indexOf(stage);
}
