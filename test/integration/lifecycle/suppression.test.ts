// Review finding 2: the drift policy's safe action `suppress-outputs` used to be a runner setting that
// any later serving plan (an unrelated install, a revoked candidate…) silently undid. It is now part of
// the daemon's serving state: persisted, audited, merged into every plan — so no window comes out `ok`
// while it is in force — and it survives restarts, applying to its bundle only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendChoice } from '../../../runtime/inference/backend.ts';
import { selectBackend } from '../../../runtime/inference/select.ts';
import { VigilDaemon } from '../../../runtime/daemon.ts';
import type { WindowResult } from '../../../runtime/pipeline/index.ts';
import { T0, makeTrust, tempDir } from '../../fixtures/bundles/kit.ts';
import { Clock, command } from '../../unit/runtime/lifecycle/helpers.ts';
import { FAMILY, Wearer, daemonConfig, fallBundle, rolloutPolicy } from './helpers.ts';

const trust = makeTrust();
const started = Date.now();
const now = () => T0 + (Date.now() - started);
let backend: BackendChoice;
let v1: string;
let v2: string;
let daemon: VigilDaemon;
const config = daemonConfig();
const results: WindowResult[] = [];
const errors: string[] = [];

async function start(): Promise<VigilDaemon> {
  const d = await VigilDaemon.start({
    config,
    trust: trust.bytes,
    now,
    backend,
    checkpointIntervalMs: 0,
    hooks: { onError: (error, context) => errors.push(`${context}: ${String(error)}`) },
  });
  d.runtime.onResult((r) => results.push(r));
  return d;
}

/** Streams `seconds` and counts the statuses the firmware received. */
async function served(wearer: Wearer, seconds: number): Promise<Record<string, number>> {
  const from = results.length;
  await wearer.stream(seconds);
  await daemon.lifecycle.idle();
  const counts: Record<string, number> = {};
  for (const r of results.slice(from)) {
    const key = r.status.kind === 'fallback' ? r.status.reason : r.status.kind;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

beforeAll(async () => {
  backend = await selectBackend('node');
  const dir = tempDir('vigil-suppress-bundles-');
  v1 = await fallBundle(1, dir, (s) => {
    s.rollout = rolloutPolicy();
  });
  v2 = await fallBundle(2, dir, (s) => {
    s.rollout = rolloutPolicy();
  });
  daemon = await start();
});

afterAll(async () => {
  await daemon.close();
});

describe('suppress-outputs as serving state', () => {
  let wearer: Wearer;
  let sha2: string;

  it('answers with the declared fallback from the moment it is asked, not after a reload', async () => {
    expect((await daemon.install(v1)).kind).toBe('activated');
    await daemon.waitForModels();
    wearer = new Wearer(daemon.runtime, 'wrist', 200, [], 5, T0);
    expect(Object.keys(await served(wearer, 8))).not.toContain('OUTPUTS_SUPPRESSED');
    const outcome = daemon.suppressOutputs('fall-detector@1.1.0', 'drift alarm: score shift');
    expect(outcome.kind).toBe('suppressed');
    // Synchronously in force on the running runner: the very next windows are suppressed.
    expect(await served(wearer, 5)).toEqual({ OUTPUTS_SUPPRESSED: 5 });
    expect(daemon.suppressOutputs('fall-detector@1.1.0', 'again').kind).toBe('unchanged');
    const record = [...daemon.lifecycle.audit.records()].find((r) => r.kind === 'outputs-suppressed');
    expect(record).toMatchObject({
      actor: 'policy',
      payload: { bundleId: 'fall-detector@1.1.0', family: FAMILY, activeNow: true },
    });
  });

  it('stays in force when another bundle is installed in shadow and then revoked', async () => {
    const outcome = await daemon.install(v2);
    expect(outcome.kind).toBe('shadow');
    if (outcome.kind === 'shadow') sha2 = outcome.bundle.manifestSha256;
    await daemon.waitForModels();
    expect(await served(wearer, 5)).toEqual({ OUTPUTS_SUPPRESSED: 5 });
    const clock = new Clock(now());
    const revoke = command({ kind: 'revoke', bundle: { by: 'manifest', manifestSha256: sha2 } }, clock);
    expect((await daemon.applyCommand(revoke)).kind).toBe('accepted');
    await daemon.waitForModels();
    // The plan applied after the revocation carries the suppression: not one window comes out ok.
    expect(await served(wearer, 8)).toEqual({ OUTPUTS_SUPPRESSED: 8 });
    const plan = daemon.lifecycle.servingPlans()[0];
    expect(plan?.active?.override?.reason).toBe('OUTPUTS_SUPPRESSED');
  });

  it('survives a restart, and is shown in the status', async () => {
    await daemon.close();
    daemon = await start();
    wearer = new Wearer(daemon.runtime, 'wrist-2', 200, [], 6, T0 + 3_600_000);
    const counts = await served(wearer, 8);
    expect(Object.keys(counts)).toEqual(['OUTPUTS_SUPPRESSED']);
    expect(counts.OUTPUTS_SUPPRESSED).toBeGreaterThan(2);
    expect(daemon.lifecycle.status().suppressions).toEqual([
      expect.objectContaining({ bundleId: 'fall-detector@1.1.0', family: FAMILY, actor: 'policy' }),
    ]);
  });

  it('ends only when lifted (audited), and the model answers again', async () => {
    expect(daemon.liftSuppression('fall-detector@1.1.0', 'drift reviewed by the clinical owner').kind).toBe(
      'lifted',
    );
    expect(Object.keys(await served(wearer, 6))).not.toContain('OUTPUTS_SUPPRESSED');
    expect(daemon.lifecycle.status().suppressions).toEqual([]);
    const lifted = [...daemon.lifecycle.audit.records()].find((r) => r.kind === 'suppression-lifted');
    expect(lifted?.payload).toMatchObject({ bundleId: 'fall-detector@1.1.0', suppressedBy: 'policy' });
    expect(daemon.suppressOutputs('nope@0.0.0', 'x')).toMatchObject({
      kind: 'rejected',
      code: 'UNKNOWN_BUNDLE',
    });
    expect(daemon.lifecycle.audit.verify().kind).toBe('intact');
    expect(errors).toEqual([]);
  });
});
