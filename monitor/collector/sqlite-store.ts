// The embedded storage backend: one SQLite file (better-sqlite3, WAL). Schema and the reasons for its
// keys: docs/collector.md "Storage". Signed messages are kept as received (the evidence); everything
// the dashboard reads comes from rollups and per-device-day rows maintained at ingest.
import Database from 'better-sqlite3';
import type { ReferenceProfile } from '../../models/profile/index.ts';
import type { ReportRole } from '../report/index.ts';
import { Aggregate } from './aggregate.ts';
import { CollectorError } from './errors.ts';
import { parseProfileBytes } from './profiles.ts';
import type { SequenceSnapshot } from './sequence.ts';
import type {
  AlertHistoryEntry,
  CollectorStore,
  CollectorWriter,
  IncidentQuery,
  JournalEntry,
  NewAlert,
  ReportQuery,
} from './store.ts';
import type {
  AlertAction,
  AlertEvidence,
  AlertRecord,
  AlertState,
  CheckpointRecord,
  DeviceDay,
  DeviceOnline,
  DeviceRecord,
  Enrolment,
  GroupDimension,
  Incident,
  IncidentKind,
  ModelInfo,
  ReportRow,
  RollupKey,
  RollupLevel,
  RollupQuery,
  RollupRow,
  StoredMessage,
  StreakState,
  WindowEvaluation,
} from './types.ts';

export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrolments (
  kid TEXT PRIMARY KEY, fleet TEXT NOT NULL, device TEXT NOT NULL, public_key BLOB NOT NULL,
  vendor_id TEXT NOT NULL, class_id TEXT NOT NULL, enrolled_at_ms INTEGER NOT NULL, enrolled_by TEXT NOT NULL,
  site TEXT NOT NULL, record BLOB NOT NULL, retired_at_ms INTEGER, retired_by TEXT, retired_reason TEXT);
CREATE INDEX IF NOT EXISTS enrolments_device ON enrolments (fleet, device);
CREATE TABLE IF NOT EXISTS models (
  manifest_sha TEXT PRIMARY KEY, profile_sha TEXT NOT NULL, family TEXT NOT NULL, bundle_id TEXT NOT NULL,
  version TEXT NOT NULL, sequence INTEGER NOT NULL, operating_threshold REAL, indeterminate_low REAL,
  statistics TEXT, report_interval_s INTEGER, intended_use TEXT, positive_label TEXT, source TEXT NOT NULL,
  verification TEXT, registered_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS profiles (profile_sha TEXT PRIMARY KEY, json TEXT NOT NULL, added_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  device TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, fleet TEXT NOT NULL,
  received_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, kid TEXT, payload BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS messages_key ON messages (device, seq);
CREATE TABLE IF NOT EXISTS reports (
  device TEXT NOT NULL, seq INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
  manifest_sha TEXT NOT NULL, role TEXT NOT NULL, cohort TEXT NOT NULL, firmware TEXT NOT NULL,
  site TEXT NOT NULL, windows INTEGER NOT NULL, fallback INTEGER NOT NULL, drift_alarm INTEGER NOT NULL,
  PRIMARY KEY (device, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reports_model ON reports (manifest_sha, role, start_ms);
CREATE INDEX IF NOT EXISTS reports_device ON reports (device, start_ms);
CREATE TABLE IF NOT EXISTS rollups (
  level TEXT NOT NULL, manifest_sha TEXT NOT NULL, role TEXT NOT NULL, bucket_ms INTEGER NOT NULL,
  cohort TEXT NOT NULL, firmware TEXT NOT NULL, site TEXT NOT NULL, data BLOB NOT NULL, shadow TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS rollups_key ON rollups (level, manifest_sha, role, bucket_ms, cohort, firmware, site);
CREATE TABLE IF NOT EXISTS device_days (
  day_ms INTEGER NOT NULL, device TEXT NOT NULL, manifest_sha TEXT NOT NULL, role TEXT NOT NULL,
  cohort TEXT NOT NULL, firmware TEXT NOT NULL, site TEXT NOT NULL, reports INTEGER NOT NULL,
  covered_ms INTEGER NOT NULL, windows INTEGER NOT NULL, fallback INTEGER NOT NULL, alerts INTEGER NOT NULL,
  drift_alarm_reports INTEGER NOT NULL,
  PRIMARY KEY (manifest_sha, day_ms, device, role, cohort, firmware, site)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
  device TEXT PRIMARY KEY, fleet TEXT NOT NULL, online TEXT NOT NULL, bd_seq INTEGER, state_at_ms INTEGER,
  last_seen_ms INTEGER, last_report_ms INTEGER, last_report_end_ms INTEGER, manifest_sha TEXT,
  model_label TEXT, cohort TEXT, firmware TEXT, runtime TEXT, reports INTEGER NOT NULL, sequence TEXT);
CREATE TABLE IF NOT EXISTS incidents (
  id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL,
  family TEXT, manifest_sha TEXT, summary TEXT NOT NULL, detail TEXT NOT NULL, seq INTEGER);
CREATE INDEX IF NOT EXISTS incidents_at ON incidents (at_ms);
CREATE TABLE IF NOT EXISTS checkpoints (
  device TEXT NOT NULL, count INTEGER NOT NULL, head TEXT NOT NULL, at_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL, kid TEXT NOT NULL, signed BLOB NOT NULL,
  PRIMARY KEY (device, count, head)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY, key TEXT NOT NULL, state TEXT NOT NULL, manifest_sha TEXT NOT NULL, role TEXT NOT NULL,
  group_dim TEXT NOT NULL, group_value TEXT NOT NULL, variable_index INTEGER NOT NULL, variable_name TEXT NOT NULL,
  opened_ms INTEGER NOT NULL, first_window_ms INTEGER NOT NULL, last_window_ms INTEGER NOT NULL,
  ack_by TEXT, ack_comment TEXT, ack_ms INTEGER, resolved_by TEXT, resolved_comment TEXT, resolved_ms INTEGER,
  evidence TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_key ON alerts (key, state);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts (state, opened_ms);
CREATE TABLE IF NOT EXISTS alert_history (
  alert_id INTEGER NOT NULL, at_ms INTEGER NOT NULL, action TEXT NOT NULL, by TEXT NOT NULL, comment TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alert_history_alert ON alert_history (alert_id, at_ms);
CREATE TABLE IF NOT EXISTS streaks (
  key TEXT PRIMARY KEY, manifest_sha TEXT NOT NULL, role TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS streaks_model ON streaks (manifest_sha, role);
CREATE TABLE IF NOT EXISTS evaluations (
  manifest_sha TEXT NOT NULL, role TEXT NOT NULL, group_dim TEXT NOT NULL, window_ms INTEGER NOT NULL,
  json TEXT NOT NULL, PRIMARY KEY (manifest_sha, role, group_dim, window_ms));
CREATE TABLE IF NOT EXISTS watermarks (
  manifest_sha TEXT NOT NULL, role TEXT NOT NULL, window_ms INTEGER NOT NULL, PRIMARY KEY (manifest_sha, role));
`;

// The journal lives in its own small file, FILE.inbox (never FILE-journal: that name is SQLite's own
// rollback journal). One short autocommit per message, never behind a large ingest commit or a WAL
// checkpoint of the main database.
const JOURNAL_SCHEMA = `
CREATE TABLE IF NOT EXISTS journal (
  id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, received_ms INTEGER NOT NULL, seq_hint INTEGER);
`;

type Row = Record<string, unknown>;

const str = (v: unknown): string => v as string;
const num = (v: unknown): number => v as number;
const optNum = (v: unknown): number | null => (v === null || v === undefined ? null : (v as number));
const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
const bytes = (v: unknown): Uint8Array => new Uint8Array(v as Buffer);

function sourceRank(source: ModelInfo['source']): number {
  switch (source) {
    case 'bundle':
      return 3;
    case 'profile':
      return 2;
    case 'report':
      return 1;
  }
}

export interface SqliteStoreOptions {
  /** `FULL` fsyncs every commit (power-loss durable); `NORMAL` (default) is crash-safe in WAL mode. */
  readonly synchronous?: 'NORMAL' | 'FULL';
  readonly readonly?: boolean;
}

function statements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    insertMessage: p(
      `INSERT OR IGNORE INTO messages (device, seq, kind, fleet, received_ms, created_ms, kid, payload)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertReport: p(
      `INSERT OR IGNORE INTO reports (device, seq, start_ms, end_ms, manifest_sha, role, cohort, firmware, site,
       windows, fallback, drift_alarm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getRollup: p(
      `SELECT data, shadow FROM rollups WHERE level = ? AND manifest_sha = ? AND role = ? AND bucket_ms = ?
       AND cohort = ? AND firmware = ? AND site = ?`,
    ),
    putRollup: p(
      `INSERT OR REPLACE INTO rollups (level, manifest_sha, role, bucket_ms, cohort, firmware, site, data, shadow)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    addDeviceDay: p(
      `INSERT INTO device_days (day_ms, device, manifest_sha, role, cohort, firmware, site, reports, covered_ms,
       windows, fallback, alerts, drift_alarm_reports) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET reports = reports + excluded.reports, covered_ms = covered_ms + excluded.covered_ms,
       windows = windows + excluded.windows, fallback = fallback + excluded.fallback,
       alerts = alerts + excluded.alerts, drift_alarm_reports = drift_alarm_reports + excluded.drift_alarm_reports`,
    ),
    putDevice: p(
      `INSERT OR REPLACE INTO devices (device, fleet, online, bd_seq, state_at_ms, last_seen_ms, last_report_ms,
       last_report_end_ms, manifest_sha, model_label, cohort, firmware, runtime, reports, sequence)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertIncident: p(
      `INSERT INTO incidents (at_ms, device, kind, source, family, manifest_sha, summary, detail, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertCheckpoint: p(
      `INSERT OR IGNORE INTO checkpoints (device, count, head, at_ms, received_ms, kid, signed)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    addCounter: p(
      `INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = value + excluded.value`,
    ),
    getModel: p(`SELECT * FROM models WHERE manifest_sha = ?`),
    putModel: p(
      `INSERT OR REPLACE INTO models (manifest_sha, profile_sha, family, bundle_id, version, sequence,
       operating_threshold, indeterminate_low, statistics, report_interval_s, intended_use, positive_label, source,
       verification, registered_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    messagePayload: p(`SELECT payload FROM messages WHERE device = ? AND seq = ?`),
    activeAlert: p(`SELECT * FROM alerts WHERE key = ? AND state != 'resolved' ORDER BY id DESC LIMIT 1`),
    alert: p(`SELECT * FROM alerts WHERE id = ?`),
  };
}

export class SqliteCollectorStore implements CollectorStore {
  readonly db: Database.Database;
  private readonly s: ReturnType<typeof statements>;
  private readonly journalDb: Database.Database | null = null;
  private readonly j: {
    append: Database.Statement;
    list: Database.Statement;
    deleteRange: Database.Statement;
  } | null = null;

  constructor(file: string, options: SqliteStoreOptions = {}) {
    try {
      this.db = new Database(file, { readonly: options.readonly === true });
      this.db.pragma('busy_timeout = 5000');
      if (options.readonly !== true) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
        // Fewer, larger WAL checkpoints: ingest writes about 1 KB per report.
        this.db.pragma('wal_autocheckpoint = 8192');
        this.migrate();
        const jdb = new Database(`${file}.inbox`);
        jdb.pragma('busy_timeout = 5000');
        jdb.pragma('journal_mode = WAL');
        jdb.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
        jdb.exec(JOURNAL_SCHEMA);
        this.journalDb = jdb;
        this.j = {
          append: jdb.prepare(
            `INSERT INTO journal (topic, payload, received_ms, seq_hint) VALUES (?, ?, ?, ?)`,
          ),
          list: jdb.prepare(
            `SELECT id, topic, payload, received_ms, seq_hint FROM journal ORDER BY id LIMIT ?`,
          ),
          deleteRange: jdb.prepare(`DELETE FROM journal WHERE id BETWEEN ? AND ?`),
        };
      }
    } catch (cause) {
      if (cause instanceof CollectorError) throw cause;
      throw new CollectorError('STORE_FAILED', `cannot open the collector database ${file}`, { cause });
    }
    this.s = statements(this.db);
  }

  private migrate(): void {
    this.db.exec(SCHEMA);
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as Row | undefined;
    if (row === undefined) {
      this.db.prepare(`INSERT INTO meta (key, value) VALUES ('schema', ?)`).run(String(SCHEMA_VERSION));
    } else if (Number(row.value) !== SCHEMA_VERSION) {
      throw new CollectorError(
        'STORE_FAILED',
        `the database has collector schema ${String(row.value)}; this collector speaks ${SCHEMA_VERSION}`,
      );
    }
  }

  setting(name: string): string | null {
    const r = this.db.prepare(`SELECT value FROM meta WHERE key = ?`).get(`setting.${name}`) as
      Row | undefined;
    return r === undefined ? null : str(r.value);
  }

  putSetting(name: string, value: string): void {
    this.db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`).run(`setting.${name}`, value);
  }

  write<T>(fn: (w: CollectorWriter) => T): T {
    return this.db.transaction(() => fn(this))();
  }

  // ---- writer ----

  insertMessage(m: StoredMessage): boolean {
    return (
      this.s.insertMessage.run(m.device, m.seq, m.kind, m.fleet, m.receivedMs, m.createdMs, m.kid, m.payload)
        .changes === 1
    );
  }

  insertReport(r: ReportRow): void {
    this.s.insertReport.run(
      r.device,
      r.seq,
      r.startMs,
      r.endMs,
      r.manifestSha256,
      r.role,
      r.cohort,
      r.firmware,
      r.site,
      r.windows,
      r.fallback,
      r.driftAlarm ? 1 : 0,
    );
  }

  addRollup(level: RollupLevel, key: RollupKey, aggregate: Aggregate): void {
    const k = [
      level,
      key.manifestSha256,
      key.role,
      key.bucketMs,
      key.cohort,
      key.firmware,
      key.site,
    ] as const;
    const row = this.s.getRollup.get(...k) as Row | undefined;
    let merged = aggregate;
    if (row !== undefined) {
      merged = Aggregate.decode(bytes(row.data), optStr(row.shadow));
      merged.merge(aggregate);
    }
    const enc = merged.encode();
    this.s.putRollup.run(...k, enc.blob, enc.shadowJson);
  }

  addDeviceDay(d: DeviceDay): void {
    this.s.addDeviceDay.run(
      d.dayMs,
      d.device,
      d.manifestSha256,
      d.role,
      d.cohort,
      d.firmware,
      d.site,
      d.reports,
      d.coveredMs,
      d.windows,
      d.fallback,
      d.alerts,
      d.driftAlarmReports,
    );
  }

  putDevice(r: DeviceRecord): void {
    this.s.putDevice.run(
      r.device,
      r.fleet,
      r.online,
      r.bdSeq,
      r.stateAtMs,
      r.lastSeenMs,
      r.lastReportMs,
      r.lastReportEndMs,
      r.manifestSha256,
      r.modelLabel,
      r.cohort,
      r.firmware,
      r.runtime,
      r.reports,
      r.sequence === null ? null : JSON.stringify(r.sequence),
    );
  }

  insertIncident(i: Incident): void {
    this.s.insertIncident.run(
      i.atMs,
      i.device,
      i.kind,
      i.source,
      i.family,
      i.manifestSha256,
      i.summary,
      JSON.stringify(i.detail),
      i.seq,
    );
  }

  insertCheckpoint(c: CheckpointRecord): boolean {
    return (
      this.s.insertCheckpoint.run(c.device, c.count, c.headHash, c.atMs, c.receivedMs, c.kid, c.signed)
        .changes === 1
    );
  }

  addCounters(deltas: Readonly<Record<string, number>>): void {
    for (const [name, value] of Object.entries(deltas)) if (value !== 0) this.s.addCounter.run(name, value);
  }

  deleteJournal(ids: readonly number[]): void {
    // Journal ids of a batch are mostly one contiguous run: delete by ranges.
    const sorted = [...ids].sort((a, b) => a - b);
    let i = 0;
    while (i < sorted.length) {
      let j = i;
      while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
      this.journalStatements().deleteRange.run(sorted[i], sorted[j]);
      i = j + 1;
    }
  }

  upsertModel(m: ModelInfo): void {
    const existing = this.model(m.manifestSha256);
    if (existing !== null && sourceRank(existing.source) > sourceRank(m.source)) return;
    this.s.putModel.run(
      m.manifestSha256,
      m.profileSha256,
      m.family,
      m.bundleId,
      m.version,
      m.sequence,
      m.operatingThreshold,
      m.indeterminateLow,
      m.statistics === null ? null : JSON.stringify(m.statistics),
      m.reportIntervalS,
      m.intendedUse,
      m.positiveLabel,
      m.source,
      m.verification,
      existing?.registeredMs ?? m.registeredMs,
    );
  }

  // ---- journal ----

  journalAppend(
    topic: string,
    payload: Uint8Array,
    receivedMs: number,
    seqHint: number | null = null,
  ): number {
    return Number(this.journalStatements().append.run(topic, payload, receivedMs, seqHint).lastInsertRowid);
  }

  private journalStatements(): NonNullable<SqliteCollectorStore['j']> {
    if (this.j === null) throw new CollectorError('STORE_FAILED', 'a read-only store has no journal');
    return this.j;
  }

  journal(limit: number): JournalEntry[] {
    if (this.j === null) return [];
    return (this.j.list.all(limit) as Row[]).map((r) => ({
      id: num(r.id),
      topic: str(r.topic),
      payload: bytes(r.payload),
      receivedMs: num(r.received_ms),
      seqHint: optNum(r.seq_hint),
    }));
  }

  // ---- enrolment ----

  putEnrolment(e: Enrolment): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO enrolments (kid, fleet, device, public_key, vendor_id, class_id, enrolled_at_ms,
         enrolled_by, site, record, retired_at_ms, retired_by, retired_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        e.kid,
        e.fleet,
        e.device,
        e.publicKey,
        e.deviceClass.vendorId,
        e.deviceClass.classId,
        e.enrolledAtMs,
        e.enrolledBy,
        e.site,
        e.record,
        e.retiredAtMs,
        e.retiredBy,
        e.retiredReason,
      );
  }

  private enrolmentOf(r: Row): Enrolment {
    return {
      fleet: str(r.fleet),
      device: str(r.device),
      kid: str(r.kid),
      publicKey: bytes(r.public_key),
      deviceClass: { vendorId: str(r.vendor_id), classId: str(r.class_id) },
      enrolledAtMs: num(r.enrolled_at_ms),
      enrolledBy: str(r.enrolled_by),
      site: str(r.site),
      record: bytes(r.record),
      retiredAtMs: optNum(r.retired_at_ms),
      retiredBy: optStr(r.retired_by),
      retiredReason: optStr(r.retired_reason),
    };
  }

  enrolments(): Enrolment[] {
    return (
      this.db.prepare(`SELECT * FROM enrolments ORDER BY fleet, device, enrolled_at_ms`).all() as Row[]
    ).map((r) => this.enrolmentOf(r));
  }

  enrolmentsFor(kid: string, fleet: string, device: string): Enrolment[] {
    return (
      this.db
        .prepare(`SELECT * FROM enrolments WHERE kid = ? OR (fleet = ? AND device = ?)`)
        .all(kid, fleet, device) as Row[]
    ).map((r) => this.enrolmentOf(r));
  }

  retireDevice(fleet: string, device: string, atMs: number, by: string, reason: string): number {
    return this.db
      .prepare(
        `UPDATE enrolments SET retired_at_ms = ?, retired_by = ?, retired_reason = ?
         WHERE fleet = ? AND device = ? AND retired_at_ms IS NULL`,
      )
      .run(atMs, by, reason, fleet, device).changes;
  }

  // ---- models and profiles ----

  private modelOf(r: Row): ModelInfo {
    return {
      manifestSha256: str(r.manifest_sha),
      profileSha256: str(r.profile_sha),
      family: str(r.family),
      bundleId: str(r.bundle_id),
      version: str(r.version),
      sequence: num(r.sequence),
      operatingThreshold: optNum(r.operating_threshold),
      indeterminateLow: optNum(r.indeterminate_low),
      statistics: r.statistics === null ? null : (JSON.parse(str(r.statistics)) as ModelInfo['statistics']),
      reportIntervalS: optNum(r.report_interval_s),
      intendedUse: optStr(r.intended_use),
      positiveLabel: optStr(r.positive_label),
      source: str(r.source) as ModelInfo['source'],
      verification: optStr(r.verification),
      registeredMs: num(r.registered_ms),
    };
  }

  models(): ModelInfo[] {
    return (this.db.prepare(`SELECT * FROM models ORDER BY family, sequence`).all() as Row[]).map((r) =>
      this.modelOf(r),
    );
  }

  model(manifestSha256: string): ModelInfo | null {
    const r = this.s.getModel.get(manifestSha256) as Row | undefined;
    return r === undefined ? null : this.modelOf(r);
  }

  putProfile(profileSha256: string, profile: ReferenceProfile, addedMs: number): void {
    this.db
      .prepare(`INSERT OR IGNORE INTO profiles (profile_sha, json, added_ms) VALUES (?, ?, ?)`)
      .run(profileSha256, JSON.stringify(profile), addedMs);
  }

  profile(profileSha256: string): ReferenceProfile | null {
    const r = this.db.prepare(`SELECT json FROM profiles WHERE profile_sha = ?`).get(profileSha256) as
      Row | undefined;
    return r === undefined ? null : parseProfileBytes(Buffer.from(str(r.json), 'utf8'));
  }

  profileShas(): string[] {
    return (this.db.prepare(`SELECT profile_sha FROM profiles`).all() as Row[]).map((r) =>
      str(r.profile_sha),
    );
  }

  // ---- devices and messages ----

  private deviceOf(r: Row): DeviceRecord {
    return {
      fleet: str(r.fleet),
      device: str(r.device),
      online: str(r.online) as DeviceOnline,
      bdSeq: optNum(r.bd_seq),
      stateAtMs: optNum(r.state_at_ms),
      lastSeenMs: optNum(r.last_seen_ms),
      lastReportMs: optNum(r.last_report_ms),
      lastReportEndMs: optNum(r.last_report_end_ms),
      manifestSha256: optStr(r.manifest_sha),
      modelLabel: optStr(r.model_label),
      cohort: optStr(r.cohort),
      firmware: optStr(r.firmware),
      runtime: optStr(r.runtime),
      reports: num(r.reports),
      sequence: r.sequence === null ? null : (JSON.parse(str(r.sequence)) as SequenceSnapshot),
    };
  }

  devices(): DeviceRecord[] {
    return (this.db.prepare(`SELECT * FROM devices ORDER BY device`).all() as Row[]).map((r) =>
      this.deviceOf(r),
    );
  }

  device(device: string): DeviceRecord | null {
    const r = this.db.prepare(`SELECT * FROM devices WHERE device = ?`).get(device) as Row | undefined;
    return r === undefined ? null : this.deviceOf(r);
  }

  reports(q: ReportQuery): ReportRow[] {
    const { where, args } = conditions(['start_ms >= ?', 'start_ms < ?'], [q.fromMs, q.toMs], {
      manifest_sha: q.manifestSha256,
      role: q.role,
      device: q.device,
      cohort: q.cohort,
      firmware: q.firmware,
      site: q.site,
    });
    args.push(q.limit ?? 100_000);
    return (
      this.db
        .prepare(`SELECT * FROM reports WHERE ${where.join(' AND ')} ORDER BY start_ms, device LIMIT ?`)
        .all(...args) as Row[]
    ).map((r) => ({
      device: str(r.device),
      seq: num(r.seq),
      startMs: num(r.start_ms),
      endMs: num(r.end_ms),
      manifestSha256: str(r.manifest_sha),
      role: str(r.role) as ReportRole,
      cohort: str(r.cohort),
      firmware: str(r.firmware),
      site: str(r.site),
      windows: num(r.windows),
      fallback: num(r.fallback),
      driftAlarm: num(r.drift_alarm) === 1,
    }));
  }

  messagePayload(device: string, seq: number): Uint8Array | null {
    const r = this.s.messagePayload.get(device, seq) as Row | undefined;
    return r === undefined ? null : bytes(r.payload);
  }

  messageCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.db
      .prepare(`SELECT kind, COUNT(*) AS n FROM messages GROUP BY kind`)
      .all() as Row[]) {
      out[str(r.kind)] = num(r.n);
    }
    return out;
  }

  // ---- aggregates ----

  rollups(q: RollupQuery): RollupRow[] {
    const { where, args } = conditions(
      ['level = ?', 'bucket_ms >= ?', 'bucket_ms < ?'],
      [q.level, q.fromMs, q.toMs],
      { manifest_sha: q.manifestSha256, role: q.role, cohort: q.cohort, firmware: q.firmware, site: q.site },
    );
    const rows = this.db
      .prepare(`SELECT * FROM rollups WHERE ${where.join(' AND ')} ORDER BY bucket_ms`)
      .all(...args) as Row[];
    return rows.map((r) => ({
      bucketMs: num(r.bucket_ms),
      manifestSha256: str(r.manifest_sha),
      role: str(r.role) as ReportRole,
      cohort: str(r.cohort),
      firmware: str(r.firmware),
      site: str(r.site),
      aggregate: Aggregate.decode(bytes(r.data), optStr(r.shadow)),
    }));
  }

  rollupKeys(level: RollupLevel) {
    return (
      this.db
        .prepare(
          `SELECT manifest_sha, role, MIN(bucket_ms) AS first, MAX(bucket_ms) AS last FROM rollups
           WHERE level = ? GROUP BY manifest_sha, role`,
        )
        .all(level) as Row[]
    ).map((r) => ({
      manifestSha256: str(r.manifest_sha),
      role: str(r.role) as ReportRole,
      firstBucketMs: num(r.first),
      lastBucketMs: num(r.last),
    }));
  }

  deviceDays(q: { manifestSha256?: string; fromMs: number; toMs: number }): DeviceDay[] {
    const rows = (
      q.manifestSha256 === undefined
        ? this.db.prepare(`SELECT * FROM device_days WHERE day_ms >= ? AND day_ms < ?`).all(q.fromMs, q.toMs)
        : this.db
            .prepare(`SELECT * FROM device_days WHERE manifest_sha = ? AND day_ms >= ? AND day_ms < ?`)
            .all(q.manifestSha256, q.fromMs, q.toMs)
    ) as Row[];
    return rows.map((r) => ({
      dayMs: num(r.day_ms),
      device: str(r.device),
      manifestSha256: str(r.manifest_sha),
      role: str(r.role) as ReportRole,
      cohort: str(r.cohort),
      firmware: str(r.firmware),
      site: str(r.site),
      reports: num(r.reports),
      coveredMs: num(r.covered_ms),
      windows: num(r.windows),
      fallback: num(r.fallback),
      alerts: num(r.alerts),
      driftAlarmReports: num(r.drift_alarm_reports),
    }));
  }

  // ---- incidents, checkpoints, counters ----

  incidents(q: IncidentQuery): Incident[] {
    const where = ['at_ms >= ?', 'at_ms < ?'];
    const args: unknown[] = [q.fromMs, q.toMs];
    if (q.device !== undefined) {
      where.push('device = ?');
      args.push(q.device);
    }
    if (q.family !== undefined) {
      where.push('(family = ? OR family IS NULL)');
      args.push(q.family);
    }
    if (q.kinds !== undefined && q.kinds.length > 0) {
      where.push(`kind IN (${q.kinds.map(() => '?').join(', ')})`);
      args.push(...q.kinds);
    }
    args.push(q.limit ?? 10_000);
    return (
      this.db
        .prepare(`SELECT * FROM incidents WHERE ${where.join(' AND ')} ORDER BY at_ms DESC, id DESC LIMIT ?`)
        .all(...args) as Row[]
    ).map((r) => ({
      id: num(r.id),
      atMs: num(r.at_ms),
      device: str(r.device),
      kind: str(r.kind) as IncidentKind,
      source: str(r.source) as Incident['source'],
      family: optStr(r.family),
      manifestSha256: optStr(r.manifest_sha),
      summary: str(r.summary),
      detail: JSON.parse(str(r.detail)) as Record<string, unknown>,
      seq: optNum(r.seq),
    }));
  }

  private checkpointOf(r: Row): CheckpointRecord {
    return {
      device: str(r.device),
      count: num(r.count),
      headHash: str(r.head),
      atMs: num(r.at_ms),
      receivedMs: num(r.received_ms),
      kid: str(r.kid),
      signed: bytes(r.signed),
    };
  }

  checkpoints(device: string, limit = 1000): CheckpointRecord[] {
    return (
      this.db
        .prepare(`SELECT * FROM checkpoints WHERE device = ? ORDER BY count DESC, at_ms DESC LIMIT ?`)
        .all(device, limit) as Row[]
    ).map((r) => this.checkpointOf(r));
  }

  lastCheckpoint(device: string): CheckpointRecord | null {
    return this.checkpoints(device, 1)[0] ?? null;
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.db.prepare(`SELECT name, value FROM counters`).all() as Row[])
      out[str(r.name)] = num(r.value);
    return out;
  }

  // ---- alerts ----

  private alertOf(r: Row): AlertRecord {
    const action = (by: unknown, comment: unknown, at: unknown): AlertAction | null =>
      by === null ? null : { by: str(by), comment: str(comment), atMs: num(at) };
    return {
      id: num(r.id),
      key: str(r.key),
      state: str(r.state) as AlertState,
      manifestSha256: str(r.manifest_sha),
      role: str(r.role) as ReportRole,
      groupDimension: str(r.group_dim) as GroupDimension,
      groupValue: str(r.group_value),
      variableIndex: num(r.variable_index),
      variableName: str(r.variable_name),
      openedMs: num(r.opened_ms),
      firstWindowMs: num(r.first_window_ms),
      lastWindowMs: num(r.last_window_ms),
      acknowledged: action(r.ack_by, r.ack_comment, r.ack_ms),
      resolved: action(r.resolved_by, r.resolved_comment, r.resolved_ms),
      evidence: JSON.parse(str(r.evidence)) as AlertEvidence,
    };
  }

  insertAlert(a: NewAlert): number {
    const info = this.db
      .prepare(
        `INSERT INTO alerts (key, state, manifest_sha, role, group_dim, group_value, variable_index, variable_name,
         opened_ms, first_window_ms, last_window_ms, ack_by, ack_comment, ack_ms, resolved_by, resolved_comment,
         resolved_ms, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        a.key,
        a.state,
        a.manifestSha256,
        a.role,
        a.groupDimension,
        a.groupValue,
        a.variableIndex,
        a.variableName,
        a.openedMs,
        a.firstWindowMs,
        a.lastWindowMs,
        a.acknowledged?.by ?? null,
        a.acknowledged?.comment ?? null,
        a.acknowledged?.atMs ?? null,
        a.resolved?.by ?? null,
        a.resolved?.comment ?? null,
        a.resolved?.atMs ?? null,
        JSON.stringify(a.evidence),
      );
    return Number(info.lastInsertRowid);
  }

  updateAlert(a: AlertRecord): void {
    this.db
      .prepare(
        `UPDATE alerts SET state = ?, last_window_ms = ?, ack_by = ?, ack_comment = ?, ack_ms = ?, resolved_by = ?,
         resolved_comment = ?, resolved_ms = ?, evidence = ? WHERE id = ?`,
      )
      .run(
        a.state,
        a.lastWindowMs,
        a.acknowledged?.by ?? null,
        a.acknowledged?.comment ?? null,
        a.acknowledged?.atMs ?? null,
        a.resolved?.by ?? null,
        a.resolved?.comment ?? null,
        a.resolved?.atMs ?? null,
        JSON.stringify(a.evidence),
        a.id,
      );
  }

  alert(id: number): AlertRecord | null {
    const r = this.s.alert.get(id) as Row | undefined;
    return r === undefined ? null : this.alertOf(r);
  }

  activeAlert(key: string): AlertRecord | null {
    const r = this.s.activeAlert.get(key) as Row | undefined;
    return r === undefined ? null : this.alertOf(r);
  }

  alerts(q: { state?: AlertState; manifestSha256?: string; fromMs?: number; toMs?: number; limit?: number }) {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.state !== undefined) {
      where.push('state = ?');
      args.push(q.state);
    }
    if (q.manifestSha256 !== undefined) {
      where.push('manifest_sha = ?');
      args.push(q.manifestSha256);
    }
    // Alerts that were active at some time in [from, to): opened before `to`, not resolved before `from`.
    if (q.toMs !== undefined) {
      where.push('opened_ms < ?');
      args.push(q.toMs);
    }
    if (q.fromMs !== undefined) {
      where.push('(resolved_ms IS NULL OR resolved_ms >= ?)');
      args.push(q.fromMs);
    }
    args.push(q.limit ?? 1000);
    const sql = `SELECT * FROM alerts ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args) as Row[]).map((r) => this.alertOf(r));
  }

  addAlertHistory(e: AlertHistoryEntry): void {
    this.db
      .prepare(`INSERT INTO alert_history (alert_id, at_ms, action, by, comment) VALUES (?, ?, ?, ?, ?)`)
      .run(e.alertId, e.atMs, e.action, e.by, e.comment);
  }

  alertHistory(alertId: number): AlertHistoryEntry[] {
    return (
      this.db
        .prepare(`SELECT * FROM alert_history WHERE alert_id = ? ORDER BY at_ms, rowid`)
        .all(alertId) as Row[]
    ).map((r) => ({
      alertId: num(r.alert_id),
      atMs: num(r.at_ms),
      action: str(r.action) as AlertHistoryEntry['action'],
      by: str(r.by),
      comment: str(r.comment),
    }));
  }

  streaks(manifestSha256: string, role: ReportRole): StreakState[] {
    return (
      this.db
        .prepare(`SELECT json FROM streaks WHERE manifest_sha = ? AND role = ?`)
        .all(manifestSha256, role) as Row[]
    ).map((r) => JSON.parse(str(r.json)) as StreakState);
  }

  putStreak(manifestSha256: string, role: ReportRole, state: StreakState): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO streaks (key, manifest_sha, role, json) VALUES (?, ?, ?, ?)`)
      .run(state.key, manifestSha256, role, JSON.stringify(state));
  }

  putEvaluation(e: WindowEvaluation): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO evaluations (manifest_sha, role, group_dim, window_ms, json) VALUES (?, ?, ?, ?, ?)`,
      )
      .run(
        e.manifestSha256,
        e.role,
        e.groupDimension,
        e.windowMs,
        JSON.stringify({ tests: e.tests, results: e.results }),
      );
  }

  evaluations(q: {
    manifestSha256: string;
    role: ReportRole;
    groupDimension: GroupDimension;
    fromMs: number;
    toMs: number;
  }): WindowEvaluation[] {
    return (
      this.db
        .prepare(
          `SELECT window_ms, json FROM evaluations WHERE manifest_sha = ? AND role = ? AND group_dim = ?
           AND window_ms >= ? AND window_ms < ? ORDER BY window_ms`,
        )
        .all(q.manifestSha256, q.role, q.groupDimension, q.fromMs, q.toMs) as Row[]
    ).map((r) => {
      const body = JSON.parse(str(r.json)) as Pick<WindowEvaluation, 'tests' | 'results'>;
      return {
        manifestSha256: q.manifestSha256,
        role: q.role,
        groupDimension: q.groupDimension,
        windowMs: num(r.window_ms),
        tests: body.tests,
        results: body.results,
      };
    });
  }

  watermark(manifestSha256: string, role: ReportRole): number | null {
    const r = this.db
      .prepare(`SELECT window_ms FROM watermarks WHERE manifest_sha = ? AND role = ?`)
      .get(manifestSha256, role) as Row | undefined;
    return r === undefined ? null : num(r.window_ms);
  }

  setWatermark(manifestSha256: string, role: ReportRole, windowMs: number): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO watermarks (manifest_sha, role, window_ms) VALUES (?, ?, ?)`)
      .run(manifestSha256, role, windowMs);
  }

  close(): void {
    if (this.db.open) this.db.close();
    if (this.journalDb?.open === true) this.journalDb.close();
  }
}

/**
 * A query's WHERE conditions and their arguments: the fixed ones, then `column = ?` for each filter
 * given (column names are constants of this file, never input).
 */
function conditions(
  fixed: readonly string[],
  fixedArgs: readonly unknown[],
  filters: Readonly<Record<string, string | undefined>>,
): { where: string[]; args: unknown[] } {
  const where = [...fixed];
  const args = [...fixedArgs];
  for (const [column, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    args.push(value);
  }
  return { where, args };
}
