import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { encode } from 'cbor-x';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, auditMigration, recordHash } from '../../../../runtime/state/audit.ts';
import { openStateDb } from '../../../../runtime/state/db.ts';

let dir: string;
let db: Database.Database;
let log: AuditLog;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-audit-'));
  db = openStateDb(path.join(dir, 'state.db'), [auditMigration]);
  let t = 1_700_000_000_000;
  log = new AuditLog(db, () => (t += 1000));
  log.append('boot', 'runtime', { runtimeVersion: '0.1.0' });
  log.append('bundle-received', 'field:bob', { bundleId: 'fall-detector@1.0.0' });
  log.append('bundle-verified', 'runtime', { bundleId: 'fall-detector@1.0.0' });
  log.append('bundle-activated', 'policy', { bundleId: 'fall-detector@1.0.0' });
  log.append('fallback-episode-start', 'runtime', { reason: 'QUALITY_SENSOR_FLAG' });
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('AuditLog', () => {
  it('verifies an untouched chain and reports its head', () => {
    const verdict = log.verify();
    expect(verdict.kind).toBe('intact');
    if (verdict.kind === 'intact') {
      expect(verdict.count).toBe(5);
      expect(verdict.headHash).toBe(log.headCheckpoint().headHash);
    }
    expect([...log.records()].map((r) => r.kind)).toEqual([
      'boot',
      'bundle-received',
      'bundle-verified',
      'bundle-activated',
      'fallback-episode-start',
    ]);
  });

  it('detects a modified payload at its record', () => {
    db.prepare('UPDATE audit SET payload = ? WHERE seq = 3').run(encode({ bundleId: 'evil@9.9.9' }));
    expect(log.verify()).toMatchObject({ kind: 'broken', at: { kind: 'hash', seq: 3 } });
  });

  it('detects a modification that also recomputed that record hash, at the next link', () => {
    const row = db.prepare('SELECT * FROM audit WHERE seq = 2').get() as { at_ms: number; prev_hash: string };
    const payload = encode({ bundleId: 'evil@9.9.9' }) as Uint8Array;
    const hash = recordHash(2, row.at_ms, 'bundle-received', 'field:bob', payload, row.prev_hash);
    db.prepare('UPDATE audit SET payload = ?, hash = ? WHERE seq = 2').run(payload, hash);
    expect(log.verify()).toMatchObject({ kind: 'broken', at: { kind: 'prev-hash', seq: 3 } });
  });

  it('detects deletion in the middle as a gap', () => {
    db.prepare('DELETE FROM audit WHERE seq = 2').run();
    expect(log.verify()).toMatchObject({ kind: 'broken', at: { kind: 'gap', expectedSeq: 2, foundSeq: 3 } });
  });

  it('detects reordering (two records swapped)', () => {
    const a = db.prepare('SELECT * FROM audit WHERE seq = 2').get() as Record<string, unknown>;
    const b = db.prepare('SELECT * FROM audit WHERE seq = 3').get() as Record<string, unknown>;
    const update = db.prepare(
      'UPDATE audit SET at_ms=?, kind=?, actor=?, payload=?, prev_hash=?, hash=? WHERE seq=?',
    );
    update.run(b.at_ms, b.kind, b.actor, b.payload, b.prev_hash, b.hash, 2);
    update.run(a.at_ms, a.kind, a.actor, a.payload, a.prev_hash, a.hash, 3);
    expect(log.verify()).toMatchObject({ kind: 'broken', at: { seq: 2 } });
  });

  it('detects an inserted record', () => {
    db.prepare('UPDATE audit SET seq = seq + 100 WHERE seq >= 4').run();
    db.prepare('UPDATE audit SET seq = seq - 99 WHERE seq >= 100').run();
    db.prepare('INSERT INTO audit VALUES (4, 0, ?, ?, ?, ?, ?)').run(
      'boot',
      'x',
      encode({}),
      'a'.repeat(64),
      'b'.repeat(64),
    );
    expect(log.verify().kind).toBe('broken');
  });

  it('detects truncation of the tail against a checkpoint held elsewhere', () => {
    const held = log.headCheckpoint();
    db.prepare('DELETE FROM audit WHERE seq >= 4').run();
    expect(log.verify().kind).toBe('intact'); // the chain alone cannot tell…
    expect(log.verify([held])).toMatchObject({ kind: 'broken', at: { kind: 'checkpoint', count: 5 } }); // …the checkpoint can
  });

  it('detects a rewritten history that no longer matches a checkpoint', () => {
    const held = log.headCheckpoint();
    db.prepare('DELETE FROM audit').run();
    for (let i = 0; i < 5; i += 1) log.append('boot', 'runtime', { i });
    expect(log.verify([held])).toMatchObject({ kind: 'broken', at: { kind: 'checkpoint', count: 5 } });
  });

  it('keeps checkpoints with their signed form', () => {
    const checkpoint = log.headCheckpoint();
    log.storeCheckpoint(checkpoint, Uint8Array.of(1, 2, 3));
    const stored = log.checkpoints();
    expect(stored.map((s) => s.checkpoint)).toEqual([checkpoint]);
    expect([...(stored[0]?.signed ?? [])]).toEqual([1, 2, 3]);
  });
});
