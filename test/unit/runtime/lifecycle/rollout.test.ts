import { afterEach, describe, expect, it } from 'vitest';
import type { FamilyPlan, Lifecycle, ServingHost } from '../../../../runtime/lifecycle/index.ts';
import { tempDir } from '../../../fixtures/bundles/kit.ts';
import {
  CANARY_APPROVERS,
  Clock,
  DEVICE,
  FALLBACK,
  FAMILY,
  INFERENCE_ERROR,
  OK,
  OK_POSITIVE,
  OOD,
  bundle,
  command,
  openLifecycle,
  result,
  tempDataDir,
  type Rollout,
} from './helpers.ts';

let lifecycles: Lifecycle[] = [];
afterEach(async () => {
  for (const l of lifecycles) await l.close().catch(() => undefined);
  lifecycles = [];
});

class RecordingHost implements ServingHost {
  readonly prepared: string[] = [];
  plans: readonly FamilyPlan[] = [];
  failFor: string | null = null;
  prepare(bundle: { manifestSha256: string; bundleId: string }): Promise<void> {
    if (bundle.bundleId === this.failFor) return Promise.reject(new Error('session refused the model'));
    this.prepared.push(bundle.bundleId);
    return Promise.resolve();
  }
  apply(plans: readonly FamilyPlan[]): void {
    this.plans = plans;
  }
}

interface Setup {
  l: Lifecycle;
  clock: Clock;
  host: RecordingHost;
  v1: string;
  v2: string;
}

/** v1 active (probation passed), v2 candidate in shadow. */
async function setup(options: { v1?: Rollout; v2?: Rollout; v2Canary?: boolean } = {}): Promise<Setup> {
  const dir = tempDir();
  const clock = new Clock();
  const host = new RecordingHost();
  const l = await openLifecycle(tempDataDir(), clock, { host, policy: { probationMinRateWindows: 10 } });
  lifecycles.push(l);
  const p1 = await bundle(1, { dir, rollout: { probation: { windows: 5 }, ...options.v1 } });
  const p2 = await bundle(2, {
    dir,
    rollout: options.v2 ?? {},
    ...(options.v2Canary === true ? { approvers: CANARY_APPROVERS } : {}),
  });
  const first = await l.install(p1);
  if (first.kind !== 'activated') throw new Error(first.kind);
  for (let i = 0; i < 5; i += 1) l.observeResult(result(first.bundle.manifestSha256, OK));
  await l.idle();
  const second = await l.install(p2);
  if (second.kind !== 'shadow') throw new Error(second.kind);
  return { l, clock, host, v1: first.bundle.manifestSha256, v2: second.bundle.manifestSha256 };
}

function family(l: Lifecycle) {
  const f = l.status().families.find((x) => x.family === FAMILY);
  if (!f) throw new Error('no family');
  return f;
}

function shadowPairs(l: Lifecycle, v1: string, v2: string, n: number, candidate = OK): void {
  for (let i = 0; i < n; i += 1) {
    l.observeShadowPair(result(v1, OK), result(v2, candidate, { shadow: true }));
  }
}

describe('shadow, promotion and probation', () => {
  it('passes probation after its windows and keeps the first bundle active', async () => {
    const { l } = await setup();
    expect(family(l).active?.probation.kind).toBe('none');
    expect([...l.audit.records()].map((r) => r.kind)).toContain('probation-passed');
  });

  it('records shadow agreement and per-status statistics, and promotes automatically when allowed', async () => {
    const { l, v1, v2, host } = await setup({ v2: { autoPromote: true, shadowMinWindows: 20 } });
    expect(host.plans[0]?.shadow?.manifestSha256).toBe(v2);
    shadowPairs(l, v1, v2, 10);
    expect(family(l).candidate?.shadow).toMatchObject({ windows: 10, agreements: 10 });
    expect(family(l).candidate?.promotion.ready).toBe(false);
    shadowPairs(l, v1, v2, 10);
    await l.idle();
    const f = family(l);
    expect(f.active?.bundle.manifestSha256).toBe(v2);
    expect(f.active?.activation).toMatchObject({ via: 'promotion', scope: 'full', by: 'policy' });
    expect(f.lastKnownGood?.bundle.manifestSha256).toBe(v1);
    expect(f.candidate).toBeNull();
    expect(host.plans[0]?.active?.bundle.manifestSha256).toBe(v2);
    const promoted = [...l.audit.records()].find((r) => r.kind === 'bundle-promoted');
    expect(promoted?.payload).toMatchObject({
      scope: 'full',
      forced: false,
      shadow: { windows: 20, agreements: 20 },
    });
  });

  it('does not promote automatically when the policy does not allow it, nor on poor agreement', async () => {
    const { l, v1, v2 } = await setup({ v2: { autoPromote: false } });
    shadowPairs(l, v1, v2, 30);
    await l.idle();
    expect(family(l).active?.bundle.manifestSha256).toBe(v1);
    expect(family(l).candidate?.promotion.ready).toBe(true);

    const s2 = await setup({ v2: { autoPromote: true } });
    shadowPairs(s2.l, s2.v1, s2.v2, 30, OK_POSITIVE); // disagrees on every window
    await s2.l.idle();
    const f = family(s2.l);
    expect(f.active?.bundle.manifestSha256).toBe(s2.v1);
    expect(f.candidate?.promotion.unmet.join(' ')).toMatch(/agreement 0 below 0.9/);
    expect(s2.l.blackBox.events().length).toBe(0); // no windows recorded in this test: nothing to pin
  });

  it('holds a candidate whose fallback rate rises beyond the policy', async () => {
    const { l, v1, v2 } = await setup({ v2: { autoPromote: true, shadowMinAgreement: 0 } });
    shadowPairs(l, v1, v2, 30, FALLBACK);
    await l.idle();
    expect(family(l).active?.bundle.manifestSha256).toBe(v1);
    expect(family(l).candidate?.promotion.unmet.join(' ')).toMatch(/fallback rate up 1/);
  });

  it('promotes on a signed command once the criteria are met, and refuses before unless forced', async () => {
    const { l, v1, v2, clock } = await setup();
    const early = await l.applyCommand(
      command({ kind: 'promote', family: FAMILY, bundle: v2, force: false }, clock),
    );
    expect(early).toMatchObject({ kind: 'rejected', code: 'CRITERIA_UNMET', kid: 'release-erin' });
    shadowPairs(l, v1, v2, 20);
    const ok = await l.applyCommand(
      command({ kind: 'promote', family: FAMILY, bundle: v2, force: false }, clock),
    );
    expect(ok.kind).toBe('accepted');
    expect(family(l).active?.bundle.manifestSha256).toBe(v2);
    const records = [...l.audit.records()];
    const accepted = records.find((r) => r.kind === 'command-accepted');
    expect(accepted?.actor).toBe('release:release-erin');
    expect(accepted?.payload).toMatchObject({
      command: 'promote',
      role: 'release',
      issuer: 'Erin Release <erin@acme.example>',
    });
    // The command record and the promotion are adjacent: one transaction.
    const at = records.findIndex((r) => r.kind === 'command-accepted');
    expect(records[at + 1]?.kind).toBe('bundle-promoted');
  });

  it('forces a promotion when the command says so, and records it as forced', async () => {
    const { l, v2, clock } = await setup();
    const ok = await l.applyCommand(
      command({ kind: 'promote', family: FAMILY, bundle: v2, force: true }, clock),
    );
    expect(ok.kind).toBe('accepted');
    const promoted = [...l.audit.records()].find((r) => r.kind === 'bundle-promoted');
    expect(promoted?.payload).toMatchObject({ forced: true });
  });

  it('honours canary scope: no fleet-wide promotion, but a command naming this device may', async () => {
    const { l, v1, v2, clock } = await setup({ v2: { autoPromote: true }, v2Canary: true });
    shadowPairs(l, v1, v2, 30);
    await l.idle();
    expect(family(l).active?.bundle.manifestSha256).toBe(v1); // auto-promotion is fleet-wide: refused
    const fleet = await l.applyCommand(
      command({ kind: 'promote', family: FAMILY, bundle: v2, force: false }, clock),
    );
    expect(fleet).toMatchObject({ kind: 'rejected', code: 'SCOPE_INSUFFICIENT' });
    const named = await l.applyCommand(
      command({ kind: 'promote', family: FAMILY, bundle: v2, force: false }, clock, {
        target: { fleet: DEVICE.fleet, devices: [DEVICE.deviceId], cohort: null },
      }),
    );
    expect(named.kind).toBe('accepted');
    expect(family(l).active?.activation).toMatchObject({ via: 'promotion', scope: 'canary' });
  });

  it('widens a canary candidate to full when the same manifest comes back with full approvals', async () => {
    const { l, v1, v2 } = await setup({ v2: { autoPromote: true }, v2Canary: true });
    shadowPairs(l, v1, v2, 30);
    await l.idle();
    expect(family(l).active?.bundle.manifestSha256).toBe(v1);
    const full = await bundle(2, { dir: tempDir(), rollout: { autoPromote: true } });
    const again = await l.install(full);
    expect(again).toMatchObject({ kind: 'duplicate', slot: 'candidate', bundle: { approvedFor: 'full' } });
    const widened = [...l.audit.records()].at(-1);
    expect(widened).toMatchObject({
      kind: 'bundle-verified',
      payload: { widenedFrom: 'canary', approvedFor: 'full' },
    });
    shadowPairs(l, v1, v2, 1);
    await l.idle();
    expect(family(l).active?.bundle.manifestSha256).toBe(v2);
    // Narrower approvals for the same manifest change nothing.
    const narrow = await bundle(2, {
      dir: tempDir(),
      rollout: { autoPromote: true },
      approvers: CANARY_APPROVERS,
    });
    expect(await l.install(narrow)).toMatchObject({ kind: 'duplicate', bundle: { approvedFor: 'full' } });
  });

  it('refuses to promote a different bundle than the candidate', async () => {
    const { l, v1, clock } = await setup();
    const outcome = await l.applyCommand(
      command({ kind: 'promote', family: FAMILY, bundle: v1, force: true }, clock),
    );
    expect(outcome).toMatchObject({ kind: 'rejected', code: 'CANDIDATE_MISMATCH' });
  });

  it('does not switch when the runtime cannot load the candidate', async () => {
    const { l, v1, v2, clock, host } = await setup();
    host.failFor = 'fall-detector@1.2.0';
    const outcome = await l.applyCommand(
      command({ kind: 'promote', family: FAMILY, bundle: v2, force: true }, clock),
    );
    expect(outcome).toMatchObject({ kind: 'rejected', code: 'LOAD_FAILED' });
    expect(family(l).active?.bundle.manifestSha256).toBe(v1);
  });

  it('rolls back automatically when probation is breached, keeping the failed bundle as evidence', async () => {
    const { l, v1, v2, clock, host } = await setup({
      v2: { probation: { windows: 50, maxInferenceErrors: 1 } },
    });
    shadowPairs(l, v1, v2, 20);
    await l.applyCommand(command({ kind: 'promote', family: FAMILY, bundle: v2, force: false }, clock));
    l.observeResult(result(v2, OK));
    l.observeResult(result(v2, INFERENCE_ERROR));
    await l.idle();
    expect(family(l).active?.bundle.manifestSha256).toBe(v2); // one error is within the policy
    l.observeResult(result(v2, INFERENCE_ERROR));
    await l.idle();
    const f = family(l);
    expect(f.active?.bundle.manifestSha256).toBe(v1);
    expect(f.active?.activation).toMatchObject({ via: 'rollback', from: v2, by: 'policy' });
    expect(f.lastKnownGood).toBeNull();
    const failed = l.status().bundles.find((b) => b.manifestSha256 === v2);
    expect(failed).toMatchObject({ state: 'failed' });
    expect(host.plans[0]?.active?.bundle.manifestSha256).toBe(v1);
    const safety = [...l.audit.records()].find((r) => r.kind === 'safety-event');
    expect(safety?.payload).toMatchObject({
      type: 'rollback',
      cause: 'probation',
      probation: { windows: 3, inferenceErrors: 2 },
      policy: { maxInferenceErrors: 1 },
    });
    expect(safety?.payload.reason).toMatch(/2 inference errors/);
  });

  it('judges fallback rate and latency p99 in probation', async () => {
    const { l, v1, v2, clock } = await setup({ v2: { probation: { windows: 100, maxFallbackRate: 0.2 } } });
    await l.applyCommand(command({ kind: 'promote', family: FAMILY, bundle: v2, force: true }, clock));
    // Quality-gate fallbacks describe the wearer's signal and do not count; OOD ones do.
    for (let i = 0; i < 10; i += 1) l.observeResult(result(v2, FALLBACK));
    await l.idle();
    expect(family(l).active?.bundle.manifestSha256).toBe(v2);
    for (let i = 0; i < 10; i += 1) l.observeResult(result(v2, i < 5 ? OOD : OK));
    await l.idle();
    expect(family(l).active?.bundle.manifestSha256).toBe(v1);
    expect(JSON.stringify([...l.audit.records()].at(-1)?.payload)).toMatch(/fallback rate 0.2308/);

    const s = await setup({ v2: { probation: { windows: 100, maxLatencyP99Ms: 20 } } });
    await s.l.applyCommand(command({ kind: 'promote', family: FAMILY, bundle: s.v2, force: true }, s.clock));
    for (let i = 0; i < 9; i += 1) s.l.observeResult(result(s.v2, OK, { latencyMs: 5 }));
    s.l.observeResult(result(s.v2, OK, { latencyMs: 80 }));
    await s.l.idle();
    expect(family(s.l).active?.bundle.manifestSha256).toBe(s.v1);
  });

  it('rolls back on a signed command and locally, and audits both', async () => {
    const { l, v1, v2, clock } = await setup();
    await l.applyCommand(command({ kind: 'promote', family: FAMILY, bundle: v2, force: true }, clock));
    for (let i = 0; i < 30; i += 1) l.observeResult(result(v2, OK));
    await l.idle();
    expect(family(l).active?.probation.kind).toBe('none');
    const outcome = await l.applyCommand(command({ kind: 'rollback', family: FAMILY }, clock));
    expect(outcome.kind).toBe('accepted');
    expect(family(l).active?.bundle.manifestSha256).toBe(v1);
    expect(await l.rollback(FAMILY, { reason: 'again', actor: 'local:frank' })).toMatchObject({
      kind: 'rejected',
      code: 'NO_LAST_KNOWN_GOOD',
    });
    const kinds = [...l.audit.records()].map((r) => r.kind);
    expect(kinds.filter((k) => k === 'bundle-rolled-back')).toHaveLength(1);
    expect(kinds.at(-1)).toBe('command-rejected');
  });

  it('freezes: refuses installs, promotions and manual rollbacks until unfrozen', async () => {
    const { l, v1, v2, clock } = await setup();
    expect((await l.applyCommand(command({ kind: 'freeze' }, clock, { reason: 'investigation' }))).kind).toBe(
      'accepted',
    );
    expect(l.status().frozen).toMatchObject({
      frozen: true,
      by: 'release:release-erin',
      reason: 'investigation',
    });
    const p3 = await bundle(3, { dir: tempDir() });
    expect(await l.install(p3)).toMatchObject({ kind: 'rejected', code: 'FROZEN' });
    shadowPairs(l, v1, v2, 30);
    expect(
      await l.applyCommand(command({ kind: 'promote', family: FAMILY, bundle: v2, force: false }, clock)),
    ).toMatchObject({
      kind: 'rejected',
      code: 'FROZEN',
    });
    expect(await l.rollback(FAMILY, { reason: 'x' })).toMatchObject({ kind: 'rejected', code: 'FROZEN' });
    await l.applyCommand(command({ kind: 'unfreeze' }, clock));
    expect(l.status().frozen.frozen).toBe(false);
    expect((await l.install(p3)).kind).toBe('shadow');
  });

  it('revokes the active bundle: back to last known good at once', async () => {
    const { l, v1, v2, clock } = await setup();
    await l.applyCommand(command({ kind: 'promote', family: FAMILY, bundle: v2, force: true }, clock));
    const outcome = await l.applyCommand(
      command({ kind: 'revoke', bundle: { by: 'bundleId', bundleId: 'fall-detector@1.2.0' } }, clock, {
        reason: 'unsafe in the field',
      }),
    );
    expect(outcome.kind).toBe('accepted');
    expect(family(l).active?.bundle.manifestSha256).toBe(v1);
    expect(l.status().bundles.find((b) => b.manifestSha256 === v2)?.state).toBe('revoked');
    expect(l.status().revocations).toBe(1);
  });

  it('revokes with no last known good: the declared rule fallback answers (MODEL_REVOKED)', async () => {
    const { l, v1, clock, host } = await setup();
    const outcome = await l.applyCommand(
      command({ kind: 'revoke', bundle: { by: 'manifest', manifestSha256: v1 } }, clock),
    );
    expect(outcome.kind).toBe('accepted');
    const f = family(l);
    expect(f.active?.mode).toMatchObject({ kind: 'rule-fallback', reason: 'revoked' });
    expect(host.plans[0]?.active?.override).toMatchObject({ reason: 'MODEL_REVOKED' });
    // The candidate still runs in shadow beside the withdrawn model.
    expect(host.plans[0]?.shadow).not.toBeNull();
  });

  it('revocation also refuses a later install of the revoked bundle', async () => {
    const { l, clock } = await setup();
    await l.applyCommand(
      command({ kind: 'revoke', bundle: { by: 'version', modelFamily: FAMILY, version: '1.3.0' } }, clock),
    );
    const p3 = await bundle(3, { dir: tempDir() });
    expect(await l.install(p3)).toMatchObject({ kind: 'rejected', code: 'REVOKED_BUNDLE' });
  });
});
