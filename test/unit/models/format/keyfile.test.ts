import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  KeyFileError,
  bytesToHex,
  generateKey,
  readPublicKeyFile,
  readSecretKeyFile,
  writeKeyFiles,
} from '../../../../models/format/index.ts';
import { tempDir } from '../../../fixtures/bundles/kit.ts';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ACCEPTED';
  } catch (err) {
    if (err instanceof KeyFileError) return err.code;
    throw err;
  }
}

const seeded =
  (byte: number) =>
  (n: number): Uint8Array =>
    new Uint8Array(n).fill(byte);

describe('key files', () => {
  it('writes a 0600 secret key and a public key, and reads them back', async () => {
    const dir = tempDir('vigil-keys-');
    const key = generateKey('qa-alice-2026', 'qa', seeded(7));
    const paths = await writeKeyFiles(dir, key);
    expect(fs.statSync(paths.secret).mode & 0o777).toBe(0o600);
    const back = await readSecretKeyFile(paths.secret);
    expect(back.kid).toBe('qa-alice-2026');
    expect(back.role).toBe('qa');
    expect(bytesToHex(back.seed)).toBe(bytesToHex(key.seed));
    const pub = await readPublicKeyFile(paths.public);
    expect(bytesToHex(pub.publicKey)).toBe(bytesToHex(key.publicKey));
    expect(fs.readFileSync(paths.public, 'utf8')).not.toContain(bytesToHex(key.seed));
  });

  it('the same random source gives the same key (seeded demo and test keys)', () => {
    expect(bytesToHex(generateKey('a', 'qa', seeded(1)).publicKey)).toBe(
      bytesToHex(generateKey('a', 'qa', seeded(1)).publicKey),
    );
  });

  it('refuses a secret key file readable or writable by group or others', async () => {
    const dir = tempDir('vigil-keys-');
    const { secret } = await writeKeyFiles(dir, generateKey('k1', 'clinical', seeded(2)));
    for (const mode of [0o640, 0o604, 0o620, 0o644]) {
      fs.chmodSync(secret, mode);
      expect(await codeOf(readSecretKeyFile(secret))).toBe('KEY_PERMISSIONS');
    }
    fs.chmodSync(secret, 0o400);
    expect(await codeOf(readSecretKeyFile(secret))).toBe('ACCEPTED');
  });

  it('never overwrites a key', async () => {
    const dir = tempDir('vigil-keys-');
    await writeKeyFiles(dir, generateKey('k1', 'qa', seeded(3)));
    expect(await codeOf(writeKeyFiles(dir, generateKey('k1', 'qa', seeded(4))))).toBe('KEY_EXISTS');
  });

  it('refuses malformed or inconsistent key files', async () => {
    const dir = tempDir('vigil-keys-');
    const { secret } = await writeKeyFiles(dir, generateKey('k1', 'qa', seeded(5)));
    const json = JSON.parse(fs.readFileSync(secret, 'utf8')) as Record<string, unknown>;
    const write = (name: string, content: string): string => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, content, { mode: 0o600 });
      return file;
    };
    expect(await codeOf(readSecretKeyFile(write('a.key', 'not json')))).toBe('BAD_KEY_FILE');
    expect(
      await codeOf(readSecretKeyFile(write('b.key', JSON.stringify({ ...json, seed: '00'.repeat(32) })))),
    ).toBe('BAD_KEY_FILE');
    expect(await codeOf(readSecretKeyFile(write('c.key', JSON.stringify({ ...json, role: 'admin' }))))).toBe(
      'BAD_KEY_FILE',
    );
    expect(await codeOf(readSecretKeyFile(write('d.key', JSON.stringify({ ...json, extra: 1 }))))).toBe(
      'BAD_KEY_FILE',
    );
    expect(() => generateKey('../evil', 'qa')).toThrow(KeyFileError);
  });
});
