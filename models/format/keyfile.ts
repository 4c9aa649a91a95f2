// Ed25519 key files written by `vigil keygen`: DIR/KID.key (secret, mode 0600) and DIR/KID.pub.
// Both are small JSON documents naming the key id and its role. A secret key file that group or
// others can read or write is refused (checked on the open descriptor, so it cannot be swapped).
import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { defaultEd25519, type Ed25519 } from './ed25519.ts';
import { bytesToHex, hexToBytes } from './digest.ts';
import { KeyFileError } from './errors.ts';
import { Fields, type FieldFailure } from './fields.ts';
import { KEY_ROLES, type KeyRole } from './roles.ts';
import { ed25519Signer, type Signer } from './cose.ts';

export const KEY_FILE_FORMAT = 'vigil-key/1';
export const KID_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/;
const MAX_KEY_FILE_BYTES = 4096;

export interface PublicKeyInfo {
  readonly kid: string;
  readonly role: KeyRole;
  readonly publicKey: Uint8Array;
}

export interface SecretKey extends PublicKeyInfo {
  /** The 32-byte Ed25519 private key (RFC 8032 seed). */
  readonly seed: Uint8Array;
}

export function checkKid(kid: string): void {
  if (!KID_PATTERN.test(kid)) {
    throw new KeyFileError('BAD_KEY_FILE', `key id ${JSON.stringify(kid)} must be 1–64 of [A-Za-z0-9._-]`);
  }
}

/** A new key pair; `random` is injected so tests (and demo keys) can be seeded. */
export function generateKey(
  kid: string,
  role: KeyRole,
  random: (n: number) => Uint8Array = (n) => new Uint8Array(crypto.randomBytes(n)),
  ed25519: Ed25519 = defaultEd25519(),
): SecretKey {
  checkKid(kid);
  const seed = random(32);
  if (seed.length !== 32) throw new RangeError('the random source must return 32 bytes');
  return { kid, role, seed, publicKey: ed25519.publicKeyFromSeed(seed) };
}

export function keyFilePaths(dir: string, kid: string): { secret: string; public: string } {
  checkKid(kid);
  return { secret: path.join(dir, `${kid}.key`), public: path.join(dir, `${kid}.pub`) };
}

export function publicKeyJson(key: PublicKeyInfo): string {
  return `${JSON.stringify(
    {
      format: KEY_FILE_FORMAT,
      type: 'ed25519-public',
      kid: key.kid,
      role: key.role,
      publicKey: bytesToHex(key.publicKey),
    },
    null,
    2,
  )}\n`;
}

/** Writes KID.key (0600, never overwritten) and KID.pub (0644) into `dir`. */
export async function writeKeyFiles(
  dir: string,
  key: SecretKey,
): Promise<{ secret: string; public: string }> {
  const paths = keyFilePaths(dir, key.kid);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const secret = {
    format: KEY_FILE_FORMAT,
    type: 'ed25519-secret',
    kid: key.kid,
    role: key.role,
    publicKey: bytesToHex(key.publicKey),
    seed: bytesToHex(key.seed),
  };
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(paths.secret, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError('KEY_EXISTS', `${paths.secret} already exists; refusing to overwrite a key`, {
        cause: err,
      });
    }
    throw err;
  }
  try {
    await handle.chmod(0o600); // the umask may have narrowed it; never widened
    await handle.writeFile(`${JSON.stringify(secret, null, 2)}\n`);
  } finally {
    await handle.close();
  }
  await fs.writeFile(paths.public, publicKeyJson(key), { mode: 0o644 });
  return paths;
}

function parser(file: string): FieldFailure {
  return (field, message) => {
    throw new KeyFileError('BAD_KEY_FILE', `${file}: ${field} ${message}`);
  };
}

function readKeyFields(text: string, file: string, type: 'ed25519-secret' | 'ed25519-public'): Fields {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new KeyFileError('BAD_KEY_FILE', `${file} is not JSON`, { cause: err });
  }
  const f = Fields.of(json, 'key', parser(file));
  f.literal('format', [KEY_FILE_FORMAT]);
  f.literal('type', [type]);
  return f;
}

function hexField(f: Fields, key: string): Uint8Array {
  return hexToBytes(
    f.string(key, { min: 64, max: 64, pattern: /^[0-9a-f]{64}$/, what: '32 bytes in lower-case hex' }),
  );
}

function keyBasics(f: Fields): PublicKeyInfo {
  const kid = f.string('kid', { max: 64, pattern: KID_PATTERN, what: 'a key id' });
  const role = f.literal('role', KEY_ROLES);
  return { kid, role, publicKey: hexField(f, 'publicKey') };
}

/** Reads a secret key file, refusing one that group or others may read or write. */
export async function readSecretKeyFile(
  file: string,
  ed25519: Ed25519 = defaultEd25519(),
): Promise<SecretKey> {
  const handle = await fs.open(file, 'r');
  let text: string;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new KeyFileError('BAD_KEY_FILE', `${file} is not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      throw new KeyFileError(
        'KEY_PERMISSIONS',
        `${file} is accessible by group or others (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
    if (stat.size > MAX_KEY_FILE_BYTES)
      throw new KeyFileError('BAD_KEY_FILE', `${file} is too large for a key file`);
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  const f = readKeyFields(text, file, 'ed25519-secret');
  const basics = keyBasics(f);
  const seed = hexField(f, 'seed');
  f.done();
  if (bytesToHex(ed25519.publicKeyFromSeed(seed)) !== bytesToHex(basics.publicKey)) {
    throw new KeyFileError('BAD_KEY_FILE', `${file}: the public key does not belong to the secret key`);
  }
  return { ...basics, seed };
}

/** Reads a public key file (KID.pub). */
export async function readPublicKeyFile(file: string): Promise<PublicKeyInfo> {
  const stat = await fs.stat(file);
  if (stat.size > MAX_KEY_FILE_BYTES)
    throw new KeyFileError('BAD_KEY_FILE', `${file} is too large for a key file`);
  const f = readKeyFields(await fs.readFile(file, 'utf8'), file, 'ed25519-public');
  const basics = keyBasics(f);
  f.done();
  return basics;
}

/** A Signer for a secret key. */
export function signerFor(key: SecretKey, ed25519: Ed25519 = defaultEd25519()): Signer {
  return ed25519Signer(key.kid, key.seed, ed25519);
}
