// SHA-256 over streamed bytes and constant-time digest comparison.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { DEFAULT_CHUNK_BYTES, type ByteSource } from './source.ts';

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.createHash('sha256').update(bytes).digest());
}

export function sha256Hex(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of [offset, offset + length) of a source, streamed in chunks. */
export async function sha256OfRange(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of source.chunks(offset, length)) hash.update(chunk);
  return new Uint8Array(hash.digest());
}

/** Size and SHA-256 of a file, streamed (never holds the file in memory). */
export async function sha256OfFile(path: string): Promise<{ size: number; sha256: Uint8Array }> {
  const handle = await fs.open(path, 'r');
  try {
    const hash = crypto.createHash('sha256');
    const buffer = new Uint8Array(DEFAULT_CHUNK_BYTES);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { size, sha256: new Uint8Array(hash.digest()) };
  } finally {
    await handle.close();
  }
}

/** Constant-time equality of two digests (crypto.timingSafeEqual); false when lengths differ. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError('not a hex string');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
