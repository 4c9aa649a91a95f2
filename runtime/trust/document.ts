// The trust document: which keys exist, which role each key has, the thresholds, the release policy
// and the revocations. It is a COSE_Sign (content type below) signed by the root keys, versioned;
// devices keep the latest one they accepted (TUF root metadata, adapted).
import {
  BUNDLE_SIGNER_ROLES,
  DEPLOYMENT_STAGES,
  HEX_SHA256,
  KEY_ROLES,
  KID_PATTERN,
  ROLE_NAMES,
  Fields,
  bytesToHex,
  encodeCbor,
  fromCbor,
  toCbor,
  type DeploymentStage,
  type FieldFailure,
  type KeyRole,
  type RoleName,
} from '../../models/format/index.ts';
import { TrustError } from './errors.ts';

export const TRUST_CONTENT_TYPE = 'application/vnd.vigil.trust+cbor';
export const TRUST_FORMAT_VERSION = 1;

export interface TrustKey {
  readonly kid: string;
  readonly role: KeyRole;
  /** Always Ed25519 today; a key's algorithm comes from here, never from a signed artefact. */
  readonly alg: 'EdDSA';
  readonly publicKey: Uint8Array;
  /** Who holds it, for people reading the document (e.g. `QA lead, site A`). */
  readonly holder: string;
}

export interface RoleRule {
  /** Distinct keys of the role needed. */
  readonly threshold: number;
}

/** A scope an approval can grant, and the deployment stages it allows. */
export interface ScopeRule {
  readonly name: string;
  readonly allows: readonly DeploymentStage[];
}

export interface ReleasePolicy {
  /** Roles that must approve a bundle (each with its own threshold of distinct keys). */
  readonly requiredRoles: readonly RoleName[];
  readonly scopes: readonly ScopeRule[];
}

export interface KeyRevocation {
  readonly kid: string;
  /** The revoked key material: no key with these bytes may be trusted again under any kid. */
  readonly publicKey: Uint8Array;
  readonly revokedAtMs: number;
  readonly reason: string;
}

/** A bundle found unsafe, named by its id, by family and version, or by its manifest digest. */
export type BundleRevocation = { readonly revokedAtMs: number; readonly reason: string } & (
  | { readonly by: 'bundleId'; readonly bundleId: string }
  | { readonly by: 'version'; readonly modelFamily: string; readonly version: string }
  | { readonly by: 'manifest'; readonly manifestSha256: string }
);

export interface TrustDocument {
  readonly formatVersion: 1;
  /** N: each accepted update is exactly N + 1. */
  readonly version: number;
  readonly issuedAtMs: number;
  readonly keys: readonly TrustKey[];
  readonly root: RoleRule;
  readonly roles: Readonly<Record<RoleName, RoleRule>>;
  readonly releasePolicy: ReleasePolicy;
  readonly revocations: {
    readonly keys: readonly KeyRevocation[];
    readonly bundles: readonly BundleRevocation[];
  };
}

export const DEFAULT_RELEASE_POLICY: ReleasePolicy = Object.freeze({
  requiredRoles: ['qa', 'clinical', 'regulatory'],
  scopes: [
    { name: 'shadow', allows: ['shadow'] },
    { name: 'canary', allows: ['shadow', 'canary'] },
    { name: 'full', allows: ['shadow', 'canary', 'full'] },
  ],
} as const);

const MAX_KEYS = 256;
const MAX_REVOCATIONS = 4096;
const MAX_TIME_MS = 10_000_000_000_000;

const fail: FieldFailure = (path, message) => {
  throw new TrustError('BAD_TRUST_DOCUMENT', `${path} ${message}`);
};

function publicKeyOf(value: unknown, path: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== 32)
    return fail(path, 'must be a 32-byte Ed25519 public key');
  return value;
}

function trustKey(value: unknown, path: string): TrustKey {
  const f = Fields.of(value, path, fail);
  const out = {
    kid: f.string('kid', { max: 64, pattern: KID_PATTERN, what: 'a key id' }),
    role: f.literal('role', KEY_ROLES),
    alg: f.literal('alg', ['EdDSA'] as const),
    publicKey: publicKeyOf(f.required('publicKey'), f.at('publicKey')),
    holder: f.string('holder', { min: 0, max: 200 }),
  };
  f.done();
  return out;
}

function roleRule(f: Fields): RoleRule {
  return { threshold: f.integer('threshold', { min: 1, max: MAX_KEYS }) };
}

function scopeRule(value: unknown, path: string): ScopeRule {
  const f = Fields.of(value, path, fail);
  const name = f.string('name', { max: 32, pattern: /^[a-z][a-z0-9-]*$/, what: 'a scope name' });
  const allows = f.array('allows', { min: 1, max: DEPLOYMENT_STAGES.length }, (v, p) => {
    const stage = DEPLOYMENT_STAGES.find((s) => s === v);
    if (stage === undefined) return fail(p, `must be one of ${DEPLOYMENT_STAGES.join(', ')}`);
    return stage;
  });
  if (new Set(allows).size !== allows.length) fail(f.at('allows'), 'has duplicates');
  f.done();
  return { name, allows };
}

function releasePolicy(f: Fields): ReleasePolicy {
  const requiredRoles = f.array('requiredRoles', { min: 1, max: BUNDLE_SIGNER_ROLES.length }, (v, p) => {
    const role = BUNDLE_SIGNER_ROLES.find((r) => r === v);
    if (role === undefined) return fail(p, `must be one of ${BUNDLE_SIGNER_ROLES.join(', ')}`);
    return role;
  });
  if (new Set(requiredRoles).size !== requiredRoles.length) fail(f.at('requiredRoles'), 'has duplicates');
  const scopes = f.array('scopes', { min: 1, max: 16 }, scopeRule);
  if (new Set(scopes.map((s) => s.name)).size !== scopes.length) fail(f.at('scopes'), 'has duplicate names');
  return { requiredRoles, scopes };
}

function keyRevocation(value: unknown, path: string): KeyRevocation {
  const f = Fields.of(value, path, fail);
  const out = {
    kid: f.string('kid', { max: 64, pattern: KID_PATTERN, what: 'a key id' }),
    publicKey: publicKeyOf(f.required('publicKey'), f.at('publicKey')),
    revokedAtMs: f.integer('revokedAtMs', { max: MAX_TIME_MS }),
    reason: f.string('reason', { max: 1000 }),
  };
  f.done();
  return out;
}

function bundleRevocation(value: unknown, path: string): BundleRevocation {
  const f = Fields.of(value, path, fail);
  const common = {
    revokedAtMs: f.integer('revokedAtMs', { max: MAX_TIME_MS }),
    reason: f.string('reason', { max: 1000 }),
  };
  const by = f.literal('by', ['bundleId', 'version', 'manifest'] as const);
  let out: BundleRevocation;
  switch (by) {
    case 'bundleId':
      out = { ...common, by, bundleId: f.string('bundleId', { max: 128 }) };
      break;
    case 'version':
      out = {
        ...common,
        by,
        modelFamily: f.string('modelFamily', { max: 64 }),
        version: f.string('version', { max: 128 }),
      };
      break;
    case 'manifest':
      out = {
        ...common,
        by,
        manifestSha256: f.string('manifestSha256', {
          min: 64,
          max: 64,
          pattern: HEX_SHA256,
          what: 'a lower-case hex SHA-256',
        }),
      };
      break;
  }
  f.done();
  return out;
}

/** Parses a decoded trust document field by field, then checks it is coherent. Throws TrustError. */
export function parseTrustDocument(value: unknown): TrustDocument {
  const f = Fields.of(value, 'trust', fail);
  const doc: TrustDocument = {
    formatVersion: f.literal('formatVersion', [TRUST_FORMAT_VERSION] as const),
    version: f.integer('version', { min: 1, max: Number.MAX_SAFE_INTEGER }),
    issuedAtMs: f.integer('issuedAtMs', { max: MAX_TIME_MS }),
    keys: f.array('keys', { min: 1, max: MAX_KEYS }, trustKey),
    root: f.object('root', roleRule),
    roles: f.object('roles', (r) => {
      const out = {} as Record<RoleName, RoleRule>;
      for (const role of ROLE_NAMES) out[role] = r.object(role, roleRule);
      return out;
    }),
    releasePolicy: f.object('releasePolicy', releasePolicy),
    revocations: f.object('revocations', (r) => ({
      keys: r.array('keys', { max: MAX_REVOCATIONS }, keyRevocation),
      bundles: r.array('bundles', { max: MAX_REVOCATIONS }, bundleRevocation),
    })),
  };
  f.done();
  checkCoherent(doc);
  return doc;
}

/** Cross-field rules: unique kids and key bytes, a satisfiable root threshold, no revoked key trusted. */
export function checkCoherent(doc: TrustDocument): void {
  const kids = new Set<string>();
  const material = new Set<string>();
  for (const key of doc.keys) {
    if (kids.has(key.kid)) fail('trust.keys', `has the key id ${key.kid} twice`);
    kids.add(key.kid);
    const hex = bytesToHex(key.publicKey);
    // One key, one role (least privilege): the same key bytes may not appear under two kids.
    if (material.has(hex)) fail('trust.keys', `has the public key of ${key.kid} under two key ids`);
    material.add(hex);
  }
  const count = (role: KeyRole): number => doc.keys.filter((k) => k.role === role).length;
  if (count('root') < doc.root.threshold) {
    fail('trust.root.threshold', `is ${doc.root.threshold} but only ${count('root')} root keys are listed`);
  }
  // A required role may be left short of keys on purpose: revoking a compromised key must always be
  // possible, even when it halts releases until a replacement is enrolled (see unsatisfiedRoles).
  for (const revoked of doc.revocations.keys) {
    if (kids.has(revoked.kid))
      fail('trust.revocations.keys', `revokes ${revoked.kid}, which is still listed in keys`);
    if (material.has(bytesToHex(revoked.publicKey))) {
      fail(
        'trust.revocations.keys',
        `revokes the key bytes of ${revoked.kid}, which are still trusted under another id`,
      );
    }
  }
}

/** The deterministic CBOR of a trust document (the payload its root keys sign). */
export function encodeTrustDocument(doc: TrustDocument): Uint8Array {
  return encodeCbor(toCbor(doc));
}

export function trustDocumentFromCbor(value: Parameters<typeof fromCbor>[0]): TrustDocument {
  return parseTrustDocument(fromCbor(value));
}

export interface NewTrustDocument {
  readonly version?: number;
  readonly issuedAtMs: number;
  readonly keys: readonly TrustKey[];
  readonly rootThreshold?: number;
  readonly thresholds?: Partial<Record<RoleName, number>>;
  readonly releasePolicy?: ReleasePolicy;
}

/** A first trust document with defaults (every role threshold 1, the default release policy). */
export function createTrustDocument(input: NewTrustDocument): TrustDocument {
  const roles = {} as Record<RoleName, RoleRule>;
  for (const role of ROLE_NAMES) roles[role] = { threshold: input.thresholds?.[role] ?? 1 };
  const doc: TrustDocument = {
    formatVersion: 1,
    version: input.version ?? 1,
    issuedAtMs: input.issuedAtMs,
    keys: input.keys,
    root: { threshold: input.rootThreshold ?? 1 },
    roles,
    releasePolicy: input.releasePolicy ?? DEFAULT_RELEASE_POLICY,
    revocations: { keys: [], bundles: [] },
  };
  return parseTrustDocument(fromCbor(toCbor(doc)));
}

export interface TrustChanges {
  readonly issuedAtMs: number;
  readonly addKeys?: readonly TrustKey[];
  readonly removeKids?: readonly string[];
  readonly rootThreshold?: number;
  readonly thresholds?: Partial<Record<RoleName, number>>;
  readonly releasePolicy?: ReleasePolicy;
  /** Revoke keys: they leave `keys` and join the revocation list (with their key bytes). */
  readonly revokeKeys?: readonly { kid: string; reason: string }[];
  readonly revokeBundles?: readonly BundleRevocation[];
}

/** The next version (N + 1) of a document with the given changes, checked for coherence. */
export function nextTrustDocument(current: TrustDocument, changes: TrustChanges): TrustDocument {
  const revoking = new Map((changes.revokeKeys ?? []).map((r) => [r.kid, r.reason]));
  const removing = new Set([...(changes.removeKids ?? []), ...revoking.keys()]);
  for (const kid of removing) {
    if (!current.keys.some((k) => k.kid === kid)) {
      throw new TrustError('BAD_TRUST_DOCUMENT', `no key ${kid} in trust version ${current.version}`);
    }
  }
  const keyRevocations: KeyRevocation[] = current.keys
    .filter((k) => revoking.has(k.kid))
    .map((k) => ({
      kid: k.kid,
      publicKey: k.publicKey,
      revokedAtMs: changes.issuedAtMs,
      reason: revoking.get(k.kid) ?? '',
    }));
  const roles = { ...current.roles };
  for (const role of ROLE_NAMES) {
    const t = changes.thresholds?.[role];
    if (t !== undefined) roles[role] = { threshold: t };
  }
  const next: TrustDocument = {
    ...current,
    version: current.version + 1,
    issuedAtMs: changes.issuedAtMs,
    keys: [...current.keys.filter((k) => !removing.has(k.kid)), ...(changes.addKeys ?? [])],
    root: { threshold: changes.rootThreshold ?? current.root.threshold },
    roles,
    releasePolicy: changes.releasePolicy ?? current.releasePolicy,
    revocations: {
      keys: [...current.revocations.keys, ...keyRevocations],
      bundles: [...current.revocations.bundles, ...(changes.revokeBundles ?? [])],
    },
  };
  return parseTrustDocument(fromCbor(toCbor(next)));
}

/** Required roles that have fewer keys than their threshold: no bundle can be approved until fixed. */
export function unsatisfiedRoles(doc: TrustDocument): RoleName[] {
  return doc.releasePolicy.requiredRoles.filter(
    (role) => doc.keys.filter((k) => k.role === role).length < doc.roles[role].threshold,
  );
}
