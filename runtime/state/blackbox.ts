// The black-box recorder: a bounded in-memory ring of each stream's recent windows and results;
// when an event happens (alert, fallback episode, shadow disagreement) the windows around it are
// pinned — encrypted at rest with the device's storage key (NaCl secretbox: XSalsa20-Poly1305) and
// kept for a bounded retention — so the result can be replayed bit for bit months later.
import type Database from 'better-sqlite3';
import { decode, encode } from 'cbor-x';
import nacl from 'tweetnacl';
import type { WindowResult } from '../pipeline/result.ts';
import type { Window } from '../pipeline/types.ts';
import { stateErrorFrom } from './db.ts';

export interface BlackBoxOptions {
  /** Recent windows kept in memory per stream (the context pinned with an event). */
  readonly ringWindowsPerStream: number;
  /** Pinned windows older than this are deleted by `prune`. */
  readonly retentionMs: number;
  /** Upper bound of encrypted bytes kept on disk; the oldest pins go first beyond it. */
  readonly maxPinnedBytes: number;
}

export const DEFAULT_BLACKBOX_OPTIONS: BlackBoxOptions = Object.freeze({
  ringWindowsPerStream: 8,
  retentionMs: 30 * 24 * 3600 * 1000,
  maxPinnedBytes: 64 * 1024 * 1024,
});

export type BlackBoxErrorCode = 'BAD_KEY' | 'DECRYPT_FAILED' | 'NOT_FOUND';

export class BlackBoxError extends Error {
  constructor(
    readonly code: BlackBoxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BlackBoxError';
  }
}

/** A window exactly as the pipeline saw it, plus what the runtime answered. */
export interface RecordedWindow {
  readonly window: Window;
  readonly results: readonly WindowResult[];
}

export interface PinnedEntry extends RecordedWindow {
  readonly eventId: string;
  readonly eventKind: string;
  readonly pinnedAtMs: number;
}

export function blackBoxMigration(db: Database.Database): void {
  db.exec(`
    CREATE TABLE blackbox (
      id INTEGER PRIMARY KEY,
      event_id TEXT NOT NULL,
      event_kind TEXT NOT NULL,
      stream_id TEXT NOT NULL,
      window_index INTEGER NOT NULL,
      pinned_at_ms INTEGER NOT NULL,
      nonce BLOB NOT NULL,
      box BLOB NOT NULL,
      UNIQUE (event_id, stream_id, window_index)
    );
    CREATE INDEX blackbox_event ON blackbox (event_id);
  `);
}

/** Float32 when that loses nothing (most windows are not resampled), else Float64. */
function compactChannel(channel: Float64Array): Float32Array | Float64Array {
  const narrow = Float32Array.from(channel);
  for (let i = 0; i < channel.length; i += 1) {
    const a = narrow[i] as number;
    const b = channel[i] as number;
    if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) return channel;
  }
  return narrow;
}

function serialise(recorded: RecordedWindow): Uint8Array {
  const { channels, ...rest } = recorded.window;
  return encode({
    window: { ...rest, channels: channels.map(compactChannel) },
    results: recorded.results,
  });
}

function deserialise(bytes: Uint8Array): RecordedWindow {
  const value = decode(bytes) as {
    window: Omit<Window, 'channels'> & { channels: ArrayLike<number>[] };
    results: WindowResult[];
  };
  return {
    window: { ...value.window, channels: value.window.channels.map((c) => Float64Array.from(c)) },
    results: value.results,
  };
}

export class BlackBox {
  private readonly rings = new Map<string, RecordedWindow[]>();

  constructor(
    private readonly db: Database.Database,
    private readonly key: Uint8Array,
    private readonly randomBytes: (n: number) => Uint8Array,
    private readonly now: () => number,
    private readonly options: BlackBoxOptions = DEFAULT_BLACKBOX_OPTIONS,
  ) {
    if (key.length !== nacl.secretbox.keyLength) {
      throw new BlackBoxError('BAD_KEY', `the storage key must be ${nacl.secretbox.keyLength} bytes`);
    }
  }

  /** Remembers a window and its results in the stream's ring (memory only). */
  record(window: Window, results: readonly WindowResult[]): void {
    let ring = this.rings.get(window.streamId);
    if (!ring) {
      ring = [];
      this.rings.set(window.streamId, ring);
    }
    const last = ring[ring.length - 1];
    if (last?.window.index === window.index) {
      ring[ring.length - 1] = { window, results: [...last.results, ...results] };
      return;
    }
    ring.push({ window, results });
    if (ring.length > this.options.ringWindowsPerStream) ring.shift();
  }

  forgetStream(streamId: string): void {
    this.rings.delete(streamId);
  }

  /** Pins the stream's recent windows (up to `windows`) to an event, encrypted. Returns how many. */
  pin(eventId: string, eventKind: string, streamId: string, windows: number): number {
    const ring = this.rings.get(streamId) ?? [];
    const chosen = ring.slice(Math.max(0, ring.length - windows));
    if (chosen.length === 0) return 0;
    const insert = this.db.prepare(
      `INSERT OR IGNORE INTO blackbox (event_id, event_kind, stream_id, window_index, pinned_at_ms, nonce, box)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const at = this.now();
    try {
      this.db.transaction(() => {
        for (const recorded of chosen) {
          const nonce = this.randomBytes(nacl.secretbox.nonceLength);
          const box = nacl.secretbox(serialise(recorded), nonce, this.key);
          insert.run(eventId, eventKind, streamId, recorded.window.index, at, nonce, box);
        }
      })();
    } catch (error) {
      throw stateErrorFrom(error, `pinning black-box windows for ${eventId}`);
    }
    return chosen.length;
  }

  /** Decrypts the windows pinned to an event, in stream and window order. */
  pinned(eventId: string): PinnedEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM blackbox WHERE event_id = ? ORDER BY stream_id, window_index')
      .all(eventId) as { event_kind: string; pinned_at_ms: number; nonce: Uint8Array; box: Uint8Array }[];
    if (rows.length === 0) throw new BlackBoxError('NOT_FOUND', `no black-box windows pinned to ${eventId}`);
    return rows.map((row) => {
      const plain = nacl.secretbox.open(new Uint8Array(row.box), new Uint8Array(row.nonce), this.key);
      if (!plain) throw new BlackBoxError('DECRYPT_FAILED', `a window of ${eventId} failed authentication`);
      return { ...deserialise(plain), eventId, eventKind: row.event_kind, pinnedAtMs: row.pinned_at_ms };
    });
  }

  events(): { eventId: string; eventKind: string; windows: number; pinnedAtMs: number }[] {
    return (
      this.db
        .prepare(
          `SELECT event_id, event_kind, COUNT(*) AS n, MIN(pinned_at_ms) AS at FROM blackbox
           GROUP BY event_id ORDER BY at, event_id`,
        )
        .all() as { event_id: string; event_kind: string; n: number; at: number }[]
    ).map((row) => ({
      eventId: row.event_id,
      eventKind: row.event_kind,
      windows: row.n,
      pinnedAtMs: row.at,
    }));
  }

  /** Deletes pins past retention, then the oldest beyond the byte bound. Returns rows deleted. */
  prune(): number {
    try {
      const expired = this.db
        .prepare('DELETE FROM blackbox WHERE pinned_at_ms < ?')
        .run(this.now() - this.options.retentionMs).changes;
      let overflow = 0;
      let total = (
        this.db.prepare('SELECT COALESCE(SUM(LENGTH(box)), 0) AS b FROM blackbox').get() as { b: number }
      ).b;
      if (total > this.options.maxPinnedBytes) {
        const oldest = this.db
          .prepare('SELECT id, LENGTH(box) AS b FROM blackbox ORDER BY pinned_at_ms, id')
          .iterate() as Iterable<{
          id: number;
          b: number;
        }>;
        const doomed: number[] = [];
        for (const row of oldest) {
          if (total <= this.options.maxPinnedBytes) break;
          doomed.push(row.id);
          total -= row.b;
        }
        const remove = this.db.prepare('DELETE FROM blackbox WHERE id = ?');
        this.db.transaction(() => {
          for (const id of doomed) overflow += remove.run(id).changes;
        })();
      }
      return expired + overflow;
    } catch (error) {
      throw stateErrorFrom(error, 'pruning the black box');
    }
  }
}
