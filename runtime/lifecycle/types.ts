// What the lifecycle returns and reports: outcomes of installs and commands (tagged unions), the
// serving plan the daemon applies to the pipeline, and the status `vigil status` shows.
import type { DeviceClass, Manifest } from '../../models/format/index.ts';
import type {
  Activation,
  ActiveMode,
  BundleState,
  DeploymentStage,
  FrozenState,
  InstallSource,
  Probation,
  ShadowCounters,
  Suppression,
} from '../state/index.ts';
import type { Command } from './command.ts';
import type { RejectCode } from './errors.ts';
import type { PromotionCheck, ProbationVerdict } from './evidence.ts';

export interface DeviceIdentity {
  readonly deviceId: string;
  readonly fleet: string;
  /** The cohort this device belongs to (commands may target a cohort); null: none. */
  readonly cohort: string | null;
  readonly deviceClass: DeviceClass;
  readonly runtimeVersion: string;
}

/** A bundle as the serving side needs it: where its verified files are, and its manifest. */
export interface BundleRef {
  readonly manifestSha256: string;
  readonly bundleId: string;
  readonly family: string;
  readonly version: string;
  readonly sequence: number;
  readonly dir: string;
  readonly manifest: Manifest;
}

export interface BundleSummary {
  readonly manifestSha256: string;
  readonly bundleId: string;
  readonly family: string;
  readonly version: string;
  readonly sequence: number;
  readonly approvedFor: DeploymentStage;
  readonly state: BundleState;
  readonly stateDetail: string | null;
  readonly source: InstallSource;
  readonly installedAtMs: number;
}

/** What the pipeline should run for a family. */
export interface FamilyPlan {
  readonly family: string;
  readonly active: {
    readonly bundle: BundleRef;
    /**
     * Non-null: the declared fallback answers every window (ModelRunner.setOverride) — MODEL_REVOKED
     * when the bundle must not run (withdrawn, revoked, failed), else OUTPUTS_SUPPRESSED while a
     * suppression of this bundle is in force.
     */
    readonly override: {
      readonly reason: 'MODEL_REVOKED' | 'OUTPUTS_SUPPRESSED';
      readonly detail: string;
    } | null;
  } | null;
  /** The candidate running in shadow beside the active model (null when none or no active). */
  readonly shadow: BundleRef | null;
}

/**
 * The serving side of the lifecycle (the daemon): loads a bundle's model before a switch is committed,
 * and applies the plans after it. Without a host (CLI, crash driver) only the state changes.
 */
export interface ServingHost {
  /** Loads (or reuses) the model of a bundle, re-hashing what it reads; throws when it cannot. */
  prepare(bundle: BundleRef): Promise<void>;
  /** Called after every committed change with the plans of every family; must not throw. */
  apply(plans: readonly FamilyPlan[]): void;
}

export type InstallOutcome =
  /** The family had no active model: this bundle now serves, on probation. */
  | { readonly kind: 'activated'; readonly bundle: BundleSummary }
  /** Installed as the candidate, running in shadow beside the active model. */
  | { readonly kind: 'shadow'; readonly bundle: BundleSummary; readonly superseded: BundleSummary | null }
  /** Installed as the candidate, but nothing is active to shadow (awaits a promote command). */
  | { readonly kind: 'installed'; readonly bundle: BundleSummary }
  /** The same manifest was installed before (a re-sent transfer, a crash replay): nothing changed. */
  | { readonly kind: 'duplicate'; readonly bundle: BundleSummary; readonly slot: string | null }
  | { readonly kind: 'rejected'; readonly code: RejectCode; readonly detail: string };

export type CommandOutcome =
  | {
      readonly kind: 'accepted';
      readonly command: Command;
      readonly kid: string;
      /** What it did, in words. */
      readonly effect: string;
    }
  | {
      readonly kind: 'rejected';
      readonly code: RejectCode;
      readonly detail: string;
      /** Null when the signature did not verify. */
      readonly kid: string | null;
      readonly command: Command | null;
    };

/** A local or commanded rollback, or a promotion, as an outcome. */
export type ActionOutcome =
  | { readonly kind: 'done'; readonly effect: string }
  | { readonly kind: 'rejected'; readonly code: RejectCode; readonly detail: string };

export type TrustOutcome =
  | { readonly kind: 'rotated'; readonly from: number; readonly to: number }
  | { readonly kind: 'unchanged'; readonly version: number }
  | { readonly kind: 'rejected'; readonly code: string; readonly detail: string };

export interface FamilyStatus {
  readonly family: string;
  readonly active: {
    readonly bundle: BundleSummary;
    readonly sinceMs: number;
    readonly mode: ActiveMode;
    readonly activation: Activation;
    readonly probation: Probation;
    readonly verdict: ProbationVerdict | null;
  } | null;
  readonly candidate: {
    readonly bundle: BundleSummary;
    readonly sinceMs: number;
    readonly stage: 'shadow';
    readonly shadow: ShadowCounters;
    readonly promotion: PromotionCheck;
    readonly autoPromote: boolean;
  } | null;
  readonly lastKnownGood: { readonly bundle: BundleSummary; readonly sinceMs: number } | null;
}

export interface LifecycleStatus {
  readonly deviceId: string;
  readonly fleet: string;
  readonly cohort: string | null;
  readonly frozen: FrozenState;
  readonly trust: { readonly version: number; readonly sha256: string };
  readonly families: readonly FamilyStatus[];
  readonly bundles: readonly BundleSummary[];
  readonly revocations: number;
  /** Output suppressions in force (each applies while its bundle is the active model). */
  readonly suppressions: readonly Suppression[];
  readonly audit: { readonly records: number; readonly headHash: string; readonly checkpoints: number };
  readonly deviceKey: { readonly kid: string; readonly publicKey: string };
}
