// Wire formats of an update transfer. The manifest and the chunks are fixed binary layouts (big
// endian) rather than CBOR: every length is implied by the header, so the parser checks one exact
// size and a handful of fields, with nothing variable to walk. They are not signed and need not be:
// they only move bytes; the bundle inside is a COSE_Sign that the lifecycle verifies in full
// (issue 3), and the per-chunk and whole-file SHA-256 here detect corruption early and cheaply.
//
// Manifest ("VGTM", version 1):
//   0 magic 4 | 4 version 1 | 5 target kind 1 (0 device, 1 fleet) | 6 cohort length 1 | 7 name length 1
//   8 transfer id 16 | 24 total bytes 8 | 32 chunk bytes 4 | 36 chunk count 4 | 40 SHA-256 of file 32
//   72 cohort (UTF-8) | name (UTF-8) | chunk count × SHA-256 32
// Chunk ("VGTC", version 1):
//   0 magic 4 | 4 version 1 | 5 reserved 3 (zero) | 8 transfer id 16 | 24 index 4 | 28 SHA-256 of data 32
//   60 data (exactly chunk bytes, or the remainder for the last chunk)
import { createHash, timingSafeEqual } from 'node:crypto';
import { ID_PATTERN } from '../mqtt/topics.ts';
import { UpdateError } from './errors.ts';

export const MANIFEST_MAGIC = 'VGTM';
export const CHUNK_MAGIC = 'VGTC';
export const WIRE_VERSION = 1;
export const MANIFEST_HEADER_BYTES = 72;
export const CHUNK_HEADER_BYTES = 60;
export const SHA256_BYTES = 32;
export const TRANSFER_ID_BYTES = 16;

export type TransferTarget =
  { readonly kind: 'device' } | { readonly kind: 'fleet'; readonly cohort?: string };

export interface TransferManifest {
  /** 32 lower-case hex digits. */
  readonly transferId: string;
  readonly target: TransferTarget;
  /** Display name (the bundle's file name); at most 255 UTF-8 bytes. */
  readonly name: string;
  readonly totalBytes: number;
  readonly chunkBytes: number;
  readonly chunkCount: number;
  readonly sha256: Uint8Array;
  readonly chunkSha256: readonly Uint8Array[];
}

export interface TransferChunk {
  readonly transferId: string;
  readonly index: number;
  readonly sha256: Uint8Array;
  readonly data: Uint8Array;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** Constant-time digest comparison (DESIGN.md "Untrusted input"). */
export function digestEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function idBytes(transferId: string): Uint8Array {
  if (!/^[0-9a-f]{32}$/.test(transferId)) {
    throw new UpdateError('BAD_OPTIONS', `transfer id ${JSON.stringify(transferId)} must be 32 hex digits`);
  }
  return new Uint8Array(Buffer.from(transferId, 'hex'));
}

export function chunkCountFor(totalBytes: number, chunkBytes: number): number {
  return Math.ceil(totalBytes / chunkBytes);
}

/** Length of chunk `index` under the manifest's sizes. */
export function chunkLength(
  m: Pick<TransferManifest, 'totalBytes' | 'chunkBytes' | 'chunkCount'>,
  index: number,
): number {
  return index === m.chunkCount - 1 ? m.totalBytes - index * m.chunkBytes : m.chunkBytes;
}

/** Builds the manifest of `file` cut into `chunkBytes` pieces. */
export function buildManifest(
  file: Uint8Array,
  options: { transferId: string; chunkBytes: number; name: string; target: TransferTarget },
): TransferManifest {
  const { chunkBytes } = options;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > 0xffffffff) {
    throw new UpdateError('BAD_OPTIONS', 'chunk size must be a positive 32-bit integer');
  }
  if (file.length === 0) throw new UpdateError('BAD_OPTIONS', 'nothing to send: the file is empty');
  const chunkCount = chunkCountFor(file.length, chunkBytes);
  const chunkSha256: Uint8Array[] = [];
  for (let i = 0; i < chunkCount; i += 1)
    chunkSha256.push(sha256(file.subarray(i * chunkBytes, (i + 1) * chunkBytes)));
  return {
    transferId: options.transferId,
    target: options.target,
    name: options.name,
    totalBytes: file.length,
    chunkBytes,
    chunkCount,
    sha256: sha256(file),
    chunkSha256,
  };
}

export function encodeManifest(m: TransferManifest): Uint8Array {
  const cohort = utf8.encode(m.target.kind === 'fleet' ? (m.target.cohort ?? '') : '');
  const name = utf8.encode(m.name);
  if (cohort.length > 64 || name.length > 255)
    throw new UpdateError('BAD_OPTIONS', 'cohort or name too long');
  if (m.chunkSha256.length !== m.chunkCount) throw new UpdateError('BAD_OPTIONS', 'one hash per chunk');
  const out = new Uint8Array(
    MANIFEST_HEADER_BYTES + cohort.length + name.length + SHA256_BYTES * m.chunkCount,
  );
  const view = new DataView(out.buffer);
  out.set(utf8.encode(MANIFEST_MAGIC), 0);
  out[4] = WIRE_VERSION;
  out[5] = m.target.kind === 'device' ? 0 : 1;
  out[6] = cohort.length;
  out[7] = name.length;
  out.set(idBytes(m.transferId), 8);
  view.setBigUint64(24, BigInt(m.totalBytes));
  view.setUint32(32, m.chunkBytes);
  view.setUint32(36, m.chunkCount);
  out.set(m.sha256, 40);
  let at = MANIFEST_HEADER_BYTES;
  out.set(cohort, at);
  at += cohort.length;
  out.set(name, at);
  at += name.length;
  for (const h of m.chunkSha256) {
    out.set(h, at);
    at += SHA256_BYTES;
  }
  return out;
}

function malformed(message: string): never {
  throw new UpdateError('MANIFEST_MALFORMED', message);
}

/**
 * Parses a manifest. Size caps are the caller's (checked before: MANIFEST_TOO_LARGE; after:
 * TRANSFER_TOO_LARGE, CHUNK_TOO_LARGE); this checks the layout and its internal consistency.
 */
export function decodeManifest(bytes: Uint8Array): TransferManifest {
  if (bytes.length < MANIFEST_HEADER_BYTES)
    malformed(`manifest of ${bytes.length} bytes is shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== MANIFEST_MAGIC)
    malformed('not a transfer manifest');
  if (bytes[4] !== WIRE_VERSION) malformed(`manifest version ${bytes[4]} is not ${WIRE_VERSION}`);
  const kind = bytes[5];
  if (kind !== 0 && kind !== 1) malformed(`unknown target kind ${kind}`);
  const cohortLength = bytes[6] ?? 0;
  const nameLength = bytes[7] ?? 0;
  const total = view.getBigUint64(24);
  if (total === 0n || total > BigInt(Number.MAX_SAFE_INTEGER)) malformed('total size out of range');
  const totalBytes = Number(total);
  const chunkBytes = view.getUint32(32);
  const chunkCount = view.getUint32(36);
  if (chunkBytes === 0) malformed('chunk size is zero');
  if (chunkCount !== chunkCountFor(totalBytes, chunkBytes)) malformed('chunk count does not match the sizes');
  const expected = MANIFEST_HEADER_BYTES + cohortLength + nameLength + SHA256_BYTES * chunkCount;
  if (bytes.length !== expected)
    malformed(`manifest is ${bytes.length} bytes; its header implies ${expected}`);
  let cohort: string;
  let name: string;
  try {
    cohort = utf8Strict.decode(bytes.subarray(MANIFEST_HEADER_BYTES, MANIFEST_HEADER_BYTES + cohortLength));
    name = utf8Strict.decode(
      bytes.subarray(MANIFEST_HEADER_BYTES + cohortLength, MANIFEST_HEADER_BYTES + cohortLength + nameLength),
    );
  } catch (error) {
    throw new UpdateError('MANIFEST_MALFORMED', 'cohort or name is not UTF-8', { cause: error });
  }
  if (kind === 0 && cohortLength !== 0) malformed('a device transfer has no cohort');
  if (cohortLength > 0 && !ID_PATTERN.test(cohort)) malformed('cohort is not a valid id');
  const hashes: Uint8Array[] = [];
  let at = MANIFEST_HEADER_BYTES + cohortLength + nameLength;
  for (let i = 0; i < chunkCount; i += 1) {
    hashes.push(bytes.slice(at, at + SHA256_BYTES));
    at += SHA256_BYTES;
  }
  const target: TransferTarget =
    kind === 0 ? { kind: 'device' } : cohortLength > 0 ? { kind: 'fleet', cohort } : { kind: 'fleet' };
  return {
    transferId: hex(bytes.subarray(8, 24)),
    target,
    name,
    totalBytes,
    chunkBytes,
    chunkCount,
    sha256: bytes.slice(40, 72),
    chunkSha256: hashes,
  };
}

export function encodeChunk(transferId: string, index: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(CHUNK_HEADER_BYTES + data.length);
  const view = new DataView(out.buffer);
  out.set(utf8.encode(CHUNK_MAGIC), 0);
  out[4] = WIRE_VERSION;
  out.set(idBytes(transferId), 8);
  view.setUint32(24, index);
  out.set(sha256(data), 28);
  out.set(data, CHUNK_HEADER_BYTES);
  return out;
}

/** Parses a chunk's header; the data is a view into `bytes` (no copy). */
export function decodeChunk(bytes: Uint8Array): TransferChunk {
  if (bytes.length < CHUNK_HEADER_BYTES)
    throw new UpdateError('CHUNK_MALFORMED', 'chunk shorter than its header');
  if (Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== CHUNK_MAGIC) {
    throw new UpdateError('CHUNK_MALFORMED', 'not a transfer chunk');
  }
  if (bytes[4] !== WIRE_VERSION || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new UpdateError('CHUNK_MALFORMED', 'unknown chunk version or non-zero reserved bytes');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    transferId: hex(bytes.subarray(8, 24)),
    index: view.getUint32(24),
    sha256: bytes.subarray(28, 60),
    data: bytes.subarray(CHUNK_HEADER_BYTES),
  };
}
