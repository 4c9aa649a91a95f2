// Rollback (docs/lifecycle.md "Probation and automatic rollback"): back to the last-known-good bundle,
// or to the declared rule fallback when there is none. A rollback is a safety event: the failed
// bundle is kept with its evidence and the family's recent windows are pinned in the black box.
import { ZERO_SHADOW, type AuditPayload, type CandidateSlot } from '../state/index.ts';
import { NO_EXTRA, rejected, type LifecycleCore, type TxExtra } from './core.ts';
import { prune } from './prune.ts';
import type { ActionOutcome } from './types.ts';

export type RollbackCause =
  | 'probation'
  | 'command'
  | 'local'
  | 'revocation'
  | 'integrity'
  /** Its approvals no longer verify under the current trust store (docs/lifecycle.md "Re-verification"). */
  | 'approval';

/**
 * A field engineer's local rollback (`vigil rollback --yes`): audited like a command (accepted as a
 * rollback record, refused as `command-rejected` with its code), refused while frozen.
 */
export function localRollback(
  core: LifecycleCore,
  family: string,
  request: { readonly reason: string; readonly actor?: string },
): Promise<ActionOutcome> {
  const actor = request.actor ?? core.localActor;
  return core.exclusive(async () => {
    const outcome = await rollback(core, family, {
      cause: 'local',
      by: actor,
      reason: request.reason,
      evidence: null,
      extra: NO_EXTRA,
    });
    if (outcome.kind === 'rejected') {
      core.record('command-rejected', actor, {
        command: 'rollback',
        via: 'local',
        family,
        reason: request.reason,
        code: outcome.code,
        detail: outcome.detail,
      });
    }
    return outcome;
  });
}

export async function rollback(
  core: LifecycleCore,
  family: string,
  req: {
    readonly cause: RollbackCause;
    readonly by: string;
    readonly reason: string;
    readonly evidence: AuditPayload | null;
    readonly extra: TxExtra;
  },
): Promise<ActionOutcome> {
  const manual = req.cause === 'command' || req.cause === 'local';
  const frozen = core.state.frozen();
  if (manual && frozen.frozen) return rejected('FROZEN', `frozen by ${frozen.by}: ${frozen.reason}`);
  const slots = core.cache.get(family);
  if (!slots) return rejected('UNKNOWN_FAMILY', `${family} is not installed here`);
  const active = slots.active;
  if (!active) return rejected('NO_ACTIVE', `${family} has no active bundle`);
  const failed = core.state.bundle(active.manifestSha256);
  let target = slots.lastKnownGood;
  if (target) {
    const targetBundle = core.state.bundle(target.manifestSha256);
    const problem =
      targetBundle?.state === 'installed'
        ? await core.integrityProblem(target.manifestSha256)
        : `the last known good bundle is ${targetBundle?.state ?? 'missing'}`;
    const loadFailure = problem === null ? await core.prepare(target.manifestSha256) : null;
    if (problem !== null || loadFailure !== null) {
      dropDamaged(core, family, target, problem ?? loadFailure ?? '');
      target = null;
    }
  }
  if (!target && manual)
    return rejected('NO_LAST_KNOWN_GOOD', `${family} has no last known good bundle to roll back to`);
  core.fault('rollback:rechecked');
  const targetBundle = target ? core.state.bundle(target.manifestSha256) : undefined;
  const eventId = `rollback:${family}:${core.now()}`;
  const failedState = req.cause === 'revocation' ? 'revoked' : 'failed';
  const fallbackReason =
    req.cause === 'revocation' ? 'revoked' : req.cause === 'approval' ? 'approval-withdrawn' : 'rolled-back';
  const counters =
    core.live.get(active.manifestSha256)?.probation ??
    (active.probation.kind === 'running' ? active.probation.counters : null);
  const candidate = core.cache.get(family)?.candidate ?? null;
  core.commit(`rolling back ${family}`, req.extra, () => {
    core.state.setBundleState(active.manifestSha256, failedState, `${req.cause}: ${req.reason}`);
    if (target) {
      core.state.clearSlot(family, 'last-known-good');
      core.state.putSlot({
        slot: 'active',
        family,
        manifestSha256: target.manifestSha256,
        sinceMs: core.now(),
        mode: { kind: 'model' },
        probation: { kind: 'none' },
        activation: { via: 'rollback', from: active.manifestSha256, by: req.by },
      });
    } else if (req.cause === 'integrity') {
      core.state.clearSlot(family, 'active'); // its files cannot be trusted: nothing of it may run
    } else {
      core.state.putSlot({
        ...active,
        mode: {
          kind: 'rule-fallback',
          reason: fallbackReason,
          detail: `${failed?.bundleId ?? active.manifestSha256}: ${req.reason}; no last known good bundle`,
        },
        probation: { kind: 'none' },
      });
    }
    if (candidate) core.state.putSlot({ ...candidate, sinceMs: candidate.sinceMs, shadow: ZERO_SHADOW });
    const payload = {
      family,
      from: failed?.bundleId ?? null,
      fromManifestSha256: active.manifestSha256,
      to: targetBundle?.bundleId ?? null,
      toManifestSha256: target?.manifestSha256 ?? null,
      ruleFallback: target === null && req.cause !== 'integrity',
      cause: req.cause,
      reason: req.reason,
      by: req.by,
    };
    core.audit.appendInTransaction('bundle-rolled-back', req.by, payload);
    // A rollback is a safety event (DESIGN.md): it keeps the failed bundle's evidence.
    core.audit.appendInTransaction('safety-event', req.by, {
      type: 'rollback',
      ...payload,
      eventId,
      failedBundleKept: true,
      probation: counters ? { ...counters } : null,
      policy: failed ? { ...core.manifestOf(failed.manifestSha256).rollout.probation } : null,
      evidence: req.evidence,
    });
  });
  core.fault('rollback:committed');
  core.pinFamily(eventId, 'rollback', family);
  core.applyPlans();
  await prune(core).catch((e: unknown) => {
    core.report(e, 'pruning bundles');
  });
  return {
    kind: 'done',
    effect: targetBundle
      ? `${family} rolled back from ${failed?.bundleId ?? '?'} to ${targetBundle.bundleId}`
      : `${family}: ${failed?.bundleId ?? '?'} withdrawn; the declared fallback answers`,
  };
}

export function dropDamaged(
  core: LifecycleCore,
  family: string,
  slot: CandidateSlot | { readonly slot: 'last-known-good'; readonly manifestSha256: string },
  problem: string,
): void {
  core.commit('dropping a damaged bundle', NO_EXTRA, () => {
    core.state.setBundleState(slot.manifestSha256, 'failed', problem);
    core.state.clearSlot(family, slot.slot);
    core.audit.appendInTransaction('safety-event', 'runtime', {
      type: 'bundle-integrity',
      family,
      slot: slot.slot,
      manifestSha256: slot.manifestSha256,
      detail: problem,
    });
  });
  core.applyPlans();
}
