// Records the collector keeps (docs/collector.md "Storage"). Plain data: the storage interface moves
// these between the ingest path, the analytics and a backend (SQLite here, a server database later).
import type { ReferenceProfile } from '../../models/profile/index.ts';
import type { ReportRole, ReportStatistic } from '../report/index.ts';
import type { Aggregate } from './aggregate.ts';
import type { SequenceSnapshot } from './sequence.ts';

/** An enrolled device key (from a verified enrolment record; the record's bytes are kept as evidence). */
export interface Enrolment {
  readonly fleet: string;
  readonly device: string;
  readonly kid: string;
  readonly publicKey: Uint8Array;
  readonly deviceClass: { readonly vendorId: string; readonly classId: string };
  readonly enrolledAtMs: number;
  /** Who signed the enrolment (the field engineer's key id). */
  readonly enrolledBy: string;
  /** Operator metadata, not signed: where the device is deployed (a grouping dimension). */
  readonly site: string;
  readonly record: Uint8Array;
  readonly retiredAtMs: number | null;
  readonly retiredBy: string | null;
  readonly retiredReason: string | null;
}

/** A model version the collector knows, keyed by the SHA-256 of its signed manifest. */
export interface ModelInfo {
  readonly manifestSha256: string;
  readonly profileSha256: string;
  readonly family: string;
  readonly bundleId: string;
  readonly version: string;
  readonly sequence: number;
  /** From the signed manifest (null when the model is only known from reports). */
  readonly operatingThreshold: number | null;
  readonly indeterminateLow: number | null;
  /** The monitoring policy's statistics (null: unknown, all four are used). */
  readonly statistics: readonly ReportStatistic[] | null;
  readonly reportIntervalS: number | null;
  readonly intendedUse: string | null;
  readonly positiveLabel: string | null;
  /** How the collector learnt of it: a verified bundle, a registered profile file, or reports only. */
  readonly source: 'bundle' | 'profile' | 'report';
  /** What was verified (trust version, approvals), for the surveillance report. */
  readonly verification: string | null;
  readonly registeredMs: number;
}

export interface ProfileEntry {
  readonly profileSha256: string;
  readonly profile: ReferenceProfile;
}

/** Grouping dimensions of rollups (time is the other one). */
export const GROUP_DIMENSIONS = ['cohort', 'firmware', 'site'] as const;
export type GroupDimension = (typeof GROUP_DIMENSIONS)[number];

export interface RollupKey {
  readonly bucketMs: number;
  readonly manifestSha256: string;
  readonly role: ReportRole;
  readonly cohort: string;
  readonly firmware: string;
  readonly site: string;
}

export interface RollupRow extends RollupKey {
  readonly aggregate: Aggregate;
}

/** Rollup granularities: the evaluation bucket (default one hour) and whole UTC days. */
export type RollupLevel = 'bucket' | 'day';

export interface RollupQuery {
  readonly level: RollupLevel;
  readonly manifestSha256?: string;
  readonly role?: ReportRole;
  /** [fromMs, toMs) on bucket start. */
  readonly fromMs: number;
  readonly toMs: number;
  readonly cohort?: string;
  readonly firmware?: string;
  readonly site?: string;
}

/** Per device and UTC day: how long it ran each model (hours of use), its alerts and fallbacks. */
export interface DeviceDay {
  readonly dayMs: number;
  readonly device: string;
  readonly manifestSha256: string;
  readonly role: ReportRole;
  readonly cohort: string;
  readonly firmware: string;
  readonly site: string;
  readonly reports: number;
  readonly coveredMs: number;
  readonly windows: number;
  readonly fallback: number;
  readonly alerts: number;
  readonly driftAlarmReports: number;
}

export type DeviceOnline = 'online' | 'offline' | 'unknown';

export interface DeviceRecord {
  readonly fleet: string;
  readonly device: string;
  readonly online: DeviceOnline;
  readonly bdSeq: number | null;
  readonly stateAtMs: number | null;
  readonly lastSeenMs: number | null;
  readonly lastReportMs: number | null;
  readonly lastReportEndMs: number | null;
  readonly manifestSha256: string | null;
  readonly modelLabel: string | null;
  readonly cohort: string | null;
  readonly firmware: string | null;
  readonly runtime: string | null;
  readonly reports: number;
  readonly sequence: SequenceSnapshot | null;
}

export type MessageKind = 'report' | 'drift-event' | 'safety-event' | 'checkpoint' | 'update-status';

export interface StoredMessage {
  readonly device: string;
  readonly seq: number;
  readonly kind: MessageKind;
  readonly fleet: string;
  readonly receivedMs: number;
  readonly createdMs: number;
  readonly kid: string | null;
  /** The bytes as received (signed messages: the whole COSE_Sign1, the evidence). */
  readonly payload: Uint8Array;
}

export interface ReportRow {
  readonly device: string;
  readonly seq: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly manifestSha256: string;
  readonly role: ReportRole;
  readonly cohort: string;
  readonly firmware: string;
  readonly site: string;
  readonly windows: number;
  readonly fallback: number;
  readonly driftAlarm: boolean;
}

/** Incidents: safety events from devices and what the collector infers (docs/collector.md "Incidents"). */
export type IncidentKind =
  | 'rollback'
  | 'freeze'
  | 'unfreeze'
  | 'revocation'
  | 'bundle-integrity'
  | 'suppression'
  | 'drift-alarm'
  | 'update-rejected'
  | 'audit-chain'
  /** Two validly signed messages with the same sequence number and different bytes. */
  | 'equivocation'
  | 'other';

export interface Incident {
  readonly id?: number;
  readonly atMs: number;
  readonly device: string;
  readonly kind: IncidentKind;
  /** `device`: the device said so in a signed message; `inferred`: the collector deduced it. */
  readonly source: 'device' | 'inferred';
  readonly family: string | null;
  readonly manifestSha256: string | null;
  readonly summary: string;
  readonly detail: Readonly<Record<string, unknown>>;
  /** The message it came from, when one did. */
  readonly seq: number | null;
}

export interface CheckpointRecord {
  readonly device: string;
  readonly count: number;
  readonly headHash: string;
  readonly atMs: number;
  readonly receivedMs: number;
  readonly kid: string;
  readonly signed: Uint8Array;
}

export type AlertState = 'open' | 'acknowledged' | 'resolved';

export interface AlertAction {
  readonly by: string;
  readonly comment: string;
  readonly atMs: number;
}

/** One window in which the rule's finding held, with the numbers behind it. */
export interface FindingWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly n: number;
  readonly nEffective: number;
  /** The cohort's design effect for this variable (devices as clusters); 1 = windows independent. */
  readonly designEffect: number;
  readonly statistics: Readonly<Record<string, number>>;
  readonly thresholds: Readonly<Record<string, number>>;
  readonly pValue: number;
  readonly qValue: number;
  readonly tests: number;
}

export interface DeviceEvidence {
  readonly device: string;
  readonly n: number;
  /** PSI of this device's own counts of the variable against the reference, over the finding windows. */
  readonly psi: number | null;
  /** The reports (sequence numbers and intervals) behind its counts. */
  readonly reports: readonly { readonly seq: number; readonly startMs: number; readonly endMs: number }[];
}

export interface AlertEvidence {
  readonly rule: string;
  readonly windows: readonly FindingWindow[];
  readonly devices: readonly DeviceEvidence[];
  readonly bundle: {
    readonly family: string;
    readonly bundleId: string;
    readonly version: string;
    readonly manifestSha256: string;
    readonly profileSha256: string;
  };
}

export interface AlertRecord {
  readonly id: number;
  readonly key: string;
  readonly state: AlertState;
  readonly manifestSha256: string;
  readonly role: ReportRole;
  readonly groupDimension: GroupDimension;
  readonly groupValue: string;
  readonly variableIndex: number;
  readonly variableName: string;
  readonly openedMs: number;
  readonly firstWindowMs: number;
  readonly lastWindowMs: number;
  readonly acknowledged: AlertAction | null;
  readonly resolved: AlertAction | null;
  readonly evidence: AlertEvidence;
}

/** Rule progress per (model, role, group, variable): consecutive finding windows so far. */
export interface StreakState {
  readonly key: string;
  readonly streak: number;
  readonly lastWindowMs: number;
  readonly windows: readonly FindingWindow[];
}

/** One (group, variable) result of an evaluated window, as the alert rule saw it. */
export interface EvaluatedTest {
  readonly group: string;
  readonly index: number;
  readonly n: number;
  readonly psi: number | null;
  readonly threshold: number | null;
  readonly qValue: number | null;
  readonly designEffect: number;
  readonly finding: boolean;
}

/** An evaluated window, kept so the dashboard shows exactly what the rule decided. */
export interface WindowEvaluation {
  readonly manifestSha256: string;
  readonly role: ReportRole;
  readonly groupDimension: GroupDimension;
  readonly windowMs: number;
  readonly tests: number;
  readonly results: readonly EvaluatedTest[];
}
