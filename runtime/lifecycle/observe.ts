// Evidence from the pipeline (docs/lifecycle.md "Shadow", "Probation"): probation results, shadow pairs,
// fallback episodes. Cheap, synchronous, never throws at the pipeline; decisions are scheduled.
import type { PipelineEvent, WindowResult } from '../pipeline/index.ts';
import type { AuditPayload } from '../state/index.ts';
import { NO_EXTRA, type LifecycleCore } from './core.ts';
import { addProbationResult, addShadowPair, agree, judgeProbation, promotionCheck } from './evidence.ts';
import { promote } from './promote.ts';
import { rollback } from './rollback.ts';

/** Every result the active runners produce (probation health). Cheap; never throws. */
export function observeResult(core: LifecycleCore, result: WindowResult): void {
  if (result.shadow || core.closed) return;
  const family = result.provenance.modelFamily;
  core.noteStream(family, result.streamId);
  const active = core.cache.get(family)?.active;
  if (
    active?.manifestSha256 !== result.provenance.manifestSha256 ||
    active.probation.kind !== 'running' ||
    active.mode.kind !== 'model' // withdrawn: its results are the declared fallback's, not evidence
  )
    return;
  try {
    const live = core.liveOf(active.manifestSha256);
    const policy = core.manifestOf(active.manifestSha256).rollout.probation;
    live.probation = addProbationResult(live.probation ?? active.probation.counters, result, policy);
    live.dirty += 1;
    const verdict = judgeProbation(live.probation, policy, core.policy.probationMinRateWindows);
    const sha = active.manifestSha256;
    switch (verdict.kind) {
      case 'breached':
        core.schedule(`probation:${family}`, async () => {
          if (core.cache.get(family)?.active?.manifestSha256 !== sha) return;
          await rollback(core, family, {
            cause: 'probation',
            by: 'policy',
            reason: `probation breached: ${verdict.breaches.join('; ')}`,
            evidence: { breaches: [...verdict.breaches] },
            extra: NO_EXTRA,
          });
        });
        break;
      case 'passed':
        core.schedule(`probation:${family}`, () => {
          passProbation(core, family, sha);
          return Promise.resolve();
        });
        break;
      case 'running':
        if (live.dirty >= core.policy.flushEveryResults) core.flushEvidence();
        break;
    }
  } catch (error) {
    core.report(error, 'probation evidence');
  }
}

/** Active and candidate results for the same window (Pipeline.onShadowPair). */
export function observeShadowPair(core: LifecycleCore, active: WindowResult, candidate: WindowResult): void {
  if (core.closed) return;
  const family = candidate.provenance.modelFamily;
  const slots = core.cache.get(family);
  const slot = slots?.candidate;
  if (
    !slot ||
    slot.manifestSha256 !== candidate.provenance.manifestSha256 ||
    slots.active?.manifestSha256 !== active.provenance.manifestSha256
  ) {
    return;
  }
  try {
    const live = core.liveOf(slot.manifestSha256);
    live.shadow = addShadowPair(live.shadow ?? slot.shadow, active, candidate);
    live.dirty += 1;
    if (!agree(active.status, candidate.status)) pinDisagreement(core, candidate);
    const manifest = core.manifestOf(slot.manifestSha256);
    const bundle = core.state.bundle(slot.manifestSha256);
    const ready =
      manifest.rollout.autoPromote &&
      bundle?.approvedFor === 'full' &&
      slots.active.probation.kind !== 'running' &&
      !core.state.frozen().frozen &&
      promotionCheck(live.shadow, manifest.rollout).ready;
    if (ready) {
      const sha = slot.manifestSha256;
      core.schedule(`promote:${family}`, async () => {
        if (core.cache.get(family)?.candidate?.manifestSha256 !== sha) return;
        const outcome = await promote(core, family, {
          by: 'policy',
          scope: 'full',
          force: false,
          reason: 'automatic promotion: the signed rollout policy allows it and its criteria are met',
          expect: sha,
          extra: NO_EXTRA,
        });
        if (outcome.kind === 'rejected')
          core.report(new Error(`${outcome.code}: ${outcome.detail}`), 'automatic promotion');
      });
    } else if (live.dirty >= core.policy.flushEveryResults) {
      core.flushEvidence();
    }
  } catch (error) {
    core.report(error, 'shadow evidence');
  }
}

/**
 * Fallback episodes of the active models (start, end with counts per reason) go to the audit log;
 * a candidate's episodes are shadow evidence only. Returns the record's sequence number.
 */
export function recordPipelineEvent(
  core: LifecycleCore,
  event: PipelineEvent,
  extra: AuditPayload = {},
): number | null {
  if (core.closed) return null;
  switch (event.kind) {
    case 'alert':
      return null;
    case 'fallback-episode-start':
    case 'fallback-episode-end': {
      const active = core.cache.get(event.modelFamily)?.active;
      const bundle = active ? core.state.bundle(active.manifestSha256) : undefined;
      if (bundle?.bundleId !== event.bundleId) return null;
      try {
        const payload =
          event.kind === 'fallback-episode-start'
            ? {
                streamId: event.streamId,
                family: event.modelFamily,
                bundleId: event.bundleId,
                reason: event.reason,
                atMs: event.atMs,
              }
            : {
                streamId: event.streamId,
                family: event.modelFamily,
                bundleId: event.bundleId,
                reason: event.reason,
                startMs: event.startMs,
                endMs: event.endMs,
                windows: event.windows,
                reasons: { ...event.reasons },
              };
        return core.record(event.kind, 'runtime', { ...payload, ...extra });
      } catch (error) {
        core.report(error, 'auditing a fallback episode');
        return null;
      }
    }
  }
}

export function passProbation(core: LifecycleCore, family: string, sha: string): void {
  const active = core.cache.get(family)?.active;
  if (active?.manifestSha256 !== sha || active.probation.kind !== 'running' || active.mode.kind !== 'model')
    return;
  const counters = core.live.get(sha)?.probation ?? active.probation.counters;
  const bundle = core.state.bundle(sha);
  core.commit(`ending probation of ${bundle?.bundleId ?? sha}`, NO_EXTRA, () => {
    core.state.putSlot({ ...active, probation: { kind: 'none' } });
    core.audit.appendInTransaction('probation-passed', 'policy', {
      family,
      bundleId: bundle?.bundleId ?? null,
      manifestSha256: sha,
      counters: { ...counters },
      policy: { ...core.manifestOf(sha).rollout.probation },
    });
  });
  core.fault('probation:committed');
}

export function pinDisagreement(core: LifecycleCore, candidate: WindowResult): void {
  const last = core.lastDisagreementPin.get(candidate.streamId);
  const now = core.now();
  if (last !== undefined && now - last < core.policy.disagreementPinIntervalMs) return;
  core.lastDisagreementPin.set(candidate.streamId, now);
  try {
    core.blackBox.pin(
      `shadow:${candidate.resultId}`,
      'shadow-disagreement',
      candidate.streamId,
      core.policy.pinWindows,
    );
  } catch (error) {
    core.report(error, 'pinning a shadow disagreement');
  }
}
