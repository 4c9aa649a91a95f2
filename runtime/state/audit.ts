// The append-only, hash-chained audit log. Each record's hash covers its sequence number, time,
// kind, actor, payload bytes and the previous record's hash, so any modification, deletion,
// insertion or reordering breaks the chain at a findable place. Signed checkpoints (head hash and
// count) held by the collector make truncation of the whole tail detectable from outside.
import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import { decode, encode } from 'cbor-x';
import { encodeCbor } from '../../models/format/index.ts';
import { stateErrorFrom } from './db.ts';

/** Everything the audit trail records (issue 5); payloads never hold raw samples or secrets. */
export type AuditKind =
  | 'boot'
  | 'shutdown'
  | 'bundle-received'
  | 'bundle-verified'
  | 'bundle-rejected'
  | 'bundle-installed'
  | 'bundle-activated'
  | 'bundle-shadow-started'
  | 'bundle-superseded'
  | 'probation-passed'
  | 'bundle-promoted'
  | 'bundle-rolled-back'
  | 'bundle-pruned'
  | 'frozen'
  | 'unfrozen'
  | 'bundle-revoked'
  | 'bundle-withdrawn'
  | 'command-accepted'
  | 'command-rejected'
  | 'fallback-episode-start'
  | 'fallback-episode-end'
  | 'outputs-suppressed'
  | 'suppression-lifted'
  | 'drift-alarm'
  | 'safety-event'
  | 'config-changed'
  | 'trust-anchored'
  | 'trust-rotated'
  | 'trust-rejected'
  | 'recovery'
  | 'checkpoint'
  | 'blackbox-export'
  | 'replay';

export type AuditPayload = Readonly<Record<string, unknown>>;

export interface AuditRecord {
  readonly seq: number;
  readonly atMs: number;
  readonly kind: AuditKind;
  /** Who caused it: `runtime`, `policy`, or a signer such as `release:alice@example.org`. */
  readonly actor: string;
  readonly payload: AuditPayload;
  readonly prevHash: string;
  readonly hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);
const DOMAIN = 'vigil-audit-v1';

export function auditMigration(db: Database.Database): void {
  db.exec(`
    CREATE TABLE audit (
      seq INTEGER PRIMARY KEY,
      at_ms INTEGER NOT NULL,
      kind TEXT NOT NULL,
      actor TEXT NOT NULL,
      payload BLOB NOT NULL,
      prev_hash TEXT NOT NULL,
      hash TEXT NOT NULL
    );
    CREATE TABLE audit_checkpoint (
      seq INTEGER PRIMARY KEY,
      count INTEGER NOT NULL,
      head_hash TEXT NOT NULL,
      at_ms INTEGER NOT NULL,
      signed BLOB NOT NULL
    );
  `);
}

export function recordHash(
  seq: number,
  atMs: number,
  kind: string,
  actor: string,
  payload: Uint8Array,
  prevHash: string,
): string {
  // Deterministic CBOR (RFC 8949 §4.2.1) of the record's fields, payload as a byte string: the hash
  // depends on the values only, never on how a library or a JS type happens to encode them.
  const body = encodeCbor([DOMAIN, seq, atMs, kind, actor, new Uint8Array(payload), prevHash]);
  return crypto.createHash('sha256').update(body).digest('hex');
}

/** What a broken chain looks like, at the first place it breaks. */
export type AuditBreak =
  | { readonly kind: 'gap'; readonly expectedSeq: number; readonly foundSeq: number }
  | { readonly kind: 'prev-hash'; readonly seq: number }
  | { readonly kind: 'hash'; readonly seq: number }
  | { readonly kind: 'checkpoint'; readonly count: number; readonly detail: string };

export type AuditVerdict =
  | { readonly kind: 'intact'; readonly count: number; readonly headHash: string }
  | { readonly kind: 'broken'; readonly at: AuditBreak; readonly checkedRecords: number };

export interface Checkpoint {
  readonly count: number;
  readonly headHash: string;
  readonly atMs: number;
}

/** A record as stored: the payload as its exact CBOR bytes (what the hash covers). */
export interface AuditRow {
  seq: number;
  at_ms: number;
  kind: string;
  actor: string;
  payload: Uint8Array;
  prev_hash: string;
  hash: string;
}

export class AuditLog {
  private readonly insert: Database.Statement;
  private readonly head: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    this.insert = db.prepare(
      'INSERT INTO audit (seq, at_ms, kind, actor, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.head = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
  }

  /** Appends a record; when this returns, the record is durable (WAL, synchronous=FULL). */
  append(kind: AuditKind, actor: string, payload: AuditPayload): AuditRecord {
    try {
      return this.db.transaction(() => this.appendInTransaction(kind, actor, payload))();
    } catch (error) {
      throw stateErrorFrom(error, `appending audit record ${kind}`);
    }
  }

  /** For callers that already hold a transaction (state change + its audit record, atomically). */
  appendInTransaction(kind: AuditKind, actor: string, payload: AuditPayload): AuditRecord {
    const head = this.head.get() as { seq: number; hash: string } | undefined;
    const seq = (head?.seq ?? 0) + 1;
    const prevHash = head?.hash ?? GENESIS_HASH;
    const atMs = this.now();
    const bytes = encode(payload) as Uint8Array;
    const hash = recordHash(seq, atMs, kind, actor, bytes, prevHash);
    this.insert.run(seq, atMs, kind, actor, bytes, prevHash, hash);
    return { seq, atMs, kind, actor, payload, prevHash, hash };
  }

  headCheckpoint(): Checkpoint {
    const head = this.head.get() as { seq: number; hash: string } | undefined;
    return { count: head?.seq ?? 0, headHash: head?.hash ?? GENESIS_HASH, atMs: this.now() };
  }

  /** Stores a signed checkpoint (the signature is made by the device key, outside this module). */
  storeCheckpoint(checkpoint: Checkpoint, signed: Uint8Array): void {
    try {
      this.db
        .prepare('INSERT INTO audit_checkpoint (count, head_hash, at_ms, signed) VALUES (?, ?, ?, ?)')
        .run(checkpoint.count, checkpoint.headHash, checkpoint.atMs, signed);
    } catch (error) {
      throw stateErrorFrom(error, 'storing an audit checkpoint');
    }
  }

  checkpoints(): { checkpoint: Checkpoint; signed: Uint8Array }[] {
    const rows = this.db
      .prepare('SELECT count, head_hash, at_ms, signed FROM audit_checkpoint ORDER BY seq')
      .all() as {
      count: number;
      head_hash: string;
      at_ms: number;
      signed: Uint8Array;
    }[];
    return rows.map((row) => ({
      checkpoint: { count: row.count, headHash: row.head_hash, atMs: row.at_ms },
      signed: row.signed,
    }));
  }

  /** The newest stored checkpoint, if any. */
  lastCheckpoint(): { checkpoint: Checkpoint; signed: Uint8Array } | undefined {
    const row = this.db
      .prepare('SELECT count, head_hash, at_ms, signed FROM audit_checkpoint ORDER BY seq DESC LIMIT 1')
      .get() as { count: number; head_hash: string; at_ms: number; signed: Uint8Array } | undefined;
    return row
      ? { checkpoint: { count: row.count, headHash: row.head_hash, atMs: row.at_ms }, signed: row.signed }
      : undefined;
  }

  checkpointCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM audit_checkpoint').get() as { n: number }).n;
  }

  *records(fromSeq = 1): Generator<AuditRecord> {
    const rows = this.db
      .prepare('SELECT * FROM audit WHERE seq >= ? ORDER BY rowid')
      .iterate(fromSeq) as Iterable<AuditRow>;
    for (const row of rows) yield toRecord(row);
  }

  /** Records as stored, payload bytes included (exports that others can re-verify). */
  *rows(fromSeq = 1): Generator<AuditRow> {
    yield* this.db
      .prepare('SELECT * FROM audit WHERE seq >= ? ORDER BY rowid')
      .iterate(fromSeq) as Iterable<AuditRow>;
  }

  /** The record with this sequence number, if present. */
  record(seq: number): AuditRecord | undefined {
    const row = this.db.prepare('SELECT * FROM audit WHERE seq = ?').get(seq) as AuditRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
  }

  /**
   * Walks the whole chain in storage order and checks continuity, links and hashes; optionally also
   * that it still contains each checkpoint (count, head hash) held elsewhere.
   */
  verify(checkpoints: readonly Checkpoint[] = []): AuditVerdict {
    return verifyChain(
      this.db.prepare('SELECT * FROM audit ORDER BY rowid').iterate() as Iterable<AuditRow>,
      checkpoints,
    );
  }
}

function toRecord(row: AuditRow): AuditRecord {
  return {
    seq: row.seq,
    atMs: row.at_ms,
    kind: row.kind as AuditKind,
    actor: row.actor,
    payload: decode(row.payload) as AuditPayload,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** Chain verification over rows in storage order (exported for exports and collector-side checks). */
export function verifyChain(
  rows: Iterable<{
    seq: number;
    at_ms: number;
    kind: string;
    actor: string;
    payload: Uint8Array;
    prev_hash: string;
    hash: string;
  }>,
  checkpoints: readonly Checkpoint[] = [],
): AuditVerdict {
  const wanted = new Map(checkpoints.map((c) => [c.count, c.headHash]));
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let checked = 0;
  for (const row of rows) {
    if (row.seq !== expectedSeq) {
      return { kind: 'broken', at: { kind: 'gap', expectedSeq, foundSeq: row.seq }, checkedRecords: checked };
    }
    if (row.prev_hash !== prevHash)
      return { kind: 'broken', at: { kind: 'prev-hash', seq: row.seq }, checkedRecords: checked };
    const hash = recordHash(row.seq, row.at_ms, row.kind, row.actor, row.payload, row.prev_hash);
    if (hash !== row.hash)
      return { kind: 'broken', at: { kind: 'hash', seq: row.seq }, checkedRecords: checked };
    const held = wanted.get(row.seq);
    if (held !== undefined && held !== hash) {
      return {
        kind: 'broken',
        at: { kind: 'checkpoint', count: row.seq, detail: 'the record at a checkpoint has another hash' },
        checkedRecords: checked,
      };
    }
    prevHash = hash;
    expectedSeq += 1;
    checked += 1;
  }
  for (const checkpoint of checkpoints) {
    if (checkpoint.count > checked) {
      return {
        kind: 'broken',
        at: { kind: 'checkpoint', count: checkpoint.count, detail: `the log holds only ${checked} records` },
        checkedRecords: checked,
      };
    }
  }
  return { kind: 'intact', count: checked, headHash: prevHash };
}
