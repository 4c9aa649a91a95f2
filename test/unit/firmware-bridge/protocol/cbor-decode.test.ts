import { encode } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BridgeError,
  DEFAULT_CBOR_LIMITS,
  decodeCbor,
  encodePayload,
  type CborValue,
} from '../../../../firmware-bridge/protocol/index.ts';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof BridgeError ? error.code : `other: ${String(error)}`;
  }
  return 'no error';
}

/** Maps → plain objects, for comparisons. */
function plain(value: CborValue): unknown {
  if (value instanceof Map) {
    return Object.fromEntries([...(value as Map<string, CborValue>)].map(([k, v]) => [k, plain(v)]));
  }
  if (Array.isArray(value)) return (value as CborValue[]).map(plain);
  return value;
}

describe('strict CBOR decoder: RFC 8949 Appendix A examples', () => {
  const cases: [string, unknown][] = [
    ['00', 0],
    ['17', 23],
    ['1818', 24],
    ['190100', 256],
    ['1a000f4240', 1_000_000],
    ['1b000000e8d4a51000', 1_000_000_000_000],
    ['20', -1],
    ['3863', -100],
    ['f90000', 0],
    ['f93c00', 1],
    ['f97bff', 65504],
    ['fa47c35000', 100000],
    ['fb3ff199999999999a', 1.1],
    ['f90001', 5.960464477539063e-8],
    ['f97c00', Infinity],
    ['f9fc00', -Infinity],
    ['f4', false],
    ['f5', true],
    ['f6', null],
    ['60', ''],
    ['6161', 'a'],
    ['6449455446', 'IETF'],
    ['62225c', '"\\'],
    ['62c3bc', 'ü'],
    ['63e6b0b4', '水'],
    ['80', []],
    ['83010203', [1, 2, 3]],
    ['a0', {}],
    ['a26161016162820203', { a: 1, b: [2, 3] }],
  ];
  it.each(cases)('%s', (h, expected) => {
    expect(plain(decodeCbor(hex(h)))).toEqual(expected);
  });

  it('decodes a half-precision NaN', () => {
    expect(decodeCbor(hex('f97e00'))).toBeNaN();
  });

  it('decodes byte strings as plain copies, also from a Buffer (whose slice is a view)', () => {
    for (const bytes of [hex('4401020304'), Buffer.from('4401020304', 'hex')]) {
      const out = decodeCbor(bytes) as Uint8Array;
      expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
      expect([...out]).toEqual([1, 2, 3, 4]);
      bytes[1] = 9;
      expect(out[0]).toBe(1);
    }
  });
});

describe('strict CBOR decoder: typed arrays (RFC 8746)', () => {
  it('reads tag 85 as float32 LE, tag 77 as sint16 LE, tag 64 as uint8', () => {
    const f = decodeCbor(encodePayload({ a: Float32Array.from([1.5, -2, 3.25]) }));
    const i = decodeCbor(encodePayload({ a: Int16Array.from([1, -1, 32767, -32768]) }));
    expect([...((f as Map<string, CborValue>).get('a') as Float32Array)]).toEqual([1.5, -2, 3.25]);
    expect([...((i as Map<string, CborValue>).get('a') as Int16Array)]).toEqual([1, -1, 32767, -32768]);
    expect(decodeCbor(hex('d84043010203'))).toEqual(Uint8Array.from([1, 2, 3]));
    expect(decodeCbor(hex('d84d44 0100 ffff'))).toEqual(Int16Array.from([1, -1]));
    expect(decodeCbor(hex('d85548 0000803f 00000040'))).toEqual(Float32Array.from([1, 2]));
  });

  it('copies typed arrays out of unaligned input', () => {
    const payload = encodePayload([Float32Array.from([1, 2, 3])]);
    const shifted = new Uint8Array(payload.length + 1);
    shifted.set(payload, 1);
    const out = decodeCbor(shifted.subarray(1)) as Float32Array[];
    expect([...(out[0] as Float32Array)]).toEqual([1, 2, 3]);
    expect((out[0] as Float32Array).byteOffset).toBe(0);
  });

  it('refuses typed arrays with a partial element, or not around a byte string', () => {
    expect(code(() => decodeCbor(hex('d85543000000')))).toBe('BAD_CBOR');
    expect(code(() => decodeCbor(hex('d84d43000000')))).toBe('BAD_CBOR');
    expect(code(() => decodeCbor(hex('d85501')))).toBe('BAD_CBOR');
  });
});

describe('strict CBOR decoder: refusals', () => {
  const refused: [string, string][] = [
    ['empty input', ''],
    ['trailing bytes', 'a0 00'],
    ['duplicate map key', 'a2 6161 01 6161 02'],
    ['non-text map key', 'a1 01 02'],
    ['indefinite array', '9f 01 ff'],
    ['indefinite map', 'bf ff'],
    ['indefinite text', '7f 6161 ff'],
    ['indefinite byte string', '5f 4101 ff'],
    ['lone break', 'ff'],
    ['undefined', 'f7'],
    ['simple value 16', 'f0'],
    ['simple value (1 byte)', 'f8 20'],
    ['reserved additional info 28', '1c'],
    ['tag 0 (date)', 'c0 6161'],
    ['tag 2 (bignum)', 'c2 4101'],
    ['tag 81 (float32 big-endian)', 'd851 44 3f800000'],
    ['integer beyond 2^53 - 1', '1b ffffffffffffffff'],
    ['negative integer beyond -(2^53 - 1)', '3b 001fffffffffffff'],
    ['invalid UTF-8', '62 c328'],
    ['truncated text', '65 616263'],
    ['truncated float', 'fb 3ff1'],
    ['array claiming more items than bytes', '9a 7fffffff 00'],
    ['map claiming more entries than bytes', 'ba 7fffffff 00'],
    ['byte string claiming 4 GB', '5a ffffffff 00'],
  ];
  it.each(refused)('%s', (_name, h) => {
    expect(code(() => decodeCbor(hex(h)))).toBe('BAD_CBOR');
  });

  it('enforces depth, lengths and item counts', () => {
    const limits = {
      ...DEFAULT_CBOR_LIMITS,
      maxDepth: 3,
      maxArrayItems: 4,
      maxMapEntries: 2,
      maxTextBytes: 5,
    };
    expect(code(() => decodeCbor(hex('81 81 81 00'), limits))).toBe('no error');
    expect(code(() => decodeCbor(hex('81 81 81 81 00'), limits))).toBe('BAD_CBOR');
    expect(code(() => decodeCbor(hex('85 0000000000'), limits))).toBe('BAD_CBOR');
    expect(code(() => decodeCbor(hex('a3 6161 00 6162 00 6163 00'), limits))).toBe('BAD_CBOR');
    expect(code(() => decodeCbor(hex('66 616161616161'), limits))).toBe('BAD_CBOR');
    expect(code(() => decodeCbor(hex('83 00 00 00'), { ...limits, maxItems: 3 }))).toBe('BAD_CBOR');
    expect(code(() => decodeCbor(encodePayload(new Uint8Array(33)), { ...limits, maxBytesLength: 32 }))).toBe(
      'BAD_CBOR',
    );
  });

  it('does not allocate for a lying length (fast on a hostile 2^32 - 1 element array)', () => {
    const start = performance.now();
    for (let i = 0; i < 1000; i += 1) code(() => decodeCbor(hex('9b 00000000ffffffff 00')));
    expect(performance.now() - start).toBeLessThan(500);
  });
});

describe('strict CBOR decoder: properties', () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      // cbor-x writes -0 as the integer 0, so -0 cannot round-trip through it.
      fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)),
      fc.boolean(),
      fc.constant(null),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 5 }),
    ),
  })).value;

  it('decodes whatever cbor-x encodes (maps as Maps, same values)', () => {
    fc.assert(
      fc.property(json, (value) => {
        const decoded = decodeCbor(encode(value), {
          ...DEFAULT_CBOR_LIMITS,
          maxDepth: 64,
          maxTextBytes: 10_000,
        });
        expect(plain(decoded)).toEqual(value);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses every strict prefix of a valid item with BAD_CBOR (never another error)', () => {
    fc.assert(
      fc.property(json, fc.nat(), (value, cut) => {
        const bytes = encode(value);
        if (bytes.length < 2) return;
        const prefix = bytes.subarray(0, cut % bytes.length);
        expect(
          code(() => decodeCbor(prefix, { ...DEFAULT_CBOR_LIMITS, maxDepth: 64, maxTextBytes: 10_000 })),
        ).toBe('BAD_CBOR');
      }),
      { numRuns: 500 },
    );
  });

  it('either decodes or throws BAD_CBOR on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const outcome = code(() => decodeCbor(bytes));
        expect(['no error', 'BAD_CBOR']).toContain(outcome);
      }),
      { numRuns: 2000 },
    );
  });
});
