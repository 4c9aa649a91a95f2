// One writer at a time: the daemon, or a field engineer's `vigil install/rollback/command apply`, but
// never both, since each keeps a cached view of slots and rollout evidence. The lock is a file holding
// the owner's pid, created with link(2) (atomic, fails if present); a lock whose process is gone
// (crash, SIGKILL, power cut) is stale and taken over.
import fs from 'node:fs';
import path from 'node:path';
import { StateError, stateErrorFrom } from './db.ts';
import { createFileExclusiveSync } from './fsutil.ts';

export const LOCK_FILE = 'writer.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holder(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Locks this process holds (a pid file naming us is ours only if we took it). */
const held = new Set<string>();

export class WriterLock {
  private released = false;

  private constructor(readonly file: string) {}

  /** Takes the lock of `dataDir` or throws StateError('LOCKED') naming the live holder. */
  static acquire(dataDir: string): WriterLock {
    const file = path.join(dataDir, LOCK_FILE);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (held.has(file)) {
        throw new StateError('LOCKED', `the device state in ${dataDir} is already open in this process`);
      }
      try {
        createFileExclusiveSync(file, new TextEncoder().encode(`${process.pid}\n`), 0o600);
        held.add(file);
        return new WriterLock(file);
      } catch (error) {
        // Not writable (read-only mount, permissions) or full: the same codes as the database's.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
          throw stateErrorFrom(error, `locking ${dataDir}`);
      }
      const pid = holder(file);
      if (pid !== null && pid !== process.pid && alive(pid)) {
        throw new StateError(
          'LOCKED',
          `the device state in ${dataDir} is in use by process ${pid} (stop the daemon first)`,
        );
      }
      fs.rmSync(file, { force: true }); // stale: its owner is gone
    }
    throw new StateError('LOCKED', `could not take the lock ${file}`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.file);
    if (holder(this.file) === process.pid) fs.rmSync(this.file, { force: true });
  }
}
