import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MESSAGE_CLASSES,
  Outbox,
  OutboxError,
  resolveOutboxOptions,
} from '../../../../monitor/outbox/index.ts';
import type { MessageClass } from '../../../../monitor/outbox/index.ts';

const dirs: string[] = [];
function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-outbox-'));
  dirs.push(dir);
  return path.join(dir, 'outbox.db');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const sync = {
  defer: (fn: () => void) => {
    fn();
  },
};
const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof OutboxError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('Outbox', () => {
  it('assigns strictly increasing sequence numbers that survive a reopen, even when empty', () => {
    const file = tempFile();
    const a = Outbox.open(file, {}, sync);
    const seqs = [1, 2, 3].map(
      () => a.enqueue({ class: 'event', topicSuffix: 'event', payload: bytes(10) }).seq,
    );
    expect(seqs).toEqual([1, 2, 3]);
    for (const s of seqs) a.ack(s);
    expect(a.stats().pending).toBe(0);
    a.close();
    const b = Outbox.open(file, {}, sync);
    expect(b.enqueue({ class: 'event', topicSuffix: 'event', payload: bytes(10) }).seq).toBe(4);
    expect(b.stats().perClass.event).toMatchObject({ written: 4, delivered: 3, pending: 1 });
    b.close();
  });

  it('hands the assigned sequence to a payload builder, and consumes nothing if it throws', () => {
    const box = Outbox.open(tempFile(), {}, sync);
    const r = box.enqueue({
      class: 'routine-report',
      topicSuffix: 'report',
      payload: (seq) => new TextEncoder().encode(`seq=${seq}`),
    });
    expect(r.seq).toBe(1);
    expect(() =>
      box.enqueue({
        class: 'routine-report',
        topicSuffix: 'report',
        payload: () => {
          throw new Error('signing failed');
        },
      }),
    ).toThrow();
    expect(box.enqueue({ class: 'event', topicSuffix: 'event', payload: bytes(1) }).seq).toBe(2);
    const [first] = box.pending(0, 10);
    expect(new TextDecoder().decode(first?.payload)).toBe('seq=1');
    expect(box.stats().written).toBe(2);
    box.close();
  });

  it('returns pending entries in sequence order after a cursor, and deletes on ack', () => {
    const box = Outbox.open(tempFile(), {}, sync);
    box.enqueueMany(
      Array.from({ length: 10 }, (_, i) => ({
        class: 'event' as const,
        topicSuffix: 'event',
        payload: bytes(5, i),
      })),
    );
    expect(box.pending(0, 3).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(box.pending(7, 10).map((e) => e.seq)).toEqual([8, 9, 10]);
    box.markAttempt([1, 2]);
    box.ack(2);
    box.ack(2); // a duplicate PUBACK counts once
    const left = box.pending(0, 3);
    expect(left.map((e) => [e.seq, e.attempts])).toEqual([
      [1, 1],
      [3, 0],
      [4, 0],
    ]);
    expect(box.stats().perClass.event).toMatchObject({ delivered: 1, pending: 9, pendingBytes: 45 });
    box.close();
  });

  it('evicts routine reports first (oldest first), then events, and the top tier last', () => {
    const box = Outbox.open(tempFile(), { outboxMaxBytes: 1000, outboxMaxEntryBytes: 100 }, sync);
    const order: MessageClass[] = [
      'safety-event',
      'routine-report',
      'event',
      'routine-report',
      'alert',
      'update-status',
      'audit-checkpoint',
      'routine-report',
      'event',
      'routine-report',
    ];
    for (const cls of order) box.enqueue({ class: cls, topicSuffix: 'event', payload: bytes(100) });
    expect(box.stats().pendingBytes).toBe(1000);
    const evictedSeqs: number[] = [];
    box.onEvicted((records) => evictedSeqs.push(...records.map((r) => r.seq)));
    // Each new top-tier entry evicts one 100-byte entry: reports 2,4,8,10, then events/statuses 3,6,9,
    // then the oldest top-tier entries 1,5,7.
    for (let i = 0; i < 10; i += 1) {
      const r = box.enqueue({ class: 'safety-event', topicSuffix: 'event', payload: bytes(100) });
      expect(r.stored).toBe(true);
    }
    expect(evictedSeqs).toEqual([2, 4, 8, 10, 3, 6, 9, 1, 5, 7]);
    const s = box.stats();
    expect(s.perClass['routine-report']).toMatchObject({ evicted: 4, evictedBytes: 400, pending: 0 });
    expect(s.perClass.event.evicted + s.perClass['update-status'].evicted).toBe(3);
    expect(s.pendingBytes).toBe(1000);
    expect(s.written).toBe(s.delivered + s.evicted + s.pending);
    box.close();
  });

  it('drops a new low-tier entry rather than evict a higher tier, and counts it', () => {
    const box = Outbox.open(tempFile(), { outboxMaxBytes: 1024, outboxMaxEntryBytes: 512 }, sync);
    box.enqueue({ class: 'alert', topicSuffix: 'event', payload: bytes(512) });
    box.enqueue({ class: 'audit-checkpoint', topicSuffix: 'audit', payload: bytes(512) });
    const r = box.enqueue({ class: 'routine-report', topicSuffix: 'report', payload: bytes(10) });
    expect(r).toMatchObject({ seq: 3, stored: false });
    expect(r.evicted).toEqual([{ seq: 3, class: 'routine-report', bytes: 10, reason: 'bytes' }]);
    expect(box.pending(0, 10).map((e) => e.seq)).toEqual([1, 2]);
    expect(box.stats().perClass['routine-report']).toMatchObject({ written: 1, evicted: 1, pending: 0 });
    box.close();
  });

  it('evicts by age with an injected clock, counting per class, persisted across reopen', () => {
    const file = tempFile();
    let now = 1_000_000;
    const box = Outbox.open(file, { outboxMaxAgeS: 60 }, { now: () => now, defer: sync.defer });
    box.enqueue({ class: 'routine-report', topicSuffix: 'report', payload: bytes(7) });
    box.enqueue({ class: 'alert', topicSuffix: 'event', payload: bytes(3) });
    now += 30_000;
    box.enqueue({ class: 'event', topicSuffix: 'event', payload: bytes(1) });
    now += 31_000;
    const evicted = box.sweep();
    expect(evicted.map((e) => [e.seq, e.reason])).toEqual([
      [1, 'age'],
      [2, 'age'],
    ]);
    box.close();
    const again = Outbox.open(file, { outboxMaxAgeS: 60 }, sync);
    const s = again.stats();
    expect(s.perClass['routine-report']).toMatchObject({ evicted: 1, evictedBytes: 7 });
    expect(s.perClass.alert).toMatchObject({ evicted: 1, evictedBytes: 3 });
    expect(s.pending).toBe(1);
    again.close();
  });

  it('does not count a PUBACK for an entry evicted while in flight as delivered', () => {
    const box = Outbox.open(tempFile(), { outboxMaxBytes: 1024, outboxMaxEntryBytes: 1024 }, sync);
    box.enqueue({ class: 'routine-report', topicSuffix: 'report', payload: bytes(1000) });
    box.enqueue({ class: 'alert', topicSuffix: 'event', payload: bytes(1000) });
    box.ack(1);
    expect(box.stats().perClass['routine-report']).toMatchObject({ delivered: 0, evicted: 1 });
    box.close();
  });

  it('keeps a persisted birth sequence', () => {
    const file = tempFile();
    const a = Outbox.open(file, {}, sync);
    expect([a.nextBirthSequence(), a.nextBirthSequence()]).toEqual([1, 2]);
    a.close();
    const b = Outbox.open(file, {}, sync);
    expect(b.nextBirthSequence()).toBe(3);
    b.close();
  });

  it('rejects bad input with codes', () => {
    const box = Outbox.open(tempFile(), { outboxMaxEntryBytes: 100 }, sync);
    expect(codeOf(() => box.enqueue({ class: 'event', topicSuffix: 'event', payload: bytes(101) }))).toBe(
      'ENTRY_TOO_LARGE',
    );
    expect(codeOf(() => box.enqueue({ class: 'event', topicSuffix: 'cmd/x', payload: bytes(1) }))).toBe(
      'BAD_ENTRY',
    );
    expect(codeOf(() => box.enqueue({ class: 'event', topicSuffix: 'a/+', payload: bytes(1) }))).toBe(
      'BAD_ENTRY',
    );
    expect(
      codeOf(() => box.enqueue({ class: 'nope' as MessageClass, topicSuffix: 'event', payload: bytes(1) })),
    ).toBe('BAD_ENTRY');
    expect(box.stats().written).toBe(0);
    box.close();
    expect(codeOf(() => box.stats())).toBe('CLOSED');
    expect(codeOf(() => resolveOutboxOptions({ outboxMaxBytes: -1 }))).toBe('BAD_OPTIONS');
    expect(codeOf(() => resolveOutboxOptions({ outboxMaxByte: 5 }))).toBe('BAD_OPTIONS');
    expect(codeOf(() => resolveOutboxOptions({ outboxMaxBytes: 2048, outboxMaxEntryBytes: 4096 }))).toBe(
      'BAD_OPTIONS',
    );
  });

  it('refuses a file written by a newer schema, and a file that is not a database', () => {
    const file = tempFile();
    Outbox.open(file).close();
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();
    expect(codeOf(() => Outbox.open(file))).toBe('SCHEMA_TOO_NEW');
    const bad = tempFile();
    fs.writeFileSync(bad, Buffer.alloc(4096, 7));
    expect(codeOf(() => Outbox.open(bad))).toBe('DB_CORRUPT');
  });

  it('keeps its invariants under random operations (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('enqueue' as const),
              cls: fc.constantFrom(...MESSAGE_CLASSES),
              size: fc.integer({ min: 1, max: 300 }),
            }),
            fc.record({ op: fc.constant('ack' as const), pick: fc.nat() }),
          ),
          { maxLength: 60 },
        ),
        (ops) => {
          const box = Outbox.open(':memory:', { outboxMaxBytes: 1024, outboxMaxEntryBytes: 300 }, sync);
          let last = 0;
          for (const o of ops) {
            if (o.op === 'enqueue') {
              const r = box.enqueue({ class: o.cls, topicSuffix: 'event', payload: bytes(o.size) });
              expect(r.seq).toBe(last + 1);
              last = r.seq;
            } else {
              const held = box.pending(0, 1000);
              const victim = held[o.pick % Math.max(1, held.length)];
              if (victim) box.ack(victim.seq);
            }
            const s = box.stats();
            expect(s.pendingBytes).toBeLessThanOrEqual(1024);
            expect(s.written).toBe(s.delivered + s.evicted + s.pending);
            const held = box.pending(0, 1000);
            expect(held.reduce((n, e) => n + e.payload.length, 0)).toBe(s.pendingBytes);
          }
          box.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
