import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CborTagged,
  CoseError,
  bytesToHex,
  decodeSign,
  decodeSign1,
  ed25519Signer,
  encodeCbor,
  hexToBytes,
  nodeEd25519,
  sigStructure,
  signBody,
  signSign1,
  signSigner,
  encodeSign,
  verifySign,
  verifySign1,
  type CborKey,
  type CborValue,
} from '../../../../models/format/index.ts';
import { KEYS, makeBundle, parseBundle } from '../../../fixtures/bundles/kit.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '../../../fixtures/cose');
const ed = nodeEd25519();

interface Eddsa01 {
  input: { plaintext: string; sign: { signers: { key: { kid: string; x_hex: string; d_hex: string } }[] } };
  intermediates: { signers: { ToBeSign_hex: string }[] };
  output: { cbor: string };
}
const vector = JSON.parse(fs.readFileSync(path.join(fixtures, 'eddsa-01.json'), 'utf8')) as Eddsa01;
const vectorKey = vector.input.sign.signers[0]?.key;
if (vectorKey === undefined) throw new Error('fixture has no signer');

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ACCEPTED';
  } catch (err) {
    if (err instanceof CoseError) return err.code;
    throw err;
  }
}

/** A COSE_Sign1 with hand-chosen headers, correctly signed by seed. */
function rawSign1(
  prot: Map<CborKey, CborValue>,
  unprot: Map<CborKey, CborValue>,
  seed = KEYS.release.seed,
): Uint8Array {
  const protBytes = prot.size === 0 ? new Uint8Array(0) : encodeCbor(prot);
  const payload = new TextEncoder().encode('hello');
  const sig = ed.sign(seed, sigStructure('Signature1', protBytes, null, new Uint8Array(0), payload));
  return encodeCbor(new CborTagged(18, [protBytes, unprot, payload, sig]));
}

const kidBytes = (kid: string): Uint8Array => new TextEncoder().encode(kid);
const resolveRelease = (kid: string): { publicKey: Uint8Array } | undefined =>
  kid === KEYS.release.kid ? { publicKey: KEYS.release.publicKey } : undefined;

function oracle(
  requests: unknown[],
): { ok?: boolean; payload?: string; cose?: string; kids?: string[]; error?: string }[] {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(fixtures, 'cose-ts-oracle.ts')], {
    input: JSON.stringify(requests),
    encoding: 'utf8',
  });
  return JSON.parse(out) as {
    ok?: boolean;
    payload?: string;
    cose?: string;
    kids?: string[];
    error?: string;
  }[];
}

describe('cose-wg/Examples eddsa-01 (RFC 9052 COSE_Sign, Ed25519)', () => {
  const bytes = hexToBytes(vector.output.cbor);
  const resolveKey = (kid: string): { publicKey: Uint8Array } | undefined =>
    kid === vectorKey.kid ? { publicKey: hexToBytes(vectorKey.x_hex) } : undefined;

  it('builds the published Sig_structure from the received bytes', () => {
    const msg = decodeSign(bytes, { allowUnprotectedKid: true });
    const signer = msg.signatures[0];
    if (signer === undefined) throw new Error('no signer');
    const tbs = sigStructure(
      'Signature',
      msg.bodyProtectedBytes,
      signer.protectedBytes,
      new Uint8Array(0),
      msg.payload,
    );
    expect(bytesToHex(tbs).toUpperCase()).toBe(vector.intermediates.signers[0]?.ToBeSign_hex);
  });

  it('verifies, and yields the plaintext', () => {
    const msg = verifySign(bytes, { allowUnprotectedKid: true, resolveKey });
    expect(new TextDecoder().decode(msg.payload)).toBe(vector.input.plaintext);
    expect(msg.signatures[0]?.kid).toBe('11');
  });

  it('the public key is the one derived from the private key in the vector', () => {
    expect(bytesToHex(ed.publicKeyFromSeed(hexToBytes(vectorKey.d_hex)))).toBe(vectorKey.x_hex);
  });

  it('reproduces the published signature (Ed25519 is deterministic)', () => {
    const msg = decodeSign(bytes, { allowUnprotectedKid: true });
    const signer = msg.signatures[0];
    if (signer === undefined) throw new Error('no signer');
    const tbs = sigStructure(
      'Signature',
      msg.bodyProtectedBytes,
      signer.protectedBytes,
      new Uint8Array(0),
      msg.payload,
    );
    expect(bytesToHex(ed.sign(hexToBytes(vectorKey.d_hex), tbs))).toBe(bytesToHex(signer.signature));
  });

  it("is refused under Vigil's strict profile, which wants kid protected", () => {
    expect(codeOf(() => verifySign(bytes, { resolveKey }))).toBe('UNPROTECTED_HEADER');
  });

  it('fails with one flipped signature bit', () => {
    const bad = Uint8Array.from(bytes);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
    expect(codeOf(() => verifySign(bad, { allowUnprotectedKid: true, resolveKey }))).toBe('BAD_SIGNATURE');
  });
});

describe('COSE_Sign1', () => {
  const payload = new TextEncoder().encode('promote fall-detector@1.2.0');
  const signed = signSign1({
    payload,
    contentType: 'application/vnd.vigil.command+cbor',
    signer: ed25519Signer(KEYS.release.kid, KEYS.release.seed),
  });

  it('round-trips with alg, kid and content type protected', () => {
    const v = verifySign1(signed, {
      resolveKey: resolveRelease,
      contentType: 'application/vnd.vigil.command+cbor',
    });
    expect(v.kid).toBe(KEYS.release.kid);
    expect(v.payload).toEqual(payload);
  });

  it('binds external AAD', () => {
    const withAad = signSign1({
      payload,
      contentType: 'x',
      signer: ed25519Signer(KEYS.release.kid, KEYS.release.seed),
      externalAad: kidBytes('dev-1'),
    });
    expect(verifySign1(withAad, { resolveKey: resolveRelease, externalAad: kidBytes('dev-1') }).kid).toBe(
      KEYS.release.kid,
    );
    expect(
      codeOf(() => verifySign1(withAad, { resolveKey: resolveRelease, externalAad: kidBytes('dev-2') })),
    ).toBe('BAD_SIGNATURE');
  });

  it('refuses the wrong content type, unknown keys and altered bytes', () => {
    expect(codeOf(() => verifySign1(signed, { resolveKey: resolveRelease, contentType: 'other' }))).toBe(
      'WRONG_CONTENT_TYPE',
    );
    expect(codeOf(() => verifySign1(signed, { resolveKey: () => undefined }))).toBe('UNKNOWN_KEY');
    const altered = Uint8Array.from(signed);
    const at = bytesToHex(altered).indexOf(bytesToHex(payload)) / 2;
    altered[at] = (altered[at] ?? 0) ^ 0x20;
    expect(codeOf(() => verifySign1(altered, { resolveKey: resolveRelease }))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verifySign1(signed, { resolveKey: () => ({ publicKey: KEYS.qa.publicKey }) }))).toBe(
      'BAD_SIGNATURE',
    );
  });

  it('applies the header rules', () => {
    const kid = kidBytes(KEYS.release.kid);
    const ok = (extra: [CborKey, CborValue][] = []): Map<CborKey, CborValue> =>
      new Map<CborKey, CborValue>([[1, -8], [4, kid], ...extra]);
    expect(codeOf(() => verifySign1(rawSign1(ok(), new Map()), { resolveKey: resolveRelease }))).toBe(
      'ACCEPTED',
    );
    expect(
      codeOf(() =>
        verifySign1(
          rawSign1(
            new Map<CborKey, CborValue>([
              [1, -19],
              [4, kid],
            ]),
            new Map(),
          ),
          { resolveKey: resolveRelease },
        ),
      ),
    ).toBe('ACCEPTED');
    expect(
      codeOf(() =>
        verifySign1(
          rawSign1(
            new Map<CborKey, CborValue>([
              [1, -7],
              [4, kid],
            ]),
            new Map(),
          ),
          { resolveKey: resolveRelease },
        ),
      ),
    ).toBe('DISALLOWED_ALG');
    expect(
      codeOf(() =>
        verifySign1(rawSign1(new Map<CborKey, CborValue>([[4, kid]]), new Map()), {
          resolveKey: resolveRelease,
        }),
      ),
    ).toBe('BAD_HEADER');
    expect(
      codeOf(() =>
        verifySign1(rawSign1(ok(), new Map<CborKey, CborValue>([[1, -8]])), { resolveKey: resolveRelease }),
      ),
    ).toBe('BAD_HEADER');
    expect(
      codeOf(() =>
        verifySign1(rawSign1(ok(), new Map<CborKey, CborValue>([['vigil-role', 'release']])), {
          resolveKey: resolveRelease,
        }),
      ),
    ).toBe('UNPROTECTED_HEADER');
    expect(
      codeOf(() =>
        verifySign1(
          rawSign1(
            ok([
              [2, ['x-unknown']],
              ['x-unknown', 1],
            ]),
            new Map(),
          ),
          { resolveKey: resolveRelease },
        ),
      ),
    ).toBe('BAD_HEADER');
    expect(
      codeOf(() => verifySign1(rawSign1(ok([[2, ['x-absent']]]), new Map()), { resolveKey: resolveRelease })),
    ).toBe('BAD_HEADER');
    expect(
      codeOf(() =>
        verifySign1(
          rawSign1(
            ok([
              [2, ['x-known']],
              ['x-known', 1],
            ]),
            new Map(),
          ),
          { resolveKey: resolveRelease, understoodCritical: new Set(['x-known']) },
        ),
      ),
    ).toBe('ACCEPTED');
  });

  it('refuses untagged, wrongly tagged and detached messages', () => {
    const inner = [new Uint8Array(0), new Map(), new Uint8Array(1), new Uint8Array(64)] as CborValue[];
    expect(codeOf(() => verifySign1(encodeCbor(inner), { resolveKey: resolveRelease }))).toBe(
      'NOT_COSE_SIGN1',
    );
    expect(
      codeOf(() =>
        verifySign1(
          encodeCbor(new CborTagged(18, [new Uint8Array(0), new Map(), null, new Uint8Array(64)])),
          { resolveKey: resolveRelease },
        ),
      ),
    ).toBe('NOT_COSE_SIGN1');
    expect(
      codeOf(() =>
        verifySign1(encodeCbor(new CborTagged(18, [new Uint8Array(0), new Map(), new Uint8Array(1)])), {
          resolveKey: resolveRelease,
        }),
      ),
    ).toBe('NOT_COSE_SIGN1');
  });
});

describe('COSE_Sign', () => {
  const payload = new TextEncoder().encode('payload');
  const body = signBody(payload, 'application/test');

  it('refuses a message without signatures, unless asked for a draft', () => {
    const unsigned = encodeSign(body, []);
    expect(codeOf(() => decodeSign(unsigned))).toBe('UNSIGNED');
    expect(decodeSign(unsigned, { allowUnsigned: true }).signatures).toHaveLength(0);
  });

  it('refuses alg or kid in the body header, and COSE_Sign1 in place of COSE_Sign', () => {
    const withAlg = encodeCbor(new CborTagged(98, [encodeCbor(new Map([[1, -8]])), new Map(), payload, []]));
    expect(codeOf(() => decodeSign(withAlg, { allowUnsigned: true }))).toBe('BAD_HEADER');
    const sign1 = signSign1({ payload, contentType: 'x', signer: ed25519Signer('k', KEYS.qa.seed) });
    expect(codeOf(() => decodeSign(sign1))).toBe('NOT_COSE_SIGN');
  });

  it('verifies every signer with its own key', () => {
    const signers = [KEYS.qa, KEYS.clinical].map((k) => signSigner(body, ed25519Signer(k.kid, k.seed)));
    const keys = new Map([KEYS.qa, KEYS.clinical].map((k) => [k.kid, { publicKey: k.publicKey }]));
    const msg = verifySign(encodeSign(body, signers), {
      resolveKey: (kid) => keys.get(kid),
      contentType: 'application/test',
    });
    expect(msg.signatures.map((s) => s.kid)).toEqual([KEYS.qa.kid, KEYS.clinical.kid]);
  });
});

describe('interoperability with @ldclabs/cose-ts (independent CBOR and Ed25519)', () => {
  it('cose-ts verifies our COSE_Sign1, we verify its COSE_Sign1, and cose-ts checks every approval of our bundle', async () => {
    const payload = new TextEncoder().encode('report #17');
    const ours = signSign1({
      payload,
      contentType: 'application/vnd.vigil.report+cbor',
      signer: ed25519Signer(KEYS.device.kid, KEYS.device.seed),
    });
    const bundle = await makeBundle();
    const { header, cose } = await parseBundle(fs.readFileSync(bundle.path));
    const keys = Object.fromEntries(Object.values(KEYS).map((k) => [k.kid, bytesToHex(k.publicKey)]));
    const [v1, s1, vs, bad] = oracle([
      { op: 'verify-sign1', cose: bytesToHex(ours), publicKey: bytesToHex(KEYS.device.publicKey) },
      {
        op: 'sign-sign1',
        seed: bytesToHex(KEYS.field.seed),
        kid: KEYS.field.kid,
        payload: bytesToHex(payload),
      },
      { op: 'verify-sign', cose: bytesToHex(header.cose), keys },
      { op: 'verify-sign1', cose: bytesToHex(ours), publicKey: bytesToHex(KEYS.qa.publicKey) },
    ]);
    expect(v1).toEqual({ ok: true, payload: bytesToHex(payload) });
    expect(bad?.ok).toBe(false);
    const theirs = hexToBytes(s1?.cose ?? '');
    const v2 = verifySign1(theirs, {
      resolveKey: (kid) => (kid === KEYS.field.kid ? { publicKey: KEYS.field.publicKey } : undefined),
    });
    expect(v2.payload).toEqual(payload);
    // Ed25519 is deterministic and both sides build the same Sig_structure: our signature is theirs.
    const decoded = decodeSign1(theirs);
    const tbs = sigStructure('Signature1', decoded.protectedBytes, null, new Uint8Array(0), decoded.payload);
    expect(bytesToHex(ed.sign(KEYS.field.seed, tbs))).toBe(bytesToHex(decoded.signature));
    expect(vs?.ok).toBe(true);
    expect(vs?.kids).toEqual(cose.signatures.map((s) => s.kid));
    expect(vs?.payload).toBe(bytesToHex(cose.payload));
  }, 30_000);
});
