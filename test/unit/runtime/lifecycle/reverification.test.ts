// Review finding 1: promotion (by command or by policy) and trust rotations re-verify bundles against
// the CURRENT trust store and clock — signatures, release policy and thresholds, scopes, expiry — instead
// of trusting the `approvedFor` stored at install. Candidates that no longer qualify are withdrawn with
// their code; an active model or rollback target whose approvals stopped holding is withdrawn too.
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signerFor } from '../../../../models/format/index.ts';
import type { Lifecycle } from '../../../../runtime/lifecycle/index.ts';
import { nextTrustDocument, signTrustDocument, type TrustChanges } from '../../../../runtime/trust/index.ts';
import { DAY, STANDARD_APPROVERS, tempDir, testKey, trustKey } from '../../../fixtures/bundles/kit.ts';
import {
  Clock,
  FAMILY,
  KEYS,
  OK,
  TRUST,
  bundle,
  command,
  openLifecycle,
  result,
  tempDataDir,
} from './helpers.ts';

// v1 is approved by qa-alice, v2 by qa-bob (with clinical and regulatory each time); v1both carries
// both QA approvals. As at install, a bundle carrying an approval by a revoked key is refused
// (REVOKED_KEY) whatever its other approvals: the same chain runs again.
const BOTH_QA = [
  { key: KEYS.qa, scope: 'full' },
  { key: KEYS.qa2, scope: 'full' },
  ...STANDARD_APPROVERS.slice(1),
];
const BOB_QA = [{ key: KEYS.qa2, scope: 'full' }, ...STANDARD_APPROVERS.slice(1)];

let v1: string;
let v1both: string;
let v2: string;
let v2auto: string;
const opened: Lifecycle[] = [];

beforeAll(async () => {
  const dir = tempDir('vigil-reverify-');
  v1 = await bundle(1, { dir, rollout: { probation: { windows: 1 } } });
  v1both = await bundle(1, {
    dir: tempDir('vigil-reverify-both-'),
    approvers: BOTH_QA,
    rollout: { probation: { windows: 1 } },
  });
  v2 = await bundle(2, { dir, approvers: BOB_QA, rollout: { probation: { windows: 1 } } });
  const autoDir = tempDir('vigil-reverify-auto-');
  v2auto = await bundle(2, {
    dir: autoDir,
    approvers: BOB_QA,
    rollout: { autoPromote: true, shadowMinWindows: 5, probation: { windows: 1 } },
  });
});

afterEach(async () => {
  for (const l of opened.splice(0)) await l.close().catch(() => undefined);
});

function trustV2(changes: Omit<TrustChanges, 'issuedAtMs'>, clock: Clock): Uint8Array {
  const doc = nextTrustDocument(TRUST.document, { issuedAtMs: clock.ms, ...changes });
  return signTrustDocument(doc, [signerFor(KEYS.root1), signerFor(KEYS.root2)]);
}

/** v1 active with its probation passed, `candidate` installed in shadow. */
async function setUp(
  candidate = v2,
  clock = new Clock(),
  dataDir = tempDataDir(),
  onError?: (e: unknown) => void,
  active = v1,
): Promise<{ l: Lifecycle; clock: Clock; sha1: string; sha2: string; dataDir: string }> {
  const l = await openLifecycle(dataDir, clock, onError ? { onError } : {});
  opened.push(l);
  const first = await l.install(active);
  if (first.kind !== 'activated') throw new Error(first.kind);
  l.observeResult(result(first.bundle.manifestSha256, OK));
  await l.idle();
  const second = await l.install(candidate);
  if (second.kind !== 'shadow') throw new Error(second.kind);
  return { l, clock, sha1: first.bundle.manifestSha256, sha2: second.bundle.manifestSha256, dataDir };
}

function records(l: Lifecycle, kind: string): Record<string, unknown>[] {
  return [...l.audit.records()].filter((r) => r.kind === kind).map((r) => r.payload);
}

function promote(clock: Clock, sha: string, devices: readonly string[] | null = null): Uint8Array {
  return command(
    { kind: 'promote', family: FAMILY, bundle: sha, force: true },
    clock,
    devices ? { target: { fleet: 'ward-3', devices, cohort: null } } : {},
  );
}

describe('promotion re-verifies the candidate', () => {
  it('refuses an expired candidate (command) and withdraws it with EXPIRED', async () => {
    const { l, clock, sha1, sha2 } = await setUp();
    clock.advance(400 * DAY);
    const out = await l.applyCommand(promote(clock, sha2));
    expect(out).toMatchObject({ kind: 'rejected', code: 'EXPIRED' });
    expect(l.status().families[0]?.candidate).toBeNull();
    expect(l.bundle(sha2)).toMatchObject({ state: 'failed' });
    expect(records(l, 'bundle-withdrawn')).toEqual([
      expect.objectContaining({
        slot: 'candidate',
        code: 'EXPIRED',
        phase: 'promotion',
        manifestSha256: sha2,
      }),
    ]);
    expect(l.servingPlans()[0]?.active).toMatchObject({ bundle: { manifestSha256: sha1 }, override: null });
  });

  it('refuses an expired candidate whose signed policy promotes it automatically', async () => {
    const errors: string[] = [];
    const { l, clock, sha1, sha2 } = await setUp(v2auto, new Clock(), tempDataDir(), (e) => {
      errors.push(String(e));
    });
    clock.advance(400 * DAY);
    for (let i = 0; i < 6; i += 1) {
      l.observeShadowPair(result(sha1, OK), result(sha2, OK, { shadow: true }));
    }
    await l.idle();
    expect(errors.join('\n')).toMatch(/EXPIRED/);
    expect(l.servingPlans()[0]?.active?.bundle.manifestSha256).toBe(sha1);
    expect(records(l, 'bundle-promoted')).toEqual([]);
    expect(records(l, 'bundle-withdrawn')[0]).toMatchObject({ code: 'EXPIRED', phase: 'promotion' });
  });

  it('still promotes a candidate whose approvals hold, recording the trust version it was checked against', async () => {
    const { l, clock, sha2 } = await setUp();
    expect((await l.applyCommand(promote(clock, sha2))).kind).toBe('accepted');
    expect(records(l, 'bundle-promoted')[0]).toMatchObject({
      approvedFor: 'full',
      trustVersion: 1,
      reverified: 'signatures',
    });
  });
});

describe('a trust rotation re-verifies every bundle in a slot', () => {
  it('withdraws a candidate whose approver key was revoked; the promote command then finds none', async () => {
    const { l, clock, sha1, sha2 } = await setUp();
    const rotated = await l.updateTrust(
      trustV2({ revokeKeys: [{ kid: KEYS.qa2.kid, reason: 'compromised' }] }, clock),
      'test',
    );
    expect(rotated.kind).toBe('rotated');
    expect(l.status().families[0]?.candidate).toBeNull();
    expect(l.bundle(sha2)?.stateDetail).toMatch(/REVOKED_KEY/);
    expect(records(l, 'bundle-withdrawn')).toEqual([
      expect.objectContaining({
        slot: 'candidate',
        code: 'REVOKED_KEY',
        phase: 'trust-rotation',
        trustVersion: 2,
      }),
    ]);
    const out = await l.applyCommand(promote(clock, sha2));
    expect(out).toMatchObject({ kind: 'rejected', code: 'NO_CANDIDATE' });
    // v1 (qa-alice) keeps serving.
    expect(l.servingPlans()[0]?.active).toMatchObject({ bundle: { manifestSha256: sha1 }, override: null });
  });

  it('withdraws a candidate below a raised threshold (POLICY_UNSATISFIED), keeps the active that meets it', async () => {
    const { l, clock, sha1 } = await setUp(v2, new Clock(), tempDataDir(), undefined, v1both);
    await l.updateTrust(trustV2({ thresholds: { qa: 2 } }, clock), 'test');
    expect(records(l, 'bundle-withdrawn')).toEqual([
      expect.objectContaining({ slot: 'candidate', code: 'POLICY_UNSATISFIED' }),
    ]);
    expect(l.servingPlans()[0]?.active).toMatchObject({ bundle: { manifestSha256: sha1 }, override: null });
  });

  it('verifies the stored signatures again: an approver re-keyed under the same kid no longer counts', async () => {
    const { l, clock, sha2 } = await setUp();
    const impostor = testKey('qa-bob-reissued', 'qa');
    const rekeyed = { ...trustKey(impostor), kid: KEYS.qa2.kid };
    await l.updateTrust(trustV2({ removeKids: [KEYS.qa2.kid], addKeys: [rekeyed] }, clock), 'test');
    expect(records(l, 'bundle-withdrawn')).toEqual([
      expect.objectContaining({ slot: 'candidate', code: 'BAD_SIGNATURE', manifestSha256: sha2 }),
    ]);
  });

  it('downgrades approvedFor when a scope narrows; the active model activated fleet-wide is withdrawn', async () => {
    const { l, clock, sha1, sha2 } = await setUp();
    const releasePolicy = {
      ...TRUST.document.releasePolicy,
      scopes: TRUST.document.releasePolicy.scopes.map((s) =>
        s.name === 'full' ? { name: 'full', allows: ['shadow', 'canary'] as const } : s,
      ),
    };
    await l.updateTrust(trustV2({ releasePolicy }, clock), 'test');
    expect(
      records(l, 'bundle-verified').find((r) => r.manifestSha256 === sha2 && 'reverified' in r),
    ).toMatchObject({
      approvedFor: 'canary',
      previousApprovedFor: 'full',
      reverified: 'trust-rotation',
    });
    expect(records(l, 'bundle-withdrawn')).toEqual([
      expect.objectContaining({ slot: 'active', code: 'SCOPE_INSUFFICIENT', manifestSha256: sha1 }),
    ]);
    expect(l.servingPlans()[0]?.active).toMatchObject({
      bundle: { manifestSha256: sha1 },
      override: { reason: 'MODEL_REVOKED' },
    });
    expect(l.status().families[0]?.active?.mode).toMatchObject({
      kind: 'rule-fallback',
      reason: 'approval-withdrawn',
    });
    // Fleet-wide promotion needs full; a canary command naming this device may promote it.
    expect(await l.applyCommand(promote(clock, sha2))).toMatchObject({ code: 'SCOPE_INSUFFICIENT' });
    expect((await l.applyCommand(promote(clock, sha2, ['gw-0001']))).kind).toBe('accepted');
  });

  it('rolls the active model back to a last-known-good whose approvals still hold', async () => {
    const { l, clock, sha1, sha2 } = await setUp();
    expect((await l.applyCommand(promote(clock, sha2))).kind).toBe('accepted');
    l.observeResult(result(sha2, OK));
    await l.idle();
    await l.updateTrust(
      trustV2({ revokeKeys: [{ kid: KEYS.qa2.kid, reason: 'compromised' }] }, clock),
      'test',
    );
    expect(records(l, 'bundle-withdrawn')).toEqual([
      expect.objectContaining({ slot: 'active', code: 'REVOKED_KEY', manifestSha256: sha2 }),
    ]);
    expect(records(l, 'bundle-rolled-back').at(-1)).toMatchObject({
      cause: 'approval',
      from: 'fall-detector@1.2.0',
      to: 'fall-detector@1.1.0',
    });
    expect(records(l, 'safety-event').at(-1)).toMatchObject({ type: 'rollback', cause: 'approval' });
    expect(l.servingPlans()[0]?.active).toMatchObject({ bundle: { manifestSha256: sha1 }, override: null });
    expect(l.bundle(sha2)?.state).toBe('failed');
  });

  it('drops a last-known-good whose approver was revoked; the active model keeps serving', async () => {
    const { l, clock, sha1, sha2 } = await setUp();
    expect((await l.applyCommand(promote(clock, sha2))).kind).toBe('accepted');
    l.observeResult(result(sha2, OK));
    await l.idle();
    await l.updateTrust(
      trustV2({ revokeKeys: [{ kid: KEYS.qa.kid, reason: 'left the company' }] }, clock),
      'test',
    );
    expect(records(l, 'bundle-withdrawn')).toEqual([
      expect.objectContaining({ slot: 'last-known-good', code: 'REVOKED_KEY', manifestSha256: sha1 }),
    ]);
    expect(l.status().families[0]?.lastKnownGood).toBeNull();
    expect(l.servingPlans()[0]?.active).toMatchObject({ bundle: { manifestSha256: sha2 }, override: null });
  });

  it('re-verifies at boot when the trust document is rotated there', async () => {
    const { l, clock, dataDir, sha2 } = await setUp();
    await l.close();
    const bytes = trustV2({ revokeKeys: [{ kid: KEYS.qa2.kid, reason: 'compromised' }] }, clock);
    const reopened = await openLifecycle(dataDir, clock, { trust: bytes });
    opened.push(reopened);
    expect(reopened.trust.version).toBe(2);
    expect(reopened.status().families[0]?.candidate).toBeNull();
    expect(reopened.bundle(sha2)?.state).toBe('failed');
  });

  it('checks the approval records of a bundle stored without its signatures (older runtime)', async () => {
    const { l, clock, dataDir, sha2 } = await setUp();
    await l.close();
    const db = new Database(path.join(dataDir, 'state.db'));
    db.prepare('UPDATE bundles SET cose_sign = NULL').run();
    db.close();
    const reopened = await openLifecycle(dataDir, clock);
    opened.push(reopened);
    await reopened.updateTrust(
      trustV2({ revokeKeys: [{ kid: KEYS.qa2.kid, reason: 'compromised' }] }, clock),
      'test',
    );
    expect(records(reopened, 'bundle-withdrawn')).toEqual([
      expect.objectContaining({ slot: 'candidate', code: 'REVOKED_KEY', manifestSha256: sha2 }),
    ]);
  });
});
