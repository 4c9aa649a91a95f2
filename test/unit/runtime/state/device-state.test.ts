import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DeviceState,
  LOCK_FILE,
  STATE_MIGRATIONS,
  STORAGE_KEY_BYTES,
  StateError,
  WriterLock,
  ZERO_PROBATION,
  ZERO_SHADOW,
  deviceKid,
  loadOrCreateDeviceKey,
  loadOrCreateStorageKey,
  openStateDb,
  type InstalledBundle,
} from '../../../../runtime/state/index.ts';

let dir: string;
let db: Database.Database;
let state: DeviceState;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-state-'));
  db = openStateDb(path.join(dir, 'state.db'), STATE_MIGRATIONS);
  state = new DeviceState(db);
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function bundle(sha: string, sequence: number, family = 'fall-detector'): InstalledBundle {
  return {
    manifestSha256: sha,
    bundleId: `${family}@1.${sequence}.0`,
    family,
    version: `1.${sequence}.0`,
    sequence,
    manifestBytes: new Uint8Array([sequence]),
    approvals: [{ kid: 'qa-alice', role: 'qa', reviewer: 'A <a@b.c>', timeMs: 1, scope: 'full' }],
    approvedFor: 'full',
    coseSign: null,
    containerSha256: 'c'.repeat(64),
    bytes: 100,
    state: 'installed',
    stateDetail: null,
    source: 'local',
    transferId: null,
    installedAtMs: sequence,
  };
}

describe('DeviceState', () => {
  it('stores slots as tagged unions and reads them back', () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    state.transaction('t', () => {
      state.insertBundle(bundle(a, 1));
      state.insertBundle(bundle(b, 2));
      state.putSlot({
        slot: 'active',
        family: 'fall-detector',
        manifestSha256: a,
        sinceMs: 5,
        mode: { kind: 'rule-fallback', reason: 'revoked', detail: 'unsafe' },
        probation: { kind: 'running', startedAtMs: 5, counters: { ...ZERO_PROBATION, windows: 3 } },
        activation: { via: 'promotion', scope: 'canary', by: 'release:erin' },
      });
      state.putSlot({
        slot: 'candidate',
        family: 'fall-detector',
        manifestSha256: b,
        sinceMs: 6,
        stage: 'shadow',
        shadow: { ...ZERO_SHADOW, windows: 2, agreements: 1 },
      });
    });
    const slots = state.slots('fall-detector');
    expect(slots.active).toMatchObject({
      mode: { kind: 'rule-fallback', reason: 'revoked' },
      probation: { counters: { windows: 3 } },
    });
    expect(slots.candidate).toMatchObject({ stage: 'shadow', shadow: { windows: 2, agreements: 1 } });
    expect(slots.lastKnownGood).toBeNull();
    expect(state.bundle(a)).toEqual(bundle(a, 1));
  });

  it('enforces one slot per bundle and only installed bundles in slots', () => {
    const a = 'a'.repeat(64);
    state.insertBundle(bundle(a, 1));
    state.putSlot({ slot: 'last-known-good', family: 'fall-detector', manifestSha256: a, sinceMs: 1 });
    expect(() => {
      state.transaction('t', () => {
        state.putSlot({
          slot: 'candidate',
          family: 'fall-detector',
          manifestSha256: a,
          sinceMs: 1,
          stage: 'shadow',
          shadow: ZERO_SHADOW,
        });
      });
    }).toThrow(StateError);
    expect(() => {
      state.transaction('t', () => {
        state.putSlot({ slot: 'last-known-good', family: 'x', manifestSha256: 'f'.repeat(64), sinceMs: 1 });
      });
    }).toThrow(StateError);
    // A bundle in a slot cannot be deleted (never prune active or last-known-good).
    expect(() => {
      state.transaction('t', () => {
        state.deleteBundle(a);
      });
    }).toThrow(StateError);
  });

  it('reports a corrupted slot record as DB_CORRUPT', () => {
    const a = 'a'.repeat(64);
    state.insertBundle(bundle(a, 1));
    db.prepare(
      'INSERT INTO slots VALUES (\'fall-detector\', \'active\', ?, 1, \'{"mode":{"kind":"yolo"}}\')',
    ).run(a);
    expect(() => state.slots('fall-detector')).toThrow(
      expect.objectContaining({ code: 'DB_CORRUPT' }) as Error,
    );
  });

  it('keeps anti-rollback sequences, revocations once, and the command replay store', () => {
    state.addSequence('f', 3);
    state.addSequence('f', 1);
    state.addSequence('f', 3);
    expect(state.installedFamilies().get('f')).toEqual({ highestSequence: 3, sequences: [1, 3] });
    const rev = { by: 'bundleId', bundleId: 'f@1', reason: 'x', revokedAtMs: 1 } as const;
    expect(state.addRevocation(rev, 'cmd')).toBe(true);
    expect(state.addRevocation({ ...rev, reason: 'again' }, 'cmd')).toBe(false);
    state.insertCommand({
      nonce: 'n1',
      commandSha256: 's',
      kind: 'freeze',
      receivedAtMs: 1,
      expiresAtMs: 10,
      status: 'pending',
      code: null,
      bytes: new Uint8Array([1]),
    });
    expect(state.pendingCommands().map((c) => c.nonce)).toEqual(['n1']);
    state.resolveCommand('n1', 'rejected', 'FROZEN');
    expect(state.command('n1')).toMatchObject({ status: 'rejected', code: 'FROZEN', bytes: null });
    expect(state.pruneCommands(5)).toBe(0); // not expired yet: still guards against replay
    expect(state.pruneCommands(11)).toBe(1);
  });
});

describe('device keys and the writer lock', () => {
  it('creates the storage key once (0600) and refuses a readable or short one', () => {
    let n = 0;
    const random = (k: number) => new Uint8Array(k).fill((n += 1));
    const first = loadOrCreateStorageKey(path.join(dir, 'keys'), random);
    const second = loadOrCreateStorageKey(path.join(dir, 'keys'), random);
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect([...second.key]).toEqual([...first.key]);
    expect(first.key).toHaveLength(STORAGE_KEY_BYTES);
    const file = path.join(dir, 'keys', 'storage.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.chmodSync(file, 0o644);
    expect(() => loadOrCreateStorageKey(path.join(dir, 'keys'), random)).toThrow(/chmod 600/);
    fs.chmodSync(file, 0o600);
    fs.writeFileSync(file, 'short');
    expect(() => loadOrCreateStorageKey(path.join(dir, 'keys'), random)).toThrow(
      expect.objectContaining({ code: 'KEY_INVALID' }) as Error,
    );
  });

  it('creates the device signing key once, with a kid derived from the device id', async () => {
    const random = (k: number) => new Uint8Array(k).fill(7);
    const a = await loadOrCreateDeviceKey(path.join(dir, 'keys'), 'gw/01 ward#3', random);
    const b = await loadOrCreateDeviceKey(path.join(dir, 'keys'), 'gw/01 ward#3', random);
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(a.key.kid).toBe('device-gw-01-ward-3');
    expect(deviceKid('x'.repeat(100))).toHaveLength(64);
    expect(b.key.role).toBe('device');
    expect(fs.existsSync(path.join(dir, 'keys', 'device-gw-01-ward-3.pub'))).toBe(true);
  });

  it('takes over a stale lock and refuses a live one', () => {
    fs.writeFileSync(path.join(dir, LOCK_FILE), '999999999\n');
    const lock = WriterLock.acquire(dir);
    expect(() => WriterLock.acquire(dir)).toThrow(expect.objectContaining({ code: 'LOCKED' }) as Error);
    lock.release();
    fs.writeFileSync(path.join(dir, LOCK_FILE), '1\n'); // pid 1 is alive
    expect(() => WriterLock.acquire(dir)).toThrow(/process 1/);
  });
});
