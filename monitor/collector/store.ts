// The storage interface (docs/collector.md "Storage interface"). Everything the collector keeps goes
// through it; `SqliteCollectorStore` is the embedded default. The interface is synchronous because the
// embedded backend is; the ingest path calls the write side from one place (Ingestor.flush) inside one
// `write()` transaction per batch, so a server backend either implements it behind a dedicated writer
// (a synchronous driver in a worker) or turns these into promises in that one place.
//
// Contract for an implementation:
// - write(fn) runs fn atomically: all of it is durable or none of it is.
// - insertMessage is the deduplication authority: (device, seq) is unique; it returns false for a
//   message it already holds and then nothing else of that message is written.
// - addRollup merges (adds) the aggregate into the stored one of the same key; addDeviceDay adds its
//   counters. Both must be exact (integers as doubles up to 2^53).
// - Reads never see a half-written batch.
import type { ReferenceProfile } from '../../models/profile/index.ts';
import type { ReportRole } from '../report/index.ts';
import type { Aggregate } from './aggregate.ts';
import type {
  AlertRecord,
  AlertState,
  CheckpointRecord,
  DeviceDay,
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

export interface JournalEntry {
  readonly id: number;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly receivedMs: number;
  readonly seqHint: number | null;
}

export interface AlertHistoryEntry {
  readonly alertId: number;
  readonly atMs: number;
  readonly action: 'opened' | 'acknowledged' | 'resolved' | 'finding';
  readonly by: string;
  readonly comment: string;
}

export type NewAlert = Omit<AlertRecord, 'id'>;

export interface ReportQuery {
  readonly manifestSha256?: string;
  readonly role?: ReportRole;
  readonly device?: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly cohort?: string;
  readonly firmware?: string;
  readonly site?: string;
  readonly limit?: number;
}

export interface IncidentQuery {
  readonly fromMs: number;
  readonly toMs: number;
  readonly device?: string;
  readonly family?: string;
  readonly kinds?: readonly IncidentKind[];
  readonly limit?: number;
}

/** The write side, valid only inside `write()`. */
export interface CollectorWriter {
  insertMessage(message: StoredMessage): boolean;
  insertReport(row: ReportRow): void;
  addRollup(level: RollupLevel, key: RollupKey, aggregate: Aggregate): void;
  addDeviceDay(day: DeviceDay): void;
  putDevice(record: DeviceRecord): void;
  insertIncident(incident: Incident): void;
  /** false when the same (device, count, head) is already held. */
  insertCheckpoint(checkpoint: CheckpointRecord): boolean;
  addCounters(deltas: Readonly<Record<string, number>>): void;
  deleteJournal(ids: readonly number[]): void;
  upsertModel(model: ModelInfo): void;
}

export interface CollectorStore extends CollectorWriter {
  write<T>(fn: (w: CollectorWriter) => T): T;

  /** Settings the data depend on (e.g. the rollup window), so later readers interpret them right. */
  setting(name: string): string | null;
  putSetting(name: string, value: string): void;

  // Journal: raw messages taken from the broker and not yet processed (at-least-once across crashes).
  journalAppend(topic: string, payload: Uint8Array, receivedMs: number, seqHint?: number | null): number;
  journal(limit: number): JournalEntry[];

  // Enrolment
  putEnrolment(enrolment: Enrolment): void;
  enrolments(): Enrolment[];
  /** Enrolments with this kid or for this device (any state). */
  enrolmentsFor(kid: string, fleet: string, device: string): Enrolment[];
  retireDevice(fleet: string, device: string, atMs: number, by: string, reason: string): number;

  // Models and profiles
  models(): ModelInfo[];
  model(manifestSha256: string): ModelInfo | null;
  putProfile(profileSha256: string, profile: ReferenceProfile, addedMs: number): void;
  profile(profileSha256: string): ReferenceProfile | null;
  profileShas(): string[];

  // Devices and messages
  devices(): DeviceRecord[];
  device(device: string): DeviceRecord | null;
  reports(query: ReportQuery): ReportRow[];
  messagePayload(device: string, seq: number): Uint8Array | null;
  messageCounts(): Record<string, number>;

  // Aggregates
  rollups(query: RollupQuery): RollupRow[];
  rollupKeys(
    level: RollupLevel,
  ): { manifestSha256: string; role: ReportRole; firstBucketMs: number; lastBucketMs: number }[];
  deviceDays(query: { manifestSha256?: string; fromMs: number; toMs: number }): DeviceDay[];

  // Incidents, checkpoints, counters
  incidents(query: IncidentQuery): Incident[];
  checkpoints(device: string, limit?: number): CheckpointRecord[];
  lastCheckpoint(device: string): CheckpointRecord | null;
  counters(): Record<string, number>;

  // Alerts
  insertAlert(alert: NewAlert): number;
  updateAlert(alert: AlertRecord): void;
  alert(id: number): AlertRecord | null;
  activeAlert(key: string): AlertRecord | null;
  alerts(query: {
    state?: AlertState;
    manifestSha256?: string;
    fromMs?: number;
    toMs?: number;
    limit?: number;
  }): AlertRecord[];
  addAlertHistory(entry: AlertHistoryEntry): void;
  alertHistory(alertId: number): AlertHistoryEntry[];
  streaks(manifestSha256: string, role: ReportRole): StreakState[];
  putStreak(manifestSha256: string, role: ReportRole, state: StreakState): void;
  putEvaluation(evaluation: WindowEvaluation): void;
  evaluations(query: {
    manifestSha256: string;
    role: ReportRole;
    groupDimension: GroupDimension;
    fromMs: number;
    toMs: number;
  }): WindowEvaluation[];
  watermark(manifestSha256: string, role: ReportRole): number | null;
  setWatermark(manifestSha256: string, role: ReportRole, windowMs: number): void;

  close(): void;
}
