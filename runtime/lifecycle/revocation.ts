// Revocation (docs/lifecycle.md "Freeze, revoke, trust rotation"): a revoked bundle stops being used at
// once — cleared from candidate and last-known-good, rolled back from active.
import type { InstalledBundle } from '../state/index.ts';
import { findBundleRevocation } from '../trust/index.ts';
import { revocationOf, selectorText, type BundleSelector } from './command.ts';
import { NO_EXTRA, message, type LifecycleCore, type TxExtra } from './core.ts';
import { rollback } from './rollback.ts';
import type { ActionOutcome } from './types.ts';

export async function revoke(
  core: LifecycleCore,
  selector: BundleSelector,
  req: { readonly by: string; readonly reason: string; readonly source: string; readonly extra: TxExtra },
): Promise<ActionOutcome> {
  const revocation = revocationOf(selector, req.reason, core.now());
  const matches = core.state
    .bundles()
    .filter((b) => findBundleRevocation([revocation], { ...b, modelFamily: b.family }) !== undefined);
  const effect = await revokeBundles(core, matches, {
    by: req.by,
    reason: req.reason,
    selector: selectorText(selector),
    extra: {
      records: req.extra.records,
      mutate: () => {
        req.extra.mutate?.();
        core.state.addRevocation(revocation, req.source);
      },
    },
  });
  return { kind: 'done', effect };
}

/**
 * Marks bundles revoked and clears them from candidate and last-known-good; an active one is withdrawn
 * in the same transaction (the declared fallback answers from that commit on, before any other bundle
 * is re-hashed or loaded), then rolled back to its last-known-good bundle.
 */
export async function revokeBundles(
  core: LifecycleCore,
  matches: readonly InstalledBundle[],
  ctx: { readonly by: string; readonly reason: string; readonly selector: string; readonly extra: TxExtra },
): Promise<string> {
  const shas = new Set(matches.map((b) => b.manifestSha256));
  core.commit('recording a revocation', ctx.extra, () => {
    for (const b of matches) core.state.setBundleState(b.manifestSha256, 'revoked', ctx.reason);
    const activeAffected: string[] = [];
    for (const family of [...core.cache.keys()]) {
      // Read in the transaction: the evidence counters were just flushed into the slots.
      const slots = core.state.slots(family);
      if (slots.candidate && shas.has(slots.candidate.manifestSha256))
        core.state.clearSlot(family, 'candidate');
      if (slots.lastKnownGood && shas.has(slots.lastKnownGood.manifestSha256)) {
        core.state.clearSlot(family, 'last-known-good');
      }
      const active = slots.active;
      if (active && shas.has(active.manifestSha256)) {
        activeAffected.push(family);
        if (active.mode.kind === 'model') {
          core.state.putSlot({
            ...active,
            mode: { kind: 'withdrawn', reason: 'revoked', detail: ctx.reason },
          });
        }
      }
    }
    core.audit.appendInTransaction('bundle-revoked', ctx.by, {
      selector: ctx.selector,
      reason: ctx.reason,
      bundles: matches.map((b) => ({ bundleId: b.bundleId, manifestSha256: b.manifestSha256 })),
      activeAffected,
    });
  });
  core.fault('revoke:committed');
  core.applyPlans();
  const effects: string[] = [`revoked ${ctx.selector} (${matches.length} installed bundle(s))`];
  effects.push(...(await completeWithdrawals(core, ctx.by)));
  return effects.join('; ');
}

/**
 * Rolls back every family whose active bundle was withdrawn (revoked, approvals no longer valid) —
 * right after the withdrawal, or at the next boot when a crash or an error interrupted it. Until it
 * completes, the declared fallback answers (the withdrawal committed that); an unexpected error is
 * reported and leaves the fallback in place.
 */
export async function completeWithdrawals(core: LifecycleCore, by: string): Promise<string[]> {
  const effects: string[] = [];
  for (const slots of [...core.cache.values()]) {
    const active = slots.active;
    if (active?.mode.kind !== 'withdrawn') continue;
    try {
      const outcome = await rollback(core, slots.family, {
        cause: active.mode.reason === 'revoked' ? 'revocation' : 'approval',
        by,
        reason: active.mode.detail,
        evidence: null,
        extra: NO_EXTRA,
      });
      effects.push(outcome.kind === 'done' ? outcome.effect : `${slots.family}: ${outcome.detail}`);
    } catch (error) {
      core.report(error, `rolling back ${slots.family}`);
      effects.push(
        `${slots.family}: the rollback did not complete (${message(error)}); the declared fallback answers until it does`,
      );
    }
  }
  return effects;
}

/** Applies trust-document and device revocations to installed bundles (boot, trust rotation). */
export async function sweepRevocations(core: LifecycleCore, source: string): Promise<void> {
  const device = core.state.revocations();
  const matches = core.state.bundles().filter((b) => {
    if (b.state === 'revoked') return false;
    const id = {
      bundleId: b.bundleId,
      modelFamily: b.family,
      version: b.version,
      manifestSha256: b.manifestSha256,
    };
    return (
      core.trustStore.bundleRevocation(id) !== undefined || findBundleRevocation(device, id) !== undefined
    );
  });
  if (matches.length > 0) {
    await revokeBundles(core, matches, {
      by: 'runtime',
      reason: `revoked by trust version ${core.trustStore.version} or an earlier command (${source})`,
      selector: matches.map((b) => b.bundleId).join(', '),
      extra: NO_EXTRA,
    });
  }
  // A withdrawal committed just before a crash (or an error), whose rollback never ran.
  await completeWithdrawals(core, 'runtime');
  // The same, recorded by a runtime from before withdrawals existed: revoked, still in mode `model`.
  for (const slots of [...core.cache.values()]) {
    const active = slots.active;
    if (!active || active.mode.kind !== 'model') continue;
    if (core.state.bundle(active.manifestSha256)?.state !== 'revoked') continue;
    await rollback(core, slots.family, {
      cause: 'revocation',
      by: 'runtime',
      reason: 'revoked before a restart',
      evidence: null,
      extra: NO_EXTRA,
    });
  }
}
