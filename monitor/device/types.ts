// The monitor's structural view of the runtime (monitor/ must not import runtime/): the minimum it
// reads from a pipeline result, a pipeline event and a delayed label. runtime's WindowResult,
// PipelineEvent and LabelSubmission are assignable to these types as they are, so the daemon can
// pass the DeviceMonitor itself as a PipelineObserver and as a LabelObserver (docs/telemetry-reports.md).
import type { Manifest } from '../../models/format/index.ts';
import type { ReferenceProfile } from '../../models/profile/index.ts';
import type {
  DriftAction,
  DriftEvent,
  DriftEventKind,
  DriftFlags,
  ReportRole,
  TelemetryReport,
} from '../report/index.ts';

export type MonitoredStatus =
  | { readonly kind: 'ok'; readonly score: number; readonly label: string; readonly positive: boolean }
  | { readonly kind: 'indeterminate'; readonly score: number }
  /** `reason`: a runtime FallbackReason code (unknown codes are reported as OTHER). */
  | { readonly kind: 'fallback'; readonly reason: string };

export interface MonitoredResult {
  readonly streamId: string;
  readonly cohort: string;
  /** Window end (device clock): decides whether a label is late. */
  readonly endMs: number;
  readonly status: MonitoredStatus;
  readonly provenance: { readonly bundleId: string };
  readonly latencyMs: number;
  /** A shadow candidate's result (never delivered to the firmware). */
  readonly shadow: boolean;
}

export interface MonitoredLabel {
  /** 1 = the positive class was present. */
  readonly value: 0 | 1;
}

export type MonitoredEvent =
  | { readonly kind: 'fallback-episode-start'; readonly streamId: string; readonly bundleId: string }
  | {
      readonly kind: 'fallback-episode-end';
      readonly streamId: string;
      readonly bundleId: string;
      readonly windows: number;
    }
  | {
      readonly kind: 'alert';
      readonly streamId: string;
      readonly bundleId: string;
      readonly source: 'model' | 'fallback-rule' | 'quality';
    };

/** What the monitor needs of a manifest (a parsed, verified models/format Manifest satisfies it). */
export type MonitoredManifest = Pick<
  Manifest,
  'bundleId' | 'modelFamily' | 'version' | 'sequence' | 'thresholds' | 'monitoring' | 'rollout'
> & { readonly model: Pick<Manifest['model'], 'featureNames'> };

/** A model the monitor accumulates for: its signed manifest and reference profile, with their hashes. */
export interface MonitoredModel {
  readonly manifest: MonitoredManifest;
  /** Lower-case hex SHA-256 of the manifest bytes (as in result provenance). */
  readonly manifestSha256: string;
  readonly profile: ReferenceProfile;
  /** Lower-case hex SHA-256 of the profile file (its entry in the manifest's `files`). */
  readonly profileSha256: string;
}

/** A report without what only the outbox knows (sequence, enqueue time, eviction counters). */
export type ReportDraft = Omit<TelemetryReport, 'seq' | 'createdMs' | 'evicted'>;
export type DriftEventDraft = Omit<DriftEvent, 'seq' | 'createdMs'>;

export interface DriftAlarm {
  readonly kind: DriftEventKind;
  readonly bundleId: string;
  readonly modelFamily: string;
  readonly cohort: string;
  readonly role: ReportRole;
  readonly atMs: number;
  /** What the signed policy asks the device to do about it (never a model change). */
  readonly action: DriftAction;
  readonly direction: 'up' | 'down' | null;
  readonly interval: { readonly startMs: number; readonly endMs: number } | null;
  readonly flags: readonly DriftFlags[];
  /** The event to enqueue (class `alert`, topic `event`); null when the policy says "report only". */
  readonly event: DriftEventDraft | null;
}

/** The declared safe action, for the runtime to honour (e.g. runner.setOverride OUTPUTS_SUPPRESSED). */
export interface SuppressOutputsRequest {
  readonly bundleId: string;
  readonly modelFamily: string;
  readonly sinceMs: number;
  readonly alarm: DriftAlarm;
}

export interface MonitorCallbacks {
  /** Every drift alarm (interval drift, score change, quality change), whatever the policy. */
  readonly onAlarm?: (alarm: DriftAlarm) => void;
  /**
   * The policy's `suppress-outputs` fired for an active model: force its results to the declared
   * fallback until liftSuppression() (a signed command or a new release). Called once per episode.
   */
  readonly onSuppressOutputs?: (request: SuppressOutputsRequest) => void;
}

/** Where the monitor keeps its state across restarts (a JSON file by default: jsonFileStore). */
export interface MonitorStateStore {
  load(): string | null;
  save(text: string): void;
}

export interface DeviceMonitorOptions {
  readonly fleet: string;
  readonly device: string;
  readonly runtimeVersion: string;
  readonly firmwareVersion: string;
  /** Wall clock, ms since the epoch (injected: tests drive intervals with a fake clock). */
  readonly now: () => number;
  readonly callbacks?: MonitorCallbacks;
  readonly store?: MonitorStateStore;
  /** Upper bound on (model, cohort, role) groups held at once; results of further groups are dropped and counted. */
  readonly maxGroups?: number;
}

export interface MonitorCounters {
  readonly observed: number;
  /** Results of a bundle that was never registered. */
  readonly unknownModel: number;
  /** Results whose feature vector length differs from the profile's. */
  readonly featureMismatch: number;
  /** Results dropped because maxGroups was reached. */
  readonly groupLimit: number;
  readonly labels: number;
  readonly labelsUnknownModel: number;
  readonly shadowPairs: number;
  readonly callbackErrors: number;
  readonly groups: number;
}
