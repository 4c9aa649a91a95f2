// Telemetry report and drift event: the decoded (TypeScript) form of what a device signs and the fleet
// collector verifies. The wire form (integer keys, compact count vectors) and its CDDL are in
// docs/telemetry-reports.md; codec.ts is the only place that knows it.
//
// Everything that must merge across devices and time is an integer: bin counts, Σy, and Σp̂ in
// micro-units (round(Σp̂·10⁶) per bin), so a collector's sums are exact and order-independent.

export const REPORT_FORMAT_VERSION = 1;
export const REPORT_CONTENT_TYPE = 'application/vnd.vigil.report+cbor';
export const DRIFT_EVENT_CONTENT_TYPE = 'application/vnd.vigil.drift-event+cbor';

/** Σp̂ is carried as round(Σp̂ · SUM_P_SCALE): exact integer merges, ≤ 5·10⁻⁷ rounding per bin and report. */
export const SUM_P_SCALE = 1_000_000;

/**
 * Fallback reasons with their wire codes (the index). Must stay in this order within a format
 * version; a new reason is a new format version. A device that meets a reason this table does not
 * know counts it under OTHER.
 */
export const REPORT_FALLBACK_REASONS = [
  'QUALITY_NAN',
  'QUALITY_RANGE',
  'QUALITY_FLATLINE',
  'QUALITY_CLIPPING',
  'QUALITY_MISSING',
  'QUALITY_RATE_JITTER',
  'QUALITY_SENSOR_FLAG',
  'QUALITY_SQI',
  'QUALITY_MOTION',
  'QUALITY_MOTION_UNAVAILABLE',
  'OOD_SUPPORT',
  'OOD_DISTANCE',
  'FEATURES_INVALID',
  'INFERENCE_ERROR',
  'DEADLINE_MISS',
  'MODEL_REVOKED',
  'OUTPUTS_SUPPRESSED',
  'OTHER',
] as const;

export type ReportFallbackReason = (typeof REPORT_FALLBACK_REASONS)[number];

/** Quality-check failures are the reasons starting with QUALITY_ (the quality-failure rate counts these). */
export function isQualityReason(reason: ReportFallbackReason): boolean {
  return reason.startsWith('QUALITY_');
}

/** Drift statistics with their flag bits (bit i = 1 << index). Same names as monitor/stats. */
export const REPORT_STATISTICS = ['psi', 'js', 'ks', 'wasserstein', 'chi2'] as const;
export type ReportStatistic = (typeof REPORT_STATISTICS)[number];

/** Flag bits of one variable's drift decisions in one interval (DriftFlags.flags). */
export const DRIFT_FLAG = Object.freeze({
  psi: 1,
  js: 2,
  ks: 4,
  wasserstein: 8,
  chi2: 16,
  /** More missing (NaN) values than the reference share explains: exact binomial p < α. */
  missingness: 32,
  /** A table threshold was extrapolated beyond the profile's grid of n for at least one statistic. */
  extrapolated: 64,
  /** The variable was rejected by the family-wise rule that raises the interval's drift alarm. */
  alarm: 128,
});

/** Outbox message classes in wire order (monitor/outbox MESSAGE_CLASSES). */
export const REPORT_OUTBOX_CLASSES = [
  'routine-report',
  'event',
  'update-status',
  'alert',
  'audit-checkpoint',
  'safety-event',
] as const;
export type ReportOutboxClass = (typeof REPORT_OUTBOX_CLASSES)[number];

/** Which approved configuration the counts belong to. */
export interface ReportModel {
  readonly family: string;
  readonly bundleId: string;
  readonly version: string;
  /** SUIT sequence of the bundle. */
  readonly sequence: number;
  /** Lower-case hex SHA-256 of the signed manifest bytes (as in result provenance). */
  readonly manifestSha256: string;
  /** Lower-case hex SHA-256 of the profile file in the bundle (its `files` entry): bins and null tables. */
  readonly profileSha256: string;
}

/** `active`: the model whose results the firmware received; `shadow`: a candidate running in shadow. */
export type ReportRole = 'active' | 'shadow';

export interface StatusCounts {
  readonly ok: number;
  readonly indeterminate: number;
  readonly fallback: number;
}

export interface AlertCounts {
  /** Alerts raised by post-processing of model outputs. */
  readonly model: number;
  /** Alerts raised by the declared fallback rule. */
  readonly fallbackRule: number;
  readonly quality: number;
}

export interface EpisodeCounts {
  /** Fallback episodes that started / ended in the interval, and the windows of the ended ones. */
  readonly started: number;
  readonly ended: number;
  readonly windows: number;
}

/** (n, Σp̂, Σy) per score bin, score-bin layout of the profile (m + 3 entries each). */
export interface ScoreSection {
  /** Scored windows (ok + indeterminate) per score bin. */
  readonly counts: readonly number[];
  /** round(Σp̂ · 10⁶) per score bin over the same windows: the CBPE input. */
  readonly sumPMicro: readonly number[];
}

export interface LabelSection {
  /** Labelled scored windows per score bin (labels counted in the interval they ARRIVE in). */
  readonly n: readonly number[];
  readonly sumPMicro: readonly number[];
  /** Positive labels per score bin. */
  readonly sumY: readonly number[];
  /** Of the labels counted here, those whose result ended before this interval started. */
  readonly late: number;
  /** Labels joined to results without a score (fallbacks): counted, not in the bins. */
  readonly unscored: number;
}

export interface DriftFlags {
  /** Feature index in profile order; `features.length` denotes the score. */
  readonly index: number;
  /** OR of DRIFT_FLAG bits (never 0 on the wire). */
  readonly flags: number;
}

export interface DriftSection {
  /** The monitoring policy's statistics, in REPORT_STATISTICS order. */
  readonly statistics: readonly ReportStatistic[];
  /** The family-wise drift alarm of this interval fired (docs/telemetry-reports.md "Drift alarm"). */
  readonly alarm: boolean;
  /** Variables with any flag set, in increasing index order. */
  readonly flags: readonly DriftFlags[];
}

export interface ChangeSection {
  /** Page–Hinkley on the per-window score: alarms in the interval and statistics at its end (float32). */
  readonly scoreAlarmsUp: number;
  readonly scoreAlarmsDown: number;
  readonly scoreUp: number;
  readonly scoreDown: number;
  /** CUSUM on the per-window quality-failure indicator (increase side). */
  readonly qualityAlarms: number;
  readonly quality: number;
}

export interface ShadowSection {
  readonly candidateBundleId: string;
  /** Windows for which both the active model and the candidate produced a result. */
  readonly pairs: number;
  /** Pairs with the same status kind and, for `ok`, the same label. */
  readonly agreements: number;
  /** The candidate's statuses over the pairs. */
  readonly candidate: StatusCounts;
  /** Over pairs where both are `ok`: both positive, active only, candidate only, neither. */
  readonly positives: {
    readonly both: number;
    readonly activeOnly: number;
    readonly candidateOnly: number;
    readonly neither: number;
  };
}

export interface TelemetryReport {
  readonly formatVersion: 1;
  readonly fleet: string;
  readonly device: string;
  /** Outbox sequence number (per device, strictly increasing): receivers dedupe by (device, seq). */
  readonly seq: number;
  /** When the report was enqueued (ms since the epoch, device clock). */
  readonly createdMs: number;
  /** The interval [startMs, endMs) the counts cover (device clock, aligned to the policy's interval). */
  readonly startMs: number;
  readonly endMs: number;
  readonly model: ReportModel;
  readonly role: ReportRole;
  readonly cohort: string;
  readonly runtimeVersion: string;
  readonly firmwareVersion: string;
  readonly windows: StatusCounts;
  /** Fallback windows by reason; zero entries omitted. Σ = windows.fallback. */
  readonly fallbackReasons: Readonly<Partial<Record<ReportFallbackReason, number>>>;
  readonly alerts: AlertCounts;
  readonly episodes: EpisodeCounts;
  /** Counts per feature (profile order, m + 3 layout each) over windows whose preprocessing ran. */
  readonly features: readonly (readonly number[])[];
  readonly score: ScoreSection;
  /** null when no label arrived in the interval. */
  readonly labels: LabelSection | null;
  /** Result latency, monitor/stats DEFAULT_LATENCY_BINS layout (63 counts); Σ = all windows. */
  readonly latency: readonly number[];
  readonly drift: DriftSection;
  readonly change: ChangeSection;
  /** One entry per candidate that ran in shadow next to this (active) model; empty otherwise. */
  readonly shadow: readonly ShadowSection[];
  /** Cumulative outbox evictions per class at enqueue time (monitor/outbox stats()). */
  readonly evicted: Readonly<Record<ReportOutboxClass, number>>;
  /** Set while the policy's safe action `suppress-outputs` is in force for this model (since when). */
  readonly suppressedSinceMs: number | null;
}

/** What a drift alarm is about. */
export type DriftEventKind =
  /** The family-wise interval test (bins against the profile) rejected. */
  | 'interval-drift'
  /** Page–Hinkley on the score mean signalled. */
  | 'score-change'
  /** CUSUM on the quality-failure rate signalled. */
  | 'quality-change';

/** What the device did, per the signed monitoring policy (`onDrift`). Never a model change. */
export type DriftAction = 'report' | 'alert' | 'suppress-outputs';

/** A drift alarm sent on its own (outbox class `alert`, topic suffix `event`) when the policy says so. */
export interface DriftEvent {
  readonly formatVersion: 1;
  readonly fleet: string;
  readonly device: string;
  readonly seq: number;
  readonly createdMs: number;
  readonly kind: DriftEventKind;
  readonly model: ReportModel;
  readonly role: ReportRole;
  readonly cohort: string;
  /** When the alarm was raised (device clock). */
  readonly atMs: number;
  readonly action: DriftAction;
  /** `score-change` / `quality-change`: which way; `interval-drift`: null. */
  readonly direction: 'up' | 'down' | null;
  /** `interval-drift`: the interval and its flags (as in the report); null otherwise. */
  readonly interval: { readonly startMs: number; readonly endMs: number } | null;
  readonly flags: readonly DriftFlags[];
}

/** Caps the decoder enforces before and while reading (untrusted input). */
export const REPORT_LIMITS = Object.freeze({
  /** A whole signed report or event. */
  maxBytes: 64 * 1024,
  maxFeatures: 1024,
  /** Entries of one count vector (profile: ≤ 1025 edges → ≤ 1027 counts). */
  maxCounts: 1027,
  maxShadowEntries: 8,
  maxTextBytes: 128,
  /** Longest interval a report may cover: 31 days. */
  maxIntervalMs: 31 * 24 * 3600 * 1000,
});

/** Fleet and device ids (docs/telemetry.md "Topics"). */
export const REPORT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
