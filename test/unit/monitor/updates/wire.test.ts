import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519Signer, signSign1 } from '../../../../models/format/index.ts';
import {
  UPDATE_STATUS_CONTENT_TYPE,
  UpdateError,
  buildManifest,
  decodeChunk,
  decodeManifest,
  decodeStatusMessage,
  encodeChunk,
  encodeManifest,
  encodeStatusMessage,
  expandRanges,
  missingRanges,
} from '../../../../monitor/updates/index.ts';

const TID = 'a'.repeat(32);
const file = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof UpdateError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('transfer wire format', () => {
  it('round-trips a manifest for each target kind', () => {
    for (const target of [
      { kind: 'device' } as const,
      { kind: 'fleet' } as const,
      { kind: 'fleet', cohort: 'c-1' } as const,
    ]) {
      const m = buildManifest(file, { transferId: TID, chunkBytes: 300, name: 'afib 1.2.0.vbundle', target });
      expect(m.chunkCount).toBe(4);
      const back = decodeManifest(encodeManifest(m));
      expect(back).toEqual(m);
    }
  });

  it('rejects malformed manifests with MANIFEST_MALFORMED', () => {
    const good = encodeManifest(
      buildManifest(file, { transferId: TID, chunkBytes: 300, name: 'x', target: { kind: 'device' } }),
    );
    const variants: Uint8Array[] = [
      good.subarray(0, 50),
      good.subarray(0, good.length - 1),
      Uint8Array.from([...good, 0]),
      Uint8Array.from(good, (b, i) => (i === 0 ? 0x58 : b)), // magic
      Uint8Array.from(good, (b, i) => (i === 4 ? 2 : b)), // version
      Uint8Array.from(good, (b, i) => (i === 5 ? 9 : b)), // target kind
      Uint8Array.from(good, (b, i) => (i === 39 ? b + 1 : b)), // chunk count
      Uint8Array.from(good, (b, i) => (i === 35 ? 0 : i === 34 ? 0 : i === 33 ? 0 : i === 32 ? 0 : b)), // chunk size 0
      Uint8Array.from(good, (b, i) => (i === 72 ? 0xff : b)), // name not UTF-8
    ];
    for (const v of variants) expect(codeOf(() => decodeManifest(v))).toBe('MANIFEST_MALFORMED');
  });

  it('never throws anything but UpdateError on mutated manifests (property)', () => {
    const good = encodeManifest(
      buildManifest(file, {
        transferId: TID,
        chunkBytes: 100,
        name: 'n',
        target: { kind: 'fleet', cohort: 'c' },
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          maxLength: 6,
        }),
        fc.nat({ max: good.length }),
        (edits, cut) => {
          const bytes = Uint8Array.from(good);
          for (const [i, v] of edits) bytes[i] = v;
          try {
            decodeManifest(bytes.subarray(0, cut));
          } catch (error) {
            expect(error).toBeInstanceOf(UpdateError);
          }
        },
      ),
    );
  });

  it('round-trips chunks and rejects bad headers', () => {
    const data = file.subarray(300, 600);
    const c = decodeChunk(encodeChunk(TID, 1, data));
    expect(c.transferId).toBe(TID);
    expect(c.index).toBe(1);
    expect(c.data).toEqual(data);
    const enc = encodeChunk(TID, 1, data);
    expect(codeOf(() => decodeChunk(enc.subarray(0, 59)))).toBe('CHUNK_MALFORMED');
    expect(codeOf(() => decodeChunk(Uint8Array.from(enc, (b, i) => (i === 6 ? 1 : b))))).toBe(
      'CHUNK_MALFORMED',
    );
  });

  it('computes and expands missing ranges', () => {
    const bits = Uint8Array.from([1, 0, 0, 1, 0, 1, 1, 0]);
    expect(missingRanges(bits, 10)).toEqual([
      [1, 3],
      [4, 5],
      [7, 8],
    ]);
    expect(missingRanges(bits, 2)).toEqual([
      [1, 3],
      [4, 5],
    ]);
    expect(
      expandRanges(
        [
          [1, 3],
          [7, 99],
          [5, 4],
        ],
        8,
      ),
    ).toEqual([1, 2, 7]);
  });
});

describe('update status messages', () => {
  const message = {
    v: 1 as const,
    type: 'update-status' as const,
    fleet: 'f',
    device: 'd',
    seq: 12,
    at: 1_700_000_000_000,
    transferId: TID,
    status: 'need' as const,
    receivedChunks: 3,
    totalChunks: 9,
    need: [[3, 5] as const, [7, 9] as const],
  };

  it('round-trips plain and sealed (COSE_Sign1) messages', () => {
    const bytes = encodeStatusMessage(message);
    expect(decodeStatusMessage(bytes)).toEqual(message);
    const signer = ed25519Signer('device-key', new Uint8Array(32).fill(9));
    const sealed = signSign1({ payload: bytes, contentType: UPDATE_STATUS_CONTENT_TYPE, signer });
    expect(decodeStatusMessage(sealed)).toEqual(message);
  });

  it('rejects what is not a status message', () => {
    const bad = [
      encodeStatusMessage({ ...message, status: 'rejected' }), // a rejection without a code
      new Uint8Array([0xa0]),
      new Uint8Array(20_000),
      new TextEncoder().encode('{}'),
    ];
    for (const b of bad) expect(codeOf(() => decodeStatusMessage(b))).toBe('STATUS_MALFORMED');
  });
});
