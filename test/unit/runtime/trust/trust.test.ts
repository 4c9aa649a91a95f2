import { describe, expect, it } from 'vitest';
import {
  bytesToHex,
  encodeSign,
  signBody,
  signSign1,
  signSigner,
  signerFor,
  verifySign1,
} from '../../../../models/format/index.ts';
import {
  DeviceKeyRing,
  TrustError,
  TrustStore,
  createTrustDocument,
  nextTrustDocument,
  peekTrustDocument,
  unsatisfiedRoles,
  signDeviceEnrolment,
  signTrustDocument,
  type TrustDocument,
} from '../../../../runtime/trust/index.ts';
import { KEYS, T0, makeTrust, testKey, trustKey } from '../../../fixtures/bundles/kit.ts';

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ACCEPTED';
  } catch (err) {
    if (err instanceof TrustError) return err.code;
    throw err;
  }
}

const base = makeTrust();
const COMMAND = 'application/vnd.vigil.command+cbor';

describe('trust document', () => {
  it('loads a self-signed anchor and answers lookups', () => {
    const { store } = base;
    expect(store.version).toBe(1);
    expect(store.key(KEYS.qa.kid)?.role).toBe('qa');
    expect(store.keysOfRole('root').map((k) => k.kid)).toEqual(['root-1', 'root-2']);
    expect(store.threshold('clinical')).toBe(1);
    expect(store.scope('canary')?.allows).toEqual(['shadow', 'canary']);
    expect(store.document.releasePolicy.requiredRoles).toEqual(['qa', 'clinical', 'regulatory']);
    expect(store.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(peekTrustDocument(base.bytes).signers).toEqual(['root-1', 'root-2']);
  });

  it('requires the anchor to carry its own root threshold of distinct keys', () => {
    const strict = createTrustDocument({
      issuedAtMs: T0,
      keys: Object.values(KEYS).map((k) => trustKey(k)),
      rootThreshold: 2,
    });
    expect(codeOf(() => TrustStore.loadAnchor(signTrustDocument(strict, [signerFor(KEYS.root1)])))).toBe(
      'THRESHOLD_NOT_MET',
    );
    expect(
      codeOf(() =>
        TrustStore.loadAnchor(signTrustDocument(strict, [signerFor(KEYS.root1), signerFor(KEYS.root1)])),
      ),
    ).toBe('DUPLICATE_SIGNER');
    expect(
      codeOf(() =>
        TrustStore.loadAnchor(signTrustDocument(strict, [signerFor(KEYS.root1), signerFor(KEYS.qa)])),
      ),
    ).toBe('THRESHOLD_NOT_MET');
    expect(
      codeOf(() =>
        TrustStore.loadAnchor(signTrustDocument(strict, [signerFor(KEYS.root1), signerFor(KEYS.root2)])),
      ),
    ).toBe('ACCEPTED');
  });

  it.each([
    [
      'a kid listed twice',
      (d: TrustDocument): TrustDocument => ({ ...d, keys: [...d.keys, trustKey(KEYS.qa)] }),
    ],
    [
      'the same key bytes under two kids',
      (d: TrustDocument): TrustDocument => ({
        ...d,
        keys: [...d.keys, { ...trustKey(KEYS.qa), kid: 'qa-alias' }],
      }),
    ],
    [
      'a root threshold above the root keys',
      (d: TrustDocument): TrustDocument => ({ ...d, root: { threshold: 3 } }),
    ],
    [
      'a scope named twice',
      (d: TrustDocument): TrustDocument => ({
        ...d,
        releasePolicy: {
          ...d.releasePolicy,
          scopes: [...d.releasePolicy.scopes, { name: 'full', allows: ['full'] }],
        },
      }),
    ],
    [
      'an unknown required role',
      (d: TrustDocument): TrustDocument => ({
        ...d,
        releasePolicy: { ...d.releasePolicy, requiredRoles: ['release'] } as never,
      }),
    ],
  ])('refuses %s', (_what, alter) => {
    const bad = alter(base.document);
    expect(codeOf(() => TrustStore.loadAnchor(signTrustDocument(bad, [signerFor(KEYS.root1)])))).toBe(
      'BAD_TRUST_DOCUMENT',
    );
  });

  it('reloads an accepted rotation as the anchor after a reboot (signatures of the old roots are ignored)', () => {
    const root3 = testKey('root-3', 'root');
    const rotated = nextTrustDocument(base.document, {
      issuedAtMs: T0,
      removeKids: [KEYS.root1.kid, KEYS.root2.kid],
      addKeys: [trustKey(root3)],
    });
    const bytes = signTrustDocument(rotated, [signerFor(KEYS.root1), signerFor(root3)]);
    expect(base.store.acceptUpdate(bytes).version).toBe(2);
    const rebooted = TrustStore.loadAnchor(bytes);
    expect(rebooted.version).toBe(2);
    expect(rebooted.keysOfRole('root').map((k) => k.kid)).toEqual(['root-3']);
  });

  it('lets a revocation leave a required role short of keys, and reports it', () => {
    const next = nextTrustDocument(base.document, {
      issuedAtMs: T0,
      revokeKeys: [{ kid: KEYS.regulatory.kid, reason: 'compromised' }],
    });
    expect(unsatisfiedRoles(next)).toEqual(['regulatory']);
    expect(unsatisfiedRoles(base.document)).toEqual([]);
  });

  it('refuses a COSE_Sign that is not a trust document', () => {
    const notTrust = signSign1({
      payload: new Uint8Array(1),
      contentType: 'x',
      signer: signerFor(KEYS.root1),
    });
    expect(codeOf(() => TrustStore.loadAnchor(notTrust))).toBe('NOT_COSE_SIGN');
    const body = signBody(new Uint8Array([0xa0]), 'application/vnd.vigil.manifest+cbor');
    const manifestLike = encodeSign(body, [signSigner(body, signerFor(KEYS.root1))]);
    expect(codeOf(() => TrustStore.loadAnchor(manifestLike))).toBe('NOT_TRUST_DOCUMENT');
  });

  it('revokes keys: they leave the key list, keep their bytes on record, and may not come back under a new kid', () => {
    const next = nextTrustDocument(base.document, {
      issuedAtMs: T0,
      revokeKeys: [{ kid: KEYS.qa2.kid, reason: 'laptop stolen' }],
    });
    const store = base.store.acceptUpdate(
      signTrustDocument(next, [signerFor(KEYS.root1), signerFor(KEYS.root2)]),
    );
    expect(store.key(KEYS.qa2.kid)).toBeUndefined();
    expect(store.keyRevocation(KEYS.qa2.kid)?.reason).toBe('laptop stolen');
    expect(bytesToHex(store.keyRevocation(KEYS.qa2.kid)?.publicKey ?? new Uint8Array())).toBe(
      bytesToHex(KEYS.qa2.publicKey),
    );
    expect(() =>
      nextTrustDocument(next, { issuedAtMs: T0, addKeys: [{ ...trustKey(KEYS.qa2), kid: 'qa-bob-new' }] }),
    ).toThrow(TrustError);
  });

  it('revokes bundles by id, by family and version, or by manifest digest', () => {
    const next = nextTrustDocument(base.document, {
      issuedAtMs: T0,
      revokeBundles: [
        { by: 'bundleId', bundleId: 'fall-detector@1.0.0', revokedAtMs: T0, reason: 'false alarms' },
        { by: 'version', modelFamily: 'af-screener', version: '2.0.0', revokedAtMs: T0, reason: 'missed AF' },
        { by: 'manifest', manifestSha256: 'ab'.repeat(32), revokedAtMs: T0, reason: 'bad build' },
      ],
    });
    const store = base.store.acceptUpdate(signTrustDocument(next, [signerFor(KEYS.root1)]));
    const probe = { bundleId: 'x', modelFamily: 'y', version: '1.0.0', manifestSha256: '00'.repeat(32) };
    expect(store.bundleRevocation(probe)).toBeUndefined();
    expect(store.bundleRevocation({ ...probe, bundleId: 'fall-detector@1.0.0' })?.reason).toBe(
      'false alarms',
    );
    expect(store.bundleRevocation({ ...probe, modelFamily: 'af-screener', version: '2.0.0' })?.reason).toBe(
      'missed AF',
    );
    expect(store.bundleRevocation({ ...probe, manifestSha256: 'ab'.repeat(32) })?.reason).toBe('bad build');
  });
});

describe('role-bound signatures (signed commands, reports)', () => {
  const command = new TextEncoder().encode('promote');

  it('verifies a COSE_Sign1 by a key of the required role', () => {
    const bytes = signSign1({ payload: command, contentType: COMMAND, signer: signerFor(KEYS.release) });
    const v = base.store.verifyRoleSign1(bytes, { role: 'release', contentType: COMMAND });
    expect(v.kid).toBe(KEYS.release.kid);
    expect(v.payload).toEqual(command);
  });

  it('refuses another role, an unknown or revoked key, a wrong content type and a threshold above one', () => {
    const byQa = signSign1({ payload: command, contentType: COMMAND, signer: signerFor(KEYS.qa) });
    expect(codeOf(() => base.store.verifyRoleSign1(byQa, { role: 'release', contentType: COMMAND }))).toBe(
      'ROLE_MISMATCH',
    );
    const stranger = signSign1({
      payload: command,
      contentType: COMMAND,
      signer: signerFor(testKey('stranger', 'release')),
    });
    expect(
      codeOf(() => base.store.verifyRoleSign1(stranger, { role: 'release', contentType: COMMAND })),
    ).toBe('UNKNOWN_KEY');
    const ok = signSign1({ payload: command, contentType: COMMAND, signer: signerFor(KEYS.release) });
    expect(codeOf(() => base.store.verifyRoleSign1(ok, { role: 'release', contentType: 'other' }))).toBe(
      'WRONG_CONTENT_TYPE',
    );
    const revoked = base.store.acceptUpdate(
      signTrustDocument(
        nextTrustDocument(base.document, {
          issuedAtMs: T0,
          revokeKeys: [{ kid: KEYS.release.kid, reason: 'left' }],
        }),
        [signerFor(KEYS.root1)],
      ),
    );
    expect(codeOf(() => revoked.verifyRoleSign1(ok, { role: 'release', contentType: COMMAND }))).toBe(
      'REVOKED_KEY',
    );
    const two = makeTrust({
      keys: [...Object.values(KEYS), testKey('release-2', 'release')],
      thresholds: { release: 2 },
    });
    expect(codeOf(() => two.store.verifyRoleSign1(ok, { role: 'release', contentType: COMMAND }))).toBe(
      'THRESHOLD_NOT_MET',
    );
  });
});

describe('device enrolment', () => {
  const deviceKey = testKey('dev-8842', 'device');
  const enrolment = {
    formatVersion: 1 as const,
    deviceId: 'gw-8842',
    kid: deviceKey.kid,
    publicKey: deviceKey.publicKey,
    deviceClass: { vendorId: 'acme-medical', classId: 'wrist-gw-2' },
    enrolledAtMs: T0,
  };

  it('trusts a device key enrolled by a field engineer, without listing it in the trust document', () => {
    const ring = new DeviceKeyRing(base.store);
    expect(ring.resolve(deviceKey.kid)).toBeUndefined();
    ring.enrol(signDeviceEnrolment(enrolment, signerFor(KEYS.field)));
    const report = signSign1({
      payload: new Uint8Array([1]),
      contentType: 'application/vnd.vigil.report+cbor',
      signer: signerFor(deviceKey),
    });
    expect(verifySign1(report, { resolveKey: ring.resolve }).kid).toBe(deviceKey.kid);
    // A device key listed directly in the trust document resolves too; other roles never do.
    expect(ring.resolve(KEYS.device.kid)).toBeDefined();
    expect(ring.resolve(KEYS.qa.kid)).toBeUndefined();
  });

  it('refuses enrolments by other roles, and enrolled keys whose bytes were revoked', () => {
    const ring = new DeviceKeyRing(base.store);
    expect(codeOf(() => ring.enrol(signDeviceEnrolment(enrolment, signerFor(KEYS.qa))))).toBe(
      'ROLE_MISMATCH',
    );
    const next = nextTrustDocument(base.document, { issuedAtMs: T0, addKeys: [trustKey(deviceKey)] });
    const revoked = nextTrustDocument(next, {
      issuedAtMs: T0,
      revokeKeys: [{ kid: deviceKey.kid, reason: 'device lost' }],
    });
    const store = base.store
      .acceptUpdate(signTrustDocument(next, [signerFor(KEYS.root1)]))
      .acceptUpdate(signTrustDocument(revoked, [signerFor(KEYS.root1)]));
    expect(
      codeOf(() => new DeviceKeyRing(store).enrol(signDeviceEnrolment(enrolment, signerFor(KEYS.field)))),
    ).toBe('REVOKED_KEY');
  });
});
