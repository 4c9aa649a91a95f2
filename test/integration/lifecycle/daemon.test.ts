// The whole lifecycle on a real device daemon with the reference fall detector (ONNX Runtime), a
// simulated wearer and the real pipeline: install → probation passed → a new bundle in shadow →
// automatic promotion by its signed rollout policy → probation breach → automatic rollback to the last
// known good bundle; black-box replay of an alert, bit for bit; revocation with no last known good
// (the declared rule fallback answers); the audit chain and a signed checkpoint verify.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inspectDevice } from '../../../runtime/lifecycle/index.ts';
import { RUNTIME_VERSION } from '../../../runtime/version.ts';
import { main } from '../../../scripts/cli/main.ts';
import type { BackendChoice } from '../../../runtime/inference/backend.ts';
import { selectBackend } from '../../../runtime/inference/select.ts';
import { VigilDaemon, type SafetyNotice } from '../../../runtime/daemon.ts';
import type { WindowResult } from '../../../runtime/pipeline/index.ts';
import { verifyCheckpoint } from '../../../runtime/state/index.ts';
import { T0, makeTrust, tempDir } from '../../fixtures/bundles/kit.ts';
import { command } from '../../unit/runtime/lifecycle/helpers.ts';
import { Clock } from '../../unit/runtime/lifecycle/helpers.ts';
import { FAMILY, Wearer, daemonConfig, fallBundle, rolloutPolicy } from './helpers.ts';

const trust = makeTrust();
let backend: BackendChoice;
let daemon: VigilDaemon;
let v1: string;
let v2: string;
const results: WindowResult[] = [];
const errors: string[] = [];
const checkpoints: Uint8Array[] = [];
const notices: SafetyNotice[] = [];
const auditKinds: string[] = [];
const started = Date.now();
const clock = new Clock();
const now = () => T0 + (Date.now() - started);

beforeAll(async () => {
  backend = await selectBackend('node');
  const dir = tempDir('vigil-daemon-bundles-');
  v1 = await fallBundle(1, dir, (s) => {
    s.rollout = rolloutPolicy();
  });
  // v2: same model, automatic promotion allowed, and a latency bound no real gateway meets.
  v2 = await fallBundle(2, dir, (s) => {
    s.rollout = rolloutPolicy({ autoPromote: true }, { maxLatencyP99Ms: 0.001 });
  });
  daemon = await VigilDaemon.start({
    config: daemonConfig(),
    trust: trust.bytes,
    now,
    backend,
    checkpointIntervalMs: 0,
    lifecycle: { policy: { probationMinRateWindows: 10, disagreementPinIntervalMs: 0 } },
    hooks: {
      onError: (error, context) => errors.push(`${context}: ${String(error)}`),
      onCheckpoint: (_c, signed) => checkpoints.push(signed),
      onSafetyEvent: (notice) => notices.push(notice),
      onAudit: (record) => auditKinds.push(record.kind),
    },
  });
  daemon.runtime.onResult((r) => results.push(r));
});

afterAll(async () => {
  await daemon.close();
});

function activeSha(): string | undefined {
  return daemon.pipeline.family(FAMILY)?.active.model.manifestSha256;
}

function kinds(): string[] {
  return [...daemon.lifecycle.audit.records()].map((r) => r.kind);
}

describe('device daemon lifecycle', () => {
  let wearer: Wearer;
  let sha1: string;
  let sha2: string;

  it('installs the first bundle, serves it, and passes its probation', async () => {
    const outcome = await daemon.install(v1);
    expect(outcome.kind).toBe('activated');
    if (outcome.kind === 'activated') sha1 = outcome.bundle.manifestSha256;
    await daemon.waitForModels();
    expect(activeSha()).toBe(sha1);
    wearer = new Wearer(daemon.runtime, 'wrist', 120, [
      { kind: 'artifact', sensor: 'accel', artifact: { kind: 'flatline', startS: 3, endS: 8 } },
      { kind: 'fall', atS: 11, direction: 'forward' },
    ]);
    await wearer.stream(18);
    await daemon.lifecycle.idle();
    expect(results.length).toBeGreaterThanOrEqual(10);
    expect(results.every((r) => r.provenance.manifestSha256 === sha1 && !r.shadow)).toBe(true);
    expect(kinds()).toContain('probation-passed');
    expect(kinds()).toContain('fallback-episode-start');
    expect(kinds()).toContain('fallback-episode-end');
    // The first boot recorded the configuration with the backend chosen and why.
    const config = [...daemon.lifecycle.audit.records()].find((r) => r.kind === 'config-changed');
    const changes = config?.payload.changes as Record<string, { to: unknown }> | undefined;
    expect(changes?.backend?.to).toBe(`${daemon.config.backend} → ${daemon.backend.backend.kind}`);
    expect(changes?.backendReason?.to).toBe(daemon.backend.reason);
  });

  it('shadows the next bundle and promotes it automatically by its signed policy', async () => {
    const outcome = await daemon.install(v2);
    expect(outcome.kind).toBe('shadow');
    if (outcome.kind === 'shadow') sha2 = outcome.bundle.manifestSha256;
    await daemon.waitForModels();
    expect(daemon.pipeline.family(FAMILY)?.shadow?.model.manifestSha256).toBe(sha2);
    const before = results.length;
    await wearer.stream(20);
    await daemon.lifecycle.idle();
    await daemon.waitForModels();
    // Shadow results never reached the firmware.
    expect(results.slice(before).every((r) => !r.shadow)).toBe(true);
    const promoted = [...daemon.lifecycle.audit.records()].find((r) => r.kind === 'bundle-promoted');
    expect(promoted?.actor).toBe('policy');
    expect(promoted?.payload).toMatchObject({ scope: 'full', forced: false });
    expect((promoted?.payload.shadow as { agreements: number; windows: number }).agreements).toBe(
      (promoted?.payload.shadow as { windows: number }).windows,
    );
  });

  it('rolls back automatically when the promoted bundle breaches its probation', async () => {
    expect(activeSha()).toBe(sha2);
    await wearer.stream(15);
    await daemon.lifecycle.idle();
    await daemon.waitForModels();
    expect(activeSha()).toBe(sha1);
    const status = daemon.lifecycle.status().families[0];
    expect(status?.active?.activation).toMatchObject({ via: 'rollback', from: sha2, by: 'policy' });
    expect(daemon.lifecycle.status().bundles.find((b) => b.manifestSha256 === sha2)?.state).toBe('failed');
    const served = results.filter((r) => r.provenance.manifestSha256 === sha2);
    expect(served.length).toBeGreaterThanOrEqual(10); // v2 served the firmware during its probation
    const safety = [...daemon.lifecycle.audit.records()].find((r) => r.kind === 'safety-event');
    expect(safety?.payload).toMatchObject({
      type: 'rollback',
      cause: 'probation',
      to: 'fall-detector@1.1.0',
    });
    expect(String(safety?.payload.reason)).toMatch(/latency p99/);
    // The rollback pinned the wearer's recent windows as evidence.
    const events = daemon.lifecycle.blackBox.events();
    expect(events.some((e) => e.eventKind === 'rollback')).toBe(true);
    await wearer.stream(3);
    expect(results.at(-1)?.provenance.manifestSha256).toBe(sha1);
  });

  it('replays a pinned alert bit for bit with the recorded bundle', async () => {
    const alert = daemon.lifecycle.blackBox.events().find((e) => e.eventKind === 'alert');
    expect(alert).toBeDefined();
    const report = await daemon.replay(alert?.eventId ?? '');
    expect(report.counts.notReplayed).toBe(0);
    const scored = report.windows.flatMap((w) => w.results).filter((r) => r.recorded.scoreBits !== null);
    expect(scored.length).toBeGreaterThan(0);
    for (const r of scored) expect(r.replayed?.scoreBits).toBe(r.recorded.scoreBits);
    expect(report.identical).toBe(true);
    const episode = daemon.lifecycle.blackBox.events().find((e) => e.eventKind === 'fallback-episode');
    expect(episode).toBeDefined();
    expect((await daemon.replay(episode?.eventId ?? '')).counts.different).toBe(0);
  });

  it('revokes the active bundle with no last known good: the declared fallback answers', async () => {
    clock.ms = now();
    const outcome = await daemon.applyCommand(
      command({ kind: 'revoke', bundle: { by: 'manifest', manifestSha256: sha1 } }, clock, {
        target: { fleet: 'ward-3', devices: ['gw-0001'], cohort: null },
        reason: 'field safety notice',
      }),
    );
    expect(outcome.kind).toBe('accepted');
    await daemon.waitForModels();
    const before = results.length;
    await wearer.stream(3);
    const after = results.slice(before);
    expect(after.length).toBeGreaterThan(0);
    for (const r of after) expect(r.status).toMatchObject({ kind: 'fallback', reason: 'MODEL_REVOKED' });
  });

  it('keeps an intact audit chain and signs a checkpoint the collector can verify', () => {
    expect(daemon.lifecycle.audit.verify().kind).toBe('intact');
    const made = daemon.checkpoint();
    expect(made).not.toBeNull();
    const key = daemon.lifecycle.deviceKeyInfo;
    const verified = verifyCheckpoint(made?.signed ?? new Uint8Array(), (kid) =>
      kid === key.kid ? { publicKey: key.publicKey } : undefined,
    );
    expect(verified).toMatchObject({ deviceId: 'gw-0001', count: daemon.lifecycle.audit.count() });
    expect(checkpoints).toHaveLength(1);
    // Every record reached the audit hook in order, from the boot record on; safety notices for the fleet.
    expect(auditKinds).toEqual(kinds());
    expect(notices.map((n) => n.type)).toEqual(['rollback', 'revocation', 'rollback']);
    expect(notices[0]).toMatchObject({
      family: FAMILY,
      bundleId: 'fall-detector@1.2.0',
      manifestSha256: sha2,
    });
    expect(notices[0]?.detail).toMatch(/^probation: probation breached: latency p99/);
    expect(notices[2]?.detail).toMatch(/declared fallback$/);
    expect(errors).toEqual([]);
  });

  it('replays the same alert from the CLI once the daemon has stopped, and audits the replay', async () => {
    const alert = daemon.lifecycle.blackBox.events().find((e) => e.eventKind === 'alert');
    await daemon.close();
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    let code: number;
    try {
      code = await main(['replay', alert?.eventId ?? '', '--data-dir', daemon.config.dataDir]);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(0);
    expect(out).toMatch(/IDENTICAL/);
    expect(out).toMatch(/every output reproduced bit for bit/);
    const inspection = inspectDevice(daemon.config.dataDir, RUNTIME_VERSION);
    try {
      const replays = [...inspection.audit.records()].filter((r) => r.kind === 'replay');
      expect(replays.map((r) => r.actor)).toEqual([
        'runtime',
        'runtime',
        expect.stringMatching(/^local:/) as string,
      ]);
      expect(inspection.audit.verify().kind).toBe('intact');
    } finally {
      inspection.close();
    }
  });
});
