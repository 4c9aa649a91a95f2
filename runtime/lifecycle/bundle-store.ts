// Where bundles live on the device: `bundles/<manifest sha256>/` holds the signed files of each
// installed bundle (read-only), `install-staging/` holds private copies and extractions in progress
// (not `staging/`: that is the MQTT update receiver's, whose partial transfers must survive a boot).
// A bundle directory appears by one fsynced rename; the state database says which ones are
// installed, so at boot anything else (a crash between rename and commit, or between prune and
// delete) is removed.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  BundleError,
  DEFAULT_CHUNK_BYTES,
  checkBundlePath,
  encodeContainerHeader,
  withFileSource,
  type ByteSource,
  type Manifest,
} from '../../models/format/index.ts';
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

  /**
   * The container an installed bundle came in, rebuilt from its stored COSE_Sign bytes and its files
   * on disk (in the signed manifest's order), as a ByteSource the verification chain can run over
   * again: signatures, release policy, file digests (re-read and re-hashed), expiry. Files are opened
   * without following symlinks and must have their signed sizes. Close it after use.
   */
  async openSigned(manifestSha256: string, coseSign: Uint8Array, manifest: Manifest): Promise<ByteSource> {
    const dir = this.dirOf(manifestSha256);
    const header = encodeContainerHeader(coseSign, manifest.files);
    const segments: { start: number; size: number; handle: fs.FileHandle | null }[] = [
      { start: 0, size: header.length, handle: null },
    ];
    let at = header.length;
    try {
      for (const file of manifest.files) {
        checkBundlePath(file.path, 'installed bundle');
        const handle = await openNoFollow(path.join(dir, ...file.path.split('/')), file.path);
        segments.push({ start: at, size: file.size, handle });
        const stat = await handle.stat();
        if (!stat.isFile() || stat.size !== file.size) {
          throw new BundleError(
            'SIZE_MISMATCH',
            `${file.path} is ${stat.size} bytes on disk; the signed size is ${file.size}`,
          );
        }
        at += file.size;
      }
    } catch (error) {
      for (const s of segments) await s.handle?.close();
      throw error;
    }
    return segmentedSource(header, segments, at);
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

async function openNoFollow(file: string, name: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new BundleError('MISSING_FILE', `${name} is missing from the installed bundle`);
    if (code === 'ELOOP') throw new BundleError('BAD_PATH', `${name} in the installed bundle is a symlink`);
    throw error;
  }
}

/** A ByteSource over the header bytes followed by open files (reads may span segments). */
function segmentedSource(
  header: Uint8Array,
  segments: readonly { start: number; size: number; handle: fs.FileHandle | null }[],
  size: number,
): ByteSource {
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`invalid byte range ${offset}+${length}`);
    }
    if (offset + length > size) {
      throw new BundleError('BAD_CONTAINER', `the bundle ends at byte ${size}, before ${offset + length}`);
    }
    const out = new Uint8Array(length);
    let done = 0;
    for (const seg of segments) {
      if (done === length) break;
      const from = offset + done;
      if (from >= seg.start + seg.size || from < seg.start) continue;
      const n = Math.min(length - done, seg.start + seg.size - from);
      if (seg.handle === null) {
        out.set(header.subarray(from - seg.start, from - seg.start + n), done);
      } else {
        let got = 0;
        while (got < n) {
          const { bytesRead } = await seg.handle.read(out, done + got, n - got, from - seg.start + got);
          if (bytesRead === 0) throw new BundleError('SIZE_MISMATCH', 'an installed file shrank while read');
          got += bytesRead;
        }
      }
      done += n;
    }
    return out;
  };
  return {
    size,
    read,
    async *chunks(offset, length, chunkBytes = DEFAULT_CHUNK_BYTES) {
      for (let at = offset; at < offset + length; at += chunkBytes) {
        yield await read(at, Math.min(chunkBytes, offset + length - at));
      }
    },
    async close() {
      for (const seg of segments) await seg.handle?.close();
    },
  };
}
