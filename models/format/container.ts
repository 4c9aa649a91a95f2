// The .vbundle container: one file holding the signed COSE_Sign and the files it covers.
//
//   magic      8 bytes   89 56 42 4E 44 0D 0A 1A  ("\x89VBND\r\n\x1a": binary, detects text-mode damage)
//   length     4 bytes   big-endian length of the header
//   header     CBOR      [1, cose: bstr .cbor COSE_Sign_Tagged, index: [* [path: tstr, size: uint]]]
//   files      ...       the files' bytes, concatenated in index order, nothing after the last one
//
// The index is not signed: it only says where bytes are. The verifier compares it with the signed
// manifest (unlisted, missing, sizes) before hashing anything, then hashes each file in place, so a
// 50 MB model is streamed once through SHA-256 and never parsed or copied as CBOR.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { decodeCbor } from './cbor/decode.ts';
import { encodeCbor } from './cbor/encode.ts';
import { isBytes, isCborArray } from './cbor/value.ts';
import { BundleError, asBundleError } from './errors.ts';
import { checkBundlePath, checkUniquePaths } from './paths.ts';
import type { ByteSource } from './source.ts';

export const VBUNDLE_MAGIC = Uint8Array.from([0x89, 0x56, 0x42, 0x4e, 0x44, 0x0d, 0x0a, 0x1a]);
export const CONTAINER_VERSION = 1;
const PREAMBLE_BYTES = VBUNDLE_MAGIC.length + 4;

export interface BundleLimits {
  /** Largest .vbundle accepted, checked before anything is read. */
  readonly maxBundleBytes: number;
  /** Largest header (COSE_Sign + index) accepted. */
  readonly maxHeaderBytes: number;
  readonly maxFiles: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = Object.freeze({
  maxBundleBytes: 512 * 1024 * 1024,
  maxHeaderBytes: 1024 * 1024,
  maxFiles: 64,
});

export interface IndexEntry {
  readonly path: string;
  readonly size: number;
  /** Byte offset of the file's first byte in the container. */
  readonly offset: number;
}

export interface ContainerHeader {
  /** The COSE_Sign_Tagged bytes exactly as received. */
  readonly cose: Uint8Array;
  readonly index: readonly IndexEntry[];
  /** Offset of the first file byte (= end of the header). */
  readonly dataOffset: number;
}

/** Reads and checks the container header (size caps first). Throws BundleError. */
export async function readContainerHeader(
  source: ByteSource,
  limits: BundleLimits = DEFAULT_BUNDLE_LIMITS,
): Promise<ContainerHeader> {
  if (source.size > limits.maxBundleBytes) {
    throw new BundleError(
      'TOO_LARGE',
      `the bundle is ${source.size} bytes; the limit is ${limits.maxBundleBytes}`,
    );
  }
  if (source.size < PREAMBLE_BYTES)
    throw new BundleError('BAD_CONTAINER', 'the file is too short to be a bundle');
  const preamble = await source.read(0, PREAMBLE_BYTES);
  if (!VBUNDLE_MAGIC.every((b, i) => preamble[i] === b)) {
    throw new BundleError('BAD_CONTAINER', 'this is not a Vigil bundle (.vbundle magic missing)');
  }
  const headerBytes = new DataView(preamble.buffer, preamble.byteOffset, preamble.byteLength).getUint32(8);
  if (headerBytes > limits.maxHeaderBytes) {
    throw new BundleError(
      'TOO_LARGE',
      `the bundle header is ${headerBytes} bytes; the limit is ${limits.maxHeaderBytes}`,
    );
  }
  const dataOffset = PREAMBLE_BYTES + headerBytes;
  if (dataOffset > source.size) throw new BundleError('BAD_CONTAINER', 'the bundle ends inside its header');
  const raw = await source.read(PREAMBLE_BYTES, headerBytes);
  const header = asBundleError(() => decodeCbor(raw, { maxBytes: limits.maxHeaderBytes, maxDepth: 4 }));
  if (!isCborArray(header) || header.length !== 3) {
    throw new BundleError('BAD_CONTAINER', 'the bundle header is not [version, cose, index]');
  }
  const [version, cose, index] = header;
  if (version !== CONTAINER_VERSION) {
    throw new BundleError(
      'BAD_CONTAINER',
      `container version ${String(typeof version === 'number' ? version : '?')} is not supported`,
    );
  }
  if (!isBytes(cose))
    throw new BundleError('BAD_CONTAINER', 'the bundle header carries no COSE_Sign byte string');
  if (!isCborArray(index)) throw new BundleError('BAD_CONTAINER', 'the bundle index is not a list');
  if (index.length > limits.maxFiles) {
    throw new BundleError(
      'TOO_LARGE',
      `the bundle holds ${index.length} files; the limit is ${limits.maxFiles}`,
    );
  }
  const entries: IndexEntry[] = [];
  let offset = dataOffset;
  for (const [i, item] of index.entries()) {
    if (
      !isCborArray(item) ||
      item.length !== 2 ||
      typeof item[0] !== 'string' ||
      typeof item[1] !== 'number'
    ) {
      throw new BundleError('BAD_CONTAINER', `index entry ${i + 1} is not [path, size]`);
    }
    const [filePath, size] = item as [string, number];
    checkBundlePath(filePath, `bundle index entry ${i + 1}`);
    if (!Number.isSafeInteger(size) || size < 0)
      throw new BundleError('BAD_CONTAINER', `index entry ${i + 1} has a bad size`);
    if (size > source.size - offset) {
      throw new BundleError('BAD_CONTAINER', `the bundle ends inside ${filePath} (truncated)`);
    }
    entries.push({ path: filePath, size, offset });
    offset += size;
  }
  checkUniquePaths(
    entries.map((e) => e.path),
    'bundle index',
  );
  if (offset !== source.size) {
    throw new BundleError(
      'TRAILING_BYTES',
      `${source.size - offset} bytes follow the last file of the bundle`,
    );
  }
  return { cose, index: entries, dataOffset };
}

export interface ContainerFileInput {
  readonly path: string;
  readonly size: number;
  /** The file's bytes, in order; their total must equal `size`. */
  chunks(): AsyncIterable<Uint8Array>;
}

/** Encodes the preamble and header for `cose` and `files`. */
export function encodeContainerHeader(
  cose: Uint8Array,
  files: readonly { path: string; size: number }[],
): Uint8Array {
  const header = encodeCbor([CONTAINER_VERSION, cose, files.map((f) => [f.path, f.size])]);
  const out = new Uint8Array(PREAMBLE_BYTES + header.length);
  out.set(VBUNDLE_MAGIC, 0);
  new DataView(out.buffer).setUint32(VBUNDLE_MAGIC.length, header.length);
  out.set(header, PREAMBLE_BYTES);
  return out;
}

/**
 * Writes a container atomically: to a temporary file next to `outPath`, then renamed over it, so a
 * reader never sees half a bundle (and `approve` can rewrite a bundle in place).
 */
export async function writeContainer(
  outPath: string,
  cose: Uint8Array,
  files: readonly ContainerFileInput[],
): Promise<void> {
  const tmp = path.join(path.dirname(outPath), `.${path.basename(outPath)}.${crypto.randomUUID()}.tmp`);
  const handle = await fs.open(tmp, 'wx', 0o644);
  try {
    await writeAll(handle, encodeContainerHeader(cose, files));
    for (const file of files) {
      let written = 0;
      for await (const chunk of file.chunks()) {
        await writeAll(handle, chunk);
        written += chunk.length;
      }
      if (written !== file.size) {
        throw new BundleError(
          'SIZE_MISMATCH',
          `${file.path} changed while being written (${written} ≠ ${file.size} bytes)`,
        );
      }
    }
    await handle.sync();
    await handle.close();
    await fs.rename(tmp, outPath);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

async function writeAll(handle: fs.FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}
