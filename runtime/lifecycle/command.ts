// Signed lifecycle commands (docs/lifecycle.md "Commands", CDDL there): a COSE_Sign1 by a `release`
// key of the trust store over a deterministic-CBOR command naming its kind, its target (fleet, and
// optionally device ids or a cohort), a random nonce, issue and expiry times, the issuer and a reason.
// This module encodes, signs, parses and authenticates; replay and the effects live in the lifecycle.
import {
  CborError,
  Fields,
  HEX_SHA256,
  REVIEWER_PATTERN,
  bytesToHex,
  decodeCbor,
  decodeSign1,
  encodeCbor,
  readArray,
  readString,
  fromCbor,
  sha256,
  signSign1,
  toCbor,
  type FieldFailure,
  type Signer,
} from '../../models/format/index.ts';
import { TrustError, type BundleRevocation, type TrustStore } from '../trust/index.ts';
import { LifecycleError, type CommandRejectCode } from './errors.ts';

export const COMMAND_CONTENT_TYPE = 'application/vnd.vigil.command+cbor';
export const COMMAND_MAX_BYTES = 16 * 1024;
export const COMMAND_KINDS = ['promote', 'rollback', 'freeze', 'unfreeze', 'revoke'] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];
/** The role whose keys sign lifecycle commands (least privilege: not `field`, not an approver role). */
export const COMMAND_ROLE = 'release';

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const NAME = /^[a-z0-9][a-z0-9._-]*$/;
const MAX_TIME_MS = 10_000_000_000_000;

export interface CommandTarget {
  readonly fleet: string;
  /** Device ids; null: every device of the fleet (or of the cohort). */
  readonly devices: readonly string[] | null;
  readonly cohort: string | null;
}

/** A bundle named by its manifest digest, its id, or family and version (as in trust revocations). */
export type BundleSelector =
  | { readonly by: 'manifest'; readonly manifestSha256: string }
  | { readonly by: 'bundleId'; readonly bundleId: string }
  | { readonly by: 'version'; readonly modelFamily: string; readonly version: string };

export type CommandBody =
  | {
      readonly kind: 'promote';
      readonly family: string;
      /** Manifest SHA-256 of the candidate being promoted (the approver saw exactly this one). */
      readonly bundle: string;
      /** Promote although the shadow evidence has not met the rollout policy (recorded as such). */
      readonly force: boolean;
    }
  | { readonly kind: 'rollback'; readonly family: string }
  | { readonly kind: 'freeze' }
  | { readonly kind: 'unfreeze' }
  | { readonly kind: 'revoke'; readonly bundle: BundleSelector };

export type Command = {
  readonly target: CommandTarget;
  /** 16–32 random bytes; a nonce is accepted once per device. */
  readonly nonce: Uint8Array;
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
  /** Who issued it: `NAME <EMAIL>`. */
  readonly issuer: string;
  readonly reason: string;
} & CommandBody;

export function encodeCommand(command: Command): Uint8Array {
  const body: Record<string, unknown> = {
    v: 1,
    kind: command.kind,
    target: {
      fleet: command.target.fleet,
      ...(command.target.devices === null ? {} : { devices: [...command.target.devices] }),
      ...(command.target.cohort === null ? {} : { cohort: command.target.cohort }),
    },
    nonce: command.nonce,
    issuedAt: command.issuedAtMs,
    expiresAt: command.expiresAtMs,
    issuer: command.issuer,
    reason: command.reason,
  };
  switch (command.kind) {
    case 'promote':
      body.family = command.family;
      body.bundle = command.bundle;
      if (command.force) body.force = true;
      break;
    case 'rollback':
      body.family = command.family;
      break;
    case 'freeze':
    case 'unfreeze':
      break;
    case 'revoke':
      body.bundle = { ...command.bundle };
      break;
  }
  return encodeCbor(toCbor(body));
}

export function signCommand(command: Command, signer: Signer): Uint8Array {
  return signSign1({ payload: encodeCommand(command), contentType: COMMAND_CONTENT_TYPE, signer });
}

const fail: FieldFailure = (path, message) => {
  throw new LifecycleError('MALFORMED', `${path} ${message}`);
};

function selector(f: Fields): BundleSelector {
  const by = f.literal('by', ['manifest', 'bundleId', 'version'] as const);
  switch (by) {
    case 'manifest':
      return {
        by,
        manifestSha256: f.string('manifestSha256', {
          min: 64,
          max: 64,
          pattern: HEX_SHA256,
          what: 'a SHA-256',
        }),
      };
    case 'bundleId':
      return { by, bundleId: f.string('bundleId', { max: 128 }) };
    case 'version':
      return {
        by,
        modelFamily: f.string('modelFamily', { max: 64, pattern: NAME, what: 'a model family' }),
        version: f.string('version', { max: 128 }),
      };
  }
}

/** Parses a command payload field by field (strict deterministic CBOR, no unknown fields). */
export function parseCommand(payload: Uint8Array): Command {
  let value: unknown;
  try {
    value = fromCbor(decodeCbor(payload, { maxBytes: COMMAND_MAX_BYTES, maxDepth: 6 }));
  } catch (cause) {
    const code = cause instanceof CborError ? cause.code : 'MALFORMED_CBOR';
    throw new LifecycleError('MALFORMED', `the command payload is not valid CBOR (${code})`, { cause });
  }
  const f = Fields.of(value, 'command', fail);
  f.literal('v', [1]);
  const kind = f.literal('kind', COMMAND_KINDS);
  const target = f.object('target', (t) => ({
    fleet: t.string('fleet', { max: 128 }),
    devices:
      t.optional('devices', (v, p) =>
        readArray(v, p, fail, { min: 1, max: 1000 }, (d, dp) =>
          readString(d, dp, fail, { max: 128, pattern: DEVICE_ID, what: 'a device id' }),
        ),
      ) ?? null,
    cohort: t.optional('cohort', (v, p) => readString(v, p, fail, { max: 256 })) ?? null,
  }));
  const nonce = f.required('nonce');
  if (!(nonce instanceof Uint8Array) || nonce.length < 16 || nonce.length > 32) {
    fail(f.at('nonce'), 'must be 16–32 bytes');
  }
  const common = {
    target,
    nonce: Uint8Array.from(nonce),
    issuedAtMs: f.integer('issuedAt', { max: MAX_TIME_MS }),
    expiresAtMs: f.integer('expiresAt', { max: MAX_TIME_MS }),
    issuer: f.string('issuer', { max: 256, pattern: REVIEWER_PATTERN, what: 'NAME <EMAIL>' }),
    reason: f.string('reason', { max: 1000 }),
  };
  if (common.expiresAtMs <= common.issuedAtMs) fail(f.at('expiresAt'), 'must be after issuedAt');
  let body: CommandBody;
  switch (kind) {
    case 'promote':
      body = {
        kind,
        family: f.string('family', { max: 64, pattern: NAME, what: 'a model family' }),
        bundle: f.string('bundle', { min: 64, max: 64, pattern: HEX_SHA256, what: 'a manifest SHA-256' }),
        force: f.optional('force', (v, p) => (v === true ? true : fail(p, 'may only be true'))) ?? false,
      };
      break;
    case 'rollback':
      body = { kind, family: f.string('family', { max: 64, pattern: NAME, what: 'a model family' }) };
      break;
    case 'freeze':
    case 'unfreeze':
      body = { kind };
      break;
    case 'revoke':
      body = { kind, bundle: f.object('bundle', selector) };
      break;
  }
  f.done();
  return { ...common, ...body };
}

/** Who signed an authenticated command. */
export interface CommandSigner {
  readonly kid: string;
  readonly role: typeof COMMAND_ROLE;
}

export interface AuthenticatedCommand {
  readonly command: Command;
  readonly signer: CommandSigner;
  /** SHA-256 of the signed bytes (audit records name the command by it). */
  readonly sha256: string;
  readonly nonceHex: string;
}

/** A command that failed authentication, with what could be learnt about it for the audit record. */
export class CommandRejection extends Error {
  constructor(
    readonly code: CommandRejectCode,
    message: string,
    readonly sha256: string,
    /** The kid the message names (unverified unless `signer` is set). */
    readonly claimedKid: string | null,
    /** Set once the signature verified: the rejection is then attributable. */
    readonly signer: CommandSigner | null = null,
    /** The parsed command, when it got that far. */
    readonly command: Command | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CommandRejection';
  }
}

export interface DeviceContext {
  readonly deviceId: string;
  readonly fleet: string;
  readonly cohort: string | null;
}

export interface CommandPolicy {
  readonly clockSkewMs: number;
  /** Longest accepted expiresAt − issuedAt; bounds how long a nonce must be remembered. */
  readonly maxValidityMs: number;
}

export const DEFAULT_COMMAND_POLICY: CommandPolicy = Object.freeze({
  clockSkewMs: 5 * 60_000,
  maxValidityMs: 7 * 24 * 3600_000,
});

function trustCode(error: TrustError): CommandRejectCode {
  // Only the codes verifyRoleSign1 can raise map to their own command code; the rest is malformed.
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- `default` covers the rest
  switch (error.code) {
    case 'UNKNOWN_KEY':
      return 'UNKNOWN_KEY';
    case 'REVOKED_KEY':
      return 'REVOKED_KEY';
    case 'ROLE_MISMATCH':
      return 'WRONG_ROLE';
    case 'THRESHOLD_NOT_MET':
      return 'THRESHOLD_NOT_MET';
    case 'BAD_SIGNATURE':
      return 'BAD_SIGNATURE';
    case 'WRONG_CONTENT_TYPE':
      return 'WRONG_CONTENT_TYPE';
    case 'DISALLOWED_ALG':
      return 'DISALLOWED_ALG';
    case 'NOT_COSE_SIGN1':
      return 'NOT_SIGNED';
    default:
      return 'MALFORMED';
  }
}

/** Is this device among the command's targets? Returns why not, or null. */
export function targetMismatch(target: CommandTarget, device: DeviceContext): string | null {
  if (target.fleet !== device.fleet)
    return `aimed at fleet ${target.fleet}, this device is in ${device.fleet}`;
  if (target.devices !== null && !target.devices.includes(device.deviceId)) {
    return `aimed at ${target.devices.length} device(s), not ${device.deviceId}`;
  }
  if (target.cohort !== null && target.cohort !== device.cohort) {
    return `aimed at cohort ${target.cohort}, this device is in ${device.cohort ?? 'no cohort'}`;
  }
  return null;
}

/**
 * Authenticates a command: size cap, COSE_Sign1 by an unrevoked `release` key of the trust store
 * (role, algorithm and key from the trust store), strict payload, target, validity window. Replay is
 * checked by the caller against its nonce store. Throws CommandRejection.
 */
export function authenticateCommand(
  bytes: Uint8Array,
  trust: TrustStore,
  device: DeviceContext,
  now: number,
  policy: CommandPolicy = DEFAULT_COMMAND_POLICY,
): AuthenticatedCommand {
  const sha = bytesToHex(sha256(bytes));
  if (bytes.length > COMMAND_MAX_BYTES) {
    throw new CommandRejection(
      'TOO_LARGE',
      `the command is ${bytes.length} bytes; at most ${COMMAND_MAX_BYTES}`,
      sha,
      null,
    );
  }
  let claimedKid: string | null = null;
  try {
    claimedKid = decodeSign1(bytes, { maxBytes: COMMAND_MAX_BYTES }).kid;
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    const notSign1 = code === 'NOT_COSE_SIGN1' || code === 'MALFORMED_CBOR' || code === 'TRAILING_BYTES';
    throw new CommandRejection(
      notSign1 ? 'NOT_SIGNED' : 'MALFORMED',
      notSign1
        ? 'the command is not a signed COSE_Sign1 message'
        : `the COSE_Sign1 is malformed (${String(code)})`,
      sha,
      null,
      null,
      null,
      { cause },
    );
  }
  let payload: Uint8Array;
  let kid: string;
  let signer: CommandSigner;
  try {
    ({ payload, kid } = trust.verifyRoleSign1(bytes, {
      role: COMMAND_ROLE,
      contentType: COMMAND_CONTENT_TYPE,
      maxBytes: COMMAND_MAX_BYTES,
    }));
    signer = { kid, role: COMMAND_ROLE };
  } catch (cause) {
    if (!(cause instanceof TrustError)) throw cause;
    throw new CommandRejection(trustCode(cause), cause.message, sha, claimedKid, null, null, { cause });
  }
  let command: Command;
  try {
    command = parseCommand(payload);
  } catch (cause) {
    if (!(cause instanceof LifecycleError)) throw cause;
    throw new CommandRejection('MALFORMED', cause.message, sha, kid, signer, null, { cause });
  }
  const mismatch = targetMismatch(command.target, device);
  if (mismatch !== null) throw new CommandRejection('OTHER_DEVICE', mismatch, sha, kid, signer, command);
  if (command.issuedAtMs > now + policy.clockSkewMs) {
    throw new CommandRejection(
      'NOT_YET_VALID',
      `issued ${new Date(command.issuedAtMs).toISOString()}, in the device's future`,
      sha,
      kid,
      signer,
      command,
    );
  }
  if (now > command.expiresAtMs + policy.clockSkewMs) {
    throw new CommandRejection(
      'EXPIRED',
      `expired ${new Date(command.expiresAtMs).toISOString()}`,
      sha,
      kid,
      signer,
      command,
    );
  }
  if (command.expiresAtMs - command.issuedAtMs > policy.maxValidityMs) {
    throw new CommandRejection(
      'VALIDITY_TOO_LONG',
      `valid for ${Math.round((command.expiresAtMs - command.issuedAtMs) / 3600_000)} h; at most ${Math.round(policy.maxValidityMs / 3600_000)} h`,
      sha,
      kid,
      signer,
      command,
    );
  }
  return { command, signer, sha256: sha, nonceHex: bytesToHex(command.nonce) };
}

/** The trust-revocation form of a selector (for the device's own revocation list). */
export function revocationOf(selector: BundleSelector, reason: string, atMs: number): BundleRevocation {
  switch (selector.by) {
    case 'manifest':
      return { by: 'manifest', manifestSha256: selector.manifestSha256, reason, revokedAtMs: atMs };
    case 'bundleId':
      return { by: 'bundleId', bundleId: selector.bundleId, reason, revokedAtMs: atMs };
    case 'version':
      return {
        by: 'version',
        modelFamily: selector.modelFamily,
        version: selector.version,
        reason,
        revokedAtMs: atMs,
      };
  }
}

/** A readable one-line description of a command (CLI, audit detail). */
export function describeCommand(command: Command): string {
  const who = command.target.devices
    ? `devices ${command.target.devices.join(', ')}`
    : command.target.cohort
      ? `cohort ${command.target.cohort} of fleet ${command.target.fleet}`
      : `all of fleet ${command.target.fleet}`;
  const what = ((): string => {
    switch (command.kind) {
      case 'promote':
        return `promote ${command.family} candidate ${command.bundle.slice(0, 12)}…${command.force ? ' (forced)' : ''}`;
      case 'rollback':
        return `roll back ${command.family}`;
      case 'freeze':
        return 'freeze';
      case 'unfreeze':
        return 'unfreeze';
      case 'revoke':
        return `revoke ${selectorText(command.bundle)}`;
    }
  })();
  return `${what} on ${who}`;
}

export function selectorText(selector: BundleSelector): string {
  switch (selector.by) {
    case 'manifest':
      return `manifest ${selector.manifestSha256.slice(0, 12)}…`;
    case 'bundleId':
      return selector.bundleId;
    case 'version':
      return `${selector.modelFamily} ${selector.version}`;
  }
}
