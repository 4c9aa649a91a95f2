// Promotion (docs/lifecycle.md "Shadow and promotion"): the candidate becomes active (probation
// starts), the previous active becomes last-known-good, when scope and evidence allow it.
import { rejected, type LifecycleCore, type TxExtra } from './core.ts';
import { promotionCheck } from './evidence.ts';
import { prune } from './prune.ts';
import { noteApprovedFor, reverifyBundle, withdraw } from './reverify.ts';
import { dropDamaged } from './rollback.ts';
import { stageAllows } from './stages.ts';
import type { ActionOutcome } from './types.ts';

export async function promote(
  core: LifecycleCore,
  family: string,
  req: {
    readonly by: string;
    readonly scope: 'canary' | 'full';
    readonly force: boolean;
    readonly reason: string;
    readonly expect?: string;
    readonly extra: TxExtra;
  },
): Promise<ActionOutcome> {
  const frozen = core.state.frozen();
  if (frozen.frozen) return rejected('FROZEN', `frozen by ${frozen.by}: ${frozen.reason}`);
  const slots = core.slotsOf(family);
  const candidate = slots.candidate;
  if (!candidate) return rejected('NO_CANDIDATE', `${family} has no candidate to promote`);
  if (req.expect !== undefined && req.expect !== candidate.manifestSha256) {
    return rejected(
      'CANDIDATE_MISMATCH',
      `the command promotes ${req.expect.slice(0, 12)}…, the candidate is ${candidate.manifestSha256.slice(0, 12)}…`,
    );
  }
  const bundle = core.state.bundle(candidate.manifestSha256);
  if (!bundle || bundle.state !== 'installed')
    return rejected('NOT_USABLE', `the candidate is ${bundle?.state ?? 'missing'}`);
  if (slots.active?.probation.kind === 'running') {
    return rejected('PROBATION_ACTIVE', `${family}'s active bundle is still on probation`);
  }
  // The approvals are verified again against today's trust store and clock (revoked approvers,
  // changed thresholds or scopes, expiry): a candidate that would not install today is not promoted —
  // it is withdrawn, with its code.
  const verdict = await reverifyBundle(core, bundle, { atMs: core.now(), device: true });
  if (verdict.kind === 'invalid') {
    withdraw(core, family, candidate, verdict, 'promotion');
    return rejected(
      verdict.code,
      `${bundle.bundleId} no longer qualifies and was withdrawn: ${verdict.detail}`,
    );
  }
  noteApprovedFor(core, bundle, verdict, 'promotion');
  const approvedFor = verdict.approvedFor;
  if (approvedFor === 'shadow' || !stageAllows(approvedFor, req.scope)) {
    return rejected(
      'SCOPE_INSUFFICIENT',
      approvedFor === 'shadow'
        ? `${bundle.bundleId} is approved for shadow only`
        : `${bundle.bundleId} is approved for canary: it can be promoted only by a command naming devices or a cohort`,
    );
  }
  const manifest = core.manifestOf(candidate.manifestSha256);
  const shadow = core.live.get(candidate.manifestSha256)?.shadow ?? candidate.shadow;
  const check = promotionCheck(shadow, manifest.rollout);
  if (!check.ready && !req.force) {
    return rejected('CRITERIA_UNMET', `shadow evidence below the rollout policy: ${check.unmet.join('; ')}`);
  }
  const problem = await core.integrityProblem(candidate.manifestSha256);
  if (problem !== null) {
    dropDamaged(core, family, candidate, problem);
    return rejected('DIGEST_MISMATCH', problem);
  }
  const loadFailure = await core.prepare(candidate.manifestSha256);
  if (loadFailure !== null) return rejected('LOAD_FAILED', loadFailure);
  core.fault('promote:rechecked');
  const previous = slots.active;
  const previousBundle = previous ? core.state.bundle(previous.manifestSha256) : undefined;
  core.commit(`promoting ${bundle.bundleId}`, req.extra, () => {
    if (previous && previous.mode.kind === 'model' && previousBundle?.state === 'installed') {
      core.state.clearSlot(family, 'active');
      core.state.putSlot({
        slot: 'last-known-good',
        family,
        manifestSha256: previous.manifestSha256,
        sinceMs: core.now(),
      });
    }
    core.state.clearSlot(family, 'candidate');
    core.state.putSlot({
      slot: 'active',
      family,
      manifestSha256: candidate.manifestSha256,
      sinceMs: core.now(),
      mode: { kind: 'model' },
      probation: core.startProbation(manifest),
      activation: { via: 'promotion', scope: req.scope, by: req.by },
    });
    core.audit.appendInTransaction('bundle-promoted', req.by, {
      family,
      bundleId: bundle.bundleId,
      manifestSha256: bundle.manifestSha256,
      from: previousBundle?.bundleId ?? null,
      scope: req.scope,
      approvedFor,
      trustVersion: verdict.trustVersion,
      reverified: verdict.checked,
      forced: req.force && !check.ready,
      unmetCriteria: check.unmet,
      shadow: { ...shadow },
      metrics: { ...check.metrics },
      reason: req.reason,
      probationWindows: manifest.rollout.probation.windows,
    });
  });
  core.fault('promote:committed');
  core.applyPlans();
  if (bundle.transferId !== null) core.emitStatus(bundle.transferId, 'promoted');
  await prune(core).catch((e: unknown) => {
    core.report(e, 'pruning bundles');
  });
  return {
    kind: 'done',
    effect: `${bundle.bundleId} is active for ${family} (probation ${manifest.rollout.probation.windows} windows)`,
  };
}
