import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BundleError, bytesSource } from '../../../../models/format/index.ts';
import { verifyBundle, verifyBundleFile } from '../../../../runtime/verify/index.ts';
import {
  DAY,
  KEYS,
  T0,
  deviceTarget,
  makeBundle,
  makeTrust,
  sampleSpec,
  verifyOptions,
} from '../../../fixtures/bundles/kit.ts';

const trust = makeTrust();

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ACCEPTED';
  } catch (err) {
    if (err instanceof BundleError) return err.code;
    throw err;
  }
}

describe('verifyBundle', () => {
  it('accepts a bundle approved by qa, clinical and regulatory for full rollout', async () => {
    const b = await makeBundle();
    const v = await verifyBundleFile(b.path, verifyOptions(trust.store));
    expect(v.manifest.bundleId).toBe('fall-detector@1.2.0');
    expect(v.approvals.map((a) => a.role)).toEqual(['build', 'qa', 'clinical', 'regulatory']);
    expect(v.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(v.checksSkipped).toEqual([]);
    expect(v.trustVersion).toBe(1);
  });

  it('verifies the same bytes from memory', async () => {
    const b = await makeBundle();
    const v = await verifyBundle(bytesSource(fs.readFileSync(b.path)), verifyOptions(trust.store));
    expect(v.bundleBytes).toBe(fs.statSync(b.path).size);
  });

  it('skips device checks offline and says so', async () => {
    const b = await makeBundle({ spec: sampleSpec({ precursorSequence: 3 }) });
    const v = await verifyBundleFile(
      b.path,
      verifyOptions(trust.store, { target: { kind: 'offline', deviceClass: null, runtimeVersion: null } }),
    );
    expect(v.checksSkipped).toEqual(['anti-rollback', 'device-class', 'runtime-version', 'precursor']);
  });

  it('accepts a first install of a family and a precursor that is installed', async () => {
    const b = await makeBundle({ spec: sampleSpec({ precursorSequence: 10 }) });
    await expect(verifyBundleFile(b.path, verifyOptions(trust.store))).resolves.toBeDefined();
    const fresh = deviceTarget({ installed: new Map() });
    const c = await makeBundle({ spec: sampleSpec({ sequence: 1 }) });
    await expect(
      verifyBundleFile(c.path, verifyOptions(trust.store, { target: fresh })),
    ).resolves.toBeDefined();
  });

  it('counts only approvals whose scope allows the requested stage', async () => {
    const b = await makeBundle({
      approvers: [
        { key: KEYS.qa, scope: 'canary' },
        { key: KEYS.clinical, scope: 'canary' },
        { key: KEYS.regulatory, scope: 'full' },
      ],
    });
    await expect(
      verifyBundleFile(b.path, verifyOptions(trust.store, { stage: 'canary' })),
    ).resolves.toBeDefined();
    await expect(
      verifyBundleFile(b.path, verifyOptions(trust.store, { stage: 'shadow' })),
    ).resolves.toBeDefined();
    expect(await codeOf(verifyBundleFile(b.path, verifyOptions(trust.store, { stage: 'full' })))).toBe(
      'SCOPE_INSUFFICIENT',
    );
  });

  it('honours thresholds above one with distinct keys', async () => {
    const strict = makeTrust({ thresholds: { qa: 2 } });
    const one = await makeBundle();
    expect(await codeOf(verifyBundleFile(one.path, verifyOptions(strict.store)))).toBe('POLICY_UNSATISFIED');
    const two = await makeBundle({
      approvers: [{ key: KEYS.qa }, { key: KEYS.qa2 }, { key: KEYS.clinical }, { key: KEYS.regulatory }],
    });
    await expect(verifyBundleFile(two.path, verifyOptions(strict.store))).resolves.toBeDefined();
  });

  it('allows the documented clock skew around created and expiry times', async () => {
    const b = await makeBundle({
      createdAtMs: T0 + 60_000,
      approvers: [
        { key: KEYS.qa, timeMs: T0 + 60_000 },
        { key: KEYS.clinical, timeMs: T0 + 60_000 },
        { key: KEYS.regulatory, timeMs: T0 + 60_000 },
      ],
    });
    await expect(verifyBundleFile(b.path, verifyOptions(trust.store))).resolves.toBeDefined();
    expect(
      await codeOf(verifyBundleFile(b.path, verifyOptions(trust.store, { policy: { clockSkewMs: 0 } }))),
    ).toBe('NOT_YET_VALID');
    const late = () => T0 - DAY + 365 * DAY + 4 * 60_000;
    await expect(verifyBundleFile(b.path, verifyOptions(trust.store, { now: late }))).resolves.toBeDefined();
  });

  it('runs the injected preprocessing validator and keeps its code', async () => {
    const b = await makeBundle();
    const validatePreprocessing = (): void => {
      throw new BundleError('UNKNOWN_OP', 'preprocessing: no op accel_magnitude@1');
    };
    expect(
      await codeOf(verifyBundleFile(b.path, verifyOptions(trust.store, { validatePreprocessing }))),
    ).toBe('UNKNOWN_OP');
  });

  it('writes nothing: the bundle file is unchanged after verification', async () => {
    const b = await makeBundle();
    const before = fs.readFileSync(b.path);
    const entries = fs.readdirSync(path.dirname(b.path)).sort();
    await verifyBundleFile(b.path, verifyOptions(trust.store));
    expect(fs.readFileSync(b.path).equals(before)).toBe(true);
    expect(fs.readdirSync(path.dirname(b.path)).sort()).toEqual(entries);
  });
});
