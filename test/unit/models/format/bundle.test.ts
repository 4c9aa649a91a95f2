import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BundleError,
  approveBundle,
  bytesSource,
  openBundle,
  readBundleInfo,
  readContainerHeader,
  signerFor,
  withFileSource,
  VBUNDLE_MAGIC,
} from '../../../../models/format/index.ts';
import { KEYS, T0, assemble, makeBundle, parseBundle } from '../../../fixtures/bundles/kit.ts';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ACCEPTED';
  } catch (err) {
    if (err instanceof BundleError) return err.code;
    throw err;
  }
}

describe('build and approve', () => {
  it('builds an unsigned draft without a build key; approvals are added one by one', async () => {
    const b = await makeBundle({ withBuildSignature: false, approvers: [] });
    const bytes = fs.readFileSync(b.path);
    expect(await codeOf(openBundle(bytesSource(bytes)))).toBe('UNSIGNED');
    const info = await readBundleInfo(bytesSource(bytes), { checkFiles: true });
    expect(info.approvals).toEqual([]);
    const after = await approveBundle({
      bundle: b.path,
      signer: signerFor(KEYS.qa),
      role: 'qa',
      reviewer: 'Alice <alice@acme.example>',
      scope: 'canary',
      timeMs: T0,
    });
    expect(after.approvals.map((a) => [a.kid, a.role, a.scope])).toEqual([[KEYS.qa.kid, 'qa', 'canary']]);
    expect(after.manifestSha256).toBe(info.manifestSha256);
  });

  it('is byte-reproducible: same inputs, keys and clock give the same bundle', async () => {
    const a = await makeBundle({ name: 'a.vbundle' });
    const b = await makeBundle({ name: 'b.vbundle' });
    expect(fs.readFileSync(a.path).equals(fs.readFileSync(b.path))).toBe(true);
  });

  it('lays files out in the container after the header, exactly', async () => {
    const b = await makeBundle();
    const bytes = fs.readFileSync(b.path);
    expect(Array.from(bytes.subarray(0, 8))).toEqual(Array.from(VBUNDLE_MAGIC));
    const header = await readContainerHeader(bytesSource(bytes));
    const model = header.index.find((e) => e.path === 'model.onnx');
    expect(model).toBeDefined();
    expect(
      Buffer.from(bytes.subarray(model?.offset ?? 0, (model?.offset ?? 0) + (model?.size ?? 0))).equals(
        Buffer.from(b.model),
      ),
    ).toBe(true);
    const last = header.index[header.index.length - 1];
    expect((last?.offset ?? 0) + (last?.size ?? 0)).toBe(bytes.length);
  });

  it('refuses a second approval by the same key', async () => {
    const b = await makeBundle();
    expect(
      await codeOf(
        approveBundle({
          bundle: b.path,
          signer: signerFor(KEYS.qa),
          role: 'qa',
          reviewer: 'A <a@b.c>',
          scope: 'full',
          timeMs: T0,
        }),
      ),
    ).toBe('DUPLICATE_SIGNER');
  });

  it('refuses to approve bytes that differ from the signed manifest, and leaves the file alone', async () => {
    const b = await makeBundle({ approvers: [] });
    const bytes = fs.readFileSync(b.path);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    fs.writeFileSync(b.path, bytes);
    expect(
      await codeOf(
        approveBundle({
          bundle: b.path,
          signer: signerFor(KEYS.qa),
          role: 'qa',
          reviewer: 'A <a@b.c>',
          scope: 'full',
          timeMs: T0,
        }),
      ),
    ).toBe('DIGEST_MISMATCH');
    expect(fs.readFileSync(b.path).equals(bytes)).toBe(true);
    expect(fs.readdirSync(b.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('can write the approved bundle elsewhere', async () => {
    const b = await makeBundle({ approvers: [] });
    const out = path.join(b.dir, 'approved.vbundle');
    const before = fs.readFileSync(b.path);
    await approveBundle({
      bundle: b.path,
      out,
      signer: signerFor(KEYS.clinical),
      role: 'clinical',
      reviewer: 'C <c@d.e>',
      scope: 'full',
      timeMs: T0,
    });
    expect(fs.readFileSync(b.path).equals(before)).toBe(true);
    const info = await withFileSource(out, (s) => readBundleInfo(s));
    expect(info.approvals.map((a) => a.role)).toEqual(['build', 'clinical']);
  });
});

describe('container', () => {
  it('checks size caps before reading, then the magic, the header and the exact length', async () => {
    const b = await makeBundle();
    const bytes = new Uint8Array(fs.readFileSync(b.path));
    const limits = { maxBundleBytes: 1024, maxHeaderBytes: 1024 * 1024, maxFiles: 64 };
    expect(await codeOf(readContainerHeader(bytesSource(bytes), limits))).toBe('TOO_LARGE');
    expect(
      await codeOf(
        readContainerHeader(bytesSource(bytes), { ...limits, maxBundleBytes: 1 << 30, maxHeaderBytes: 100 }),
      ),
    ).toBe('TOO_LARGE');
    const notBundle = Uint8Array.from(bytes);
    notBundle[1] = 0x58;
    expect(await codeOf(readContainerHeader(bytesSource(notBundle)))).toBe('BAD_CONTAINER');
    expect(await codeOf(readContainerHeader(bytesSource(bytes.subarray(0, 10))))).toBe('BAD_CONTAINER');
    expect(await codeOf(readContainerHeader(bytesSource(bytes.subarray(0, 40))))).toBe('BAD_CONTAINER');
    expect(await codeOf(readContainerHeader(bytesSource(bytes.subarray(0, bytes.length - 1))))).toBe(
      'BAD_CONTAINER',
    );
    const appended = new Uint8Array(bytes.length + 3);
    appended.set(bytes);
    expect(await codeOf(readContainerHeader(bytesSource(appended)))).toBe('TRAILING_BYTES');
  });

  it('refuses too many files, bad index entries and a wrong container version', async () => {
    const b = await makeBundle();
    const { header, data } = await parseBundle(fs.readFileSync(b.path));
    const many = assemble(
      header.cose,
      [...header.index, ...Array.from({ length: 70 }, (_, i) => ({ path: `f${i}`, size: 0 }))],
      data,
    );
    expect(await codeOf(readContainerHeader(bytesSource(many)))).toBe('TOO_LARGE');
    const dup = assemble(header.cose, [...header.index, { path: 'Model.onnx', size: 0 }], data);
    expect(await codeOf(readContainerHeader(bytesSource(dup)))).toBe('DUPLICATE_PATH');
  });
});
