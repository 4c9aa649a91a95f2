// Shared between the outbox crash test and its child process.

/** Small bounds so that eviction happens often; a long age so that sweeps rarely evict. */
export const CRASH_OUTBOX_OPTIONS = Object.freeze({
  outboxMaxBytes: 48 * 1024,
  outboxMaxEntryBytes: 4096,
  outboxMaxAgeS: 3600,
});

/** A payload of `size` bytes whose first 8 bytes are its sequence number (big-endian float64). */
export function crashPayload(seq: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setFloat64(0, seq);
  for (let i = 8; i < size; i += 1) bytes[i] = (seq + i) & 0xff;
  return bytes;
}

export function crashPayloadOk(seq: number, bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  if (new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0) !== seq) return false;
  for (let i = 8; i < bytes.length; i += 1) if (bytes[i] !== ((seq + i) & 0xff)) return false;
  return true;
}
