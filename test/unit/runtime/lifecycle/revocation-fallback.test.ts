// Review finding 3: a revoked active bundle must stop serving as a model in the transaction that
// revokes it — before the last-known-good bundle is re-hashed and loaded — and an error during that
// rollback must leave the declared fallback, not the revoked model, until a boot completes it.
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BundleRef, FamilyPlan, Lifecycle, ServingHost } from '../../../../runtime/lifecycle/index.ts';
import { tempDir } from '../../../fixtures/bundles/kit.ts';
import { Clock, FAMILY, OK, bundle, command, openLifecycle, result, tempDataDir } from './helpers.ts';

let b1: string;
let b2: string;
const opened: Lifecycle[] = [];

beforeAll(async () => {
  const dir = tempDir('vigil-revoke-fallback-');
  b1 = await bundle(1, { dir, rollout: { probation: { windows: 1 } } });
  b2 = await bundle(2, { dir, rollout: { probation: { windows: 1 } } });
});

afterEach(async () => {
  for (const l of opened.splice(0)) await l.close().catch(() => undefined);
});

/** What the serving side saw: every applied plan, and the plan in force while a bundle was loading. */
class RecordingHost implements ServingHost {
  lifecycle: Lifecycle | null = null;
  armed = false;
  readonly applied: string[] = [];
  readonly duringLoad: string[] = [];
  constructor(private readonly failLoadOf: string | null = null) {}

  async prepare(ref: BundleRef): Promise<void> {
    if (!this.armed || !this.lifecycle) return;
    this.duringLoad.push(`${ref.bundleId}: ${show(this.lifecycle.servingPlans())}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (ref.bundleId === this.failLoadOf) throw new Error('EIO while loading');
  }

  apply(plans: readonly FamilyPlan[]): void {
    if (this.armed) this.applied.push(show(plans));
  }
}

function show(plans: readonly FamilyPlan[]): string {
  return plans
    .map(
      (p) =>
        `${p.active?.bundle.bundleId ?? '-'}${p.active?.override ? ` [${p.active.override.reason}]` : ''}`,
    )
    .join(',');
}

/** v1 active (probation passed), v2 promoted over it (probation passed): v1 is last-known-good. */
async function twoReleases(
  dataDir: string,
  clock: Clock,
  host: RecordingHost,
  faults?: { at(point: string): void },
): Promise<{ l: Lifecycle; sha1: string; sha2: string }> {
  const l = await openLifecycle(dataDir, clock, { host, ...(faults ? { faults } : {}) });
  opened.push(l);
  host.lifecycle = l;
  const first = await l.install(b1);
  if (first.kind !== 'activated') throw new Error(first.kind);
  l.observeResult(result(first.bundle.manifestSha256, OK));
  await l.idle();
  const second = await l.install(b2);
  if (second.kind !== 'shadow') throw new Error(second.kind);
  const sha2 = second.bundle.manifestSha256;
  const promote = command({ kind: 'promote', family: FAMILY, bundle: sha2, force: true }, clock);
  expect((await l.applyCommand(promote)).kind).toBe('accepted');
  l.observeResult(result(sha2, OK));
  await l.idle();
  return { l, sha1: first.bundle.manifestSha256, sha2 };
}

describe('revoking the active bundle', () => {
  it('serves the declared fallback from the revocation commit on, while the last-known-good loads', async () => {
    const clock = new Clock();
    const host = new RecordingHost();
    const { l, sha2 } = await twoReleases(tempDataDir(), clock, host);
    host.armed = true;
    const revoke = command({ kind: 'revoke', bundle: { by: 'manifest', manifestSha256: sha2 } }, clock);
    const outcome = await l.applyCommand(revoke);
    expect(outcome.kind).toBe('accepted');
    // The first plan after the commit already withdraws v2; v1 is loaded under that plan.
    expect(host.applied[0]).toBe('fall-detector@1.2.0 [MODEL_REVOKED]');
    expect(host.duringLoad).toEqual(['fall-detector@1.1.0: fall-detector@1.2.0 [MODEL_REVOKED]']);
    expect(host.applied.at(-1)).toBe('fall-detector@1.1.0');
    expect(l.status().families[0]?.active?.mode).toEqual({ kind: 'model' });
  });

  it('keeps the fallback (never the revoked model) when the last-known-good cannot load', async () => {
    const clock = new Clock();
    const host = new RecordingHost('fall-detector@1.1.0');
    const { l, sha2 } = await twoReleases(tempDataDir(), clock, host);
    host.armed = true;
    const revoke = command({ kind: 'revoke', bundle: { by: 'manifest', manifestSha256: sha2 } }, clock);
    expect((await l.applyCommand(revoke)).kind).toBe('accepted');
    expect(host.applied.every((plan) => plan === 'fall-detector@1.2.0 [MODEL_REVOKED]')).toBe(true);
    expect(host.applied.length).toBeGreaterThan(0);
    expect(l.status().families[0]?.active?.mode).toMatchObject({ kind: 'rule-fallback', reason: 'revoked' });
  });

  it('leaves the fallback after an unexpected error in the rollback, and a boot completes it', async () => {
    const clock = new Clock();
    const dataDir = tempDataDir();
    const host = new RecordingHost();
    let failRollback = false;
    const faults = {
      at(point: string) {
        if (failRollback && point === 'rollback:rechecked') throw new Error('unexpected failure');
      },
    };
    const { l, sha1, sha2 } = await twoReleases(dataDir, clock, host, faults);
    host.armed = true;
    failRollback = true;
    const revoke = command({ kind: 'revoke', bundle: { by: 'manifest', manifestSha256: sha2 } }, clock);
    const outcome = await l.applyCommand(revoke);
    expect(outcome).toMatchObject({ kind: 'accepted' });
    if (outcome.kind === 'accepted') expect(outcome.effect).toMatch(/did not complete/);
    const plan = l.servingPlans()[0];
    expect(plan?.active?.bundle.manifestSha256).toBe(sha2);
    expect(plan?.active?.override?.reason).toBe('MODEL_REVOKED');
    expect(l.status().families[0]?.active?.mode.kind).toBe('withdrawn');
    expect(host.applied.every((p) => p.endsWith('[MODEL_REVOKED]'))).toBe(true);
    await l.close();

    const reopened = await openLifecycle(dataDir, clock, { host: new RecordingHost() });
    opened.push(reopened);
    const after = reopened.servingPlans()[0];
    expect(after?.active?.bundle.manifestSha256).toBe(sha1);
    expect(after?.active?.override).toBeNull();
    const rolledBack = [...reopened.audit.records()].filter((r) => r.kind === 'bundle-rolled-back');
    expect(rolledBack.at(-1)?.payload).toMatchObject({
      cause: 'revocation',
      by: 'runtime',
      to: 'fall-detector@1.1.0',
    });
  });

  it('plans the declared fallback for an active bundle that is not installed, whatever its mode', async () => {
    const clock = new Clock();
    const dataDir = tempDataDir();
    const { l, sha2 } = await twoReleases(dataDir, clock, new RecordingHost());
    await l.close();
    // A state no transaction of this runtime writes (an older runtime, a hand edit): the active
    // bundle marked failed while its slot still says `model`. Nothing at boot rolls it back…
    const db = new Database(path.join(dataDir, 'state.db'));
    db.prepare("UPDATE bundles SET state = 'failed', state_detail = 'x' WHERE manifest_sha256 = ?").run(sha2);
    db.close();
    const reopened = await openLifecycle(dataDir, clock);
    opened.push(reopened);
    // …but it is never planned as a model.
    const plan = reopened.servingPlans()[0];
    expect(plan?.active?.bundle.manifestSha256).toBe(sha2);
    expect(plan?.active?.override).toMatchObject({ reason: 'MODEL_REVOKED' });
  });
});
