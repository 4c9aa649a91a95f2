// Boot-time recovery and checks: leftovers of a crash, bundle files damaged at rest, trust rotation
// with revocations, a data directory of another device.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signerFor } from '../../../../models/format/index.ts';
import type { Lifecycle } from '../../../../runtime/lifecycle/index.ts';
import { nextTrustDocument, signTrustDocument } from '../../../../runtime/trust/index.ts';
import { KEYS, T0, tempDir } from '../../../fixtures/bundles/kit.ts';
import {
  Clock,
  DEVICE,
  FAMILY,
  OK,
  TRUST,
  bundle,
  command,
  openLifecycle,
  result,
  tempDataDir,
} from './helpers.ts';

let open: Lifecycle[] = [];
afterEach(async () => {
  for (const l of open) await l.close().catch(() => undefined);
  open = [];
});

/** v1 active and committed, v2 promoted (v1 last known good), v3 candidate; closed. */
async function history(): Promise<{ dataDir: string; shas: string[]; clock: Clock }> {
  const dataDir = tempDataDir();
  const clock = new Clock();
  const dir = tempDir();
  const l = await openLifecycle(dataDir, clock);
  const shas: string[] = [];
  for (const n of [1, 2, 3]) {
    const outcome = await l.install(await bundle(n, { dir, rollout: { probation: { windows: 0 } } }));
    if (outcome.kind !== 'activated' && outcome.kind !== 'shadow') throw new Error(outcome.kind);
    shas.push(outcome.bundle.manifestSha256);
    if (n === 2) {
      await l.applyCommand(
        command(
          { kind: 'promote', family: FAMILY, bundle: outcome.bundle.manifestSha256, force: true },
          clock,
        ),
      );
    }
  }
  await l.close();
  return { dataDir, shas, clock };
}

function family(l: Lifecycle) {
  return l.status().families[0];
}

describe('boot recovery', () => {
  it('removes crash leftovers (uncommitted bundle directories, staging files) and records it', async () => {
    const { dataDir, clock } = await history();
    fs.mkdirSync(path.join(dataDir, 'bundles', 'e'.repeat(64)));
    fs.writeFileSync(path.join(dataDir, 'install-staging', 'abc.vbundle'), 'partial');
    const l = await openLifecycle(dataDir, clock, { noTrust: true });
    open.push(l);
    expect(fs.readdirSync(path.join(dataDir, 'install-staging'))).toEqual([]);
    expect(fs.readdirSync(path.join(dataDir, 'bundles'))).toHaveLength(3);
    const recovery = [...l.audit.records()].find((r) => r.kind === 'recovery');
    expect(recovery?.payload).toMatchObject({
      stagingRemoved: 1,
      uncommittedBundlesRemoved: ['e'.repeat(64)],
    });
    expect(l.audit.verify().kind).toBe('intact');
  });

  it('drops a candidate whose files changed at rest (a safety event)', async () => {
    const { dataDir, shas, clock } = await history();
    const model = path.join(dataDir, 'bundles', shas[2] ?? '', 'model.onnx');
    fs.chmodSync(model, 0o644);
    fs.appendFileSync(model, 'x');
    const l = await openLifecycle(dataDir, clock, { noTrust: true });
    open.push(l);
    expect(family(l)?.candidate).toBeNull();
    expect(l.status().bundles.find((b) => b.manifestSha256 === shas[2])?.state).toBe('failed');
    const safety = [...l.audit.records()].find((r) => r.kind === 'safety-event');
    expect(safety?.payload).toMatchObject({ type: 'bundle-integrity', slot: 'candidate' });
    expect(String(safety?.payload.detail)).toMatch(/SIZE_MISMATCH/);
  });

  it('rolls the active bundle back when its files changed at rest', async () => {
    const { dataDir, shas, clock } = await history();
    const profile = path.join(dataDir, 'bundles', shas[1] ?? '', 'profile.json');
    fs.chmodSync(profile, 0o644);
    fs.writeFileSync(profile, '{"bins":[9,9,9]}\n'); // same size, different bytes
    const l = await openLifecycle(dataDir, clock, { noTrust: true });
    open.push(l);
    expect(family(l)?.active?.bundle.manifestSha256).toBe(shas[0]);
    expect(family(l)?.active?.activation).toMatchObject({ via: 'rollback', from: shas[1] });
    const rolled = [...l.audit.records()].find((r) => r.kind === 'bundle-rolled-back');
    expect(rolled?.payload).toMatchObject({ cause: 'integrity' });
    expect(String(rolled?.payload.reason)).toMatch(/DIGEST_MISMATCH/);
  });

  it('refuses a data directory that belongs to another device', async () => {
    const { dataDir, clock } = await history();
    await expect(
      openLifecycle(dataDir, clock, { noTrust: true, device: { ...DEVICE, deviceId: 'gw-9999' } }),
    ).rejects.toMatchObject({ code: 'DEVICE_MISMATCH' });
  });
});

describe('trust rotation', () => {
  it('accepts the next version, applies its bundle revocations at once, and audits both', async () => {
    const { dataDir, shas, clock } = await history();
    const l = await openLifecycle(dataDir, clock, { noTrust: true });
    open.push(l);
    const v2 = nextTrustDocument(TRUST.document, {
      issuedAtMs: T0,
      revokeBundles: [
        { by: 'manifest', manifestSha256: shas[1] ?? '', reason: 'recall 2026-01', revokedAtMs: T0 },
      ],
    });
    const bytes = signTrustDocument(v2, [signerFor(KEYS.root1), signerFor(KEYS.root2)]);
    expect(await l.updateTrust(bytes, 'trust-v2.cbor')).toEqual({ kind: 'rotated', from: 1, to: 2 });
    expect(l.status().trust.version).toBe(2);
    expect(family(l)?.active?.bundle.manifestSha256).toBe(shas[0]);
    expect(l.status().bundles.find((b) => b.manifestSha256 === shas[1])?.state).toBe('revoked');
    const kinds = [...l.audit.records()].map((r) => r.kind);
    expect(kinds).toContain('trust-rotated');
    expect(kinds.indexOf('bundle-revoked')).toBeGreaterThan(kinds.indexOf('trust-rotated'));
    // The same document again changes nothing; an older one is refused and audited.
    expect(await l.updateTrust(bytes, 'again')).toEqual({ kind: 'unchanged', version: 2 });
    expect(await l.updateTrust(TRUST.bytes, 'old')).toMatchObject({
      kind: 'rejected',
      code: 'TRUST_ROLLBACK',
    });
    expect([...l.audit.records()].at(-1)?.kind).toBe('trust-rejected');
  });

  it('keeps the rotated trust across a restart', async () => {
    const { dataDir, clock } = await history();
    const l = await openLifecycle(dataDir, clock, { noTrust: true });
    const v2 = nextTrustDocument(TRUST.document, { issuedAtMs: T0 });
    await l.updateTrust(signTrustDocument(v2, [signerFor(KEYS.root1), signerFor(KEYS.root2)]), 'v2');
    await l.close();
    const again = await openLifecycle(dataDir, clock, { noTrust: true });
    open.push(again);
    expect(again.status().trust.version).toBe(2);
  });
});

describe('evidence survives restarts', () => {
  it('keeps shadow counters flushed before a clean shutdown', async () => {
    const dataDir = tempDataDir();
    const clock = new Clock();
    const dir = tempDir();
    const l = await openLifecycle(dataDir, clock);
    const a = await l.install(await bundle(1, { dir, rollout: { probation: { windows: 0 } } }));
    const c = await l.install(await bundle(2, { dir }));
    if (a.kind !== 'activated' || c.kind !== 'shadow') throw new Error('setup');
    for (let i = 0; i < 7; i += 1) {
      l.observeShadowPair(
        result(a.bundle.manifestSha256, OK),
        result(c.bundle.manifestSha256, OK, { shadow: true }),
      );
    }
    await l.close();
    const again = await openLifecycle(dataDir, clock, { noTrust: true });
    open.push(again);
    expect(family(again)?.candidate?.shadow.windows).toBe(7);
  });
});

describe('housekeeping', () => {
  it('drops black-box pins past retention and nonces of expired commands', async () => {
    const clock = new Clock();
    const l = await openLifecycle(tempDataDir(), clock, { blackBox: { retentionMs: 60_000 } });
    open.push(l);
    const window = {
      deviceId: DEVICE.deviceId,
      streamId: 's1',
      sensor: 'accel' as const,
      cohort: '',
      index: 0,
      firstCounter: 0,
      lastCounter: 3,
      startMs: T0,
      endMs: T0 + 4000,
      rateHz: 1,
      channels: [new Float64Array(4)],
      flagsUnion: 0,
      flaggedSamples: 0,
      missingSamples: 0,
      rateJitterRel: 0,
      completedAtMonoMs: 0,
    };
    l.blackBox.record(window, [result('a'.repeat(64), OK)]);
    expect(l.blackBox.pin('alert:x', 'alert', 's1', 8)).toBe(1);
    expect((await l.applyCommand(command({ kind: 'freeze' }, clock))).kind).toBe('accepted');
    expect(l.maintain()).toEqual({ blackBoxWindows: 0, commandNonces: 0 });
    clock.advance(2 * 3600_000);
    expect(l.maintain()).toEqual({ blackBoxWindows: 1, commandNonces: 1 });
    expect(l.blackBox.events()).toEqual([]);
  });
});
