// The device's own keys, created on first boot and never leaving the device:
// - the storage key (32 random bytes, file mode 0600) that encrypts the black box at rest;
// - the device signing key (Ed25519 key file, models/format key files) that signs audit checkpoints
//   and telemetry. Its public half is what a field engineer enrols (runtime/trust enrolment).
// Both are written so that a crash leaves either a complete file or none.
import fs from 'node:fs';
import path from 'node:path';
import {
  KID_PATTERN,
  generateKey,
  keyFilePaths,
  publicKeyJson,
  readSecretKeyFile,
  type SecretKey,
} from '../../models/format/index.ts';
import { StateError } from './db.ts';
import { createFileExclusiveSync, ensureDirSync } from './fsutil.ts';

export const STORAGE_KEY_BYTES = 32;
export const STORAGE_KEY_FILE = 'storage.key';

/** Reads the storage key, creating it (random, 0600) when absent. */
export function loadOrCreateStorageKey(
  keysDir: string,
  random: (n: number) => Uint8Array,
): { readonly key: Uint8Array; readonly created: boolean } {
  ensureDirSync(keysDir, 0o700);
  const file = path.join(keysDir, STORAGE_KEY_FILE);
  let created = false;
  if (!fs.existsSync(file)) {
    const key = random(STORAGE_KEY_BYTES);
    if (key.length !== STORAGE_KEY_BYTES) throw new RangeError('the random source returned too few bytes');
    try {
      createFileExclusiveSync(file, key, 0o600);
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.size !== STORAGE_KEY_BYTES) {
      throw new StateError('KEY_INVALID', `${file} must be a ${STORAGE_KEY_BYTES}-byte file`);
    }
    if ((stat.mode & 0o077) !== 0) {
      throw new StateError(
        'KEY_INVALID',
        `${file} is accessible by group or others (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
    const key = new Uint8Array(STORAGE_KEY_BYTES);
    fs.readSync(fd, key, 0, STORAGE_KEY_BYTES, 0);
    return { key, created };
  } finally {
    fs.closeSync(fd);
  }
}

/** The kid of a device's signing key: `device-` + the device id, restricted to key-id characters. */
export function deviceKid(deviceId: string): string {
  const cleaned = `device-${deviceId}`
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 64)
    .replace(/[._-]+$/, '');
  if (!KID_PATTERN.test(cleaned))
    throw new StateError('KEY_INVALID', `no key id can be made from ${deviceId}`);
  return cleaned;
}

/** Reads the device signing key, creating it (and its .pub) when absent. */
export async function loadOrCreateDeviceKey(
  keysDir: string,
  deviceId: string,
  random: (n: number) => Uint8Array,
): Promise<{ readonly key: SecretKey; readonly created: boolean }> {
  ensureDirSync(keysDir, 0o700);
  const kid = deviceKid(deviceId);
  const paths = keyFilePaths(keysDir, kid);
  let created = false;
  if (!fs.existsSync(paths.secret)) {
    const key = generateKey(kid, 'device', random);
    const secret = {
      format: 'vigil-key/1',
      type: 'ed25519-secret',
      kid: key.kid,
      role: key.role,
      publicKey: Buffer.from(key.publicKey).toString('hex'),
      seed: Buffer.from(key.seed).toString('hex'),
    };
    try {
      createFileExclusiveSync(
        paths.secret,
        new TextEncoder().encode(`${JSON.stringify(secret, null, 2)}\n`),
        0o600,
      );
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  let key: SecretKey;
  try {
    key = await readSecretKeyFile(paths.secret);
  } catch (error) {
    throw new StateError('KEY_INVALID', `the device key ${paths.secret} cannot be used`, { cause: error });
  }
  if (key.role !== 'device') throw new StateError('KEY_INVALID', `${paths.secret} is not a device key`);
  if (!fs.existsSync(paths.public)) {
    try {
      createFileExclusiveSync(paths.public, new TextEncoder().encode(publicKeyJson(key)), 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return { key, created };
}
