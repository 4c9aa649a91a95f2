import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { encode } from 'cbor-x';
import nacl from 'tweetnacl';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WindowResult } from '../../../../runtime/pipeline/result.ts';
import type { Window } from '../../../../runtime/pipeline/types.ts';
import {
  BlackBox,
  BlackBoxError,
  blackBoxMigration,
  blackBoxSharedWindowsMigration,
} from '../../../../runtime/state/blackbox.ts';
import { openStateDb } from '../../../../runtime/state/db.ts';

let db: Database.Database;
let now = 1_700_000_000_000;
const key = new Uint8Array(32).fill(7);
let counter = 0;
const randomBytes = (n: number) =>
  crypto.createHash('sha512').update(String(counter++)).digest().subarray(0, n);

function window(index: number, resampled = false, epoch = 'a.1'): Window {
  const x = new Float64Array(8).map((_, i) => Math.fround(Math.sin(index + i)));
  if (resampled) x[3] = 0.1; // not representable in float32
  return {
    deviceId: 'd',
    streamId: 's1',
    sensor: 'accel',
    cohort: 'age=65+',
    index,
    epoch,
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
    shadow: false,
    status: { kind: 'ok', score: 0.25, label: 'no-fall', positive: false, alert: false },
  }) as unknown as WindowResult;

beforeEach(() => {
  db = openStateDb(':memory:', [blackBoxMigration, blackBoxSharedWindowsMigration]);
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
    const row = db.prepare('SELECT box FROM blackbox_windows').get() as { box: Buffer };
    expect(row.box.includes(Buffer.from('age=65+'))).toBe(false);
    row.box[10] = (row.box[10] ?? 0) ^ 1;
    db.prepare('UPDATE blackbox_windows SET box = ?').run(row.box);
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

  it('stores a window once however many events pin it, and again only when its results grew', () => {
    const box = new BlackBox(db, key, randomBytes, () => now);
    for (let i = 0; i < 4; i += 1) box.record(window(i), [result(i)]);
    expect(box.pin('episode', 'fallback-episode', 's1', 4)).toBe(4);
    expect(box.pin('alert', 'alert', 's1', 2)).toBe(2);
    expect(box.pin('alert', 'alert', 's1', 2)).toBe(0); // already pinned to that event
    expect(box.usage().windows).toBe(4);
    // The shadow result of window 3 arrives: pinning it again re-stores that one window, in place.
    box.record(window(3), [{ ...result(3), resultId: 's1:3:fall:shadow' }]);
    expect(box.pin('shadow', 'shadow-disagreement', 's1', 1)).toBe(1);
    expect(box.usage().windows).toBe(4);
    expect(box.pinned('alert').map((p) => p.results.length)).toEqual([1, 2]);
    expect(box.pinned('episode').map((p) => p.window.index)).toEqual([0, 1, 2, 3]);
    expect(box.events().map((e) => [e.eventId, e.windows])).toEqual([
      ['alert', 2],
      ['episode', 4],
      ['shadow', 1],
    ]);
  });

  it('never loses a result an event was pinned with when a shadow result settles late', () => {
    const box = new BlackBox(db, key, randomBytes, () => now);
    const shadow = (index: number) =>
      ({ ...result(index), resultId: `s1:${String(index)}:fall`, shadow: true }) as WindowResult;
    box.record(window(0), [result(0)]);
    box.pin('alert:0', 'alert', 's1', 8);
    box.record(window(1), [result(1)]);
    // The shadow answer for window 0 arrives after the active answer for window 1.
    box.record(window(0), [shadow(0)]);
    box.pin('shadow:0', 'shadow-disagreement', 's1', 8);
    const kinds = (event: string) =>
      box.pinned(event).map((p) => [p.window.index, p.results.map((r) => (r.shadow ? 'shadow' : 'active'))]);
    expect(kinds('alert:0')).toEqual([[0, ['active', 'shadow']]]);
    expect(kinds('shadow:0')).toEqual([
      [0, ['active', 'shadow']],
      [1, ['active']],
    ]);
    expect(box.usage().windows).toBe(2);
  });

  it('keeps what is on disk when a window that left the ring comes back with a late result only', () => {
    const box = new BlackBox(db, key, randomBytes, () => now, {
      ringWindowsPerStream: 2,
      retentionMs: 1e12,
      maxPinnedBytes: 1e9,
    });
    box.record(window(0), [result(0)]);
    box.pin('alert:0', 'alert', 's1', 1);
    box.record(window(1), [result(1)]);
    box.record(window(2), [result(2)]); // window 0 leaves the ring
    box.record(window(0), [{ ...result(0), shadow: true }]);
    box.pin('late', 'shadow-disagreement', 's1', 8);
    expect(box.pinned('alert:0')[0]?.results.map((r) => r.shadow)).toEqual([false, true]);
  });

  it('keeps a reopened stream apart: a new epoch neither overwrites nor joins the old windows', () => {
    const box = new BlackBox(db, key, randomBytes, () => now);
    for (let i = 0; i < 3; i += 1) box.record(window(i, false, 'a.1'), [result(i)]);
    box.pin('morning', 'alert', 's1', 8);
    for (let i = 0; i < 2; i += 1) box.record(window(i, false, 'a.2'), [result(i)]);
    expect(box.pin('afternoon', 'alert', 's1', 8)).toBe(2); // only the new cut's windows
    expect(box.pinned('morning').map((p) => p.window.epoch)).toEqual(['a.1', 'a.1', 'a.1']);
    expect(box.pinned('afternoon').map((p) => `${p.window.epoch ?? ''}#${p.window.index}`)).toEqual([
      'a.2#0',
      'a.2#1',
    ]);
  });

  it('holds the byte bound at every write, dropping the least recently pinned windows', () => {
    const probe = new BlackBox(db, key, randomBytes, () => now);
    probe.record(window(0, false, 'probe'), [result(0)]);
    probe.pin('probe', 'alert', 's1', 1);
    const one = probe.usage().bytes;
    db.exec('DELETE FROM blackbox_pins; DELETE FROM blackbox_windows;');
    const bound = one * 5 + one / 2;
    const box = new BlackBox(db, key, randomBytes, () => now, {
      ringWindowsPerStream: 3,
      retentionMs: 1e12,
      maxPinnedBytes: bound,
    });
    for (let i = 0; i < 40; i += 1) {
      now += 1000;
      box.record(window(i), [result(i)]);
      box.pin(`e${String(i)}`, 'alert', 's1', 3);
      expect(box.usage().bytes).toBeLessThanOrEqual(bound);
    }
    expect(box.usage().windows).toBe(5);
    // The latest event is whole; the oldest are gone with their windows.
    expect(box.pinned('e39').map((p) => p.window.index)).toEqual([37, 38, 39]);
    expect(() => box.pinned('e0')).toThrow(BlackBoxError);
  });

  it('retention drops the pins and then the windows no event keeps', () => {
    const box = new BlackBox(db, key, randomBytes, () => now, {
      ringWindowsPerStream: 8,
      retentionMs: 10_000,
      maxPinnedBytes: 1e9,
    });
    for (let i = 0; i < 3; i += 1) box.record(window(i), [result(i)]);
    box.pin('old', 'alert', 's1', 3);
    now += 20_000;
    box.pin('new', 'alert', 's1', 1); // shares window 2
    expect(box.prune()).toBe(2);
    expect(box.pinned('new').map((p) => p.window.index)).toEqual([2]);
    expect(() => box.pinned('old')).toThrow(BlackBoxError);
  });
});

describe('BlackBox schema 6 migration', () => {
  it('turns each row of the first layout into one window and its pin, readable as before', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bb-')), 'state.db');
    const legacy = openStateDb(file, [blackBoxMigration]);
    const insert = legacy.prepare(
      `INSERT INTO blackbox (event_id, event_kind, stream_id, window_index, pinned_at_ms, nonce, box)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const [event, kind] of [
      ['alert:x', 'alert'],
      ['episode:y', 'fallback-episode'],
    ] as const) {
      const { channels, ...rest } = window(7, false, '');
      const nonce = randomBytes(24);
      const plain = encode({ window: { ...rest, channels }, results: [result(7)] });
      insert.run(event, kind, 's1', 7, now, nonce, nacl.secretbox(plain, nonce, key));
    }
    // An event whose rows have ids 3…14: text-sorted ids would put window 10 before window 9.
    for (let index = 0; index < 12; index += 1) {
      const { channels, ...rest } = window(index, false, '');
      const nonce = randomBytes(24);
      const plain = encode({ window: { ...rest, channels }, results: [result(index)] });
      insert.run(
        'episode:long',
        'fallback-episode',
        's1',
        index,
        now,
        nonce,
        nacl.secretbox(plain, nonce, key),
      );
    }
    legacy.close();
    const migrated = openStateDb(file, [blackBoxMigration, blackBoxSharedWindowsMigration]);
    try {
      const box = new BlackBox(migrated, key, randomBytes, () => now);
      expect(box.usage().windows).toBe(14);
      expect(box.events().map((e) => [e.eventId, e.eventKind, e.windows])).toEqual([
        ['alert:x', 'alert', 1],
        ['episode:long', 'fallback-episode', 12],
        ['episode:y', 'fallback-episode', 1],
      ]);
      expect(box.pinned('episode:long').map((p) => p.window.index)).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
      ]);
      const [entry] = box.pinned('alert:x');
      expect(entry?.window.index).toBe(7);
      expect(entry?.window.channels[0]).toEqual(window(7).channels[0]);
      expect(entry?.results[0]?.resultId).toBe('s1:7:fall');
    } finally {
      migrated.close();
    }
  });
});
