// The monitor's state file: one small JSON document, replaced atomically (write a temporary file,
// fsync it, rename over the old one, fsync the directory), so a crash leaves either the old or the
// new state, never a torn one.
import fs from 'node:fs';
import path from 'node:path';
import type { MonitorStateStore } from './types.ts';

/** Largest state file read back (a device has a handful of groups; this is a corruption guard). */
export const MAX_STATE_BYTES = 8 * 1024 * 1024;

export function jsonFileStore(file: string): MonitorStateStore {
  return {
    load(): string | null {
      let fd: number;
      try {
        fd = fs.openSync(file, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      try {
        const size = fs.fstatSync(fd).size;
        if (size > MAX_STATE_BYTES) throw new Error(`state file of ${size} bytes exceeds ${MAX_STATE_BYTES}`);
        const buffer = Buffer.alloc(size);
        fs.readSync(fd, buffer, 0, size, 0);
        return buffer.toString('utf8');
      } finally {
        fs.closeSync(fd);
      }
    },
    save(text: string): void {
      const tmp = `${file}.tmp`;
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, text);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
      const dir = fs.openSync(path.dirname(file), 'r');
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
    },
  };
}

/** An in-memory store (tests, or a device that keeps no state across restarts). */
export function memoryStore(initial: string | null = null): MonitorStateStore & { text: string | null } {
  const store = {
    text: initial,
    load: () => store.text,
    save: (text: string) => {
      store.text = text;
    },
  };
  return store;
}
