// The device's trust store: a verified trust document with lookups, plus acceptance of the next
// version (TUF §5.3.4 root rotation: N+1 must carry the root threshold of N *and* its own) and
// verification of role-bound COSE_Sign1 / COSE_Sign messages (signed commands, reports, checkpoints).
import {
  CborError,
  CoseError,
  bytesToHex,
  decodeCbor,
  decodeSign,
  decodeSign1,
  defaultEd25519,
  encodeSign,
  sha256,
  sigStructure,
  signBody,
  signSigner,
  verifySignerOfSign,
  type DecodedSign,
  type Ed25519,
  type HeaderMap,
  type KeyRole,
  type RoleName,
  type Signer,
} from '../../models/format/index.ts';
import {
  TRUST_CONTENT_TYPE,
  encodeTrustDocument,
  trustDocumentFromCbor,
  type BundleRevocation,
  type KeyRevocation,
  type ScopeRule,
  type TrustDocument,
  type TrustKey,
} from './document.ts';
import { TrustError } from './errors.ts';

export const DEFAULT_TRUST_MAX_BYTES = 1024 * 1024;

function asTrustError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CoseError || err instanceof CborError) {
      throw new TrustError(err.code, err.message, { cause: err });
    }
    throw err;
  }
}

interface DecodedTrust {
  readonly message: DecodedSign;
  readonly document: TrustDocument;
}

function decodeTrust(bytes: Uint8Array, maxBytes: number): DecodedTrust {
  const message = asTrustError(() => decodeSign(bytes, { maxBytes }));
  if (message.contentType !== TRUST_CONTENT_TYPE) {
    throw new TrustError(
      'NOT_TRUST_DOCUMENT',
      `the signed payload is ${String(message.contentType)}, not a trust document`,
    );
  }
  const value = asTrustError(() => decodeCbor(message.payload, { maxBytes, maxDepth: 16 }));
  return { message, document: trustDocumentFromCbor(value) };
}

/** Kids of distinct root keys of `doc` that validly signed `message` (each key counted once). */
function validRootSigners(message: DecodedSign, doc: TrustDocument, ed25519: Ed25519): Set<string> {
  const out = new Set<string>();
  for (const signer of message.signatures) {
    const key = doc.keys.find((k) => k.kid === signer.kid && k.role === 'root');
    if (key !== undefined && verifySignerOfSign(message, signer, key.publicKey, { ed25519 }))
      out.add(key.kid);
  }
  return out;
}

/** Every signer must be a root key of one of `docs` and verify with it; no key signs twice. */
function checkSignatures(
  signers: DecodedSign['signatures'],
  message: DecodedSign,
  docs: readonly TrustDocument[],
  ed25519: Ed25519,
): void {
  const seen = new Set<string>();
  for (const signer of signers) {
    if (seen.has(signer.kid))
      throw new TrustError('DUPLICATE_SIGNER', `key ${signer.kid} signed the trust document twice`);
    seen.add(signer.kid);
    const candidates = docs.flatMap((d) => d.keys.filter((k) => k.kid === signer.kid && k.role === 'root'));
    if (candidates.length === 0) {
      throw new TrustError('UNKNOWN_KEY', `trust document signed by ${signer.kid}, which is not a root key`);
    }
    if (!candidates.some((k) => verifySignerOfSign(message, signer, k.publicKey, { ed25519 }))) {
      throw new TrustError('BAD_SIGNATURE', `the signature by root key ${signer.kid} does not verify`);
    }
  }
}

export interface TrustOptions {
  readonly ed25519?: Ed25519;
  readonly maxBytes?: number;
}

export class TrustStore {
  private readonly byKid: ReadonlyMap<string, TrustKey>;
  private readonly revokedKids: ReadonlyMap<string, KeyRevocation>;
  private readonly revokedMaterial: ReadonlySet<string>;

  private constructor(
    readonly document: TrustDocument,
    /** The signed bytes this store was built from (persist these, not a re-encoding). */
    readonly bytes: Uint8Array,
    readonly ed25519: Ed25519,
  ) {
    this.byKid = new Map(document.keys.map((k) => [k.kid, k]));
    this.revokedKids = new Map(document.revocations.keys.map((r) => [r.kid, r]));
    this.revokedMaterial = new Set(document.revocations.keys.map((r) => bytesToHex(r.publicKey)));
  }

  /**
   * Loads a trust anchor (factory provisioning or first install): it must be signed by its own
   * root threshold. Later versions must go through `acceptUpdate`.
   */
  static loadAnchor(bytes: Uint8Array, options: TrustOptions = {}): TrustStore {
    const ed25519 = options.ed25519 ?? defaultEd25519();
    const { message, document } = decodeTrust(bytes, options.maxBytes ?? DEFAULT_TRUST_MAX_BYTES);
    // Signatures by keys that are not root keys of this document are ignored (a rotated document also
    // carries the previous roots' signatures); a root key's signature must verify, and counts once.
    checkSignatures(
      message.signatures.filter((s) => document.keys.some((k) => k.kid === s.kid && k.role === 'root')),
      message,
      [document],
      ed25519,
    );
    const signers = validRootSigners(message, document, ed25519);
    if (signers.size < document.root.threshold) {
      throw new TrustError(
        'THRESHOLD_NOT_MET',
        `trust version ${document.version} carries ${signers.size} of the ${document.root.threshold} root signatures it requires`,
      );
    }
    return new TrustStore(document, bytes, ed25519);
  }

  /**
   * Accepts version N+1 of the trust document (TUF root rotation): it must be the next version and
   * carry the root threshold of this version (N) and its own root threshold, counting distinct keys.
   * Returns the new store; this one is unchanged. Throws TrustError.
   */
  acceptUpdate(bytes: Uint8Array, options: { maxBytes?: number } = {}): TrustStore {
    const { message, document } = decodeTrust(bytes, options.maxBytes ?? DEFAULT_TRUST_MAX_BYTES);
    if (document.version <= this.version) {
      throw new TrustError(
        'TRUST_ROLLBACK',
        `trust version ${document.version} is not newer than the trusted ${this.version}`,
      );
    }
    if (document.version !== this.version + 1) {
      throw new TrustError(
        'VERSION_NOT_NEXT',
        `trust version ${document.version} does not follow ${this.version}; install ${this.version + 1} first`,
      );
    }
    checkSignatures(message.signatures, message, [this.document, document], this.ed25519);
    const old = validRootSigners(message, this.document, this.ed25519);
    if (old.size < this.document.root.threshold) {
      throw new TrustError(
        'ROTATION_OLD_THRESHOLD',
        `trust version ${document.version} carries ${old.size} of the ${this.document.root.threshold} signatures the current root keys must give`,
      );
    }
    const fresh = validRootSigners(message, document, this.ed25519);
    if (fresh.size < document.root.threshold) {
      throw new TrustError(
        'ROTATION_NEW_THRESHOLD',
        `trust version ${document.version} carries ${fresh.size} of the ${document.root.threshold} signatures its own root keys must give`,
      );
    }
    return new TrustStore(document, bytes, this.ed25519);
  }

  get version(): number {
    return this.document.version;
  }

  /** SHA-256 of the signed trust document bytes (for audit records). */
  get sha256(): string {
    return bytesToHex(sha256(this.bytes));
  }

  /** The active (listed, not revoked) key with this kid. */
  key(kid: string): TrustKey | undefined {
    const key = this.byKid.get(kid);
    if (key === undefined || this.keyRevocation(kid) !== undefined) return undefined;
    return key;
  }

  /** The revocation of a kid, or of the key bytes a kid currently names. */
  keyRevocation(kid: string): KeyRevocation | undefined {
    const direct = this.revokedKids.get(kid);
    if (direct !== undefined) return direct;
    const key = this.byKid.get(kid);
    if (key !== undefined && this.revokedMaterial.has(bytesToHex(key.publicKey))) {
      return this.document.revocations.keys.find(
        (r) => bytesToHex(r.publicKey) === bytesToHex(key.publicKey),
      );
    }
    return undefined;
  }

  keysOfRole(role: KeyRole): readonly TrustKey[] {
    return this.document.keys.filter((k) => k.role === role && this.keyRevocation(k.kid) === undefined);
  }

  threshold(role: KeyRole): number {
    return role === 'root' ? this.document.root.threshold : this.document.roles[role].threshold;
  }

  scope(name: string): ScopeRule | undefined {
    return this.document.releasePolicy.scopes.find((s) => s.name === name);
  }

  /** The revocation that covers a bundle, if any. */
  bundleRevocation(bundle: {
    readonly bundleId: string;
    readonly modelFamily: string;
    readonly version: string;
    readonly manifestSha256: string;
  }): BundleRevocation | undefined {
    return findBundleRevocation(this.document.revocations.bundles, bundle);
  }

  /**
   * Verifies a COSE_Sign1 made by a key of `role` (e.g. a `release` command, a `device` report). The
   * role's threshold must be 1 for a single signature to suffice; use `verifyRoleSign` otherwise.
   */
  verifyRoleSign1(
    bytes: Uint8Array,
    options: {
      readonly role: RoleName;
      readonly contentType: string;
      readonly externalAad?: Uint8Array;
      readonly maxBytes?: number;
    },
  ): { readonly payload: Uint8Array; readonly kid: string; readonly protected: HeaderMap } {
    const message = asTrustError(() =>
      decodeSign1(bytes, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    );
    if (message.contentType !== options.contentType) {
      throw new TrustError(
        'WRONG_CONTENT_TYPE',
        `expected ${options.contentType}, got ${String(message.contentType)}`,
      );
    }
    const key = this.roleKey(message.kid, options.role);
    if (this.threshold(options.role) > 1) {
      throw new TrustError(
        'THRESHOLD_NOT_MET',
        `${options.role} needs ${this.threshold(options.role)} signatures; one COSE_Sign1 has one`,
      );
    }
    const tbs = sigStructure(
      'Signature1',
      message.protectedBytes,
      null,
      options.externalAad ?? new Uint8Array(0),
      message.payload,
    );
    if (!this.ed25519.verify(key.publicKey, tbs, message.signature)) {
      throw new TrustError('BAD_SIGNATURE', `the signature by ${message.kid} does not verify`);
    }
    return { payload: message.payload, kid: message.kid, protected: message.protected };
  }

  /** Verifies a COSE_Sign whose signers are all keys of `role`, reaching its threshold of distinct keys. */
  verifyRoleSign(
    bytes: Uint8Array,
    options: {
      readonly role: RoleName;
      readonly contentType: string;
      readonly externalAad?: Uint8Array;
      readonly maxBytes?: number;
    },
  ): { readonly payload: Uint8Array; readonly kids: readonly string[] } {
    const message = asTrustError(() =>
      decodeSign(bytes, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    );
    if (message.contentType !== options.contentType) {
      throw new TrustError(
        'WRONG_CONTENT_TYPE',
        `expected ${options.contentType}, got ${String(message.contentType)}`,
      );
    }
    const kids: string[] = [];
    for (const signer of message.signatures) {
      if (kids.includes(signer.kid))
        throw new TrustError('DUPLICATE_SIGNER', `key ${signer.kid} signed twice`);
      const key = this.roleKey(signer.kid, options.role);
      const ok = verifySignerOfSign(message, signer, key.publicKey, {
        ed25519: this.ed25519,
        ...(options.externalAad ? { externalAad: options.externalAad } : {}),
      });
      if (!ok) throw new TrustError('BAD_SIGNATURE', `the signature by ${signer.kid} does not verify`);
      kids.push(signer.kid);
    }
    if (kids.length < this.threshold(options.role)) {
      throw new TrustError(
        'THRESHOLD_NOT_MET',
        `${options.role} needs ${this.threshold(options.role)} distinct keys; ${kids.length} signed`,
      );
    }
    return { payload: message.payload, kids };
  }

  private roleKey(kid: string, role: RoleName): TrustKey {
    if (this.keyRevocation(kid) !== undefined)
      throw new TrustError('REVOKED_KEY', `key ${kid} has been revoked`);
    const key = this.byKid.get(kid);
    if (key === undefined)
      throw new TrustError('UNKNOWN_KEY', `key ${kid} is not in trust version ${this.version}`);
    if (key.role !== role)
      throw new TrustError('ROLE_MISMATCH', `key ${kid} is a ${key.role} key, not a ${role} key`);
    return key;
  }
}

export function findBundleRevocation(
  revocations: readonly BundleRevocation[],
  bundle: {
    readonly bundleId: string;
    readonly modelFamily: string;
    readonly version: string;
    readonly manifestSha256: string;
  },
): BundleRevocation | undefined {
  return revocations.find((r) => {
    switch (r.by) {
      case 'bundleId':
        return r.bundleId === bundle.bundleId;
      case 'version':
        return r.modelFamily === bundle.modelFamily && r.version === bundle.version;
      case 'manifest':
        return r.manifestSha256 === bundle.manifestSha256;
    }
  });
}

/** Signs a trust document with root keys (each a COSE_Signature with alg and kid protected). */
export function signTrustDocument(doc: TrustDocument, signers: readonly Signer[]): Uint8Array {
  const body = signBody(encodeTrustDocument(doc), TRUST_CONTENT_TYPE);
  return encodeSign(
    body,
    signers.map((s) => signSigner(body, s)),
  );
}

/** Decodes a signed trust document without trusting it (for `vigil trust show`). */
export function peekTrustDocument(bytes: Uint8Array): {
  document: TrustDocument;
  signers: readonly string[];
} {
  const { message, document } = decodeTrust(bytes, DEFAULT_TRUST_MAX_BYTES);
  return { document, signers: message.signatures.map((s) => s.kid) };
}
