import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Lifecycle } from '../../../../runtime/lifecycle/index.ts';
import { recheckStagedBundle } from '../../../../runtime/verify/index.ts';
import { DAY, tempDir } from '../../../fixtures/bundles/kit.ts';
import { Clock, FAMILY, SHADOW_APPROVERS, TRUST, bundle, openLifecycle, tempDataDir } from './helpers.ts';

let dir: string;
let b1: string;
let b2: string;
let b3: string;
let lifecycles: Lifecycle[] = [];

beforeAll(async () => {
  dir = tempDir('vigil-lc-bundles-');
  b1 = await bundle(1, { dir });
  b2 = await bundle(2, { dir });
  b3 = await bundle(3, { dir });
});

afterEach(async () => {
  for (const l of lifecycles) await l.close().catch(() => undefined);
  lifecycles = [];
});

async function open(dataDir = tempDataDir(), clock = new Clock()): Promise<Lifecycle> {
  const l = await openLifecycle(dataDir, clock);
  lifecycles.push(l);
  return l;
}

function kinds(l: Lifecycle): string[] {
  return [...l.audit.records()].map((r) => r.kind);
}

describe('Lifecycle install', () => {
  it('activates the first bundle of a family and shadows the next one', async () => {
    const l = await open();
    const first = await l.install(b1);
    expect(first.kind).toBe('activated');
    const second = await l.install(b2);
    expect(second.kind).toBe('shadow');
    const family = l.status().families.find((f) => f.family === FAMILY);
    expect(family?.active?.bundle.bundleId).toBe('fall-detector@1.1.0');
    expect(family?.active?.probation.kind).toBe('running');
    expect(family?.candidate?.bundle.bundleId).toBe('fall-detector@1.2.0');
    expect(family?.candidate?.stage).toBe('shadow');
    expect(kinds(l)).toEqual([
      'boot',
      'trust-anchored',
      'bundle-received',
      'bundle-verified',
      'bundle-installed',
      'bundle-activated',
      'bundle-received',
      'bundle-verified',
      'bundle-installed',
      'bundle-shadow-started',
    ]);
    // The installed files are exactly the signed ones.
    const ref = l.bundleRef(second.kind === 'shadow' ? second.bundle.manifestSha256 : '');
    expect(ref).toBeDefined();
    if (ref) await recheckStagedBundle(ref.dir, ref.manifest);
    expect(l.audit.verify().kind).toBe('intact');
  });

  it('is idempotent for the same bundle (a transfer handed over again after a crash)', async () => {
    const l = await open();
    await l.install(b1);
    const again = await l.installStaged(b1, 'transfer-1');
    expect(again).toEqual({ kind: 'installed' });
    await l.install(b2);
    expect(await l.installStaged(b2, 'transfer-2')).toEqual({ kind: 'shadow' });
    expect(l.status().bundles).toHaveLength(2);
  });

  it('rejects an older sequence with its code and changes nothing but the audit trail', async () => {
    const l = await open();
    await l.install(b2);
    const before = l.status();
    const outcome = await l.install(b1);
    expect(outcome).toMatchObject({ kind: 'rejected', code: 'ROLLBACK' });
    const after = l.status();
    expect(after.families).toEqual(before.families);
    expect(after.bundles).toEqual(before.bundles);
    const last = [...l.audit.records()].at(-1);
    expect(last).toMatchObject({ kind: 'bundle-rejected', payload: { code: 'ROLLBACK' } });
    expect(fs.readdirSync(l.store.stagingDir)).toEqual([]);
    expect(fs.readdirSync(l.store.bundlesDir)).toHaveLength(1);
  });

  it('rejects a damaged file and a missing file with codes', async () => {
    const l = await open();
    const damaged = path.join(dir, 'damaged.vbundle');
    const bytes = fs.readFileSync(b1);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
    fs.writeFileSync(damaged, bytes);
    expect(await l.install(damaged)).toMatchObject({ kind: 'rejected', code: 'DIGEST_MISMATCH' });
    expect(await l.install(path.join(dir, 'nope.vbundle'))).toMatchObject({
      kind: 'rejected',
      code: 'UNREADABLE',
    });
    expect(l.status().bundles).toHaveLength(0);
  });

  it('rejects a bundle once the clock is past its expiry', async () => {
    const clock = new Clock();
    const l = await open(tempDataDir(), clock);
    clock.advance(400 * DAY);
    expect(await l.install(b1)).toMatchObject({ kind: 'rejected', code: 'EXPIRED' });
  });

  it('keeps a shadow-only approved first bundle as a candidate that cannot serve', async () => {
    const l = await open();
    const only = await bundle(1, { approvers: SHADOW_APPROVERS, dir: tempDir() });
    const outcome = await l.install(only);
    expect(outcome.kind).toBe('installed');
    const family = l.status().families[0];
    expect(family?.active).toBeNull();
    expect(family?.candidate?.bundle.approvedFor).toBe('shadow');
    expect(l.servingPlans()).toEqual([{ family: FAMILY, active: null, shadow: null }]);
  });

  it('supersedes a candidate by a newer one and prunes beyond the bound, never a slot', async () => {
    const dataDir = tempDataDir();
    const l = await openLifecycle(dataDir, new Clock(), { policy: { maxInstalledBundles: 2 } });
    lifecycles.push(l);
    await l.install(b1);
    await l.install(b2);
    const third = await l.install(b3);
    expect(third).toMatchObject({ kind: 'shadow', superseded: { bundleId: 'fall-detector@1.2.0' } });
    const ids = l.status().bundles.map((b) => b.bundleId);
    expect(ids).toEqual(['fall-detector@1.1.0', 'fall-detector@1.3.0']);
    expect(fs.readdirSync(l.store.bundlesDir)).toHaveLength(2);
    expect(kinds(l)).toContain('bundle-pruned');
    // Anti-rollback remembers the pruned sequence.
    expect(await l.install(b2)).toMatchObject({ kind: 'rejected', code: 'ROLLBACK' });
  });

  it('survives a restart: state, trust and audit chain come back', async () => {
    const dataDir = tempDataDir();
    const clock = new Clock();
    const l = await openLifecycle(dataDir, clock);
    await l.install(b1);
    await l.install(b2);
    const before = l.status();
    await l.close();
    const again = await openLifecycle(dataDir, clock, { noTrust: true });
    lifecycles.push(again);
    const after = again.status();
    expect(after.families).toEqual(before.families);
    expect(after.trust).toEqual(before.trust);
    expect(again.audit.verify().kind).toBe('intact');
    const boots = [...again.audit.records()].filter((r) => r.kind === 'boot');
    expect(boots.map((r) => r.payload.previousShutdown)).toEqual(['first-boot', 'clean']);
  });

  it('refuses a second writer while the first holds the state', async () => {
    const dataDir = tempDataDir();
    await open(dataDir);
    await expect(openLifecycle(dataDir, new Clock())).rejects.toMatchObject({ code: 'LOCKED' });
  });

  it('needs a trust anchor on first boot', async () => {
    await expect(openLifecycle(tempDataDir(), new Clock(), { noTrust: true })).rejects.toMatchObject({
      code: 'NO_TRUST',
    });
    expect(TRUST.store.version).toBe(1);
  });
});
