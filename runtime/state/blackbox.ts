// The black-box recorder: a bounded in-memory ring of each stream's recent windows and results;
// when an event happens (alert, fallback episode, shadow disagreement) the windows around it are
// pinned — encrypted at rest with the device's storage key (NaCl secretbox: XSalsa20-Poly1305) and
// kept for a bounded retention — so the result can be replayed bit for bit months later.
//
// A window is stored once however many events pin it (a fallback episode, the alert inside it and a
// shadow disagreement share their context windows), and the byte bound holds at every write, not
// only at the next housekeeping.
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

/**
 * Schema 6: each window stored once (`blackbox_windows`, keyed by stream, epoch and index — an epoch
 * tells a reopened stream's windows apart), events pointing at it (`blackbox_pins`). Rows of the
 * first layout become one window each (epoch `legacy:{event id}`, nothing merged, index order kept)
 * with their pin.
 */
export function blackBoxSharedWindowsMigration(db: Database.Database): void {
  db.exec(`
    CREATE TABLE blackbox_windows (
      id INTEGER PRIMARY KEY,
      stream_id TEXT NOT NULL,
      epoch TEXT NOT NULL,
      window_index INTEGER NOT NULL,
      last_pinned_at_ms INTEGER NOT NULL,
      bytes INTEGER NOT NULL,
      nonce BLOB NOT NULL,
      box BLOB NOT NULL,
      UNIQUE (stream_id, epoch, window_index)
    );
    CREATE INDEX blackbox_windows_age ON blackbox_windows (last_pinned_at_ms, id);
    CREATE TABLE blackbox_pins (
      event_id TEXT NOT NULL,
      event_kind TEXT NOT NULL,
      window_id INTEGER NOT NULL REFERENCES blackbox_windows (id) ON DELETE CASCADE,
      pinned_at_ms INTEGER NOT NULL,
      PRIMARY KEY (event_id, window_id)
    ) WITHOUT ROWID;
    CREATE INDEX blackbox_pins_window ON blackbox_pins (window_id);
    CREATE INDEX blackbox_pins_age ON blackbox_pins (pinned_at_ms);
    INSERT INTO blackbox_windows (id, stream_id, epoch, window_index, last_pinned_at_ms, bytes, nonce, box)
      SELECT id, stream_id, 'legacy:' || event_id, window_index, pinned_at_ms, LENGTH(box), nonce, box FROM blackbox;
    INSERT INTO blackbox_pins (event_id, event_kind, window_id, pinned_at_ms)
      SELECT event_id, event_kind, id, pinned_at_ms FROM blackbox;
    DROP TABLE blackbox;
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

/** A ring entry, and where it is stored once pinned (so that pinning it again stores nothing). */
interface RingEntry extends RecordedWindow {
  stored?: number;
}

export class BlackBox {
  private readonly rings = new Map<string, RingEntry[]>();
  /** Encrypted bytes on disk (kept in step with every write and delete). */
  private pinnedBytes: number;

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
    this.pinnedBytes = this.storedBytes();
  }

  /** Remembers a window and its results in the stream's ring (memory only). */
  record(window: Window, results: readonly WindowResult[]): void {
    let ring = this.rings.get(window.streamId);
    // A new epoch is a new cut of the stream (reopened, rebuilt): its indexes start again, so the
    // old cut's windows are not its context.
    if (ring !== undefined && ring.length > 0 && (ring[0]?.window.epoch ?? '') !== (window.epoch ?? ''))
      ring = undefined;
    if (!ring) {
      ring = [];
      this.rings.set(window.streamId, ring);
    }
    // More results for a window already in the ring (a shadow result can settle after the active
    // result of the next window): one entry with all of them, new, so that a pin stores it again.
    for (let i = ring.length - 1; i >= 0; i -= 1) {
      const known = ring[i] as RingEntry;
      if (known.window.index !== window.index) continue;
      ring[i] = { window: known.window, results: [...known.results, ...results] };
      return;
    }
    ring.push({ window, results });
    if (ring.length > this.options.ringWindowsPerStream) ring.shift();
  }

  forgetStream(streamId: string): void {
    this.rings.delete(streamId);
  }

  /**
   * Pins the stream's recent windows (up to `windows`) to an event, encrypted. Returns how many
   * windows the event gained (0 when they were all pinned to it already). Windows other events
   * pinned are shared, not stored again. Beyond `maxPinnedBytes` the oldest windows go at once.
   */
  pin(eventId: string, eventKind: string, streamId: string, windows: number): number {
    const ring = this.rings.get(streamId) ?? [];
    const chosen = ring.slice(Math.max(0, ring.length - windows));
    if (chosen.length === 0) return 0;
    const at = this.now();
    const findWindow = this.db.prepare(
      'SELECT id, bytes FROM blackbox_windows WHERE stream_id = ? AND epoch = ? AND window_index = ?',
    );
    const readBox = this.db.prepare('SELECT nonce, box FROM blackbox_windows WHERE id = ?');
    const touch = this.db.prepare('UPDATE blackbox_windows SET last_pinned_at_ms = ? WHERE id = ?');
    const rewrite = this.db.prepare(
      'UPDATE blackbox_windows SET last_pinned_at_ms = ?, bytes = ?, nonce = ?, box = ? WHERE id = ?',
    );
    const insertWindow = this.db.prepare(
      `INSERT INTO blackbox_windows (stream_id, epoch, window_index, last_pinned_at_ms, bytes, nonce, box)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertPin = this.db.prepare(
      `INSERT OR IGNORE INTO blackbox_pins (event_id, event_kind, window_id, pinned_at_ms) VALUES (?, ?, ?, ?)`,
    );
    let gained = 0;
    let delta = 0;
    const stored: [RingEntry, number][] = [];
    try {
      this.db.transaction(() => {
        for (const entry of chosen) {
          const epoch = epochOf(entry.window);
          const row = findWindow.get(streamId, epoch, entry.window.index) as
            { id: number; bytes: number } | undefined;
          let id: number;
          if (row !== undefined && entry.stored === row.id) {
            touch.run(at, row.id);
            id = row.id;
          } else {
            // New, or stored before by another ring entry (results came later, or the window left
            // the ring and came back with a late result): store the union of what is on disk and
            // what the ring holds, so that no event loses a result it was pinned with.
            let recorded: RecordedWindow = entry;
            if (row !== undefined) {
              const onDisk = this.open(
                readBox.get(row.id) as { nonce: Uint8Array; box: Uint8Array },
                eventId,
              );
              if (!sameWindow(onDisk.window, entry.window)) continue; // never overwrite another window
              recorded = { window: onDisk.window, results: unionResults(onDisk.results, entry.results) };
            }
            const nonce = this.randomBytes(nacl.secretbox.nonceLength);
            const box = nacl.secretbox(serialise(recorded), nonce, this.key);
            if (row === undefined) {
              id = Number(
                insertWindow.run(streamId, epoch, entry.window.index, at, box.length, nonce, box)
                  .lastInsertRowid,
              );
              delta += box.length;
            } else {
              rewrite.run(at, box.length, nonce, box, row.id);
              id = row.id;
              delta += box.length - row.bytes;
            }
          }
          stored.push([entry, id]);
          gained += insertPin.run(eventId, eventKind, id, at).changes;
        }
      })();
    } catch (error) {
      throw stateErrorFrom(error, `pinning black-box windows for ${eventId}`);
    }
    for (const [entry, id] of stored) entry.stored = id;
    this.pinnedBytes += delta;
    if (this.pinnedBytes > this.options.maxPinnedBytes) this.evictOverflow();
    return gained;
  }

  /** Decrypts the windows pinned to an event, in stream and window order. */
  pinned(eventId: string): PinnedEntry[] {
    const rows = this.db
      .prepare(
        `SELECT p.event_kind, p.pinned_at_ms, w.nonce, w.box FROM blackbox_pins p
         JOIN blackbox_windows w ON w.id = p.window_id
         WHERE p.event_id = ? ORDER BY w.stream_id, w.epoch, w.window_index`,
      )
      .all(eventId) as { event_kind: string; pinned_at_ms: number; nonce: Uint8Array; box: Uint8Array }[];
    if (rows.length === 0) throw new BlackBoxError('NOT_FOUND', `no black-box windows pinned to ${eventId}`);
    return rows.map((row) => ({
      ...this.open(row, eventId),
      eventId,
      eventKind: row.event_kind,
      pinnedAtMs: row.pinned_at_ms,
    }));
  }

  events(): { eventId: string; eventKind: string; windows: number; pinnedAtMs: number }[] {
    return (
      this.db
        .prepare(
          `SELECT event_id, event_kind, COUNT(*) AS n, MIN(pinned_at_ms) AS at FROM blackbox_pins
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

  /** Encrypted bytes and windows on disk (each window counted once). */
  usage(): { bytes: number; windows: number } {
    const row = this.db
      .prepare('SELECT COALESCE(SUM(bytes), 0) AS b, COUNT(*) AS n FROM blackbox_windows')
      .get() as { b: number; n: number };
    return { bytes: row.b, windows: row.n };
  }

  /**
   * Deletes pins past retention and the windows no event pins any more, then the oldest windows
   * beyond the byte bound. Returns windows deleted.
   */
  prune(): number {
    try {
      const expired = this.db.transaction(() => {
        this.db
          .prepare('DELETE FROM blackbox_pins WHERE pinned_at_ms < ?')
          .run(this.now() - this.options.retentionMs);
        return this.db
          .prepare('DELETE FROM blackbox_windows WHERE id NOT IN (SELECT window_id FROM blackbox_pins)')
          .run().changes;
      })();
      this.pinnedBytes = this.storedBytes();
      return expired + this.evictOverflow();
    } catch (error) {
      throw stateErrorFrom(error, 'pruning the black box');
    }
  }

  /** Decrypts one stored window (DECRYPT_FAILED when its box was tampered with). */
  private open(row: { nonce: Uint8Array; box: Uint8Array }, eventId: string): RecordedWindow {
    const plain = nacl.secretbox.open(new Uint8Array(row.box), new Uint8Array(row.nonce), this.key);
    if (!plain) throw new BlackBoxError('DECRYPT_FAILED', `a window of ${eventId} failed authentication`);
    return deserialise(plain);
  }

  private storedBytes(): number {
    return (
      this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS b FROM blackbox_windows').get() as { b: number }
    ).b;
  }

  /** Deletes the least recently pinned windows (and their pins) until the byte bound holds. */
  private evictOverflow(): number {
    if (this.pinnedBytes <= this.options.maxPinnedBytes) return 0;
    const oldest = this.db
      .prepare('SELECT id, bytes FROM blackbox_windows ORDER BY last_pinned_at_ms, id')
      .iterate() as Iterable<{ id: number; bytes: number }>;
    const doomed: { id: number; bytes: number }[] = [];
    let total = this.pinnedBytes;
    for (const row of oldest) {
      if (total <= this.options.maxPinnedBytes) break;
      doomed.push(row);
      total -= row.bytes;
    }
    const removePins = this.db.prepare('DELETE FROM blackbox_pins WHERE window_id = ?');
    const removeWindow = this.db.prepare('DELETE FROM blackbox_windows WHERE id = ?');
    try {
      this.db.transaction(() => {
        for (const row of doomed) {
          removePins.run(row.id);
          removeWindow.run(row.id);
        }
      })();
    } catch (error) {
      throw stateErrorFrom(error, 'bounding the black box');
    }
    this.pinnedBytes = total;
    return doomed.length;
  }
}

/**
 * The storage key's epoch: the window's own, or for windows cut without one (tests, older
 * recordings) their start time, so that a reopened stream's index 0 never lands on an old one.
 */
function epochOf(window: Window): string {
  return window.epoch !== undefined && window.epoch !== '' ? window.epoch : `~${String(window.startMs)}`;
}

function sameWindow(a: Window, b: Window): boolean {
  return (
    a.streamId === b.streamId &&
    a.index === b.index &&
    a.firstCounter === b.firstCounter &&
    a.startMs === b.startMs
  );
}

/** Results of one window from two records, each once (by result id and role), disk first. */
function unionResults(stored: readonly WindowResult[], recent: readonly WindowResult[]): WindowResult[] {
  const key = (r: WindowResult) => `${r.resultId}\u0000${r.shadow ? 'shadow' : 'active'}`;
  const seen = new Set(stored.map(key));
  return [...stored, ...recent.filter((r) => !seen.has(key(r)))];
}
