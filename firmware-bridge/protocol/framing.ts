// Framing shared by every transport: a 4-byte big-endian payload length, then one CBOR map
// (docs/firmware-bridge.md, "Framing"). The reader never buffers more than one frame: a frame above
// the maximum is skipped without being stored, and a length beyond the skip limit means the byte
// stream can no longer be trusted (framing corrupt: the connection must close).
import { Encoder } from 'cbor-x';
import { BridgeError } from './errors.ts';

export const FRAME_HEADER_BYTES = 4;
/** Largest length field the reader will skip over; beyond it the stream is treated as corrupt. */
export const DEFAULT_MAX_SKIP_BYTES = 16 * 1024 * 1024;

export interface FrameHandler {
  /** A complete payload. The view is only valid during the call (the decoder copies what it keeps). */
  frame(payload: Uint8Array): void;
  /** A frame longer than the maximum was announced; its bytes are being skipped. */
  oversized(length: number): void;
  /** The length field is beyond the skip limit: nothing more will be read. */
  corrupt(length: number): void;
}

export class FrameReader {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private body: Uint8Array | null = null;
  private bodyFill = 0;
  private skipRemaining = 0;
  private stopped = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly maxSkipBytes: number = DEFAULT_MAX_SKIP_BYTES,
  ) {}

  /** Bytes held for an incomplete frame (bounded by the maximum frame size + header). */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  /** Stops reading (e.g. the connection is closing); later chunks are ignored. */
  stop(): void {
    this.stopped = true;
    this.body = null;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  push(chunk: Uint8Array, handler: FrameHandler): void {
    let i = 0;
    const n = chunk.length;
    while (i < n && !this.stopped) {
      if (this.skipRemaining > 0) {
        const take = Math.min(this.skipRemaining, n - i);
        this.skipRemaining -= take;
        i += take;
        continue;
      }
      if (this.body !== null) {
        const take = Math.min(this.body.length - this.bodyFill, n - i);
        this.body.set(chunk.subarray(i, i + take), this.bodyFill);
        this.bodyFill += take;
        i += take;
        if (this.bodyFill === this.body.length) {
          const body = this.body;
          this.body = null;
          this.bodyFill = 0;
          handler.frame(body);
        }
        continue;
      }
      let length: number;
      if (this.headerFill === 0 && n - i >= FRAME_HEADER_BYTES) {
        length =
          (((chunk[i] as number) << 24) >>> 0) +
          ((chunk[i + 1] as number) << 16) +
          ((chunk[i + 2] as number) << 8) +
          (chunk[i + 3] as number);
        i += FRAME_HEADER_BYTES;
      } else {
        while (this.headerFill < FRAME_HEADER_BYTES && i < n)
          this.header[this.headerFill++] = chunk[i++] as number;
        if (this.headerFill < FRAME_HEADER_BYTES) return;
        this.headerFill = 0;
        const h = this.header;
        length =
          (((h[0] as number) << 24) >>> 0) +
          ((h[1] as number) << 16) +
          ((h[2] as number) << 8) +
          (h[3] as number);
      }
      if (length > this.maxFrameBytes) {
        if (length > this.maxSkipBytes) {
          this.stop();
          handler.corrupt(length);
          return;
        }
        this.skipRemaining = length;
        handler.oversized(length);
        continue;
      }
      if (n - i >= length) {
        const payload = chunk.subarray(i, i + length);
        i += length;
        handler.frame(payload);
      } else {
        this.body = new Uint8Array(length);
        this.bodyFill = 0;
      }
    }
  }
}

const encoder = new Encoder({
  useRecords: false,
  // Minimal map headers (a0–b7 for small maps) and plain byte strings keep frames easy to read in C.
  variableMapSize: true,
  tagUint8Array: false,
});

/** Encodes one message as a frame (length prefix + CBOR). Throws FRAME_TOO_LARGE above `maxFrameBytes`. */
export function encodeFrame(message: object, maxFrameBytes: number): Buffer {
  const payload = encoder.encode(message);
  if (payload.length > maxFrameBytes) {
    throw new BridgeError(
      'FRAME_TOO_LARGE',
      `a ${String((message as { type?: unknown }).type)} frame of ${payload.length} bytes exceeds ${maxFrameBytes}`,
    );
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** The CBOR payload alone (tests, documentation examples). */
export function encodePayload(message: object): Uint8Array {
  return Uint8Array.from(encoder.encode(message));
}
