// The device's private staging directory for transfers in progress. Per transfer:
//   {id}.manifest  the manifest bytes (written atomically: temp file, fsync, rename, fsync dir)
//   {id}.part      the file being reassembled (chunks written at their offsets, fsynced)
//   {id}.bits      one byte per chunk, 1 once that chunk is on disk (set after the data's fsync)
//   {id}.bundle    the complete, digest-checked file (renamed from .part), handed to the lifecycle
// plus done.json, the outcomes of recent transfers, so a re-sent manifest gets the same answer.
// Synchronous fs calls: every step is short, and it keeps each chunk's write-then-mark ordering
// free of interleaving.
import fs from 'node:fs';
import path from 'node:path';
import type { UpdateStatusKind } from './status.ts';

export interface DoneRecord {
  readonly transferId: string;
  readonly status: UpdateStatusKind;
  readonly code?: string;
  readonly at: number;
}

const DONE_FILE = 'done.json';
const DONE_KEEP = 64;

export class StagingDir {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.dir, 0o700);
  }

  file(transferId: string, ext: 'manifest' | 'part' | 'bits' | 'bundle'): string {
    return path.join(this.dir, `${transferId}.${ext}`);
  }

  /** Transfer ids with a manifest on disk; stray temp files are removed. */
  list(): string[] {
    const ids: string[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      if (name.endsWith('.tmp')) {
        fs.rmSync(path.join(this.dir, name), { force: true });
        continue;
      }
      const match = /^([0-9a-f]{32})\.manifest$/.exec(name);
      if (match?.[1] !== undefined) ids.push(match[1]);
    }
    return ids.sort();
  }

  writeAtomic(file: string, bytes: Uint8Array): void {
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    this.syncDir();
  }

  syncDir(): void {
    const fd = fs.openSync(this.dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  removeTransfer(transferId: string): void {
    for (const ext of ['part', 'bits', 'bundle', 'manifest'] as const) {
      fs.rmSync(this.file(transferId, ext), { force: true });
    }
    this.syncDir();
  }

  readDone(): DoneRecord[] {
    try {
      const value: unknown = JSON.parse(fs.readFileSync(path.join(this.dir, DONE_FILE), 'utf8'));
      if (!Array.isArray(value)) return [];
      return value.filter(
        (r: unknown): r is DoneRecord =>
          typeof r === 'object' &&
          r !== null &&
          typeof (r as DoneRecord).transferId === 'string' &&
          typeof (r as DoneRecord).status === 'string' &&
          typeof (r as DoneRecord).at === 'number',
      );
    } catch {
      return [];
    }
  }

  writeDone(records: readonly DoneRecord[]): void {
    const kept = records.slice(-DONE_KEEP);
    this.writeAtomic(path.join(this.dir, DONE_FILE), Buffer.from(JSON.stringify(kept), 'utf8'));
  }
}
