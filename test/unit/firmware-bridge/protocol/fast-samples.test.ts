import { encode } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeCbor,
  encodePayload,
  encodeSamplesFrame,
  parseClientMessage,
  tryDecodeSamples,
  type ClientMessage,
  type SamplesMessage,
} from '../../../../firmware-bridge/protocol/index.ts';

const LIMITS = { maxChannels: 16, maxSamplesPerFrame: 4096, maxBytesLength: 1 << 20 };

function general(bytes: Uint8Array): ClientMessage | 'error' {
  try {
    return parseClientMessage(
      decodeCbor(bytes, {
        ...{ maxDepth: 6, maxMapEntries: 32, maxArrayItems: 64, maxTextBytes: 1024, maxItems: 4096 },
        maxBytesLength: LIMITS.maxBytesLength,
      }),
      LIMITS,
    );
  } catch {
    return 'error';
  }
}

const samples: fc.Arbitrary<SamplesMessage> = fc
  .record(
    {
      type: fc.constant('samples' as const),
      id: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      stream: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
      counter: fc.nat({ max: 2 ** 52 }),
      timestampMs: fc.oneof(fc.nat({ max: 2 ** 50 }), fc.double({ min: 0, max: 2 ** 50, noNaN: true })),
      rateHz: fc.oneof(
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0.001, max: 100_000, noNaN: true }),
      ),
      data: fc.array(
        fc.oneof(
          fc.float32Array({ minLength: 1, maxLength: 40 }),
          fc.int16Array({ minLength: 1, maxLength: 40 }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
      flags: fc.uint8Array({ minLength: 1, maxLength: 40 }),
    },
    { requiredKeys: ['type', 'id', 'stream', 'counter', 'timestampMs', 'data'] },
  )
  .map((m) => ({ ...m, scale: m.data.map((_, i) => (i + 1) / 8) }));

describe('samples fast path', () => {
  it('decodes what the hand-written encoder writes, exactly as the general path does', () => {
    fc.assert(
      fc.property(samples, (message) => {
        const payload = encodeSamplesFrame(message, 1 << 20).subarray(4);
        expect(tryDecodeSamples(payload, LIMITS)).toEqual(message);
        expect(general(payload)).toEqual(message);
      }),
      { numRuns: 500 },
    );
  });

  it('writes the same message cbor-x would (compared after decoding)', () => {
    fc.assert(
      fc.property(samples, (message) => {
        const mine = general(encodeSamplesFrame(message, 1 << 20).subarray(4));
        expect(mine).toEqual(general(encodePayload(message)));
      }),
      { numRuns: 300 },
    );
  });

  it('on any mutation either gives up or agrees with the general path (never accepts what it refuses)', () => {
    fc.assert(
      fc.property(
        samples,
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (message, edits, cut) => {
          const bytes = Uint8Array.from(encodeSamplesFrame(message, 1 << 20).subarray(4));
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          const mutated = cut % 3 === 0 ? bytes.subarray(0, cut % bytes.length) : bytes;
          const fast = tryDecodeSamples(mutated, LIMITS);
          if (fast !== null) expect(general(mutated)).toEqual(fast);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('gives up on everything that is not a valid samples frame', () => {
    const cases: unknown[] = [
      { type: 'ping', id: 1 },
      {
        type: 'samples',
        id: 1,
        stream: 's',
        counter: 0,
        timestampMs: 0,
        data: [new Float32Array(1)],
        extra: 1,
      },
      { type: 'samples', id: 1, stream: 's/x', counter: 0, timestampMs: 0, data: [new Float32Array(1)] },
      {
        type: 'samples',
        id: 1,
        stream: 's',
        counter: 0,
        timestampMs: Number.NaN,
        data: [new Float32Array(1)],
      },
      { type: 'samples', id: 1, stream: 's', counter: -1, timestampMs: 0, data: [new Float32Array(1)] },
      { type: 'samples', id: 1, stream: 's', counter: 0, timestampMs: 0, data: [new Int16Array(1)] },
      { type: 'samples', id: 1, stream: 's', counter: 0, timestampMs: 0, data: [] },
      { type: 'samples', id: 1, stream: 's', counter: 0, timestampMs: 0 },
    ];
    for (const c of cases) expect(tryDecodeSamples(encode(c), LIMITS)).toBeNull();
    const dup = Uint8Array.from(
      Buffer.from('a2 6474797065 6773616d706c6573 6474797065 6773616d706c6573'.replace(/ /g, ''), 'hex'),
    );
    expect(tryDecodeSamples(dup, LIMITS)).toBeNull();
  });
});
