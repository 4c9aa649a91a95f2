// Freeze (docs/lifecycle.md "Freeze, revoke, trust rotation"): pin the current models.
import type { LifecycleCore, TxExtra } from './core.ts';
import type { ActionOutcome } from './types.ts';

export function freeze(
  core: LifecycleCore,
  on: boolean,
  by: string,
  reason: string,
  extra: TxExtra,
): ActionOutcome {
  const before = core.state.frozen();
  core.commit(on ? 'freezing' : 'unfreezing', extra, () => {
    core.state.setFrozen(on ? { frozen: true, sinceMs: core.now(), by, reason } : { frozen: false });
    core.audit.appendInTransaction(on ? 'frozen' : 'unfrozen', by, {
      reason,
      wasFrozen: before.frozen,
      active: Object.fromEntries(
        [...core.cache.values()].map((s) => [
          s.family,
          s.active ? (core.state.bundle(s.active.manifestSha256)?.bundleId ?? null) : null,
        ]),
      ),
    });
  });
  core.fault('freeze:committed');
  return {
    kind: 'done',
    effect: on ? 'frozen: no installs, promotions or manual rollbacks' : 'unfrozen',
  };
}
