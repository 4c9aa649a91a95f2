import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SEQUENCE_LIMITS,
  SequenceTracker,
  type SequenceSnapshot,
} from '../../../../monitor/collector/index.ts';

describe('SequenceTracker', () => {
  it('opens gaps, fills them late, and starts at the first number it sees', () => {
    const t = new SequenceTracker();
    expect(t.observe(100, 0)).toEqual({ kind: 'new', opened: 0 });
    expect(t.observe(101, 0)).toEqual({ kind: 'new', opened: 0 });
    expect(t.observe(105, 10)).toEqual({ kind: 'new', opened: 3 });
    expect(t.counts()).toEqual({ pending: 3, late: 0, evicted: 0, lost: 0 });
    expect(t.observe(103, 20)).toEqual({ kind: 'late', wasDeclared: null });
    expect(t.snapshot().pending).toEqual([
      { start: 102, end: 103, openedMs: 10 },
      { start: 104, end: 105, openedMs: 10 },
    ]);
    expect(t.observe(50, 30)).toEqual({ kind: 'before-first' });
    expect(t.counts()).toEqual({ pending: 2, late: 1, evicted: 0, lost: 0 });
  });

  it('does not count a jump further than any outbox could buffer as a gap, nor move the highest number', () => {
    const t = new SequenceTracker();
    t.observe(10, 0);
    const far = 11 + SEQUENCE_LIMITS.maxJump;
    expect(t.observe(far, 0)).toEqual({ kind: 'jump', ahead: far - 10 });
    expect(t.counts()).toEqual({ pending: 0, late: 0, evicted: 0, lost: 0 });
    expect(t.observe(11, 0)).toEqual({ kind: 'new', opened: 0 });
    expect(t.observe(10 + SEQUENCE_LIMITS.maxJump, 0)).toEqual({
      kind: 'new',
      opened: SEQUENCE_LIMITS.maxJump - 2,
    });
  });

  it('explains gaps by the device eviction counters, oldest first, from the second report on', () => {
    const t = new SequenceTracker();
    t.observe(1, 0);
    expect(t.explainEvictions(4, 0)).toBe(0); // baseline: evictions before we knew the device
    t.observe(10, 0); // 2..9 pending
    expect(t.explainEvictions(7, 5)).toBe(3);
    expect(t.snapshot().pending).toEqual([{ start: 5, end: 10, openedMs: 0 }]);
    expect(t.counts()).toMatchObject({ pending: 5, evicted: 3 });
    expect(t.explainEvictions(6, 6)).toBe(0); // counters never go back
  });

  it('declares old gaps lost, and a lost number that arrives after all becomes late', () => {
    const t = new SequenceTracker();
    t.observe(1, 0);
    t.observe(5, 1000);
    expect(t.sweep(1500, 1000)).toBe(0);
    expect(t.sweep(2000, 1000)).toBe(3);
    expect(t.counts()).toEqual({ pending: 0, late: 0, evicted: 0, lost: 3 });
    expect(t.observe(3, 3000)).toEqual({ kind: 'late', wasDeclared: 'lost' });
    expect(t.counts()).toEqual({ pending: 0, late: 1, evicted: 0, lost: 2 });
    expect(t.snapshot().declared.map((g) => [g.start, g.end])).toEqual([
      [2, 3],
      [4, 5],
    ]);
  });

  it('bounds the pending list; overflowing gaps are counted as lost', () => {
    const t = new SequenceTracker();
    t.observe(0, 0);
    for (let i = 1; i <= SEQUENCE_LIMITS.maxPendingGaps + 10; i++) t.observe(i * 2, 0);
    const s = t.snapshot();
    expect(s.pending.length).toBe(SEQUENCE_LIMITS.maxPendingGaps);
    expect(s.overflowed).toBe(10);
    expect(s.lost).toBe(10);
    expect(s.declared.length).toBeLessThanOrEqual(SEQUENCE_LIMITS.maxDeclaredGaps);
  });

  it('survives a snapshot round trip', () => {
    const t = new SequenceTracker();
    t.observe(1, 0);
    t.observe(9, 0);
    t.explainEvictions(0, 0);
    const u = SequenceTracker.restore(JSON.parse(JSON.stringify(t.snapshot())) as SequenceSnapshot);
    expect(u.observe(4, 1)).toEqual({ kind: 'late', wasDeclared: null });
    expect(u.counts()).toEqual({ pending: 6, late: 1, evicted: 0, lost: 0 });
  });

  it('property: whatever the delivery order, every number between the first and the highest is seen or pending', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 300 }),
        (arrivals) => {
          const t = new SequenceTracker();
          const seen = new Set<number>();
          let first = -1;
          let fresh = 0;
          for (const seq of arrivals) {
            if (seen.has(seq) || (first >= 0 && seq < first)) continue; // the store dedupes
            const o = t.observe(seq, 0);
            if (first < 0) first = seq;
            if (o.kind === 'new') fresh++;
            seen.add(seq);
          }
          const s = t.snapshot();
          const pending = new Set<number>();
          for (const g of s.pending) for (let i = g.start; i < g.end; i++) pending.add(i);
          for (let i = first; i <= s.highest; i++) {
            if (seen.has(i) === pending.has(i)) return false; // exactly one of the two
          }
          return s.late + fresh === seen.size;
        },
      ),
    );
  });
});
