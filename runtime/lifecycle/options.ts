// The lifecycle's options, policy and hooks (docs/lifecycle.md).
import type Database from 'better-sqlite3';
import type { BundleLimits, Manifest } from '../../models/format/index.ts';
import type { BlackBoxOptions, InstallSource } from '../state/index.ts';
import type { VerifyPolicy } from '../verify/index.ts';
import type { CommandPolicy } from './command.ts';
import type { DeviceIdentity, ServingHost } from './types.ts';

export interface LifecyclePolicy {
  /** Bundles kept on disk, slots included (older superseded ones are pruned first). */
  readonly maxInstalledBundles: number;
  /** Failed or revoked bundles kept as evidence (newest first), within the bounds above. */
  readonly keepFailedBundles: number;
  /** Upper bound of the bundle store (sum of bundle sizes). */
  readonly maxStoreBytes: number;
  /** Shadow and probation counters are written to the database every this many results. */
  readonly flushEveryResults: number;
  /** Probation rates (fallbacks, latency p99) are judged from this many results on. */
  readonly probationMinRateWindows: number;
  /** Recent windows pinned per stream with a black-box event. */
  readonly pinWindows: number;
  /** At most one shadow-disagreement pin per stream in this interval. */
  readonly disagreementPinIntervalMs: number;
}

export const DEFAULT_LIFECYCLE_POLICY: LifecyclePolicy = Object.freeze({
  maxInstalledBundles: 6,
  keepFailedBundles: 2,
  maxStoreBytes: 2 * 1024 * 1024 * 1024,
  flushEveryResults: 64,
  probationMinRateWindows: 100,
  pinWindows: 8,
  disagreementPinIntervalMs: 60_000,
});

/** Named points where the crash test kills the process (test/crash); a no-op in production. */
export type FaultPoint =
  | 'install:copied'
  | 'install:verified'
  | 'install:extracted'
  | 'install:committed'
  | 'promote:rechecked'
  | 'promote:committed'
  | 'rollback:rechecked'
  | 'rollback:committed'
  | 'revoke:committed'
  | 'command:recorded'
  | 'command:committed'
  | 'prune:committed'
  | 'probation:committed'
  | 'freeze:committed';

export interface FaultHooks {
  at(point: FaultPoint): void;
}

export interface LifecycleOptions {
  readonly dataDir: string;
  readonly device: DeviceIdentity;
  /** A signed trust document: the anchor on first boot, or the next version (N+1) later. */
  readonly trust?: Uint8Array;
  /** Where the trust document came from (audit records), e.g. a file name. */
  readonly trustSource?: string;
  readonly now?: () => number;
  readonly random?: (n: number) => Uint8Array;
  readonly host?: ServingHost;
  readonly policy?: Partial<LifecyclePolicy>;
  readonly commandPolicy?: Partial<CommandPolicy>;
  readonly verifyPolicy?: Partial<VerifyPolicy>;
  readonly limits?: BundleLimits;
  readonly validatePreprocessing?: (manifest: Manifest) => void;
  readonly blackBox?: Partial<BlackBoxOptions>;
  /** Who local operations are attributed to (e.g. `local:alice`). */
  readonly localActor?: string;
  readonly faults?: FaultHooks;
  /** Sees the database right after it is opened (tests simulate a full disk with max_page_count). */
  readonly onDbOpen?: (db: Database.Database) => void;
  /** Failures in background work (evidence flushes, automatic promotion or rollback). */
  readonly onError?: (error: unknown, context: string) => void;
}

export interface InstallOptions {
  readonly source: InstallSource;
  /** The update transfer that delivered it (MQTT), reported back with later statuses. */
  readonly transferId?: string;
  readonly actor?: string;
}

export type UpdateStatusListener = (
  transferId: string,
  status: 'verified' | 'installed' | 'shadow' | 'promoted' | 'rejected',
  code?: string,
) => void;
