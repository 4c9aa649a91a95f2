// The bundle manifest: everything that shapes clinical behaviour, signed as one CBOR map.
// Field meanings follow IETF SUIT (RFC 9124: sequence number, class ids, digests, precursor, expiry)
// and the release practice in DESIGN.md. Times are integer milliseconds since the Unix epoch (UTC).
import type { PreprocessingStep } from '../ops/types.ts';

export const MANIFEST_FORMAT_VERSION = 1;

export interface Manifest {
  readonly formatVersion: 1;
  /** Unique, human-readable id of this release, e.g. `fall-detector@1.2.0`. */
  readonly bundleId: string;
  /** Anti-rollback and activation are per family (one active model per family). */
  readonly modelFamily: string;
  /** Semantic version of the release (semver 2.0). */
  readonly version: string;
  /** SUIT sequence number: strictly increasing per family. */
  readonly sequence: number;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  /** SUIT vendor/class identifiers the bundle may be installed on. */
  readonly deviceClasses: readonly DeviceClass[];
  readonly runtime: RuntimeRequirement;
  /** SUIT precursor: a sequence of this family that must be installed first (null: none). */
  readonly precursorSequence: number | null;
  /** Plain-language intended use, as approved. */
  readonly intendedUse: string;
  readonly input: InputSpec;
  readonly preprocessing: readonly PreprocessingStep[];
  readonly model: ModelSpec;
  readonly output: OutputSpec;
  readonly thresholds: ThresholdTable;
  readonly postprocessing: PostprocessingRules;
  readonly quality: QualityPolicy;
  readonly ood: OodPolicy;
  readonly fallback: FallbackPolicy;
  readonly monitoring: MonitoringPolicy;
  readonly rollout: RolloutPolicy;
  readonly provenance: Provenance;
  readonly evidence: EvidenceSummary;
  /** Every file the bundle carries, with exact size and SHA-256 digest. */
  readonly files: readonly FileEntry[];
  /** Plain-language notes for reviewers: what changed and why (shown by `vigil bundle inspect`). */
  readonly releaseNotes?: string;
  /**
   * Names of extra top-level fields a verifier may ignore when it does not know them (the inverse of
   * COSE `crit`). Any other unknown field makes the manifest invalid.
   */
  readonly optionalFields?: readonly string[];
  /** The values of those optional fields, as found in the manifest (informational only). */
  readonly extensions?: Readonly<Record<string, unknown>>;
}

export interface DeviceClass {
  readonly vendorId: string;
  readonly classId: string;
}

export interface RuntimeRequirement {
  /** Inclusive lower bound (semver). */
  readonly minVersion: string;
  /** Exclusive upper bound (semver), or null for none. */
  readonly maxVersionExclusive: string | null;
}

export type SensorKind = 'accel' | 'ecg' | 'ppg';

export interface ChannelSpec {
  readonly name: string;
  readonly unit: string;
  /** Valid physical range; values outside it fail the quality gate. */
  readonly min: number;
  readonly max: number;
}

export interface InputSpec {
  readonly sensor: SensorKind;
  readonly channels: readonly ChannelSpec[];
  readonly sampleRateHz: number;
  /** Accepted relative deviation of the stream's declared rate (resampled within it, refused beyond). */
  readonly rateToleranceRel: number;
  readonly windowS: number;
  readonly hopS: number;
}

export interface ModelSpec {
  /** Path of the ONNX file inside the bundle (also listed in `files`). */
  readonly file: string;
  readonly opset: number;
  readonly inputName: string;
  readonly outputName: string;
  /** Name of the `features` value produced by preprocessing that feeds the model. */
  readonly featuresFrom: string;
  /** Feature order expected by the model's input tensor [batch, featureNames.length]. */
  readonly featureNames: readonly string[];
  /** Path of the reference profile (drift bins) inside the bundle. */
  readonly profileFile: string;
  /** Path of the evidence file inside the bundle. */
  readonly evidenceFile: string;
}

export interface OutputLabel {
  readonly name: string;
  readonly meaning: string;
}

export interface OutputSpec {
  /** The model emits one score p(positive) in [0, 1]. */
  readonly scoreMeaning: string;
  readonly positive: OutputLabel;
  readonly negative: OutputLabel;
}

export interface ThresholdTable {
  readonly version: string;
  /** Score at or above which a window is positive. */
  readonly operatingThreshold: number;
  /** Once positive, the score must fall below this to clear (hysteresis). */
  readonly releaseThreshold: number;
  /** Scores in [indeterminateLow, operatingThreshold) are reported as indeterminate. */
  readonly indeterminateLow: number;
}

export interface PostprocessingRules {
  readonly version: string;
  /** Positive windows in a row needed before an alert is raised. */
  readonly consecutiveWindows: number;
  /** After an alert, no new alert for this long. */
  readonly refractoryMs: number;
}

export interface QualityPolicy {
  readonly version: string;
  /** Maximum fraction of missing samples in a window. */
  readonly maxMissingFraction: number;
  /** Maximum fraction of samples at the channel's min/max (clipping). */
  readonly maxClippedFraction: number;
  /** A channel whose peak-to-peak amplitude is below this (in its unit) is flat. */
  readonly flatlinePeakToPeak: number;
  /** Maximum relative deviation of inter-frame timing from the declared rate. */
  readonly maxRateJitterRel: number;
  /** Sensor flags that make a window unusable (e.g. `lead-off`). */
  readonly rejectFlags: readonly string[];
  /** Signal quality indices with their bounds (names from the op catalogue, e.g. `ecg_psqi`). */
  readonly sqi: readonly SqiBound[];
  /** PPG only: reject windows when accelerometer activity (g, SD of magnitude) exceeds this. */
  readonly motionGateG: number | null;
}

export interface SqiBound {
  readonly name: string;
  readonly min: number | null;
  readonly max: number | null;
}

export interface OodPolicy {
  readonly version: string;
  /** Fraction of features allowed outside the profile's support (beyond its outer edges). */
  readonly maxFeaturesOutsideSupport: number;
  /** Mahalanobis-like distance (diagonal, in reference SDs, RMS over features) above which the window is OOD. */
  readonly maxDistance: number;
}

/** The declared safe behaviour when the model must not be trusted (DESIGN.md, "safe degradation"). */
export type FallbackPolicy =
  | { readonly kind: 'suppress'; readonly version: string }
  | { readonly kind: 'alert'; readonly version: string; readonly message: string }
  | {
      readonly kind: 'rule';
      readonly version: string;
      readonly rule: RuleExpr;
      readonly positiveLabel: string;
    };

/** A tiny expression language evaluated by a safe interpreter (never `eval`). */
export type RuleExpr =
  | { readonly op: 'feature'; readonly name: string }
  | { readonly op: 'const'; readonly value: number }
  | { readonly op: 'gt' | 'ge' | 'lt' | 'le'; readonly left: RuleExpr; readonly right: RuleExpr }
  | { readonly op: 'and' | 'or'; readonly args: readonly RuleExpr[] }
  | { readonly op: 'not'; readonly arg: RuleExpr };

export interface MonitoringPolicy {
  readonly version: string;
  readonly reportIntervalS: number;
  /** Statistics computed per feature and for the score. */
  readonly statistics: readonly ('psi' | 'js' | 'ks' | 'wasserstein' | 'chi2')[];
  /** Per-test false-alarm rate used to pick sample-size-aware thresholds. */
  readonly alpha: number;
  /** What a drift alarm does on the device. Never a model change. */
  readonly onDrift: 'report' | 'alert' | 'suppress-outputs';
  /**
   * Page–Hinkley change detection on the per-window score against the reference profile's score
   * mean, calibrated at build time: every setting the calibration used is stated here.
   */
  readonly changeDetection: {
    readonly delta: number;
    readonly lambda: number;
    readonly direction: 'both' | 'up' | 'down';
    /** No alarm before this many windows since the last reset. */
    readonly minSamples: number;
    /** Estimated false alarms per 10,000 windows under the reference distribution. */
    readonly falseAlarmsPer10kWindows: number;
  };
}

export interface RolloutPolicy {
  readonly shadowMinWindows: number;
  /** Minimum fraction of shadow windows where candidate and active agree on status and label. */
  readonly shadowMinAgreement: number;
  /** Maximum allowed increase of the fallback rate (absolute fraction) in shadow. */
  readonly maxFallbackRateIncrease: number;
  /** Maximum allowed increase of alerts per 1,000 windows in shadow. */
  readonly maxAlertRateIncreasePer1k: number;
  readonly autoPromote: boolean;
  readonly probation: {
    readonly windows: number;
    readonly maxInferenceErrors: number;
    readonly maxDeadlineMisses: number;
    readonly maxFallbackRate: number;
    readonly maxLatencyP99Ms: number;
  };
}

export interface Provenance {
  readonly sourceCommit: string;
  readonly trainingRunId: string;
  readonly datasetSnapshotSha256: string;
  readonly splitKey: string;
  readonly dependencyLockSha256: string;
  readonly seed: number;
  readonly hyperparameters: Readonly<Record<string, number | string>>;
}

export interface MetricSet {
  readonly n: number;
  readonly sensitivity: number;
  readonly specificity: number;
  readonly rocAuc: number;
  readonly ece: number;
}

export interface AcceptanceCriterion {
  readonly metric: string;
  readonly comparator: '>=' | '<=';
  readonly threshold: number;
  readonly observed: number;
  readonly passed: boolean;
}

export interface EvidenceSummary {
  readonly testSet: MetricSet;
  readonly perCohort: readonly ({ readonly cohort: string } & MetricSet)[];
  readonly acceptance: readonly AcceptanceCriterion[];
  readonly allPassed: boolean;
}

export interface FileEntry {
  readonly path: string;
  readonly size: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}
