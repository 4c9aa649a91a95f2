// COSE_Sign (tag 98) and COSE_Sign1 (tag 18) with EdDSA/Ed25519 (RFC 9052 §4, RFC 9053 §2.2).
// What is signed is the Sig_structure (RFC 9052 §4.4), always built from the protected-header and
// payload byte strings exactly as received, never from re-encoded values.
//
// Vigil's profile (stricter than RFC 9052, documented in docs/bundle-format.md):
//   - messages are tagged; payloads are attached (never nil/detached);
//   - alg and kid are in the protected header of each signer; unprotected headers are empty
//     (a caller may relax this for kid only, for interoperability with public test vectors);
//   - labels are unique across a signer's protected and unprotected headers (RFC 9052 §3);
//   - `crit` (label 2) lists only labels present in the protected header that the caller understands.
import { decodeCbor } from './cbor/decode.ts';
import { encodeCbor } from './cbor/encode.ts';
import {
  CborTagged,
  isBytes,
  isCborArray,
  isCborMap,
  type CborKey,
  type CborMap,
  type CborValue,
} from './cbor/value.ts';
import { defaultEd25519, type Ed25519 } from './ed25519.ts';
import { CoseError, asCoseError, type CoseErrorCode } from './errors.ts';

export const TAG_COSE_SIGN = 98;
export const TAG_COSE_SIGN1 = 18;
// Either tag decodes, so that one message passed where the other is expected gets a precise error.
const COSE_TAGS: ReadonlySet<number> = new Set([TAG_COSE_SIGN, TAG_COSE_SIGN1]);

/** Header labels (RFC 9052 §3.1, Table 2). */
export const HEADER = Object.freeze({ alg: 1, crit: 2, contentType: 3, kid: 4 });

/** EdDSA (RFC 9053 §2.2), the algorithm Vigil signs with. */
export const ALG_EDDSA = -8;
/** Ed25519 as a fully specified algorithm (IANA COSE registry); accepted on verification. */
export const ALG_ED25519 = -19;
export const ACCEPTED_ALGS: ReadonlySet<number> = new Set([ALG_EDDSA, ALG_ED25519]);

export type HeaderMap = CborMap;

export const DEFAULT_COSE_LIMITS = Object.freeze({ maxBytes: 1024 * 1024, maxDepth: 16 });

export interface CoseDecodeOptions {
  readonly maxBytes?: number;
  /** Text or integer labels the caller processes; any other label in `crit` is rejected. */
  readonly understoodCritical?: ReadonlySet<CborKey>;
  /** Allow kid in an unprotected header (public vectors do this); off for Vigil artefacts. */
  readonly allowUnprotectedKid?: boolean;
  /** Return a COSE_Sign without signatures (a draft being approved) instead of failing UNSIGNED. */
  readonly allowUnsigned?: boolean;
}

/** Something that can sign with a key it names by `kid` (a key file, or later an HSM). */
export interface Signer {
  readonly kid: string;
  sign(message: Uint8Array): Uint8Array;
}

export function ed25519Signer(kid: string, seed: Uint8Array, ed25519: Ed25519 = defaultEd25519()): Signer {
  const key = Uint8Array.from(seed);
  return { kid, sign: (message) => ed25519.sign(key, message) };
}

/** One COSE_Signature (or the single signer of a COSE_Sign1) as decoded. */
export interface DecodedSigner {
  /** The protected header bstr exactly as received. */
  readonly protectedBytes: Uint8Array;
  readonly protected: HeaderMap;
  readonly unprotected: HeaderMap;
  readonly alg: number;
  readonly kid: string;
  readonly signature: Uint8Array;
}

export interface DecodedSign {
  readonly bodyProtectedBytes: Uint8Array;
  readonly bodyProtected: HeaderMap;
  readonly bodyUnprotected: HeaderMap;
  readonly contentType: string | number | null;
  /** The payload bstr exactly as received. */
  readonly payload: Uint8Array;
  readonly signatures: readonly DecodedSigner[];
}

export interface DecodedSign1 extends DecodedSigner {
  readonly contentType: string | number | null;
  readonly payload: Uint8Array;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const EMPTY: HeaderMap = new Map();

function fail(code: CoseErrorCode, message: string): never {
  throw new CoseError(code, message);
}

function decodeProtected(bytes: Uint8Array, where: string, maxBytes: number): HeaderMap {
  if (bytes.length === 0) return EMPTY;
  const value = asCoseError(() => decodeCbor(bytes, { maxBytes, maxDepth: DEFAULT_COSE_LIMITS.maxDepth }));
  if (!isCborMap(value)) fail('BAD_HEADER', `${where} protected header is not a map`);
  return value;
}

function headerMap(value: CborValue | undefined, where: string): HeaderMap {
  if (!isCborMap(value)) fail('BAD_HEADER', `${where} unprotected header is not a map`);
  return value;
}

function checkHeaders(prot: HeaderMap, unprot: HeaderMap, where: string, options: CoseDecodeOptions): void {
  for (const label of unprot.keys()) {
    if (prot.has(label)) fail('BAD_HEADER', `${where} has label ${String(label)} in both headers`);
    if (!(label === HEADER.kid && options.allowUnprotectedKid === true)) {
      fail(
        'UNPROTECTED_HEADER',
        `${where} has parameter ${String(label)} in its unprotected header, which nobody signed`,
      );
    }
  }
  const crit = prot.get(HEADER.crit);
  if (crit !== undefined) {
    if (!isCborArray(crit) || crit.length === 0) fail('BAD_HEADER', `${where} crit is not a non-empty array`);
    for (const label of crit) {
      if (typeof label !== 'string' && typeof label !== 'number') {
        fail('BAD_HEADER', `${where} crit lists a label that is not an integer or text`);
      }
      if (!prot.has(label)) fail('BAD_HEADER', `${where} crit lists ${String(label)}, which is not present`);
      if (!(options.understoodCritical?.has(label) ?? false)) {
        fail(
          'BAD_HEADER',
          `${where} marks ${String(label)} critical, which this verifier does not understand`,
        );
      }
    }
  }
}

function contentTypeOf(prot: HeaderMap, where: string): string | number | null {
  const ct = prot.get(HEADER.contentType);
  if (ct === undefined) return null;
  if (typeof ct === 'string' || (typeof ct === 'number' && Number.isInteger(ct) && ct >= 0)) return ct;
  return fail('BAD_HEADER', `${where} content type is neither text nor an unsigned integer`);
}

function signerParams(prot: HeaderMap, unprot: HeaderMap, where: string): { alg: number; kid: string } {
  const alg = prot.get(HEADER.alg);
  if (alg === undefined) fail('BAD_HEADER', `${where} has no algorithm in its protected header`);
  if (typeof alg !== 'number' || !ACCEPTED_ALGS.has(alg)) {
    fail(
      'DISALLOWED_ALG',
      `${where} uses algorithm ${typeof alg === 'number' || typeof alg === 'string' ? alg : 'of a non-scalar type'}; only EdDSA (-8) and Ed25519 (-19) are accepted`,
    );
  }
  const kid = prot.get(HEADER.kid) ?? unprot.get(HEADER.kid);
  if (!isBytes(kid) || kid.length === 0 || kid.length > 256) {
    fail('BAD_HEADER', `${where} has no key id (kid, a byte string of 1–256 bytes)`);
  }
  let text: string;
  try {
    text = utf8Strict.decode(kid);
  } catch {
    return fail('BAD_HEADER', `${where} key id is not UTF-8 text`);
  }
  return { alg, kid: text };
}

function decodeSigner(
  value: CborValue | undefined,
  where: string,
  options: CoseDecodeOptions,
  maxBytes: number,
  notCode: 'NOT_COSE_SIGN' | 'NOT_COSE_SIGN1',
): DecodedSigner & { payload?: Uint8Array } {
  if (!isCborArray(value) || value.length !== 3)
    fail(notCode, `${where} is not a [protected, unprotected, signature] array`);
  const [protBytes, unprotValue, signature] = value;
  if (!isBytes(protBytes)) fail(notCode, `${where} protected header is not a byte string`);
  if (!isBytes(signature)) fail(notCode, `${where} signature is not a byte string`);
  const prot = decodeProtected(protBytes, where, maxBytes);
  const unprot = headerMap(unprotValue, where);
  checkHeaders(prot, unprot, where, options);
  const { alg, kid } = signerParams(prot, unprot, where);
  return { protectedBytes: protBytes, protected: prot, unprotected: unprot, alg, kid, signature };
}

function untag(
  bytes: Uint8Array,
  tag: number,
  code: 'NOT_COSE_SIGN' | 'NOT_COSE_SIGN1',
  maxBytes: number,
): readonly CborValue[] {
  const value = asCoseError(() =>
    decodeCbor(bytes, { maxBytes, maxDepth: DEFAULT_COSE_LIMITS.maxDepth, allowedTags: COSE_TAGS }),
  );
  const name = code === 'NOT_COSE_SIGN' ? 'COSE_Sign (tag 98)' : 'COSE_Sign1 (tag 18)';
  if (!(value instanceof CborTagged) || value.tag !== tag) fail(code, `not a tagged ${name}`);
  if (!isCborArray(value.value) || value.value.length !== 4)
    fail(code, `${name} is not a four-element array`);
  return value.value;
}

/** Decodes a COSE_Sign_Tagged without verifying anything but its shape and header rules. */
export function decodeSign(bytes: Uint8Array, options: CoseDecodeOptions = {}): DecodedSign {
  const maxBytes = options.maxBytes ?? DEFAULT_COSE_LIMITS.maxBytes;
  const [bodyProtBytes, bodyUnprot, payload, signatures] = untag(
    bytes,
    TAG_COSE_SIGN,
    'NOT_COSE_SIGN',
    maxBytes,
  );
  if (!isBytes(bodyProtBytes)) fail('NOT_COSE_SIGN', 'the body protected header is not a byte string');
  if (!isBytes(payload)) fail('NOT_COSE_SIGN', 'the payload is not an attached byte string');
  if (!isCborArray(signatures)) fail('NOT_COSE_SIGN', 'the signatures field is not an array');
  const bodyProtected = decodeProtected(bodyProtBytes, 'the body', maxBytes);
  const bodyUnprotected = headerMap(bodyUnprot, 'the body');
  checkHeaders(bodyProtected, bodyUnprotected, 'the body', options);
  if (bodyProtected.has(HEADER.alg) || bodyProtected.has(HEADER.kid)) {
    fail('BAD_HEADER', 'the body header carries alg or kid; in COSE_Sign they belong to each signer');
  }
  const contentType = contentTypeOf(bodyProtected, 'the body');
  if (signatures.length === 0 && options.allowUnsigned !== true)
    fail('UNSIGNED', 'the message carries no signatures at all');
  const signers = signatures.map((s, i) =>
    decodeSigner(s, `signature ${i + 1}`, options, maxBytes, 'NOT_COSE_SIGN'),
  );
  return {
    bodyProtectedBytes: bodyProtBytes,
    bodyProtected,
    bodyUnprotected,
    contentType,
    payload,
    signatures: signers,
  };
}

/** Decodes a COSE_Sign1_Tagged without verifying anything but its shape and header rules. */
export function decodeSign1(bytes: Uint8Array, options: CoseDecodeOptions = {}): DecodedSign1 {
  const maxBytes = options.maxBytes ?? DEFAULT_COSE_LIMITS.maxBytes;
  const [protBytes, unprot, payload, signature] = untag(bytes, TAG_COSE_SIGN1, 'NOT_COSE_SIGN1', maxBytes);
  if (!isBytes(payload)) fail('NOT_COSE_SIGN1', 'the payload is not an attached byte string');
  const signer = decodeSigner(
    [protBytes ?? null, unprot ?? null, signature ?? null],
    'the COSE_Sign1',
    options,
    maxBytes,
    'NOT_COSE_SIGN1',
  );
  return { ...signer, contentType: contentTypeOf(signer.protected, 'the COSE_Sign1'), payload };
}

/**
 * The RFC 9052 §4.4 Sig_structure: ["Signature", body_protected, sign_protected, external_aad, payload]
 * for a COSE_Signature, ["Signature1", body_protected, external_aad, payload] for COSE_Sign1.
 */
export function sigStructure(
  context: 'Signature' | 'Signature1',
  bodyProtected: Uint8Array,
  signProtected: Uint8Array | null,
  externalAad: Uint8Array,
  payload: Uint8Array,
): Uint8Array {
  const items: CborValue[] =
    context === 'Signature'
      ? [context, bodyProtected, signProtected ?? new Uint8Array(0), externalAad, payload]
      : [context, bodyProtected, externalAad, payload];
  return encodeCbor(items);
}

const NO_AAD = new Uint8Array(0);

/** Verifies one COSE_Signature of a decoded COSE_Sign with a public key the caller trusts. */
export function verifySignerOfSign(
  message: DecodedSign,
  signer: DecodedSigner,
  publicKey: Uint8Array,
  options: { readonly externalAad?: Uint8Array; readonly ed25519?: Ed25519 } = {},
): boolean {
  const tbs = sigStructure(
    'Signature',
    message.bodyProtectedBytes,
    signer.protectedBytes,
    options.externalAad ?? NO_AAD,
    message.payload,
  );
  return (options.ed25519 ?? defaultEd25519()).verify(publicKey, tbs, signer.signature);
}

function encodeProtected(header: HeaderMap): Uint8Array {
  return header.size === 0 ? new Uint8Array(0) : encodeCbor(header);
}

function withParams(extra: HeaderMap | undefined, params: [CborKey, CborValue][]): Map<CborKey, CborValue> {
  const map = new Map<CborKey, CborValue>(params);
  for (const [label, value] of extra ?? EMPTY) {
    if (map.has(label))
      throw new CoseError('BAD_HEADER', `header label ${String(label)} is set by the signer itself`);
    map.set(label, value);
  }
  return map;
}

/** The protected header of a Vigil signer: alg EdDSA, kid, and the caller's extra parameters. */
export function signerProtectedHeader(kid: string, extra?: HeaderMap): Uint8Array {
  return encodeProtected(
    withParams(extra, [
      [HEADER.alg, ALG_EDDSA],
      [HEADER.kid, utf8.encode(kid)],
    ]),
  );
}

export interface SignBody {
  readonly bodyProtectedBytes: Uint8Array;
  readonly payload: Uint8Array;
}

/** The body of a new COSE_Sign: a protected header with the content type and the payload. */
export function signBody(payload: Uint8Array, contentType: string, extra?: HeaderMap): SignBody {
  return {
    bodyProtectedBytes: encodeProtected(withParams(extra, [[HEADER.contentType, contentType]])),
    payload,
  };
}

export interface EncodedSigner {
  readonly protectedBytes: Uint8Array;
  readonly signature: Uint8Array;
}

/** Signs a COSE_Signature over `body` (the Sig_structure uses the body bytes as given). */
export function signSigner(
  body: SignBody,
  signer: Signer,
  extra?: HeaderMap,
  externalAad: Uint8Array = NO_AAD,
): EncodedSigner {
  const protectedBytes = signerProtectedHeader(signer.kid, extra);
  const tbs = sigStructure('Signature', body.bodyProtectedBytes, protectedBytes, externalAad, body.payload);
  return { protectedBytes, signature: signer.sign(tbs) };
}

/** Encodes a COSE_Sign_Tagged from received or freshly made parts (no part is re-encoded). */
export function encodeSign(body: SignBody, signers: readonly EncodedSigner[]): Uint8Array {
  return encodeCbor(
    new CborTagged(TAG_COSE_SIGN, [
      body.bodyProtectedBytes,
      EMPTY,
      body.payload,
      signers.map((s) => [s.protectedBytes, EMPTY, s.signature]),
    ]),
  );
}

export interface Sign1Input {
  readonly payload: Uint8Array;
  /** Media type of the payload, e.g. `application/vnd.vigil.command+cbor`. */
  readonly contentType: string;
  readonly signer: Signer;
  /** Extra protected parameters (never alg, kid or content type). */
  readonly protectedHeader?: HeaderMap;
  readonly externalAad?: Uint8Array;
}

/** Signs `payload` as a COSE_Sign1_Tagged (alg EdDSA, kid and content type protected). */
export function signSign1(input: Sign1Input): Uint8Array {
  const header = withParams(input.protectedHeader, [
    [HEADER.alg, ALG_EDDSA],
    [HEADER.contentType, input.contentType],
    [HEADER.kid, utf8.encode(input.signer.kid)],
  ]);
  const protectedBytes = encodeProtected(header);
  const tbs = sigStructure('Signature1', protectedBytes, null, input.externalAad ?? NO_AAD, input.payload);
  const signature = input.signer.sign(tbs);
  return encodeCbor(new CborTagged(TAG_COSE_SIGN1, [protectedBytes, EMPTY, input.payload, signature]));
}

/** A public key the caller trusts for a kid; the algorithm comes from here, never from the message. */
export interface ResolvedKey {
  readonly publicKey: Uint8Array;
}

export type KeyResolver = (kid: string) => ResolvedKey | undefined;

export interface VerifySign1Options extends CoseDecodeOptions {
  readonly resolveKey: KeyResolver;
  /** When given, the message's content type must equal it. */
  readonly contentType?: string;
  readonly externalAad?: Uint8Array;
  readonly ed25519?: Ed25519;
}

export interface VerifiedSign1 {
  readonly kid: string;
  readonly payload: Uint8Array;
  readonly protected: HeaderMap;
  readonly contentType: string | number | null;
}

/**
 * Verifies a COSE_Sign1_Tagged: shape and header rules, content type, key lookup, then the signature
 * over the Sig_structure built from the received bytes. Throws CoseError; returns only on success.
 */
export function verifySign1(bytes: Uint8Array, options: VerifySign1Options): VerifiedSign1 {
  const message = decodeSign1(bytes, options);
  if (options.contentType !== undefined && message.contentType !== options.contentType) {
    fail(
      'WRONG_CONTENT_TYPE',
      `expected content type ${options.contentType}, got ${String(message.contentType)}`,
    );
  }
  const key = options.resolveKey(message.kid);
  if (key === undefined) fail('UNKNOWN_KEY', `key ${JSON.stringify(message.kid)} is not trusted here`);
  const tbs = sigStructure(
    'Signature1',
    message.protectedBytes,
    null,
    options.externalAad ?? NO_AAD,
    message.payload,
  );
  if (!(options.ed25519 ?? defaultEd25519()).verify(key.publicKey, tbs, message.signature)) {
    fail('BAD_SIGNATURE', `the signature by ${JSON.stringify(message.kid)} does not verify`);
  }
  return {
    kid: message.kid,
    payload: message.payload,
    protected: message.protected,
    contentType: message.contentType,
  };
}

export interface VerifySignOptions extends CoseDecodeOptions {
  readonly resolveKey: KeyResolver;
  readonly contentType?: string;
  readonly externalAad?: Uint8Array;
  readonly ed25519?: Ed25519;
}

/**
 * Verifies every COSE_Signature of a COSE_Sign_Tagged (each must name a known key and verify).
 * Thresholds and roles are the caller's business (see runtime/trust and runtime/verify).
 */
export function verifySign(bytes: Uint8Array, options: VerifySignOptions): DecodedSign {
  const message = decodeSign(bytes, options);
  if (options.contentType !== undefined && message.contentType !== options.contentType) {
    fail(
      'WRONG_CONTENT_TYPE',
      `expected content type ${options.contentType}, got ${String(message.contentType)}`,
    );
  }
  for (const signer of message.signatures) {
    const key = options.resolveKey(signer.kid);
    if (key === undefined) fail('UNKNOWN_KEY', `key ${JSON.stringify(signer.kid)} is not trusted here`);
    const ok = verifySignerOfSign(message, signer, key.publicKey, {
      ...(options.externalAad ? { externalAad: options.externalAad } : {}),
      ...(options.ed25519 ? { ed25519: options.ed25519 } : {}),
    });
    if (!ok) fail('BAD_SIGNATURE', `the signature by ${JSON.stringify(signer.kid)} does not verify`);
  }
  return message;
}
