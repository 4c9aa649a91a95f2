// Where bundles live on the device: `bundles/<manifest sha256>/` holds the signed files of each
// installed bundle (read-only), `install-staging/` holds private copies and extractions in progress
// (not `staging/`: that is the MQTT update receiver's, whose partial transfers must survive a boot).
// A bundle directory appears by one fsynced rename; the state database says which ones are
// installed, so at boot anything else (a crash between rename and commit, or between prune and
// delete) is removed.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { withFileSource, type Manifest } from '../../models/format/index.ts';
import {
  copyPrivateDurable,
  ensureDirSync,
  fsyncPath,
  fsyncTree,
  removeTree,
  renameDurable,
  treeBytes,
  type CopyResult,
} from '../state/index.ts';
import { extractVerifiedBundle, recheckStagedBundle, type VerifiedBundle } from '../verify/index.ts';

const SHA = /^[0-9a-f]{64}$/;

export interface StagedCopy extends CopyResult {
  readonly path: string;
}

export class BundleStore {
  readonly bundlesDir: string;
  readonly stagingDir: string;

  constructor(dataDir: string) {
    this.bundlesDir = path.join(dataDir, 'bundles');
    this.stagingDir = path.join(dataDir, 'install-staging');
    ensureDirSync(this.bundlesDir, 0o700);
    ensureDirSync(this.stagingDir, 0o700);
  }

  dirOf(manifestSha256: string): string {
    if (!SHA.test(manifestSha256)) throw new RangeError(`not a manifest digest: ${manifestSha256}`);
    return path.join(this.bundlesDir, manifestSha256);
  }

  /** A private (0600), fsynced copy of an offered bundle file, hashed while copied. */
  async stageCopy(file: string, maxBytes: number): Promise<StagedCopy> {
    const target = path.join(this.stagingDir, `${crypto.randomBytes(8).toString('hex')}.vbundle`);
    try {
      const copy = await copyPrivateDurable(file, target, maxBytes);
      return { ...copy, path: target };
    } catch (error) {
      await fs.rm(target, { force: true });
      throw error;
    }
  }

  async discard(copy: StagedCopy): Promise<void> {
    await fs.rm(copy.path, { force: true });
  }

  /**
   * Extracts a verified bundle (hashing while writing) into staging, fsyncs every file and directory,
   * then renames it into `bundles/` durably. Returns the bundle directory.
   */
  async extract(copy: StagedCopy, verified: VerifiedBundle): Promise<string> {
    const sha = verified.manifestSha256;
    const work = path.join(this.stagingDir, `${sha}.${crypto.randomBytes(4).toString('hex')}.x`);
    try {
      await withFileSource(copy.path, (source) => extractVerifiedBundle(source, verified, work));
      await fsyncTree(work);
      const final = this.dirOf(sha);
      // Left over from a crash after a rename whose commit never happened: not installed, replace it.
      await removeTree(final);
      await renameDurable(work, final);
      return final;
    } catch (error) {
      await removeTree(work);
      throw error;
    }
  }

  /** Re-checks a bundle directory against its signed manifest (exact files, sizes, digests). */
  async recheck(manifestSha256: string, manifest: Manifest): Promise<void> {
    await recheckStagedBundle(this.dirOf(manifestSha256), manifest);
  }

  async exists(manifestSha256: string): Promise<boolean> {
    try {
      return (await fs.stat(this.dirOf(manifestSha256))).isDirectory();
    } catch {
      return false;
    }
  }

  async remove(manifestSha256: string): Promise<void> {
    await removeTree(this.dirOf(manifestSha256));
    await fsyncPath(this.bundlesDir);
  }

  async bytesOf(manifestSha256: string): Promise<number> {
    return treeBytes(this.dirOf(manifestSha256));
  }

  /**
   * Boot recovery: empties staging and removes bundle directories the database does not know.
   * Returns what was removed (for the audit record).
   */
  async recover(installed: ReadonlySet<string>): Promise<{ staging: number; orphans: string[] }> {
    let staging = 0;
    for (const name of await fs.readdir(this.stagingDir)) {
      await removeTree(path.join(this.stagingDir, name));
      staging += 1;
    }
    const orphans: string[] = [];
    for (const name of await fs.readdir(this.bundlesDir)) {
      if (installed.has(name)) continue;
      await removeTree(path.join(this.bundlesDir, name));
      orphans.push(name);
    }
    if (staging > 0) await fsyncPath(this.stagingDir);
    if (orphans.length > 0) await fsyncPath(this.bundlesDir);
    return { staging, orphans };
  }
}
