import { Decoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CborError,
  CborTagged,
  bytesToHex,
  decodeCbor,
  encodeCbor,
  fromCbor,
  hexToBytes,
  toCbor,
  type CborKey,
  type CborValue,
} from '../../../../models/format/index.ts';

const hex = (v: CborValue): string => bytesToHex(encodeCbor(v));

function codeOf(input: string, options: Parameters<typeof decodeCbor>[1] = {}): string {
  try {
    decodeCbor(hexToBytes(input), options);
    return 'ACCEPTED';
  } catch (err) {
    if (err instanceof CborError) return err.code;
    throw err;
  }
}

describe('deterministic encoding (RFC 8949 Appendix A, §4.2.1)', () => {
  const vectors: [CborValue, string][] = [
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [100, '1864'],
    [1000, '1903e8'],
    [1000000, '1a000f4240'],
    [1000000000000, '1b000000e8d4a51000'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [-1, '20'],
    [-1000, '3903e7'],
    [1.1, 'fb3ff199999999999a'],
    [1.5, 'f93e00'],
    [3.4028234663852886e38, 'fa7f7fffff'],
    [1.0e300, 'fb7e37e43c8800759c'],
    [5.960464477539063e-8, 'f90001'],
    [0.00006103515625, 'f90400'],
    [-4.1, 'fbc010666666666666'],
    [-0, 'f98000'],
    [Infinity, 'f97c00'],
    [-Infinity, 'f9fc00'],
    [NaN, 'f97e00'],
    [false, 'f4'],
    [true, 'f5'],
    [null, 'f6'],
    [new Uint8Array(0), '40'],
    [Uint8Array.from([1, 2, 3, 4]), '4401020304'],
    ['', '60'],
    ['IETF', '6449455446'],
    ['\u00fc', '62c3bc'],
    ['\u6c34', '63e6b0b4'],
    [[], '80'],
    [[1, [2, 3], [4, 5]], '8301820203820405'],
    [new Map(), 'a0'],
    [
      new Map<CborKey, CborValue>([
        [3, 4],
        [1, 2],
      ]),
      'a201020304',
    ],
    [
      new Map<CborKey, CborValue>([
        ['b', [2, 3]],
        ['a', 1],
      ]),
      'a26161016162820203',
    ],
    [new CborTagged(98, []), 'd86280'],
  ];
  it.each(vectors)('%o encodes as %s and decodes back', (value, expected) => {
    expect(hex(value)).toBe(expected);
    const back = decodeCbor(hexToBytes(expected), { allowedTags: new Set([98]) });
    expect(hex(back)).toBe(expected);
  });

  it('integral floats are encoded as integers (Vigil profile) and sorted keys mix ints and text', () => {
    expect(hex(2.0)).toBe('02');
    expect(
      hex(
        new Map<CborKey, CborValue>([
          ['a', 1],
          [10, 1],
          [-1, 1],
          [100, 1],
        ]),
      ),
    ).toBe('a40a0118640120016161' + '01');
  });
});

describe('strict decoding rejects', () => {
  it.each([
    ['an indefinite-length array', '9f0102ff', 'INDEFINITE_LENGTH'],
    ['an indefinite-length byte string', '5f4101ff', 'INDEFINITE_LENGTH'],
    ['an indefinite-length map', 'bf6161' + '01ff', 'INDEFINITE_LENGTH'],
    ['duplicate text keys', 'a2616101616102', 'DUPLICATE_KEY'],
    ['duplicate integer keys', 'a201010102', 'DUPLICATE_KEY'],
    ['a duplicate key out of order', 'a3616101616202616103', 'DUPLICATE_KEY'],
    ['unsorted keys', 'a2616201616101', 'NON_CANONICAL'],
    ['a one-byte head for 1', '1801', 'NON_CANONICAL'],
    ['a two-byte head for 1', '190001', 'NON_CANONICAL'],
    ['an eight-byte head for 1', '1b0000000000000001', 'NON_CANONICAL'],
    ['a long length for a short string', '780161', 'NON_CANONICAL'],
    ['1.5 as float32', 'fa3fc00000', 'NON_CANONICAL'],
    ['1.5 as float64', 'fb3ff8000000000000', 'NON_CANONICAL'],
    ['an integral float', 'f93c00', 'NON_CANONICAL'],
    ['a non-canonical NaN', 'f97e01', 'NON_CANONICAL'],
    ['trailing bytes', '0000', 'TRAILING_BYTES'],
    ['a byte string longer than the input', '5a7fffffff00', 'LENGTH_OVERFLOW'],
    ['an array longer than the input', '9a7fffffff00', 'LENGTH_OVERFLOW'],
    ['a map longer than the input', 'b9ffff00', 'LENGTH_OVERFLOW'],
    ['an integer beyond 2^53', '1b0020000000000000', 'UNSUPPORTED_CBOR'],
    ['a length beyond 2^53', '5bffffffffffffffff', 'UNSUPPORTED_CBOR'],
    ['invalid UTF-8', '62c328', 'MALFORMED_CBOR'],
    ['a truncated head', '1a0000', 'MALFORMED_CBOR'],
    ['reserved additional information', '1c', 'MALFORMED_CBOR'],
    ['a lone break', 'ff', 'MALFORMED_CBOR'],
    ['simple value 24 encoding', 'f818', 'MALFORMED_CBOR'],
    ['undefined', 'f7', 'UNSUPPORTED_CBOR'],
    ['an unassigned simple value', 'f0', 'UNSUPPORTED_CBOR'],
    ['a tag the caller did not allow', 'c000', 'UNSUPPORTED_CBOR'],
    ['a byte-string map key', 'a14000', 'UNSUPPORTED_CBOR'],
    ['an empty input', '', 'MALFORMED_CBOR'],
  ])('%s', (_what, input, code) => {
    expect(codeOf(input)).toBe(code);
  });

  it('nesting deeper than the limit, without recursing into it', () => {
    expect(codeOf('81'.repeat(15) + '00')).toBe('ACCEPTED');
    expect(codeOf('81'.repeat(16) + '00')).toBe('TOO_DEEP');
    expect(codeOf('81'.repeat(100_000) + '00', { maxBytes: 200_000 })).toBe('TOO_DEEP');
    expect(codeOf('a1' + '6161a1'.repeat(40) + '00')).toBe('TOO_DEEP');
  });

  it('inputs above the size cap before reading them', () => {
    expect(codeOf('4a' + '00'.repeat(10), { maxBytes: 8 })).toBe('TOO_LARGE');
  });
});

describe('value conversion', () => {
  it('builds objects with Object.fromEntries, so __proto__ stays an own key', () => {
    const value = decodeCbor(encodeCbor(new Map([['__proto__', new Map([['polluted', true]])]])));
    const plain = fromCbor(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
    expect(Object.hasOwn(plain, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('leaves out undefined properties and round-trips plain values', () => {
    const plain = { a: 1, b: [true, null, 'x', 0.25], c: { d: Uint8Array.from([1]) }, e: undefined };
    expect(fromCbor(decodeCbor(encodeCbor(toCbor(plain))))).toEqual({
      a: 1,
      b: [true, null, 'x', 0.25],
      c: { d: Uint8Array.from([1]) },
    });
  });
});

const value: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.double(),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 16 }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc
      .array(
        fc.tuple(fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.string({ maxLength: 6 })), tie('v')),
        { maxLength: 4 },
      )
      .map((entries) => new Map<CborKey, CborValue>(entries)),
  ),
})).v;

/** cbor-x output → our value model (Buffer → Uint8Array, 64-bit bigint → number) for comparison. */
function normalise(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Map) return new Map([...(v as Map<unknown, unknown>)].map(([k, x]) => [k, normalise(x)]));
  return v;
}

describe('properties', () => {
  it('decode ∘ encode is the identity and encodings are canonical (decode accepts exactly what encode makes)', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeCbor(v);
        const back = decodeCbor(bytes, { maxDepth: 64 });
        expect(bytesToHex(encodeCbor(back))).toBe(bytesToHex(bytes));
        expect(normalise(back)).toEqual(normalise(v));
      }),
      { numRuns: 500 },
    );
  });

  it('an independent decoder (cbor-x) reads our encodings as the same values', () => {
    const cborx = new Decoder({ mapsAsObjects: false, useRecords: false });
    fc.assert(
      fc.property(value, (v) => {
        expect(normalise(cborx.decode(encodeCbor(v)))).toEqual(normalise(v));
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes either decode or throw CborError, quickly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeCbor(bytes, { allowedTags: new Set([18, 98]) });
        } catch (err) {
          expect(err).toBeInstanceOf(CborError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
