// From a verified bundle to files on disk, and checks against time-of-check/time-of-use swaps.
// Extraction hashes while it writes, so a container changed between verification and extraction
// cannot slip through; activation re-checks the staged directory (or reads a file through
// `readStagedFile`, which returns the very bytes it hashed).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  BundleError,
  DEFAULT_CHUNK_BYTES,
  checkBundlePath,
  digestsEqual,
  hexToBytes,
  type ByteSource,
  type FileEntry,
  type Manifest,
} from '../../models/format/index.ts';
import type { VerifiedBundle } from './verify.ts';

async function writeAll(handle: fs.FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

/**
 * Writes the files of a verified bundle into `destDir` (created; it must not exist), read-only,
 * hashing each while writing. On any mismatch the directory is removed and BundleError thrown.
 */
export async function extractVerifiedBundle(
  source: ByteSource,
  verified: VerifiedBundle,
  destDir: string,
): Promise<void> {
  const signed = new Map(verified.manifest.files.map((f) => [f.path, f]));
  await fs.mkdir(destDir, { recursive: false, mode: 0o755 });
  try {
    for (const entry of verified.index) {
      const file = signed.get(entry.path);
      if (file === undefined || file.size !== entry.size) {
        throw new BundleError('UNLISTED_FILE', `${entry.path} is not a signed file of this bundle`);
      }
      checkBundlePath(entry.path, 'extract');
      const target = path.join(destDir, ...entry.path.split('/'));
      await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
      const handle = await fs.open(target, 'wx', 0o444);
      const hash = crypto.createHash('sha256');
      try {
        for await (const chunk of source.chunks(entry.offset, entry.size)) {
          hash.update(chunk);
          await writeAll(handle, chunk);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (!digestsEqual(new Uint8Array(hash.digest()), hexToBytes(file.sha256))) {
        throw new BundleError('DIGEST_MISMATCH', `${entry.path} changed between verification and extraction`);
      }
    }
  } catch (err) {
    await fs.rm(destDir, { recursive: true, force: true });
    throw err;
  }
}

async function listFiles(root: string, rel: string, out: string[]): Promise<void> {
  for (const dirent of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
    const child = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
    if (dirent.isDirectory()) await listFiles(root, child, out);
    else if (dirent.isFile()) out.push(child);
    else
      throw new BundleError(
        'BAD_PATH',
        `${child} in the staged bundle is not a regular file (symlink or device?)`,
      );
  }
}

async function hashOpenFile(
  handle: fs.FileHandle,
  size: number,
  keep: boolean,
): Promise<{ digest: Uint8Array; bytes: Uint8Array | null }> {
  const hash = crypto.createHash('sha256');
  const whole = keep ? new Uint8Array(size) : null;
  const buffer = whole ?? new Uint8Array(Math.min(DEFAULT_CHUNK_BYTES, Math.max(size, 1)));
  let at = 0;
  while (at < size) {
    const view = whole
      ? whole.subarray(at, Math.min(at + DEFAULT_CHUNK_BYTES, size))
      : buffer.subarray(0, Math.min(buffer.length, size - at));
    const { bytesRead } = await handle.read(view, 0, view.length, at);
    if (bytesRead === 0) break;
    hash.update(view.subarray(0, bytesRead));
    at += bytesRead;
  }
  if (at !== size) throw new BundleError('SIZE_MISMATCH', 'a staged file changed size while being read');
  return { digest: new Uint8Array(hash.digest()), bytes: whole };
}

async function checkStagedFile(dir: string, file: FileEntry, keep: boolean): Promise<Uint8Array | null> {
  checkBundlePath(file.path, 'staged bundle');
  const target = path.join(dir, ...file.path.split('/'));
  let handle: fs.FileHandle;
  try {
    // O_NOFOLLOW: a symlink planted in place of the file is refused, not followed.
    handle = await fs.open(target, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new BundleError('MISSING_FILE', `${file.path} is missing from the staged bundle`, { cause: err });
    if (code === 'ELOOP')
      throw new BundleError('BAD_PATH', `${file.path} in the staged bundle is a symlink`, { cause: err });
    throw err;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new BundleError('BAD_PATH', `${file.path} in the staged bundle is not a regular file`);
    if (stat.size !== file.size) {
      throw new BundleError(
        'SIZE_MISMATCH',
        `${file.path} is ${stat.size} bytes on disk; the signed size is ${file.size}`,
      );
    }
    const { digest, bytes } = await hashOpenFile(handle, file.size, keep);
    if (!digestsEqual(digest, hexToBytes(file.sha256))) {
      throw new BundleError('DIGEST_MISMATCH', `${file.path} changed since the bundle was verified`);
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

/**
 * Re-checks an extracted bundle against its signed manifest just before activation: exactly the
 * listed files (nothing unlisted, nothing missing, no symlinks), exact sizes, SHA-256 in constant time.
 */
export async function recheckStagedBundle(
  dir: string,
  manifest: Manifest,
  options: { readonly ignore?: (relativePath: string) => boolean } = {},
): Promise<void> {
  const present: string[] = [];
  await listFiles(dir, '', present);
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const rel of present) {
    if (!listed.has(rel) && !(options.ignore?.(rel) ?? false)) {
      throw new BundleError('UNLISTED_FILE', `${rel} is in the staged bundle but not in its signed manifest`);
    }
  }
  for (const file of manifest.files) await checkStagedFile(dir, file, false);
}

/**
 * Reads one staged file into memory and returns it only if its size and SHA-256 match the manifest:
 * the bytes returned are the bytes checked (e.g. the model handed to the inference backend).
 */
export async function readStagedFile(dir: string, file: FileEntry): Promise<Uint8Array> {
  const bytes = await checkStagedFile(dir, file, true);
  return bytes ?? new Uint8Array(0);
}
