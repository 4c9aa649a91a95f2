// Durable file-system steps for device state: a rename or a new file is only durable once the file
// *and* its directory entry are fsynced (POSIX rename(2) is atomic, not durable). Every step that a
// crash must not undo goes through here.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** fsync a file or a directory (Linux allows opening a directory read-only to fsync it). */
export async function fsyncPath(target: string): Promise<void> {
  const handle = await fsp.open(target, fs.constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function fsyncPathSync(target: string): void {
  const fd = fs.openSync(target, fs.constants.O_RDONLY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync every file and directory below `root`, then `root` itself (after an extraction). */
export async function fsyncTree(root: string): Promise<void> {
  for (const dirent of await fsp.readdir(root, { withFileTypes: true })) {
    const child = path.join(root, dirent.name);
    if (dirent.isDirectory()) await fsyncTree(child);
    else if (dirent.isFile()) await fsyncPath(child);
  }
  await fsyncPath(root);
}

/** rename(2), then fsync the destination's directory (and the source's, when it differs). */
export async function renameDurable(from: string, to: string): Promise<void> {
  await fsp.rename(from, to);
  await fsyncPath(path.dirname(to));
  if (path.dirname(from) !== path.dirname(to)) await fsyncPath(path.dirname(from));
}

/** Creates a directory (and parents) with `mode`, fsyncing the parent so the entry survives. */
export function ensureDirSync(dir: string, mode = 0o700): void {
  if (fs.existsSync(dir)) return;
  fs.mkdirSync(dir, { recursive: true, mode });
  fsyncPathSync(path.dirname(dir));
}

/**
 * Writes a new file that appears complete or not at all: temp file in the same directory, write,
 * fsync, then link(2) to the final name (fails with EEXIST instead of replacing), fsync the directory.
 */
export function createFileExclusiveSync(file: string, bytes: Uint8Array, mode: number): void {
  const dir = path.dirname(file);
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`,
  );
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.fchmodSync(fd, mode); // the umask may have narrowed it; never widened
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncPathSync(dir);
}

export interface CopyResult {
  readonly size: number;
  /** Lower-case hex SHA-256 of the bytes written (hashed while copying). */
  readonly sha256: string;
}

/**
 * Copies `from` into a new private file `to` (mode 0600), refusing sources above `maxBytes` before
 * reading, hashing while writing, then fsyncing. Throws `RangeError` when the source is too large.
 */
export async function copyPrivateDurable(from: string, to: string, maxBytes: number): Promise<CopyResult> {
  const source = await fsp.open(from, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const stat = await source.stat();
    if (!stat.isFile()) throw new TypeError(`${from} is not a regular file`);
    if (stat.size > maxBytes) throw new RangeError(`${from} is ${stat.size} bytes; the limit is ${maxBytes}`);
    const target = await fsp.open(to, 'wx', 0o600);
    const hash = crypto.createHash('sha256');
    let size = 0;
    try {
      const buffer = new Uint8Array(1024 * 1024);
      for (;;) {
        const { bytesRead } = await source.read(buffer, 0, buffer.length, size);
        if (bytesRead === 0) break;
        if (size + bytesRead > maxBytes)
          throw new RangeError(`${from} grew beyond ${maxBytes} bytes while being copied`);
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        let written = 0;
        while (written < chunk.length) {
          const { bytesWritten } = await target.write(chunk, written, chunk.length - written);
          written += bytesWritten;
        }
        size += bytesRead;
      }
      await target.sync();
    } finally {
      await target.close();
    }
    return { size, sha256: hash.digest('hex') };
  } finally {
    await source.close();
  }
}

/** Total bytes of the regular files below `root` (0 when it does not exist). */
export async function treeBytes(root: string): Promise<number> {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(root, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  for (const dirent of entries) {
    const child = path.join(root, dirent.name);
    if (dirent.isDirectory()) total += await treeBytes(child);
    else if (dirent.isFile()) total += (await fsp.stat(child)).size;
  }
  return total;
}

/** Removes a tree whose files may be read-only (extracted bundles are 0444 in 0755 directories). */
export async function removeTree(root: string): Promise<void> {
  await fsp.rm(root, { recursive: true, force: true });
}
