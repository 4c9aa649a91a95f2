// A full disk and an unwritable database give clear StateError codes and never corrupt the state:
// the full disk is simulated with SQLite's max_page_count on the lifecycle's own connection; the
// unwritable cases use file permissions (checked from an unprivileged child when running as root).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Lifecycle, LifecycleStatus } from '../../../runtime/lifecycle/index.ts';
import { AuditLog, STATE_MIGRATIONS, StateError, openStateDb } from '../../../runtime/state/index.ts';
import { tempDir } from '../../fixtures/bundles/kit.ts';
import {
  Clock,
  OK,
  bundle,
  command,
  openLifecycle,
  result,
  tempDataDir,
} from '../../unit/runtime/lifecycle/helpers.ts';
import { checkDataDir } from '../../crash/lifecycle-shared.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'unwritable-child.ts');
let b1: string;
let b2: string;
let b3: string;
let open: Lifecycle[] = [];

beforeAll(async () => {
  const dir = tempDir();
  b1 = await bundle(1, { dir });
  b2 = await bundle(2, { dir });
  b3 = await bundle(3, { dir });
});

afterEach(async () => {
  for (const l of open) await l.close().catch(() => undefined);
  open = [];
});

/**
 * Makes the database full: no page beyond the current ones (max_page_count), and the room left in the
 * audit table's pages used up, so that every state change (each commits an audit record) fails with
 * SQLITE_FULL, as on a device whose disk filled up.
 */
function fill(db: Database.Database, audit: AuditLog): () => void {
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages}`);
  for (let i = 0; i < 10_000; i += 1) {
    try {
      audit.append('config-changed', 'test', { filler: i });
    } catch (error) {
      if ((error as StateError).code === 'DB_FULL') break;
      throw error;
    }
  }
  return () => db.pragma('max_page_count = 1073741823');
}

/** Which bundle each slot holds (evidence counters aside). */
function slotIds(l: Lifecycle | LifecycleStatus): unknown {
  const status = 'status' in l ? l.status() : l;
  return status.families.map((f) => ({
    family: f.family,
    active: f.active?.bundle.manifestSha256 ?? null,
    mode: f.active?.mode.kind ?? null,
    candidate: f.candidate?.bundle.manifestSha256 ?? null,
    lastKnownGood: f.lastKnownGood?.bundle.manifestSha256 ?? null,
  }));
}

describe('a full disk', () => {
  it('fails installs and commands with DB_FULL, changes nothing, and recovers once space returns', async () => {
    const captured: { db: Database.Database | null } = { db: null };
    const clock = new Clock();
    const dataDir = tempDataDir();
    const errors: string[] = [];
    const l = await openLifecycle(dataDir, clock, {
      onDbOpen: (d) => (captured.db = d),
      onError: (e) => errors.push((e as { code?: string }).code ?? String(e)),
    });
    open.push(l);
    const first = await l.install(b1);
    expect(first.kind).toBe('activated');
    const before = l.status();
    if (!captured.db) throw new Error('no database');
    const release = fill(captured.db, l.audit);
    const records = l.audit.count();

    await expect(l.install(b2)).rejects.toMatchObject({ name: 'StateError', code: 'DB_FULL' });
    await expect(l.applyCommand(command({ kind: 'freeze' }, clock))).rejects.toMatchObject({
      code: 'DB_FULL',
    });
    // Evidence from the pipeline never throws at the pipeline: the failure is reported.
    const sha = first.kind === 'activated' ? first.bundle.manifestSha256 : '';
    for (let i = 0; i < 70; i += 1) l.observeResult(result(sha, OK));
    await l.idle();
    expect(errors).toContain('DB_FULL');
    expect(slotIds(l)).toEqual(slotIds(before));
    expect(l.status().bundles).toEqual(before.bundles);
    expect(l.audit.count()).toBe(records);
    expect(fs.readdirSync(l.store.stagingDir)).toEqual([]);
    expect(fs.readdirSync(l.store.bundlesDir)).toHaveLength(1);

    release();
    expect((await l.install(b2)).kind).toBe('shadow');
    expect(l.audit.verify().kind).toBe('intact');
    await l.close();
    open = [];
    const check = await checkDataDir(dataDir);
    expect(check.integrity).toBe('ok');
    expect(check.problems).toEqual([]);
  });

  it('fails a promotion with DB_FULL, keeps the slots, and applies the recorded command once space returns', async () => {
    const captured: { db: Database.Database | null } = { db: null };
    let armed = false;
    const clock = new Clock();
    const dataDir = tempDataDir();
    const l: Lifecycle = await openLifecycle(dataDir, clock, {
      onDbOpen: (d) => (captured.db = d),
      // The command's pending record is written; then the disk fills up before the promotion commits.
      faults: {
        at: (point) => {
          if (armed && point === 'command:recorded' && captured.db) fill(captured.db, l.audit);
        },
      },
    });
    open.push(l);
    const first = await l.install(b1);
    const candidate = await l.install(b3);
    if (first.kind !== 'activated' || candidate.kind !== 'shadow') throw new Error('setup');
    for (let i = 0; i < 30; i += 1) l.observeResult(result(first.bundle.manifestSha256, OK));
    await l.idle();
    const before = slotIds(l);
    armed = true;
    const bytes = command(
      { kind: 'promote', family: 'fall-detector', bundle: candidate.bundle.manifestSha256, force: true },
      clock,
    );
    await expect(l.applyCommand(bytes)).rejects.toMatchObject({ code: 'DB_FULL' });
    expect(slotIds(l)).toEqual(before);
    await l.close().catch(() => undefined);
    open = [];
    // After a restart with space, the pending command is re-checked and applied, exactly once.
    const again = await openLifecycle(dataDir, clock, { noTrust: true });
    open.push(again);
    expect(again.status().families[0]?.active?.bundle.manifestSha256).toBe(candidate.bundle.manifestSha256);
    const accepted = [...again.audit.records()].filter((r) => r.kind === 'command-accepted');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]?.payload).toMatchObject({ via: 'recovered' });
    expect(await again.applyCommand(bytes)).toMatchObject({ kind: 'rejected', code: 'REPLAYED' });
  });
});

describe('an unwritable database', () => {
  it('refuses writes on a read-only connection with DB_READONLY and leaves the file intact', async () => {
    const dataDir = tempDataDir();
    const l = await openLifecycle(dataDir, new Clock());
    await l.install(b1);
    await l.close();
    const count = (await checkDataDir(dataDir)).count;
    const db = openStateDb(path.join(dataDir, 'state.db'), STATE_MIGRATIONS, { readonly: true });
    try {
      const log = new AuditLog(db, () => 0);
      expect(() => log.append('boot', 'runtime', {})).toThrow(StateError);
      try {
        log.append('boot', 'runtime', {});
      } catch (error) {
        expect((error as StateError).code).toBe('DB_READONLY');
      }
      expect(log.count()).toBe(count);
      expect(log.verify().kind).toBe('intact');
    } finally {
      db.close();
    }
  });

  function runUnwritable(dataDir: string): { opened: boolean; code?: string; name?: string } {
    const root = process.getuid?.() === 0;
    const child = spawnSync(process.execPath, ['--import', 'tsx', CHILD, dataDir], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
      // Root ignores permission bits: the check runs as `nobody`, as the daemon would on a device.
      ...(root ? { uid: 65534, gid: 65534 } : {}),
      env: { ...process.env, HOME: os_tmp() },
    });
    const line = child.stdout.trim().split('\n').at(-1) ?? '';
    if (child.status !== 0 || line === '') throw new Error(`child failed: ${child.stderr}`);
    return JSON.parse(line) as { opened: boolean; code?: string; name?: string };
  }

  function os_tmp(): string {
    return fs.realpathSync(path.dirname(tempDataDir()));
  }

  async function prepared(): Promise<{ dataDir: string; count: number }> {
    const parent = tempDataDir();
    fs.chmodSync(parent, 0o755);
    const dataDir = path.join(parent, 'device');
    const l = await openLifecycle(dataDir, new Clock());
    await l.install(b1);
    await l.close();
    return { dataDir, count: (await checkDataDir(dataDir)).count };
  }

  function chmodTree(dir: string, dirMode: number, fileMode: number): void {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) chmodTree(p, dirMode, fileMode);
      else fs.chmodSync(p, fileMode);
    }
    fs.chmodSync(dir, dirMode);
  }

  it('gives DB_READONLY for a read-only data directory, and the state is untouched', async () => {
    const { dataDir, count } = await prepared();
    chmodTree(dataDir, 0o555, 0o444);
    const outcome = runUnwritable(dataDir);
    expect(outcome).toMatchObject({ opened: false, name: 'StateError', code: 'DB_READONLY' });
    chmodTree(dataDir, 0o700, 0o600);
    const check = await checkDataDir(dataDir);
    expect(check.integrity).toBe('ok');
    expect(check.count).toBe(count);
  });

  it('gives DB_READONLY for a read-only database file in a writable directory', async () => {
    const { dataDir, count } = await prepared();
    fs.chmodSync(dataDir, 0o777);
    fs.chmodSync(path.join(dataDir, 'state.db'), 0o444);
    const outcome = runUnwritable(dataDir);
    expect(outcome).toMatchObject({ opened: false, name: 'StateError', code: 'DB_READONLY' });
    fs.chmodSync(path.join(dataDir, 'state.db'), 0o600);
    fs.chmodSync(dataDir, 0o700);
    const check = await checkDataDir(dataDir);
    expect(check.integrity).toBe('ok');
    expect(check.count).toBe(count);
  });

  it('gives a clear error when the data directory is not a directory', async () => {
    const file = path.join(tempDataDir(), 'not-a-dir');
    fs.writeFileSync(file, 'x');
    await expect(openLifecycle(file, new Clock())).rejects.toBeInstanceOf(StateError);
  });
});
