// Where bundle bytes come from: a file (the usual case: a staged .vbundle) or memory (e.g. chunks
// reassembled from MQTT). Both are read in bounded chunks, so a 50 MB model is hashed without being
// held in memory twice, and the verifier never needs more than one chunk buffer.
import fs from 'node:fs/promises';
import { BundleError } from './errors.ts';

export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

export interface ByteSource {
  /** Total size in bytes, fixed when the source was opened. */
  readonly size: number;
  /** Exactly `length` bytes at `offset` (a fresh buffer or a view the caller must not keep). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * The bytes of [offset, offset + length) in chunks of at most `chunkBytes`. Each chunk is only valid
   * until the next one is requested (the buffer is reused).
   */
  chunks(offset: number, length: number, chunkBytes?: number): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

function checkRange(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new RangeError(`invalid byte range ${offset}+${length}`);
  }
  if (offset + length > size) {
    throw new BundleError('BAD_CONTAINER', `the bundle ends at byte ${size}, before ${offset + length}`);
  }
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(offset, length) {
      checkRange(bytes.length, offset, length);
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
    async *chunks(offset, length, chunkBytes = DEFAULT_CHUNK_BYTES) {
      checkRange(bytes.length, offset, length);
      // Memory is already there: hand out views, no copies. Yield in chunks so callers can interleave.
      for (let at = offset; at < offset + length; at += chunkBytes) {
        await Promise.resolve();
        yield bytes.subarray(at, Math.min(at + chunkBytes, offset + length));
      }
    },
    close: () => Promise.resolve(),
  };
}

/** Opens a file as a ByteSource. The size is taken once, from the open descriptor. */
export async function openFileSource(path: string): Promise<ByteSource> {
  const handle = await fs.open(path, 'r');
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new BundleError('BAD_CONTAINER', `${path} is not a regular file`);
    return fileSource(handle, stat.size);
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function readFully(handle: fs.FileHandle, buffer: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) {
      throw new BundleError('BAD_CONTAINER', `the file ended early (it changed while being read?)`);
    }
    done += bytesRead;
  }
}

function fileSource(handle: fs.FileHandle, size: number): ByteSource {
  let closed = false;
  return {
    size,
    async read(offset, length) {
      checkRange(size, offset, length);
      const buffer = new Uint8Array(length);
      await readFully(handle, buffer, offset);
      return buffer;
    },
    async *chunks(offset, length, chunkBytes = DEFAULT_CHUNK_BYTES) {
      checkRange(size, offset, length);
      const buffer = new Uint8Array(Math.min(chunkBytes, Math.max(length, 1)));
      for (let at = offset; at < offset + length; at += buffer.length) {
        const view = buffer.subarray(0, Math.min(buffer.length, offset + length - at));
        await readFully(handle, view, at);
        yield view;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}

/** Runs `fn` with the file opened as a source, closing it afterwards. */
export async function withFileSource<T>(path: string, fn: (source: ByteSource) => Promise<T>): Promise<T> {
  const source = await openFileSource(path);
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}
