// Property tests: every valid report round-trips exactly; hostile bytes (random, mutated, truncated,
// structurally mutated and re-signed) never crash the decoder — they fail with a typed ReportError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CborTagged,
  decodeCbor,
  encodeCbor,
  isCborArray,
  isCborMap,
  signSign1,
  type CborValue,
} from '../../../../models/format/index.ts';
import { SeededRandom } from '../../../../monitor/stats/index.ts';
import {
  REPORT_CONTENT_TYPE,
  REPORT_FALLBACK_REASONS,
  REPORT_STATISTICS,
  ReportError,
  decodeReportPayload,
  encodeReportPayload,
  signReport,
  verifyReport,
  type DriftFlags,
  type ReportFallbackReason,
  type ShadowSection,
  type TelemetryReport,
} from '../../../../monitor/report/index.ts';
import { EXAMPLE_KID, exampleKey, exampleReport } from './example.ts';

const key = exampleKey();
const resolveKey = (kid: string) =>
  kid === EXAMPLE_KID ? { publicKey: key.publicKey, fleet: 'ward-3', device: 'bedside-1' } : undefined;

function split(r: SeededRandom, total: number, parts: number): number[] {
  const out = new Array<number>(parts).fill(0);
  for (let k = 0; k < total; k++) {
    const i = r.index(parts);
    out[i] = (out[i] as number) + 1;
  }
  return out;
}

/** A random report satisfying every invariant of the format (sizes kept small for speed). */
function randomReport(seed: number): TelemetryReport {
  const r = SeededRandom.fromSeed(seed);
  const big = r.uniform() < 0.2 ? 100_000 : 50;
  const scoreLen = 4 + r.index(12);
  const scoreCounts = split(r, r.index(big), scoreLen);
  const scored = scoreCounts.reduce((a, b) => a + b, 0);
  const indeterminate = r.index(scored + 1);
  const fallbackReasons: Partial<Record<ReportFallbackReason, number>> = {};
  let fallback = 0;
  for (const reason of REPORT_FALLBACK_REASONS) {
    if (r.uniform() < 0.15) {
      const n = 1 + r.index(big);
      fallbackReasons[reason] = n;
      fallback += n;
    }
  }
  const total = scored + fallback;
  const featured = r.index(total + 1);
  const features = Array.from({ length: r.index(6) }, () => split(r, featured, 4 + r.index(12)));
  const micro = (counts: number[]) => counts.map((n) => (n === 0 ? 0 : r.index(n * 1_000_000 + 1)));
  let labels: TelemetryReport['labels'] = null;
  if (r.uniform() < 0.5) {
    const n = scoreCounts.map(() => r.index(5));
    const unscored = r.index(3);
    const labelled = n.reduce((a, b) => a + b, 0) + unscored;
    if (labelled > 0) {
      labels = {
        n,
        sumPMicro: micro(n),
        sumY: n.map((k) => r.index(k + 1)),
        late: r.index(labelled + 1),
        unscored,
      };
    }
  }
  const mask = 1 + r.index(31);
  const statistics = REPORT_STATISTICS.filter((_, i) => (mask & (1 << i)) !== 0);
  const flags: DriftFlags[] = [];
  for (let i = 0; i <= features.length; i++) {
    if (r.uniform() < 0.3)
      flags.push({
        index: i,
        flags: (mask & r.index(32)) | (r.uniform() < 0.3 ? 96 : 0) | (r.uniform() < 0.2 ? 128 : 0),
      });
  }
  const kept = flags.filter((f) => f.flags !== 0);
  const shadow: ShadowSection[] = [];
  const role = r.uniform() < 0.2 ? 'shadow' : 'active';
  if (role === 'active' && r.uniform() < 0.4) {
    const pairs = 1 + r.index(big);
    const [ok, ind, fb] = split(r, pairs, 3) as [number, number, number];
    const pos = split(r, r.index(ok + 1), 4) as [number, number, number, number];
    shadow.push({
      candidateBundleId: `cand@${r.index(9)}`,
      pairs,
      agreements: r.index(pairs + 1),
      candidate: { ok, indeterminate: ind, fallback: fb },
      positives: { both: pos[0], activeOnly: pos[1], candidateOnly: pos[2], neither: pos[3] },
    });
  }
  const startMs = r.index(2 ** 40);
  const base = exampleReport();
  return {
    ...base,
    seq: r.index(2 ** 31),
    createdMs: startMs + r.index(1e7),
    startMs,
    endMs: startMs + 1 + r.index(86_400_000),
    role,
    cohort: r.uniform() < 0.2 ? '' : `cohort-${r.index(100)}`,
    windows: { ok: scored - indeterminate, indeterminate, fallback },
    fallbackReasons,
    alerts: { model: r.index(3), fallbackRule: r.index(2), quality: r.index(2) },
    episodes:
      r.uniform() < 0.5
        ? { started: 0, ended: 0, windows: 0 }
        : { started: r.index(4), ended: 1, windows: 1 + r.index(40) },
    features,
    score: { counts: scoreCounts, sumPMicro: micro(scoreCounts) },
    labels,
    latency: split(r, total, 63),
    drift: { statistics, alarm: kept.some((f) => (f.flags & 128) !== 0), flags: kept },
    change: {
      scoreAlarmsUp: r.index(Math.min(2, scored) + 1) === 2 && scored >= 2 ? 1 : 0,
      scoreAlarmsDown: 0,
      scoreUp: Math.fround(r.uniform() * 20),
      scoreDown: Math.fround(r.uniform() * 20),
      qualityAlarms: 0,
      quality: Math.fround(r.uniform()),
    },
    shadow,
    evicted: { ...base.evicted, 'routine-report': r.index(1000) },
    suppressedSinceMs: r.uniform() < 0.2 ? startMs : null,
  };
}

function onlyReportErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof ReportError)) throw error;
    expect(typeof error.code).toBe('string');
  }
}

/** Replaces one randomly chosen node of a CBOR tree with `replacement`. */
function mutateTree(value: CborValue, r: SeededRandom, replacement: CborValue): CborValue {
  const nodes: { parent: CborValue; key: number | string }[] = [];
  const walk = (v: CborValue): void => {
    if (isCborMap(v))
      for (const [k, item] of v) {
        nodes.push({ parent: v, key: k });
        walk(item);
      }
    else if (isCborArray(v))
      v.forEach((item, i) => {
        nodes.push({ parent: v, key: i });
        walk(item);
      });
  };
  walk(value);
  const target = nodes[r.index(nodes.length)];
  if (target === undefined) return value;
  const replace = (v: CborValue): CborValue => {
    if (v === target.parent) {
      if (isCborMap(v)) {
        const m = new Map(v);
        if (r.uniform() < 0.2) m.delete(target.key);
        else m.set(target.key, replacement);
        return m;
      }
      const a = [...(v as readonly CborValue[])];
      if (r.uniform() < 0.2) a.splice(target.key as number, 1);
      else a[target.key as number] = replacement;
      return a;
    }
    if (isCborMap(v)) return new Map([...v].map(([k, item]) => [k, replace(item)]));
    if (isCborArray(v)) return v.map(replace);
    return v;
  };
  return replace(value);
}

const cborLeaf: fc.Arbitrary<CborValue> = fc.oneof(
  fc.integer({ min: -5, max: 100_000 }),
  fc.constantFrom(0, 1, 2, 17, 63, 2 ** 53 - 1, -1, 0.5, 1e300, Number.NaN, Number.POSITIVE_INFINITY),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(true, false, null),
  fc.uint8Array({ maxLength: 40 }),
  fc.constant<CborValue>([]),
  fc.constant<CborValue>(new Map()),
  fc.constant<CborValue>(new CborTagged(1, 0)),
);

describe('report properties', () => {
  it('every valid report round-trips exactly, and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const report = randomReport(seed);
        const payload = encodeReportPayload(report);
        const decoded = decodeReportPayload(payload);
        expect(decoded).toEqual(report);
        expect(encodeReportPayload(decoded)).toEqual(payload);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes never crash the decoder or the verifier', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        onlyReportErrors(() => decodeReportPayload(bytes));
        onlyReportErrors(() => verifyReport(bytes, { resolveKey }));
      }),
      { numRuns: 2000 },
    );
  });

  it('flipped, truncated and extended signed reports fail with typed codes', () => {
    const signed = signReport(exampleReport(), key.signer);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: signed.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: 0, max: signed.length }),
        (at, xor, cut) => {
          const flipped = Uint8Array.from(signed);
          flipped[at] = (flipped[at] as number) ^ xor;
          expect(() => verifyReport(flipped, { resolveKey })).toThrow(ReportError);
          if (cut < signed.length)
            expect(() => verifyReport(signed.subarray(0, cut), { resolveKey })).toThrow(ReportError);
          const longer = new Uint8Array(signed.length + 1);
          longer.set(signed);
          expect(() => verifyReport(longer, { resolveKey })).toThrow(ReportError);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('structurally mutated payloads, validly signed, are accepted only when valid, else rejected with a code', () => {
    const payload = encodeReportPayload(exampleReport());
    const tree = decodeCbor(payload);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), cborLeaf, (seed, leaf) => {
        const mutated = mutateTree(tree, SeededRandom.fromSeed(seed), leaf);
        let bytes: Uint8Array;
        try {
          bytes = encodeCbor(mutated);
        } catch {
          return; // not encodable (e.g. a non-integral map key): nothing to send
        }
        const signed = signSign1({ payload: bytes, contentType: REPORT_CONTENT_TYPE, signer: key.signer });
        try {
          const { value } = verifyReport(signed, { resolveKey });
          // Whatever passes must itself be a valid report that re-encodes to the same payload.
          expect(encodeReportPayload(value)).toEqual(bytes);
        } catch (error) {
          if (!(error instanceof ReportError)) throw error;
          // KEY_MISMATCH: a mutated fleet or device field names a device the signing key is not
          // enrolled for — a well-formed report the collector must still refuse.
          expect([
            'BAD_FIELD',
            'INCONSISTENT',
            'UNSUPPORTED_VERSION',
            'MALFORMED_CBOR',
            'KEY_MISMATCH',
          ]).toContain(error.code);
          if (error.code === 'KEY_MISMATCH') {
            const value = decodeReportPayload(bytes);
            expect(`${value.fleet}/${value.device}`).not.toBe('ward-3/bedside-1');
          }
        }
      }),
      { numRuns: 1500 },
    );
  });
});
