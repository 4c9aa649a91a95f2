// Hostile bundles: every case of issue #3 must be rejected with its own stable code.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  APPROVAL_LABELS,
  BundleError,
  CborTagged,
  MANIFEST_CONTENT_TYPE,
  approvalHeader,
  bytesSource,
  decodeCbor,
  encodeCbor,
  encodeSign,
  manifestFromSpec,
  nodeEd25519,
  sha256,
  sigStructure,
  signBody,
  signSigner,
  signerFor,
  toCbor,
  withFileSource,
  type CborKey,
  type CborMap,
  type CborValue,
  type DecodedSign,
  type RoleName,
  type SecretKey,
} from '../../../models/format/index.ts';
import { TrustError, nextTrustDocument, signTrustDocument } from '../../../runtime/trust/index.ts';
import {
  extractVerifiedBundle,
  readStagedFile,
  recheckStagedBundle,
  verifyBundle,
  type VerifyBundleOptions,
} from '../../../runtime/verify/index.ts';
import {
  DAY,
  KEYS,
  T0,
  assemble,
  deviceTarget,
  makeBundle,
  makeTrust,
  parseBundle,
  sampleSpec,
  testKey,
  trustKey,
  verifyOptions,
  type Parsed,
} from '../../fixtures/bundles/kit.ts';

const trust = makeTrust();
const ed = nodeEd25519();

async function rejection(bytes: Uint8Array, overrides: Partial<VerifyBundleOptions> = {}): Promise<string> {
  try {
    await verifyBundle(bytesSource(bytes), verifyOptions(trust.store, overrides));
    return 'ACCEPTED';
  } catch (err) {
    if (err instanceof BundleError) return err.code;
    throw err;
  }
}

async function validBytes(options: Parameters<typeof makeBundle>[0] = {}): Promise<Uint8Array> {
  return new Uint8Array(fs.readFileSync((await makeBundle(options)).path));
}

interface RawSigner {
  readonly protectedBytes: Uint8Array;
  readonly unprotected?: CborMap;
  readonly signature: Uint8Array;
}

/** A COSE_Sign_Tagged from raw parts (nothing re-encoded but the outer array). */
function coseFrom(
  cose: DecodedSign,
  signers: readonly RawSigner[],
  body?: { protectedBytes?: Uint8Array; payload?: Uint8Array },
): Uint8Array {
  return encodeCbor(
    new CborTagged(98, [
      body?.protectedBytes ?? cose.bodyProtectedBytes,
      new Map(),
      body?.payload ?? cose.payload,
      signers.map((s) => [s.protectedBytes, s.unprotected ?? new Map(), s.signature]),
    ]),
  );
}

const asRaw = (cose: DecodedSign): RawSigner[] =>
  cose.signatures.map((s) => ({ protectedBytes: s.protectedBytes, signature: s.signature }));

/** Signs hand-made protected-header bytes correctly, so only the property under test is wrong. */
function signRaw(
  cose: DecodedSign,
  protectedBytes: Uint8Array,
  key: SecretKey,
  bodyProtected = cose.bodyProtectedBytes,
  payload = cose.payload,
): RawSigner {
  return {
    protectedBytes,
    signature: ed.sign(
      key.seed,
      sigStructure('Signature', bodyProtected, protectedBytes, new Uint8Array(0), payload),
    ),
  };
}

/** A protected header as a map, to alter. */
function headerOf(cose: DecodedSign, index: number): Map<CborKey, CborValue> {
  return new Map(cose.signatures[index]?.protected ?? []);
}

function withCose(parsed: Parsed, cose: Uint8Array): Uint8Array {
  return assemble(cose, parsed.header.index, parsed.data);
}

/** A bundle whose payload is exactly `payload`, properly signed by build, qa, clinical and regulatory. */
function signedPayload(parsed: Parsed, payload: Uint8Array): Uint8Array {
  const body = signBody(payload, MANIFEST_CONTENT_TYPE);
  const signers = [KEYS.build, KEYS.qa, KEYS.clinical, KEYS.regulatory].map((key) =>
    signSigner(
      body,
      signerFor(key),
      approvalHeader({
        role: key.role as RoleName,
        reviewer: `${key.kid} <x@y.z>`,
        timeMs: T0 - DAY,
        scope: key.role === 'build' ? null : 'full',
        subject: sha256(payload),
      }),
    ),
  );
  return withCose(parsed, encodeSign(body, signers));
}

function plainManifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const m = manifestFromSpec(sampleSpec(), {
    createdAtMs: T0 - DAY,
    files: [
      { path: 'model.onnx', size: 1, sha256: '00'.repeat(32) },
      { path: 'profile.json', size: 1, sha256: '00'.repeat(32) },
      { path: 'evidence.json', size: 1, sha256: '00'.repeat(32) },
    ],
  });
  return { ...(JSON.parse(JSON.stringify(m)) as Record<string, unknown>), ...overrides };
}

describe('adversarial bundles: signatures and approvals', () => {
  it('a valid bundle is accepted (the baseline every case below alters)', async () => {
    expect(await rejection(await validBytes())).toBe('ACCEPTED');
  });

  it('unsigned: no COSE_Signature at all → UNSIGNED', async () => {
    expect(await rejection(await validBytes({ withBuildSignature: false, approvers: [] }))).toBe('UNSIGNED');
  });

  it('an approval by a key the trust store does not know → UNKNOWN_KEY', async () => {
    const stranger = testKey('qa-mallory', 'qa');
    expect(
      await rejection(
        await validBytes({
          approvers: [{ key: stranger }, { key: KEYS.clinical }, { key: KEYS.regulatory }],
        }),
      ),
    ).toBe('UNKNOWN_KEY');
  });

  it('the same key counted twice toward a threshold → DUPLICATE_SIGNER', async () => {
    const strict = makeTrust({ thresholds: { qa: 2 } });
    const parsed = await parseBundle(await validBytes());
    const qa = parsed.cose.signatures.findIndex((s) => s.kid === KEYS.qa.kid);
    const raw = asRaw(parsed.cose);
    const twice = withCose(parsed, coseFrom(parsed.cose, [...raw, raw[qa] as RawSigner]));
    expect(await rejection(twice, { trust: strict.store })).toBe('DUPLICATE_SIGNER');
  });

  it('a QA key signing as clinical → ROLE_MISMATCH', async () => {
    const bytes = await validBytes({
      approvers: [{ key: KEYS.qa }, { key: KEYS.qa2, role: 'clinical' }, { key: KEYS.regulatory }],
    });
    expect(await rejection(bytes)).toBe('ROLE_MISMATCH');
  });

  it('a release key signing a bundle → ROLE_MISMATCH', async () => {
    expect(
      await rejection(
        await validBytes({
          approvers: [
            ...[KEYS.qa, KEYS.clinical, KEYS.regulatory].map((key) => ({ key })),
            { key: KEYS.release },
          ],
        }),
      ),
    ).toBe('ROLE_MISMATCH');
  });

  it('the role in the unprotected header → UNPROTECTED_HEADER', async () => {
    const parsed = await parseBundle(await validBytes());
    const raw = asRaw(parsed.cose);
    const i = parsed.cose.signatures.findIndex((s) => s.kid === KEYS.clinical.kid);
    const header = headerOf(parsed.cose, i);
    header.delete(APPROVAL_LABELS.role);
    header.set(
      2,
      (header.get(2) as string[]).filter((l) => l !== APPROVAL_LABELS.role),
    );
    raw[i] = {
      ...signRaw(parsed.cose, encodeCbor(header), KEYS.clinical),
      unprotected: new Map([[APPROVAL_LABELS.role, 'clinical']]),
    };
    expect(await rejection(withCose(parsed, coseFrom(parsed.cose, raw)))).toBe('UNPROTECTED_HEADER');
  });

  it('approvals from bundle A pasted onto bundle B → APPROVAL_MISMATCH', async () => {
    const a = await parseBundle(
      await validBytes({
        spec: sampleSpec({
          thresholds: {
            version: '4',
            operatingThreshold: 0.6,
            releaseThreshold: 0.5,
            indeterminateLow: 0.55,
          },
        }),
      }),
    );
    const b = await parseBundle(await validBytes({ approvers: [] }));
    const pasted = withCose(b, coseFrom(b.cose, [...asRaw(b.cose), ...asRaw(a.cose).slice(1)]));
    expect(await rejection(pasted)).toBe('APPROVAL_MISMATCH');
  });

  it('an altered algorithm (EdDSA → Ed25519, still allowed) → BAD_SIGNATURE', async () => {
    const parsed = await parseBundle(await validBytes());
    const raw = asRaw(parsed.cose);
    const header = headerOf(parsed.cose, 1);
    header.set(1, -19);
    raw[1] = { protectedBytes: encodeCbor(header), signature: raw[1]?.signature ?? new Uint8Array() };
    expect(await rejection(withCose(parsed, coseFrom(parsed.cose, raw)))).toBe('BAD_SIGNATURE');
  });

  it('an altered protected header (reviewer renamed) → BAD_SIGNATURE', async () => {
    const parsed = await parseBundle(await validBytes());
    const raw = asRaw(parsed.cose);
    const header = headerOf(parsed.cose, 2);
    header.set(APPROVAL_LABELS.reviewer, 'Someone Else <else@acme.example>');
    raw[2] = { protectedBytes: encodeCbor(header), signature: raw[2]?.signature ?? new Uint8Array() };
    expect(await rejection(withCose(parsed, coseFrom(parsed.cose, raw)))).toBe('BAD_SIGNATURE');
  });

  it('an altered body protected header → BAD_SIGNATURE', async () => {
    const parsed = await parseBundle(await validBytes());
    const body = new Map(parsed.cose.bodyProtected);
    body.set('x-note', 'added after signing');
    expect(
      await rejection(
        withCose(parsed, coseFrom(parsed.cose, asRaw(parsed.cose), { protectedBytes: encodeCbor(body) })),
      ),
    ).toBe('BAD_SIGNATURE');
  });

  it('a disallowed algorithm (ES256, -7) → DISALLOWED_ALG', async () => {
    const parsed = await parseBundle(await validBytes());
    const raw = asRaw(parsed.cose);
    const header = headerOf(parsed.cose, 1);
    header.set(1, -7);
    raw[1] = signRaw(parsed.cose, encodeCbor(header), KEYS.qa);
    expect(await rejection(withCose(parsed, coseFrom(parsed.cose, raw)))).toBe('DISALLOWED_ALG');
  });

  it('a canary-scoped approval used for full rollout → SCOPE_INSUFFICIENT', async () => {
    const bytes = await validBytes({
      approvers: [
        { key: KEYS.qa, scope: 'full' },
        { key: KEYS.clinical, scope: 'canary' },
        { key: KEYS.regulatory, scope: 'full' },
      ],
    });
    expect(await rejection(bytes, { stage: 'canary' })).toBe('ACCEPTED');
    expect(await rejection(bytes, { stage: 'full' })).toBe('SCOPE_INSUFFICIENT');
  });

  it('a missing required role → POLICY_UNSATISFIED', async () => {
    expect(await rejection(await validBytes({ approvers: [{ key: KEYS.qa }, { key: KEYS.clinical }] }))).toBe(
      'POLICY_UNSATISFIED',
    );
  });

  it('an approval by a revoked key → REVOKED_KEY', async () => {
    const next = nextTrustDocument(trust.document, {
      issuedAtMs: T0,
      revokeKeys: [{ kid: KEYS.clinical.kid, reason: 'key leaked' }],
    });
    const revoked = trust.store.acceptUpdate(signTrustDocument(next, [signerFor(KEYS.root1)]));
    expect(await rejection(await validBytes(), { trust: revoked })).toBe('REVOKED_KEY');
  });

  it('an approval with an unknown scope or a date before the bundle existed → BAD_APPROVAL', async () => {
    expect(
      await rejection(
        await validBytes({
          approvers: [
            { key: KEYS.qa, scope: 'everywhere' },
            { key: KEYS.clinical },
            { key: KEYS.regulatory },
          ],
        }),
      ),
    ).toBe('BAD_APPROVAL');
    expect(
      await rejection(
        await validBytes({
          approvers: [
            { key: KEYS.qa, timeMs: T0 - 30 * DAY },
            { key: KEYS.clinical },
            { key: KEYS.regulatory },
          ],
        }),
      ),
    ).toBe('BAD_APPROVAL');
  });
});

describe('adversarial bundles: hostile CBOR', () => {
  it('duplicate keys in a (correctly signed) protected header → DUPLICATE_KEY', async () => {
    const parsed = await parseBundle(await validBytes());
    const raw = asRaw(parsed.cose);
    const bytes = raw[1]?.protectedBytes ?? new Uint8Array();
    // One more entry than declared: repeat alg (01 27) and bump the map's count (fits in the initial byte).
    const dup = Uint8Array.from([(bytes[0] ?? 0) + 1, ...bytes.subarray(1), 0x01, 0x27]);
    raw[1] = signRaw(parsed.cose, dup, KEYS.qa);
    expect(await rejection(withCose(parsed, coseFrom(parsed.cose, raw)))).toBe('DUPLICATE_KEY');
  });

  it('duplicate keys in a correctly signed manifest → DUPLICATE_KEY', async () => {
    const parsed = await parseBundle(await validBytes());
    const m = decodeCbor(parsed.cose.payload, { maxDepth: 48 }) as CborMap;
    const entries = [...m].map(([k, v]) => [encodeCbor(k), encodeCbor(v)] as const);
    const n = entries.length + 1;
    const dupEntry =
      entries.find(([k]) => new TextDecoder().decode(k.subarray(1)) === 'sequence') ?? entries[0];
    const head = n < 24 ? [0xa0 + n] : [0xb8, n];
    const payload = Uint8Array.from([
      ...head,
      ...entries.flatMap(([k, v]) => [...k, ...v]),
      ...(dupEntry?.[0] ?? []),
      ...encodeCbor(99),
    ]);
    expect(await rejection(signedPayload(parsed, payload))).toBe('DUPLICATE_KEY');
  });

  it('indefinite lengths → INDEFINITE_LENGTH', async () => {
    const parsed = await parseBundle(await validBytes());
    const cose = parsed.header.cose;
    // d8 62 84 … → d8 62 9f … ff: the same four items in an indefinite-length array.
    const indefinite = Uint8Array.from([0xd8, 0x62, 0x9f, ...cose.subarray(3), 0xff]);
    expect(await rejection(withCose(parsed, indefinite))).toBe('INDEFINITE_LENGTH');
  });

  it('trailing bytes after the COSE_Sign → TRAILING_BYTES', async () => {
    const parsed = await parseBundle(await validBytes());
    expect(await rejection(withCose(parsed, Uint8Array.from([...parsed.header.cose, 0x00])))).toBe(
      'TRAILING_BYTES',
    );
  });

  it('a huge declared length → LENGTH_OVERFLOW', async () => {
    const parsed = await parseBundle(await validBytes());
    expect(
      await rejection(
        withCose(parsed, Uint8Array.from([0xd8, 0x62, 0x84, 0x5a, 0x7f, 0xff, 0xff, 0xff, 0x00])),
      ),
    ).toBe('LENGTH_OVERFLOW');
  });

  it('deep nesting in a (correctly signed) protected header → TOO_DEEP', async () => {
    const parsed = await parseBundle(await validBytes());
    const raw = asRaw(parsed.cose);
    let deep: CborValue = 0;
    for (let i = 0; i < 40; i++) deep = [deep];
    const header = headerOf(parsed.cose, 1);
    header.set('x-deep', deep);
    raw[1] = signRaw(parsed.cose, encodeCbor(header), KEYS.qa);
    expect(await rejection(withCose(parsed, coseFrom(parsed.cose, raw)))).toBe('TOO_DEEP');
  });

  it('non-canonical CBOR (unsorted keys) in a correctly signed protected header → NON_CANONICAL', async () => {
    const parsed = await parseBundle(await validBytes());
    const raw = asRaw(parsed.cose);
    const entries = [...headerOf(parsed.cose, 1)].map(([k, v]) => [...encodeCbor(k), ...encodeCbor(v)]);
    const reversed = Uint8Array.from([0xa0 + entries.length, ...entries.reverse().flat()]);
    raw[1] = signRaw(parsed.cose, reversed, KEYS.qa);
    expect(await rejection(withCose(parsed, coseFrom(parsed.cose, raw)))).toBe('NON_CANONICAL');
  });

  it('a payload that is not a Vigil manifest → WRONG_CONTENT_TYPE', async () => {
    const parsed = await parseBundle(await validBytes());
    const body = new Map(parsed.cose.bodyProtected);
    body.set(3, 'application/json');
    expect(
      await rejection(
        withCose(parsed, coseFrom(parsed.cose, asRaw(parsed.cose), { protectedBytes: encodeCbor(body) })),
      ),
    ).toBe('WRONG_CONTENT_TYPE');
  });

  it('a signed manifest with an unknown field → BAD_MANIFEST', async () => {
    const parsed = await parseBundle(await validBytes());
    expect(
      await rejection(signedPayload(parsed, encodeCbor(toCbor(plainManifest({ debugBackdoor: true }))))),
    ).toBe('BAD_MANIFEST');
  });
});

describe('adversarial bundles: device state and time', () => {
  it('a lower sequence than installed (rollback) → ROLLBACK', async () => {
    expect(await rejection(await validBytes({ spec: sampleSpec({ sequence: 9 }) }))).toBe('ROLLBACK');
  });

  it('the installed sequence itself → ALREADY_INSTALLED (a no-op for the lifecycle)', async () => {
    expect(await rejection(await validBytes({ spec: sampleSpec({ sequence: 11 }) }))).toBe(
      'ALREADY_INSTALLED',
    );
  });

  it('a huge sequence (fast-forward) → SEQUENCE_JUMP', async () => {
    expect(await rejection(await validBytes({ spec: sampleSpec({ sequence: 1_000_000 }) }))).toBe(
      'SEQUENCE_JUMP',
    );
    expect(await rejection(await validBytes({ spec: sampleSpec({ sequence: 1011 }) }))).toBe('ACCEPTED');
  });

  it('expired → EXPIRED', async () => {
    expect(await rejection(await validBytes(), { now: () => T0 + 400 * DAY })).toBe('EXPIRED');
  });

  it('created in the future → NOT_YET_VALID', async () => {
    expect(await rejection(await validBytes(), { now: () => T0 - 2 * DAY })).toBe('NOT_YET_VALID');
  });

  it('the wrong device class → WRONG_DEVICE_CLASS', async () => {
    expect(
      await rejection(await validBytes(), {
        target: deviceTarget({ deviceClass: { vendorId: 'acme-medical', classId: 'chest-patch-1' } }),
      }),
    ).toBe('WRONG_DEVICE_CLASS');
  });

  it('a runtime outside the supported range → RUNTIME_INCOMPATIBLE', async () => {
    expect(await rejection(await validBytes(), { target: deviceTarget({ runtimeVersion: '1.0.0' }) })).toBe(
      'RUNTIME_INCOMPATIBLE',
    );
  });

  it('a missing precursor → MISSING_PRECURSOR', async () => {
    expect(await rejection(await validBytes({ spec: sampleSpec({ precursorSequence: 5 }) }))).toBe(
      'MISSING_PRECURSOR',
    );
  });

  it('a revoked bundle (trust document, or device state) → REVOKED_BUNDLE', async () => {
    const next = nextTrustDocument(trust.document, {
      issuedAtMs: T0,
      revokeBundles: [
        {
          by: 'bundleId',
          bundleId: 'fall-detector@1.2.0',
          revokedAtMs: T0,
          reason: 'missed falls in the field',
        },
      ],
    });
    const store = trust.store.acceptUpdate(signTrustDocument(next, [signerFor(KEYS.root1)]));
    const bytes = await validBytes();
    expect(await rejection(bytes, { trust: store })).toBe('REVOKED_BUNDLE');
    const revokedBundles = [
      {
        by: 'version' as const,
        modelFamily: 'fall-detector',
        version: '1.2.0',
        revokedAtMs: T0,
        reason: 'recalled',
      },
    ];
    expect(await rejection(bytes, { target: deviceTarget({ revokedBundles }) })).toBe('REVOKED_BUNDLE');
  });

  it('preprocessing with an op or version the runtime lacks → UNKNOWN_OP; bad parameters → BAD_PREPROCESSING', async () => {
    const unknown = sampleSpec({
      preprocessing: [{ op: 'telepathy', version: 1, inputs: ['input'], output: 'features', params: {} }],
    });
    expect(await rejection(await validBytes({ spec: unknown }))).toBe('UNKNOWN_OP');
    const future = sampleSpec({
      preprocessing: [
        { op: 'accel_features', version: 99, inputs: ['input'], output: 'features', params: {} },
      ],
    });
    expect(await rejection(await validBytes({ spec: future }))).toBe('UNKNOWN_OP');
    const bad = sampleSpec({
      preprocessing: [
        { op: 'butter_lowpass', version: 1, inputs: ['input'], output: 'features', params: { cutoffHz: -5 } },
      ],
    });
    expect(await rejection(await validBytes({ spec: bad }))).toBe('BAD_PREPROCESSING');
  });
});

describe('adversarial bundles: files', () => {
  async function modelRegion(): Promise<{ bytes: Uint8Array; offset: number; size: number; parsed: Parsed }> {
    const bytes = await validBytes();
    const parsed = await parseBundle(bytes);
    const entry = parsed.header.index.find((e) => e.path === 'model.onnx');
    if (entry === undefined) throw new Error('no model');
    return { bytes, offset: entry.offset, size: entry.size, parsed };
  }

  it('model bytes differing from the signed digest → DIGEST_MISMATCH', async () => {
    const { bytes, offset } = await modelRegion();
    bytes[offset + 100] = (bytes[offset + 100] ?? 0) ^ 0x01;
    expect(await rejection(bytes)).toBe('DIGEST_MISMATCH');
  });

  it('bytes appended to the bundle → TRAILING_BYTES', async () => {
    const bytes = await validBytes();
    expect(await rejection(Uint8Array.from([...bytes, 0x4d, 0x5a]))).toBe('TRAILING_BYTES');
  });

  it('bytes appended to the model (index adjusted to match) → SIZE_MISMATCH', async () => {
    const { parsed } = await modelRegion();
    const index = parsed.header.index.map((e) => ({
      path: e.path,
      size: e.path === 'model.onnx' ? e.size + 4 : e.size,
    }));
    const modelEnd =
      (parsed.header.index.find((e) => e.path === 'model.onnx')?.offset ?? 0) -
      parsed.header.dataOffset +
      4096;
    const data = Uint8Array.from([
      ...parsed.data.subarray(0, modelEnd),
      1,
      2,
      3,
      4,
      ...parsed.data.subarray(modelEnd),
    ]);
    expect(await rejection(assemble(parsed.header.cose, index, data))).toBe('SIZE_MISMATCH');
  });

  it('an unlisted file → UNLISTED_FILE', async () => {
    const { parsed } = await modelRegion();
    const extra = new TextEncoder().encode('#!/bin/sh\nrm -rf /\n');
    const bytes = assemble(
      parsed.header.cose,
      [...parsed.header.index, { path: 'postinstall.sh', size: extra.length }],
      Uint8Array.from([...parsed.data, ...extra]),
    );
    expect(await rejection(bytes)).toBe('UNLISTED_FILE');
  });

  it('a missing file → MISSING_FILE', async () => {
    const { parsed } = await modelRegion();
    const last = parsed.header.index[parsed.header.index.length - 1];
    if (last === undefined) throw new Error('empty index');
    const bytes = assemble(
      parsed.header.cose,
      parsed.header.index.slice(0, -1),
      parsed.data.subarray(0, parsed.data.length - last.size),
    );
    expect(await rejection(bytes)).toBe('MISSING_FILE');
  });

  it.each(['../model.onnx', '../../etc/cron.d/x', '/etc/passwd', 'models\\model.onnx'])(
    'the path %s in the container → BAD_PATH',
    async (bad) => {
      const { parsed } = await modelRegion();
      const index = parsed.header.index.map((e) =>
        e.path === 'model.onnx' ? { path: bad, size: e.size } : e,
      );
      expect(await rejection(assemble(parsed.header.cose, index, parsed.data))).toBe('BAD_PATH');
    },
  );

  it('a `../` path in a correctly signed manifest → BAD_PATH', async () => {
    const { parsed } = await modelRegion();
    const m = plainManifest();
    m.files = [...(m.files as object[]), { path: '../../usr/lib/libc.so', size: 1, sha256: '00'.repeat(32) }];
    expect(await rejection(signedPayload(parsed, encodeCbor(toCbor(m))))).toBe('BAD_PATH');
  });

  it('not a bundle → BAD_CONTAINER; over the size cap → TOO_LARGE', async () => {
    expect(await rejection(new TextEncoder().encode('{"model": "trust me"}'))).toBe('BAD_CONTAINER');
    expect(
      await rejection(await validBytes(), {
        limits: { maxBundleBytes: 1000, maxHeaderBytes: 1 << 20, maxFiles: 64 },
      }),
    ).toBe('TOO_LARGE');
  });

  it('a file swapped between verification and activation → DIGEST_MISMATCH', async () => {
    const b = await makeBundle();
    const slot = path.join(b.dir, 'slot');
    const verified = await withFileSource(b.path, async (source) => {
      const v = await verifyBundle(source, verifyOptions(trust.store));
      await extractVerifiedBundle(source, v, slot);
      return v;
    });
    const model = path.join(slot, 'model.onnx');
    const swapped = new Uint8Array(fs.readFileSync(model));
    swapped[0] = (swapped[0] ?? 0) ^ 0xff;
    fs.chmodSync(model, 0o644);
    fs.writeFileSync(model, swapped);
    const entry = verified.manifest.files.find((f) => f.path === 'model.onnx');
    if (entry === undefined) throw new Error('no model entry');
    await expect(recheckStagedBundle(slot, verified.manifest)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
    await expect(readStagedFile(slot, entry)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});

describe('adversarial trust rotation', () => {
  const root3 = testKey('root-3', 'root');
  const rotated = nextTrustDocument(trust.document, {
    issuedAtMs: T0,
    removeKids: [KEYS.root2.kid],
    addKeys: [trustKey(root3)],
    rootThreshold: 1,
  });

  function rotationCode(signers: readonly SecretKey[], doc = rotated): string {
    try {
      trust.store.acceptUpdate(
        signTrustDocument(
          doc,
          signers.map((k) => signerFor(k)),
        ),
      );
      return 'ACCEPTED';
    } catch (err) {
      if (err instanceof TrustError) return err.code;
      throw err;
    }
  }

  it('N+1 signed by the root thresholds of N and N+1 is accepted', () => {
    expect(rotationCode([KEYS.root2, root3])).toBe('ACCEPTED');
  });

  it('missing the old root threshold → ROTATION_OLD_THRESHOLD', () => {
    expect(rotationCode([root3])).toBe('ROTATION_OLD_THRESHOLD');
  });

  it('missing the new root threshold → ROTATION_NEW_THRESHOLD', () => {
    expect(rotationCode([KEYS.root2])).toBe('ROTATION_NEW_THRESHOLD');
  });

  it('a version that skips one → VERSION_NOT_NEXT; an old version → TRUST_ROLLBACK', () => {
    const skipped = nextTrustDocument(rotated, { issuedAtMs: T0 });
    expect(rotationCode([KEYS.root1, KEYS.root2, root3], skipped)).toBe('VERSION_NOT_NEXT');
    expect(rotationCode([KEYS.root1], trust.document)).toBe('TRUST_ROLLBACK');
  });

  it('one root key signing twice does not make a threshold of two → DUPLICATE_SIGNER', () => {
    const two = nextTrustDocument(trust.document, { issuedAtMs: T0, rootThreshold: 2 });
    expect(rotationCode([KEYS.root1, KEYS.root1], two)).toBe('DUPLICATE_SIGNER');
    expect(rotationCode([KEYS.root1, KEYS.root2], two)).toBe('ACCEPTED');
  });
});
