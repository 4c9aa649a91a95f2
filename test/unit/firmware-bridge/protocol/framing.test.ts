import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BridgeError,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameReader,
} from '../../../../firmware-bridge/protocol/index.ts';

function collect(reader: FrameReader, chunks: readonly Uint8Array[]) {
  const events: (['frame', number[]] | ['oversized', number] | ['corrupt', number])[] = [];
  for (const chunk of chunks) {
    reader.push(chunk, {
      frame: (p) => events.push(['frame', [...p]]),
      oversized: (n) => events.push(['oversized', n]),
      corrupt: (n) => events.push(['corrupt', n]),
    });
  }
  return events;
}

function raw(payload: readonly number[]): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  out.push(bytes.subarray(last));
  return out;
}

describe('FrameReader', () => {
  it('yields the same frames however the byte stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat({ max: 255 }), { maxLength: 40 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map(raw));
          const events = collect(new FrameReader(64), splitAt(stream, cuts));
          expect(events).toEqual(payloads.map((p) => ['frame', p]));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('skips a frame above the maximum without buffering it, then reads on', () => {
    const reader = new FrameReader(8, 100);
    const big = raw(Array.from({ length: 50 }, (_, i) => i));
    const stream = Buffer.concat([raw([1, 2]), big, raw([3])]);
    const events = collect(reader, splitAt(stream, [3, 10, 30, 57]));
    expect(events).toEqual([
      ['frame', [1, 2]],
      ['oversized', 50],
      ['frame', [3]],
    ]);
    expect(reader.buffered).toBe(0);
  });

  it('stops for good on a length beyond the skip limit (framing corrupt)', () => {
    const reader = new FrameReader(8, 100);
    const events = collect(reader, [Buffer.from([0, 0, 1, 0]), raw([1])]);
    expect(events).toEqual([['corrupt', 256]]);
    expect(reader.isStopped).toBe(true);
  });

  it('holds at most one frame of a slow sender', () => {
    const reader = new FrameReader(1000);
    const bytes = raw(Array.from({ length: 1000 }, () => 7));
    for (let i = 0; i < bytes.length - 1; i += 1) {
      collect(reader, [bytes.subarray(i, i + 1)]);
      expect(reader.buffered).toBeLessThanOrEqual(1000 + FRAME_HEADER_BYTES);
    }
    expect(collect(reader, [bytes.subarray(bytes.length - 1)])).toHaveLength(1);
  });

  it('encodes frames with a big-endian length prefix and refuses frames above the maximum', () => {
    const f = encodeFrame({ type: 'ping', id: 1 }, 100);
    expect(f.readUInt32BE(0)).toBe(f.length - 4);
    expect(() => encodeFrame({ type: 'x', blob: new Uint8Array(200) }, 100)).toThrow(BridgeError);
    try {
      encodeFrame({ type: 'x', blob: new Uint8Array(200) }, 100);
    } catch (error) {
      expect((error as BridgeError).code).toBe('FRAME_TOO_LARGE');
    }
  });
});
