import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WindowResult } from '../../../../runtime/pipeline/result.ts';
import type { Window } from '../../../../runtime/pipeline/types.ts';
import { BlackBox, BlackBoxError, blackBoxMigration } from '../../../../runtime/state/blackbox.ts';
import { openStateDb } from '../../../../runtime/state/db.ts';

let db: Database.Database;
let now = 1_700_000_000_000;
const key = new Uint8Array(32).fill(7);
let counter = 0;
const randomBytes = (n: number) =>
  crypto.createHash('sha512').update(String(counter++)).digest().subarray(0, n);

function window(index: number, resampled = false): Window {
  const x = new Float64Array(8).map((_, i) => Math.fround(Math.sin(index + i)));
  if (resampled) x[3] = 0.1; // not representable in float32
  return {
    deviceId: 'd',
    streamId: 's1',
    sensor: 'accel',
    cohort: 'age=65+',
    index,
    firstCounter: index * 4,
    lastCounter: index * 4 + 7,
    startMs: index * 1000,
    endMs: index * 1000 + 2000,
    rateHz: 4,
    channels: [x, new Float64Array(8).fill(Number.NaN)],
    flagsUnion: 0,
    flaggedSamples: 0,
    missingSamples: 8,
    rateJitterRel: 0,
    completedAtMonoMs: 0,
  };
}

const result = (index: number): WindowResult =>
  ({
    resultId: `s1:${index}:fall`,
    status: { kind: 'ok', score: 0.25, label: 'no-fall', positive: false, alert: false },
  }) as unknown as WindowResult;

beforeEach(() => {
  db = openStateDb(':memory:', [blackBoxMigration]);
});
afterEach(() => db.close());

describe('BlackBox', () => {
  it('pins the recent windows of a stream and gives them back bit for bit', () => {
    const box = new BlackBox(db, key, randomBytes, () => now, {
      ringWindowsPerStream: 3,
      retentionMs: 1e9,
      maxPinnedBytes: 1e9,
    });
    for (let i = 0; i < 5; i += 1) box.record(window(i, i === 4), [result(i)]);
    expect(box.pin('alert-1', 'alert', 's1', 10)).toBe(3);
    const pinned = box.pinned('alert-1');
    expect(pinned.map((p) => p.window.index)).toEqual([2, 3, 4]);
    expect(pinned[2]?.window.channels[0]).toEqual(window(4, true).channels[0]);
    expect(pinned[0]?.window.channels[0]).toEqual(window(2).channels[0]);
    expect(Number.isNaN(pinned[0]?.window.channels[1]?.[0])).toBe(true);
    expect(pinned[0]?.results[0]?.resultId).toBe('s1:2:fall');
  });

  it('stores only ciphertext and refuses a tampered box', () => {
    const box = new BlackBox(db, key, randomBytes, () => now);
    box.record(window(1), [result(1)]);
    box.pin('e', 'fallback', 's1', 1);
    const row = db.prepare('SELECT box FROM blackbox').get() as { box: Buffer };
    expect(row.box.includes(Buffer.from('age=65+'))).toBe(false);
    row.box[10] = (row.box[10] ?? 0) ^ 1;
    db.prepare('UPDATE blackbox SET box = ?').run(row.box);
    expect(() => box.pinned('e')).toThrow(BlackBoxError);
    expect(() => new BlackBox(db, new Uint8Array(16), randomBytes, () => now)).toThrow(BlackBoxError);
  });

  it('prunes by retention and by size, oldest first', () => {
    const box = new BlackBox(db, key, randomBytes, () => now, {
      ringWindowsPerStream: 8,
      retentionMs: 10_000,
      maxPinnedBytes: 1e9,
    });
    box.record(window(1), []);
    box.pin('old', 'alert', 's1', 1);
    now += 20_000;
    box.record(window(2), []);
    box.pin('new', 'alert', 's1', 1);
    expect(box.prune()).toBe(1);
    expect(box.events().map((e) => e.eventId)).toEqual(['new']);
  });
});
