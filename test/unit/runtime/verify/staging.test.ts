import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BundleError, bytesSource, withFileSource } from '../../../../models/format/index.ts';
import {
  extractVerifiedBundle,
  readStagedFile,
  recheckStagedBundle,
  verifyBundle,
  verifyBundleFile,
} from '../../../../runtime/verify/index.ts';
import { makeBundle, makeTrust, verifyOptions } from '../../../fixtures/bundles/kit.ts';

const trust = makeTrust();

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ACCEPTED';
  } catch (err) {
    if (err instanceof BundleError) return err.code;
    throw err;
  }
}

async function staged(): Promise<{
  dir: string;
  verified: Awaited<ReturnType<typeof verifyBundleFile>>;
  bundle: string;
}> {
  const b = await makeBundle();
  const dir = path.join(b.dir, 'slot-a');
  const verified = await withFileSource(b.path, async (source) => {
    const v = await verifyBundle(source, verifyOptions(trust.store));
    await extractVerifiedBundle(source, v, dir);
    return v;
  });
  return { dir, verified, bundle: b.path };
}

describe('staging', () => {
  it('extracts exactly the signed files, read-only, and they re-check clean', async () => {
    const { dir, verified } = await staged();
    expect(fs.readdirSync(dir).sort()).toEqual(['evidence.json', 'model.onnx', 'profile.json']);
    expect(fs.statSync(path.join(dir, 'model.onnx')).mode & 0o222).toBe(0);
    await recheckStagedBundle(dir, verified.manifest);
    const model = verified.manifest.files.find((f) => f.path === 'model.onnx');
    if (model === undefined) throw new Error('no model');
    expect((await readStagedFile(dir, model)).length).toBe(model.size);
  });

  it('refuses an existing destination', async () => {
    const { dir, verified, bundle } = await staged();
    await expect(withFileSource(bundle, (s) => extractVerifiedBundle(s, verified, dir))).rejects.toThrow(
      /EEXIST/,
    );
  });

  it('notices a container changed between verification and extraction, and removes the partial directory', async () => {
    const b = await makeBundle();
    const bytes = new Uint8Array(fs.readFileSync(b.path));
    const verified = await verifyBundle(bytesSource(bytes), verifyOptions(trust.store));
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 0xff;
    const dir = path.join(b.dir, 'slot-b');
    expect(await codeOf(extractVerifiedBundle(bytesSource(bytes), verified, dir))).toBe('DIGEST_MISMATCH');
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('finds unlisted, missing, resized and symlinked files at activation', async () => {
    const { dir, verified } = await staged();
    fs.writeFileSync(path.join(dir, 'extra.bin'), 'x');
    expect(await codeOf(recheckStagedBundle(dir, verified.manifest))).toBe('UNLISTED_FILE');
    expect(
      await codeOf(recheckStagedBundle(dir, verified.manifest, { ignore: (p) => p === 'extra.bin' })),
    ).toBe('ACCEPTED');
    fs.rmSync(path.join(dir, 'extra.bin'));
    fs.rmSync(path.join(dir, 'profile.json'));
    expect(await codeOf(recheckStagedBundle(dir, verified.manifest))).toBe('MISSING_FILE');
    fs.writeFileSync(path.join(dir, 'profile.json'), 'longer than the original profile bytes');
    expect(await codeOf(recheckStagedBundle(dir, verified.manifest))).toBe('SIZE_MISMATCH');
    fs.rmSync(path.join(dir, 'profile.json'));
    fs.symlinkSync(path.join(dir, 'evidence.json'), path.join(dir, 'profile.json'));
    expect(await codeOf(recheckStagedBundle(dir, verified.manifest))).toBe('BAD_PATH');
  });
});
