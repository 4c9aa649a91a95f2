import { describe, expect, it } from 'vitest';
import { Aggregate, CollectorError, SCALAR, mergeAll } from '../../../../monitor/collector/index.ts';
import {
  Rng,
  makeDevice,
  must,
  referenceModel,
  simulateReport,
} from '../../../integration/collector/fleet-sim.ts';

const model = referenceModel('fall-detector');

function reports(n: number, seed: number) {
  const rng = new Rng(seed);
  const d = makeDevice('f', 'd1');
  return Array.from({ length: n }, (_, i) =>
    simulateReport(d, model, {
      startMs: 1_767_225_600_000 + i * 3_600_000,
      intervalMs: 3_600_000,
      windows: 500 + i,
      rng,
      labelShare: 0.1,
      shadowCandidate: 'fall-detector@1.1.0',
      revokedWindows: i === 2 ? 5 : 0,
      suppressedSinceMs: i === 3 ? 1 : null,
    }),
  );
}

describe('Aggregate', () => {
  it('sums every count exactly and in any order', () => {
    const rs = reports(6, 1);
    const direct = Aggregate.empty(Aggregate.ofReport(must(rs[0])).shape);
    for (const r of rs) direct.addReport(r);
    const halves = [rs.slice(0, 3), rs.slice(3)].map((part) => {
      const a = Aggregate.ofReport(must(part[0]));
      for (const r of part.slice(1)) a.addReport(r);
      return a;
    });
    const merged = must(mergeAll([must(halves[1]), must(halves[0])]));
    expect(Array.from(merged.data)).toEqual(Array.from(direct.data));
    expect(merged.reports).toBe(6);
    expect(merged.windows).toBe(
      rs.reduce((s, r) => s + r.windows.ok + r.windows.indeterminate + r.windows.fallback, 0),
    );
    expect(merged.scalar('firstStartMs')).toBe(must(rs[0]).startMs);
    expect(merged.scalar('lastEndMs')).toBe(must(rs[5]).endMs);
    expect(merged.scalar('suppressedReports')).toBe(1);
    const f3 = rs.reduce((s, r) => s + must(r.features[3]).reduce((a, b) => a + b, 0), 0);
    expect(merged.feature(3).reduce((a, b) => a + b, 0)).toBe(f3);
    expect(merged.variable(model.profile.features.length)).toEqual(merged.score());
    const revoked = merged.reasons()[15];
    expect(revoked).toBe(5);
    expect(merged.shadow.get('fall-detector@1.1.0')?.pairs).toBe(
      rs.reduce((s, r) => s + (r.shadow[0]?.pairs ?? 0), 0),
    );
    expect(merged.data[SCALAR.labelledReports]).toBeGreaterThan(0);
  });

  it('merging two empty aggregates keeps the min/max fields sane', () => {
    const shape = Aggregate.ofReport(must(reports(1, 2)[0])).shape;
    const a = Aggregate.empty(shape);
    a.merge(Aggregate.empty(shape));
    expect(a.scalar('firstStartMs')).toBe(Infinity);
    expect(a.scalar('lastEndMs')).toBe(-Infinity);
  });

  it('round-trips through its storage encoding', () => {
    const a = Aggregate.ofReport(must(reports(1, 3)[0]));
    const enc = a.encode();
    const b = Aggregate.decode(new Uint8Array(enc.blob), enc.shadowJson);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(b.shape).toEqual(a.shape);
    expect([...b.shadow.entries()]).toEqual([...a.shadow.entries()]);
  });

  it('refuses other layouts with PROFILE_MISMATCH and bad blobs with STORE_FAILED', () => {
    const r = must(reports(1, 4)[0]);
    const a = Aggregate.ofReport(r);
    const other = Aggregate.empty({ featureLengths: [5], scoreLength: 4 });
    expect(() => {
      a.merge(other);
    }).toThrow(expect.objectContaining({ code: 'PROFILE_MISMATCH' }));
    expect(() => {
      other.addReport(r);
    }).toThrow(CollectorError);
    expect(() => Aggregate.decode(new Uint8Array(13), null)).toThrow(
      expect.objectContaining({ code: 'STORE_FAILED' }),
    );
    const enc = a.encode().blob;
    expect(() => Aggregate.decode(new Uint8Array(enc.subarray(0, enc.length - 8)), null)).toThrow(
      expect.objectContaining({ code: 'STORE_FAILED' }),
    );
  });
});
