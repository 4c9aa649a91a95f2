// The durable outbox (issue 7): every telemetry message is committed to SQLite (WAL,
// synchronous=FULL: a returned enqueue() is on disk) before it is published, and deleted only when
// the broker's PUBACK arrives. Sequence numbers are per device, strictly increasing, assigned at
// enqueue and never reused (the counter lives in the same transaction as the row), so a receiver
// that dedupes by (device, sequence) sees each message's effect exactly once, and any gap it sees is
// either still buffered here or counted in the eviction counters.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MESSAGE_CLASSES, evictionTier, isMessageClass, topicSuffixProblem } from './classes.ts';
import type { MessageClass } from './classes.ts';
import { OutboxError, outboxErrorFrom } from './errors.ts';
import { resolveOutboxOptions } from './options.ts';
import type { OutboxOptions } from './options.ts';
import { OUTBOX_MIGRATIONS } from './schema.ts';

export interface EnqueueInput {
  readonly class: MessageClass;
  /** Below `vigil/v1/{fleet}/{device}/`, e.g. `report`, `event`, `audit`, `update/status`. */
  readonly topicSuffix: string;
  /**
   * The payload, or a builder called inside the enqueue transaction with the assigned sequence
   * number, so that a signed report can carry its own sequence. If the builder throws, nothing is
   * written and the number is not consumed.
   */
  readonly payload: Uint8Array | ((seq: number, createdMs: number) => Uint8Array);
}

export interface OutboxEntry {
  /** The entry's id is its sequence number (one outbox per device). */
  readonly seq: number;
  readonly class: MessageClass;
  readonly topicSuffix: string;
  readonly payload: Uint8Array;
  readonly createdMs: number;
  /** Publish attempts so far (write-behind: a crash may lose the last increments). */
  readonly attempts: number;
}

export type EvictionReason = 'bytes' | 'age';

export interface EvictionRecord {
  readonly seq: number;
  readonly class: MessageClass;
  readonly bytes: number;
  readonly reason: EvictionReason;
}

export interface EnqueueResult {
  readonly seq: number;
  /** False when the entry itself was evicted at once: only higher tiers could have made room. */
  readonly stored: boolean;
  readonly evicted: readonly EvictionRecord[];
}

export interface ClassStats {
  /** Cumulative since the outbox file was created (persisted). */
  readonly written: number;
  readonly delivered: number;
  readonly evicted: number;
  readonly evictedBytes: number;
  /** Currently held. */
  readonly pending: number;
  readonly pendingBytes: number;
}

export interface OutboxStats {
  readonly perClass: Readonly<Record<MessageClass, ClassStats>>;
  readonly written: number;
  readonly delivered: number;
  readonly evicted: number;
  readonly pending: number;
  readonly pendingBytes: number;
  /** The sequence number the next enqueue will get. */
  readonly nextSeq: number;
}

export interface OutboxDeps {
  /** Wall clock in ms (created times and the age bound). */
  readonly now?: () => number;
  /** Defers the batched PUBACK deletes; tests may pass a synchronous runner. */
  readonly defer?: (fn: () => void) => void;
}

interface Row {
  seq: number;
  class: string;
  topic_suffix: string;
  payload: Buffer;
  created_ms: number;
  attempts: number;
}

interface Mutable {
  written: number;
  delivered: number;
  evicted: number;
  evictedBytes: number;
  pending: number;
  pendingBytes: number;
}

type Listener<T> = (value: T) => void;

export class Outbox {
  private readonly db: Database.Database;
  private readonly options: OutboxOptions;
  private readonly now: () => number;
  private readonly defer: (fn: () => void) => void;
  private readonly counters = new Map<MessageClass, Mutable>();
  private nextSeq: number;
  private readonly ackQueue = new Set<number>();
  private readonly attemptQueue = new Map<number, number>();
  private flushScheduled = false;
  private closed = false;
  private readonly enqueueListeners = new Set<Listener<number>>();
  private readonly evictListeners = new Set<Listener<readonly EvictionRecord[]>>();
  private readonly statements: ReturnType<typeof prepare>;

  private constructor(db: Database.Database, options: OutboxOptions, deps: OutboxDeps) {
    this.db = db;
    this.options = options;
    this.now = deps.now ?? Date.now;
    this.defer = deps.defer ?? ((fn) => setImmediate(fn));
    this.statements = prepare(db);
    for (const cls of MESSAGE_CLASSES) {
      this.counters.set(cls, {
        written: 0,
        delivered: 0,
        evicted: 0,
        evictedBytes: 0,
        pending: 0,
        pendingBytes: 0,
      });
    }
    for (const row of this.statements.counters.all() as {
      class: string;
      written: number;
      delivered: number;
      evicted: number;
      evicted_bytes: number;
    }[]) {
      if (!isMessageClass(row.class)) continue;
      const c = this.counter(row.class);
      c.written = row.written;
      c.delivered = row.delivered;
      c.evicted = row.evicted;
      c.evictedBytes = row.evicted_bytes;
    }
    for (const row of this.statements.pendingByClass.all() as {
      class: string;
      n: number;
      bytes: number;
    }[]) {
      if (!isMessageClass(row.class)) continue;
      const c = this.counter(row.class);
      c.pending = row.n;
      c.pendingBytes = row.bytes;
    }
    this.nextSeq = (this.statements.getMeta.get('next_seq') as { value: number } | undefined)?.value ?? 1;
  }

  /** Opens (creating if needed) the outbox at `file`; `options` is validated (see options.ts). */
  static open(file: string, options: unknown = {}, deps: OutboxDeps = {}): Outbox {
    const resolved = resolveOutboxOptions(options);
    let db: Database.Database;
    try {
      if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
    } catch (error) {
      const mapped = outboxErrorFrom(error, `opening ${file}`);
      throw mapped.code === 'DB_WRITE_FAILED'
        ? new OutboxError('DB_OPEN_FAILED', mapped.message, { cause: error })
        : mapped;
    }
    try {
      migrate(db, file);
      return new Outbox(db, resolved, deps);
    } catch (error) {
      db.close();
      throw outboxErrorFrom(error, `opening ${file}`);
    }
  }

  get bounds(): OutboxOptions {
    return this.options;
  }

  /** Commits one entry (evicting per the documented order if the byte bound requires it). */
  enqueue(input: EnqueueInput): EnqueueResult {
    const [result] = this.enqueueMany([input]);
    return result as EnqueueResult;
  }

  /** Commits several entries in one transaction (one fsync), in order. */
  enqueueMany(inputs: readonly EnqueueInput[]): EnqueueResult[] {
    this.assertOpen();
    for (const input of inputs) checkInput(input);
    const createdMs = this.now();
    const delta = new Map<MessageClass, Mutable>();
    let seq = this.nextSeq;
    let results: EnqueueResult[];
    try {
      results = this.db.transaction(() => {
        const out: EnqueueResult[] = [];
        // Delivered entries must not be counted against the bound (nor evicted).
        this.applyQueued(delta);
        const evicted: EvictionRecord[] = [...this.evictByAge(createdMs, delta)];
        for (const input of inputs) {
          const assigned = seq;
          seq += 1;
          const payload =
            typeof input.payload === 'function' ? input.payload(assigned, createdMs) : input.payload;
          if (!(payload instanceof Uint8Array)) {
            throw new OutboxError('BAD_ENTRY', 'payload builder must return a Uint8Array');
          }
          if (payload.length > this.options.outboxMaxEntryBytes) {
            throw new OutboxError(
              'ENTRY_TOO_LARGE',
              `payload of ${payload.length} bytes exceeds outboxMaxEntryBytes (${this.options.outboxMaxEntryBytes})`,
            );
          }
          bump(delta, input.class, 'written', 1);
          const room = this.makeRoom(input.class, payload.length, delta);
          if (room === null) {
            // Only higher tiers could make room: the new entry is the one evicted (its number is
            // consumed, so the receiver's gap matches the eviction counter).
            bump(delta, input.class, 'evicted', 1);
            bump(delta, input.class, 'evictedBytes', payload.length);
            const own: EvictionRecord = {
              seq: assigned,
              class: input.class,
              bytes: payload.length,
              reason: 'bytes',
            };
            out.push({ seq: assigned, stored: false, evicted: [...evicted, own] });
            evicted.length = 0;
            continue;
          }
          this.statements.insert.run(
            assigned,
            input.class,
            evictionTier(input.class),
            input.topicSuffix,
            Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
            createdMs,
          );
          bump(delta, input.class, 'pending', 1);
          bump(delta, input.class, 'pendingBytes', payload.length);
          out.push({ seq: assigned, stored: true, evicted: [...evicted, ...room] });
          evicted.length = 0;
        }
        this.statements.setMeta.run({ key: 'next_seq', value: seq });
        this.persistCounters(delta);
        return out;
      })();
    } catch (error) {
      throw outboxErrorFrom(error, 'enqueue');
    }
    this.nextSeq = seq;
    this.applyDelta(delta);
    const all = results.flatMap((r) => r.evicted);
    if (all.length > 0) for (const listener of this.evictListeners) listener(all);
    const last = results.at(-1);
    if (last) for (const listener of this.enqueueListeners) listener(last.seq);
    return results;
  }

  /** Up to `limit` held entries with a sequence above `afterSeq`, in sequence order. */
  pending(afterSeq: number, limit: number): OutboxEntry[] {
    this.assertOpen();
    // Entries whose PUBACK is queued but not yet committed are already delivered: skip them
    // rather than force a commit on every read.
    const out: OutboxEntry[] = [];
    if (limit <= 0) return out;
    let skip = 0;
    for (const seq of this.ackQueue) if (seq > afterSeq) skip += 1;
    const rows = this.statements.pendingAfter.all(afterSeq, limit + skip) as Row[];
    for (const row of rows) {
      if (this.ackQueue.has(row.seq)) continue;
      out.push(toEntry(row, this.attemptQueue.get(row.seq) ?? 0));
      if (out.length === limit) break;
    }
    return out;
  }

  /** Counts one more publish attempt for each of `seqs` (write-behind, like ack()). */
  markAttempt(seqs: readonly number[]): void {
    this.assertOpen();
    for (const seq of seqs) this.attemptQueue.set(seq, (this.attemptQueue.get(seq) ?? 0) + 1);
    this.scheduleFlush();
  }

  /**
   * Records a PUBACK. Deletes (and attempt counts) are write-behind: committed together once per
   * event-loop turn with synchronous=NORMAL, which in WAL mode keeps the file consistent but may
   * lose the latest such commits on power loss. That only means those entries are published again
   * and deduped by the receiver; enqueue() alone needs, and gets, a full fsync.
   */
  ack(seq: number): void {
    this.assertOpen();
    this.ackQueue.add(seq);
    this.scheduleFlush();
  }

  /** Commits the queued PUBACK deletes and attempt counts now. */
  flushAcks(): void {
    if (this.ackQueue.size === 0 && this.attemptQueue.size === 0) return;
    const delta = new Map<MessageClass, Mutable>();
    this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(() => {
        this.applyQueued(delta);
        this.persistCounters(delta);
      })();
    } catch (error) {
      throw outboxErrorFrom(error, 'ack');
    } finally {
      this.db.pragma('synchronous = FULL');
    }
    this.applyDelta(delta);
  }

  /** Inside a transaction: writes the queued attempts and PUBACK deletes. */
  private applyQueued(delta: Map<MessageClass, Mutable>): void {
    const seqs = [...this.ackQueue];
    const attempts = [...this.attemptQueue];
    this.ackQueue.clear();
    this.attemptQueue.clear();
    for (const [seq, n] of attempts) this.statements.attempt.run(n, seq);
    for (const seq of seqs) {
      const row = this.statements.deleteReturning.get(seq) as { class: string; bytes: number } | undefined;
      // Already gone: evicted while in flight (counted as evicted), or acked twice.
      if (!row || !isMessageClass(row.class)) continue;
      bump(delta, row.class, 'delivered', 1);
      bump(delta, row.class, 'pending', -1);
      bump(delta, row.class, 'pendingBytes', -row.bytes);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.defer(() => {
      this.flushScheduled = false;
      if (!this.closed) this.flushAcks();
    });
  }

  /** Applies the age bound now (enqueue also applies it). */
  sweep(): EvictionRecord[] {
    this.assertOpen();
    const delta = new Map<MessageClass, Mutable>();
    let evicted: EvictionRecord[];
    try {
      evicted = this.db.transaction(() => {
        this.applyQueued(delta);
        const out = this.evictByAge(this.now(), delta);
        this.persistCounters(delta);
        return out;
      })();
    } catch (error) {
      throw outboxErrorFrom(error, 'sweep');
    }
    this.applyDelta(delta);
    if (evicted.length > 0) for (const listener of this.evictListeners) listener(evicted);
    return evicted;
  }

  stats(): OutboxStats {
    this.assertOpen();
    this.flushAcks();
    const perClass = {} as Record<MessageClass, ClassStats>;
    let written = 0;
    let delivered = 0;
    let evicted = 0;
    let pending = 0;
    let pendingBytes = 0;
    for (const cls of MESSAGE_CLASSES) {
      const c = this.counter(cls);
      perClass[cls] = Object.freeze({ ...c });
      written += c.written;
      delivered += c.delivered;
      evicted += c.evicted;
      pending += c.pending;
      pendingBytes += c.pendingBytes;
    }
    return Object.freeze({
      perClass: Object.freeze(perClass),
      written,
      delivered,
      evicted,
      pending,
      pendingBytes,
      nextSeq: this.nextSeq,
    });
  }

  /** Called after each committed enqueue with the last sequence written; returns an unsubscribe. */
  onEnqueue(listener: Listener<number>): () => void {
    this.enqueueListeners.add(listener);
    return () => this.enqueueListeners.delete(listener);
  }

  /** Called after a commit that evicted entries (the report should carry `stats()` counters). */
  onEvicted(listener: Listener<readonly EvictionRecord[]>): () => void {
    this.evictListeners.add(listener);
    return () => this.evictListeners.delete(listener);
  }

  /**
   * Sparkplug's birth/death sequence (bdSeq): a persisted counter incremented once per connection,
   * so a death message can be matched to the birth it ends even across restarts.
   */
  nextBirthSequence(): number {
    this.assertOpen();
    try {
      return this.db.transaction(() => {
        const current = (this.statements.getMeta.get('bd_seq') as { value: number } | undefined)?.value ?? 0;
        this.statements.setMeta.run({ key: 'bd_seq', value: current + 1 });
        return current + 1;
      })();
    } catch (error) {
      throw outboxErrorFrom(error, 'nextBirthSequence');
    }
  }

  /** `PRAGMA integrity_check` result ('ok' when sound). */
  integrityCheck(): string {
    this.assertOpen();
    return String(this.db.pragma('integrity_check', { simple: true }));
  }

  close(): void {
    if (this.closed) return;
    this.flushAcks();
    this.closed = true;
    this.enqueueListeners.clear();
    this.evictListeners.clear();
    this.db.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private assertOpen(): void {
    if (this.closed) throw new OutboxError('CLOSED', 'the outbox is closed');
  }

  private counter(cls: MessageClass): Mutable {
    return this.counters.get(cls) as Mutable;
  }

  /** Current pending bytes including the not-yet-applied changes of this transaction. */
  private pendingBytesWith(delta: ReadonlyMap<MessageClass, Mutable>): number {
    let total = 0;
    for (const cls of MESSAGE_CLASSES) {
      total += this.counter(cls).pendingBytes + (delta.get(cls)?.pendingBytes ?? 0);
    }
    return total;
  }

  /**
   * Frees room for `bytes` of class `cls`: entries of the same or a lower tier, lowest tier first,
   * oldest first. Returns the evictions, or null if even evicting all of them would not suffice (then
   * nothing is evicted and the new entry is dropped instead).
   */
  private makeRoom(
    cls: MessageClass,
    bytes: number,
    delta: Map<MessageClass, Mutable>,
  ): EvictionRecord[] | null {
    let excess = this.pendingBytesWith(delta) + bytes - this.options.outboxMaxBytes;
    if (excess <= 0) return [];
    const victims: { seq: number; class: MessageClass; bytes: number }[] = [];
    for (const row of this.statements.evictionCandidates.iterate(evictionTier(cls)) as Iterable<{
      seq: number;
      class: string;
      bytes: number;
    }>) {
      if (!isMessageClass(row.class)) continue;
      victims.push({ seq: row.seq, class: row.class, bytes: row.bytes });
      excess -= row.bytes;
      if (excess <= 0) break;
    }
    if (excess > 0) return null;
    return victims.map((v) => {
      this.statements.delete.run(v.seq);
      this.countEviction(delta, v.class, v.bytes);
      return { ...v, reason: 'bytes' as const };
    });
  }

  private evictByAge(nowMs: number, delta: Map<MessageClass, Mutable>): EvictionRecord[] {
    const cutoff = nowMs - this.options.outboxMaxAgeS * 1000;
    const rows = this.statements.olderThan.all(cutoff) as { seq: number; class: string; bytes: number }[];
    const out: EvictionRecord[] = [];
    for (const row of rows) {
      if (!isMessageClass(row.class)) continue;
      this.statements.delete.run(row.seq);
      this.countEviction(delta, row.class, row.bytes);
      out.push({ seq: row.seq, class: row.class, bytes: row.bytes, reason: 'age' });
    }
    return out;
  }

  private countEviction(delta: Map<MessageClass, Mutable>, cls: MessageClass, bytes: number): void {
    bump(delta, cls, 'evicted', 1);
    bump(delta, cls, 'evictedBytes', bytes);
    bump(delta, cls, 'pending', -1);
    bump(delta, cls, 'pendingBytes', -bytes);
  }

  private persistCounters(delta: ReadonlyMap<MessageClass, Mutable>): void {
    for (const [cls, d] of delta) {
      if (d.written === 0 && d.delivered === 0 && d.evicted === 0) continue;
      this.statements.upsertCounter.run({
        cls,
        written: d.written,
        delivered: d.delivered,
        evicted: d.evicted,
        evictedBytes: d.evictedBytes,
      });
    }
  }

  private applyDelta(delta: ReadonlyMap<MessageClass, Mutable>): void {
    for (const [cls, d] of delta) {
      const c = this.counter(cls);
      c.written += d.written;
      c.delivered += d.delivered;
      c.evicted += d.evicted;
      c.evictedBytes += d.evictedBytes;
      c.pending += d.pending;
      c.pendingBytes += d.pendingBytes;
    }
  }
}

function bump(delta: Map<MessageClass, Mutable>, cls: MessageClass, field: keyof Mutable, by: number): void {
  let d = delta.get(cls);
  if (!d) {
    d = { written: 0, delivered: 0, evicted: 0, evictedBytes: 0, pending: 0, pendingBytes: 0 };
    delta.set(cls, d);
  }
  d[field] += by;
}

function checkInput(input: EnqueueInput): void {
  if (!isMessageClass(input.class)) {
    throw new OutboxError('BAD_ENTRY', `unknown message class ${String(input.class)}`);
  }
  const problem = topicSuffixProblem(input.topicSuffix);
  if (problem !== null) {
    throw new OutboxError('BAD_ENTRY', `topic suffix ${JSON.stringify(input.topicSuffix)}: ${problem}`);
  }
  if (!(input.payload instanceof Uint8Array) && typeof input.payload !== 'function') {
    throw new OutboxError('BAD_ENTRY', 'payload must be a Uint8Array or a builder function');
  }
}

function toEntry(row: Row, queuedAttempts: number): OutboxEntry {
  if (!isMessageClass(row.class)) {
    throw new OutboxError('DB_CORRUPT', `entry ${row.seq} has unknown class ${row.class}`);
  }
  return {
    seq: row.seq,
    class: row.class,
    topicSuffix: row.topic_suffix,
    payload: new Uint8Array(row.payload.buffer, row.payload.byteOffset, row.payload.byteLength),
    createdMs: row.created_ms,
    attempts: row.attempts + queuedAttempts,
  };
}

function migrate(db: Database.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > OUTBOX_MIGRATIONS.length) {
    throw new OutboxError(
      'SCHEMA_TOO_NEW',
      `${file} has outbox schema ${version}; this runtime knows ${OUTBOX_MIGRATIONS.length}`,
    );
  }
  for (let next = version; next < OUTBOX_MIGRATIONS.length; next += 1) {
    const sql = OUTBOX_MIGRATIONS[next] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${next + 1}`);
    })();
  }
}

function prepare(db: Database.Database) {
  return {
    insert: db.prepare(
      'INSERT INTO outbox_entry (seq, class, tier, topic_suffix, payload, created_ms, attempts) VALUES (?, ?, ?, ?, ?, ?, 0)',
    ),
    pendingAfter: db.prepare(
      'SELECT seq, class, topic_suffix, payload, created_ms, attempts FROM outbox_entry WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    attempt: db.prepare('UPDATE outbox_entry SET attempts = attempts + ? WHERE seq = ?'),
    delete: db.prepare('DELETE FROM outbox_entry WHERE seq = ?'),
    deleteReturning: db.prepare(
      'DELETE FROM outbox_entry WHERE seq = ? RETURNING class, length(payload) AS bytes',
    ),
    evictionCandidates: db.prepare(
      'SELECT seq, class, length(payload) AS bytes FROM outbox_entry WHERE tier <= ? ORDER BY tier, seq',
    ),
    olderThan: db.prepare(
      'SELECT seq, class, length(payload) AS bytes FROM outbox_entry WHERE created_ms < ? ORDER BY seq',
    ),
    pendingByClass: db.prepare(
      'SELECT class, count(*) AS n, coalesce(sum(length(payload)), 0) AS bytes FROM outbox_entry GROUP BY class',
    ),
    counters: db.prepare('SELECT class, written, delivered, evicted, evicted_bytes FROM outbox_counter'),
    upsertCounter: db.prepare(
      `INSERT INTO outbox_counter (class, written, delivered, evicted, evicted_bytes)
       VALUES (@cls, @written, @delivered, @evicted, @evictedBytes)
       ON CONFLICT (class) DO UPDATE SET written = written + @written, delivered = delivered + @delivered,
         evicted = evicted + @evicted, evicted_bytes = evicted_bytes + @evictedBytes`,
    ),
    getMeta: db.prepare('SELECT value FROM outbox_meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO outbox_meta (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = @value',
    ),
  };
}
