// Property: random mutations of a valid bundle (bit flips, truncations, insertions, deletions, splices
// with another valid bundle) are never accepted, never crash with anything but a BundleError, and never
// hang. Seeded, so a failure reproduces.
import fs from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { BundleError, bytesSource } from '../../../models/format/index.ts';
import { verifyBundle } from '../../../runtime/verify/index.ts';
import { KEYS, makeBundle, makeTrust, sampleSpec, verifyOptions } from '../../fixtures/bundles/kit.ts';

const trust = makeTrust();
let valid: Uint8Array;
let other: Uint8Array;

beforeAll(async () => {
  const model = Uint8Array.from({ length: 512 }, (_, i) => (i * 73 + 11) & 0xff);
  valid = new Uint8Array(fs.readFileSync((await makeBundle({ model })).path));
  const b = await makeBundle({
    model: model.map((x) => x ^ 0x5a),
    spec: sampleSpec({ sequence: 13, bundleId: 'fall-detector@1.3.0', version: '1.3.0' }),
    approvers: [{ key: KEYS.qa2 }, { key: KEYS.clinical }, { key: KEYS.regulatory }],
  });
  other = new Uint8Array(fs.readFileSync(b.path));
});

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'flips'; at: readonly number[] }
  | { kind: 'truncate'; length: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'splice'; at: number; from: number; count: number }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('flips' as const), at: fc.array(fc.nat(), { minLength: 2, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    from: fc.nat(),
    count: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({
    kind: fc.constant('overwrite' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
);

function apply(base: Uint8Array, m: Mutation): Uint8Array {
  const n = base.length;
  switch (m.kind) {
    case 'flip': {
      const out = Uint8Array.from(base);
      out[m.at % n] = (out[m.at % n] ?? 0) ^ (1 << m.bit);
      return out;
    }
    case 'flips': {
      const out = Uint8Array.from(base);
      for (const at of m.at) out[at % n] = (out[at % n] ?? 0) ^ (1 + (at % 255));
      return out;
    }
    case 'truncate':
      return base.slice(0, m.length % n);
    case 'insert': {
      const at = m.at % (n + 1);
      return Uint8Array.from([...base.subarray(0, at), ...m.bytes, ...base.subarray(at)]);
    }
    case 'delete': {
      const at = m.at % n;
      return Uint8Array.from([...base.subarray(0, at), ...base.subarray(Math.min(n, at + m.count))]);
    }
    case 'splice': {
      // Replace a stretch of the bundle with the bytes at the same place in another valid bundle, or
      // with a stretch from elsewhere in the other bundle.
      const at = m.at % n;
      const from = m.from % other.length;
      const piece = other.subarray(from, Math.min(other.length, from + m.count));
      const out = Uint8Array.from(base);
      out.set(piece.subarray(0, Math.min(piece.length, n - at)), at);
      return out;
    }
    case 'overwrite': {
      const out = Uint8Array.from(base);
      out.set(m.bytes.subarray(0, Math.min(m.bytes.length, n - (m.at % n))), m.at % n);
      return out;
    }
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

describe('mutated bundles', () => {
  it('the unmutated bundle verifies (so rejections below are caused by the mutations)', async () => {
    await expect(verifyBundle(bytesSource(valid), verifyOptions(trust.store))).resolves.toBeDefined();
  });

  it('are never accepted, only ever throw BundleError, and finish quickly', async () => {
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const mutated = apply(valid, m);
        if (same(mutated, valid)) return; // e.g. a splice that copied identical bytes
        const started = performance.now();
        let outcome: string;
        try {
          await verifyBundle(bytesSource(mutated), verifyOptions(trust.store));
          outcome = 'ACCEPTED';
        } catch (err) {
          if (!(err instanceof BundleError)) throw err;
          outcome = err.code;
        }
        const elapsedMs = performance.now() - started;
        codes.set(outcome, (codes.get(outcome) ?? 0) + 1);
        expect(outcome, JSON.stringify({ ...m, bytes: undefined })).not.toBe('ACCEPTED');
        expect(elapsedMs).toBeLessThan(1000);
      }),
      { numRuns: 3000, seed: 20260115 },
    );
    // The mutations reach every layer, not just the first check.
    for (const code of ['BAD_CONTAINER', 'TRAILING_BYTES', 'BAD_SIGNATURE', 'DIGEST_MISMATCH']) {
      expect(codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  }, 60_000);
});
