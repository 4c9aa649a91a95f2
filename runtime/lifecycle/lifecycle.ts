// The device's model lifecycle (issue 5; docs/lifecycle.md): install (private copy → verify → extract
// → atomic switch), shadow evidence and promotion (by the signed rollout policy or a signed command),
// probation with automatic rollback to the last known good bundle, freeze, revocation, signed
// commands with replay protection, and the audit trail of every step. One operation runs at a time;
// every state change commits in one SQLite transaction together with its audit records.
import path from 'node:path';
import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  BundleError,
  DEFAULT_BUNDLE_LIMITS,
  bytesToHex,
  decodeManifest,
  openBundle,
  sha256,
  signerFor,
  withFileSource,
  type BundleLimits,
  type Manifest,
  type SecretKey,
  type Signer,
} from '../../models/format/index.ts';
import type { PipelineEvent, WindowResult } from '../pipeline/index.ts';
import {
  AuditLog,
  BlackBox,
  DEFAULT_BLACKBOX_OPTIONS,
  DeviceState,
  STATE_DB_FILE,
  STATE_MIGRATIONS,
  StateError,
  WriterLock,
  ZERO_PROBATION,
  ZERO_SHADOW,
  ensureDirSync,
  loadOrCreateDeviceKey,
  loadOrCreateStorageKey,
  openStateDb,
  signCheckpoint,
  stateErrorFrom,
  type ActiveSlot,
  type AuditKind,
  type AuditPayload,
  type BlackBoxOptions,
  type CandidateSlot,
  type DeviceCheckpoint,
  type FamilySlots,
  type InstallSource,
  type InstalledBundle,
  type ProbationCounters,
  type ShadowCounters,
} from '../state/index.ts';
import { TrustError, TrustStore, findBundleRevocation, peekTrustDocument } from '../trust/index.ts';
import { verifyBundleFile, validatePreprocessingWithOps, type VerifyPolicy } from '../verify/index.ts';
import { BundleStore, type StagedCopy } from './bundle-store.ts';
import {
  CommandRejection,
  DEFAULT_COMMAND_POLICY,
  authenticateCommand,
  describeCommand,
  revocationOf,
  selectorText,
  type AuthenticatedCommand,
  type BundleSelector,
  type CommandPolicy,
  type CommandTarget,
} from './command.ts';
import { LifecycleError, type RejectCode } from './errors.ts';
import { addProbationResult, addShadowPair, agree, judgeProbation, promotionCheck } from './evidence.ts';
import { stageAllows, widestApprovedStage } from './stages.ts';
import { bundleSummary as summary, describeState } from './status.ts';
import type {
  ActionOutcome,
  BundleRef,
  CommandOutcome,
  DeviceIdentity,
  FamilyPlan,
  InstallOutcome,
  LifecycleStatus,
  ServingHost,
  TrustOutcome,
} from './types.ts';

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

type AuditEntry = readonly [AuditKind, string, AuditPayload];

/** Extra work committed together with an action (a command's own record and nonce resolution). */
interface TxExtra {
  readonly records: readonly AuditEntry[];
  readonly mutate?: () => void;
}

const NO_EXTRA: TxExtra = { records: [] };

type RollbackCause = 'probation' | 'command' | 'local' | 'revocation' | 'integrity';

interface Live {
  probation: ProbationCounters | null;
  shadow: ShadowCounters | null;
  dirty: number;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function rejected(code: RejectCode, detail: string): ActionOutcome {
  return { kind: 'rejected', code, detail };
}

/** A promote command aimed at named devices or a cohort is a canary; at the whole fleet, full. */
function targeting(target: CommandTarget): 'canary' | 'full' {
  return target.devices === null && target.cohort === null ? 'full' : 'canary';
}

export class Lifecycle {
  readonly audit: AuditLog;
  readonly blackBox: BlackBox;
  readonly store: BundleStore;
  private trustStore: TrustStore;
  private readonly state: DeviceState;
  private readonly policy: LifecyclePolicy;
  private readonly commandPolicy: CommandPolicy;
  private readonly limits: BundleLimits;
  private readonly now: () => number;
  private readonly signer: Signer;
  private readonly cache = new Map<string, FamilySlots>();
  private readonly live = new Map<string, Live>();
  private readonly manifests = new Map<string, Manifest>();
  private readonly streams = new Map<string, Set<string>>();
  private readonly lastDisagreementPin = new Map<string, number>();
  private readonly scheduled = new Set<string>();
  private readonly statusListeners = new Set<UpdateStatusListener>();
  private chain: Promise<unknown> = Promise.resolve();
  private host: ServingHost | null;
  private closed = false;

  private constructor(
    private readonly options: LifecycleOptions,
    private readonly db: Database.Database,
    private readonly lock: WriterLock,
    private readonly deviceKey: SecretKey,
    storageKey: Uint8Array,
    trust: TrustStore,
  ) {
    this.now = options.now ?? (() => Date.now());
    this.policy = { ...DEFAULT_LIFECYCLE_POLICY, ...options.policy };
    this.commandPolicy = { ...DEFAULT_COMMAND_POLICY, ...options.commandPolicy };
    this.limits = options.limits ?? DEFAULT_BUNDLE_LIMITS;
    this.state = new DeviceState(db);
    this.audit = new AuditLog(db, this.now);
    const random = options.random ?? ((n: number) => new Uint8Array(crypto.randomBytes(n)));
    this.blackBox = new BlackBox(db, storageKey, random, this.now, {
      ...DEFAULT_BLACKBOX_OPTIONS,
      ...options.blackBox,
    });
    this.store = new BundleStore(options.dataDir);
    this.signer = signerFor(deviceKey);
    this.trustStore = trust;
    this.host = options.host ?? null;
  }

  /**
   * Opens the device state of `options.dataDir` (taking the writer lock), creates the device keys on
   * first boot, anchors or rotates the trust document, recovers from any crash, re-checks the bundles
   * in slots and writes the boot record. Throws StateError / LifecycleError('NO_TRUST').
   */
  static async open(options: LifecycleOptions): Promise<Lifecycle> {
    let lock: WriterLock;
    try {
      ensureDirSync(options.dataDir, 0o700);
      lock = WriterLock.acquire(options.dataDir);
    } catch (error) {
      throw stateErrorFrom(error, `opening the device state in ${options.dataDir}`);
    }
    let db: Database.Database | null = null;
    try {
      db = openStateDb(path.join(options.dataDir, STATE_DB_FILE), STATE_MIGRATIONS);
      options.onDbOpen?.(db);
      const random = options.random ?? ((n: number) => new Uint8Array(crypto.randomBytes(n)));
      const keysDir = path.join(options.dataDir, 'keys');
      const storage = loadOrCreateStorageKey(keysDir, random);
      const device = await loadOrCreateDeviceKey(keysDir, options.device.deviceId, random);
      const state = new DeviceState(db);
      const stored = state.currentTrust();
      // The stored document is re-verified against its own root threshold at every boot.
      let trust: TrustStore | null = stored ? TrustStore.loadAnchor(stored.bytes) : null;
      if (!trust) {
        if (!options.trust) {
          throw new LifecycleError(
            'NO_TRUST',
            'no trust document: provision the device with a signed trust document (--trust) on first start',
          );
        }
        trust = TrustStore.loadAnchor(options.trust);
      }
      const lifecycle = new Lifecycle(options, db, lock, device.key, storage.key, trust);
      await lifecycle.boot(stored === null, { storage: storage.created, device: device.created });
      return lifecycle;
    } catch (error) {
      db?.close();
      lock.release();
      // System errors (they name the failing syscall) get the state's codes: DB_FULL, DB_READONLY…
      const syscall = (error as { syscall?: unknown }).syscall;
      throw typeof syscall === 'string' ? stateErrorFrom(error, 'opening the device state') : error;
    }
  }

  get trust(): TrustStore {
    return this.trustStore;
  }

  get device(): DeviceIdentity {
    return this.options.device;
  }

  get deviceKeyInfo(): { readonly kid: string; readonly publicKey: Uint8Array } {
    return { kid: this.deviceKey.kid, publicKey: this.deviceKey.publicKey };
  }

  /** Signs with the device key (checkpoints, telemetry seals). */
  get deviceSigner(): Signer {
    return this.signer;
  }

  isFrozen(): boolean {
    return this.state.frozen().frozen;
  }

  setHost(host: ServingHost | null): void {
    this.host = host;
  }

  onUpdateStatus(listener: UpdateStatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  // --- boot ---------------------------------------------------------------------------------------

  private async boot(firstTrust: boolean, created: { storage: boolean; device: boolean }): Promise<void> {
    const unclean = this.state.meta('running') === true;
    const owner = this.state.meta('device') as { deviceId?: unknown } | undefined;
    if (owner !== undefined && owner.deviceId !== this.device.deviceId) {
      throw new LifecycleError(
        'DEVICE_MISMATCH',
        `the state in ${this.options.dataDir} belongs to device ${String(owner.deviceId)}, not ${this.device.deviceId}`,
      );
    }
    this.state.transaction('writing the boot record', () => {
      this.state.setMeta('running', true);
      this.state.setMeta('device', {
        deviceId: this.device.deviceId,
        fleet: this.device.fleet,
        cohort: this.device.cohort,
        deviceClass: this.device.deviceClass,
      });
      this.audit.appendInTransaction('boot', 'runtime', {
        deviceId: this.device.deviceId,
        fleet: this.device.fleet,
        cohort: this.device.cohort,
        runtimeVersion: this.device.runtimeVersion,
        previousShutdown: firstTrust ? 'first-boot' : unclean ? 'unclean' : 'clean',
        deviceKey: this.deviceKey.kid,
        keysCreated: [...(created.storage ? ['storage'] : []), ...(created.device ? ['device'] : [])],
      });
    });
    if (firstTrust) {
      this.commit('anchoring the trust document', NO_EXTRA, () => {
        this.state.saveTrust({
          version: this.trustStore.version,
          sha256: this.trustStore.sha256,
          bytes: this.trustStore.bytes,
          acceptedAtMs: this.now(),
          source: this.options.trustSource ?? 'provisioning',
        });
        this.audit.appendInTransaction('trust-anchored', 'runtime', {
          version: this.trustStore.version,
          sha256: this.trustStore.sha256,
          source: this.options.trustSource ?? 'provisioning',
        });
      });
    } else if (this.options.trust) {
      this.offerTrust(this.options.trust, this.options.trustSource ?? 'boot');
    }
    await this.recover();
    this.reloadCache();
    await this.checkSlotIntegrity();
    await this.sweepRevocations('boot');
    for (const pending of this.state.pendingCommands()) {
      if (pending.bytes === null) continue;
      await this.replayPending(pending.bytes, pending.nonce);
    }
    this.state.transaction('pruning settled commands', () =>
      this.state.pruneCommands(this.now() - this.commandPolicy.clockSkewMs),
    );
    await this.prune();
  }

  /** Removes what a crash left half-done: staging files, bundle directories nobody committed. */
  private async recover(): Promise<void> {
    const bundles = this.state.bundles();
    const known = new Set(bundles.map((b) => b.manifestSha256));
    const removed = await this.store.recover(known);
    const missing: string[] = [];
    for (const b of bundles) {
      if (!(await this.store.exists(b.manifestSha256))) missing.push(b.manifestSha256);
    }
    // A bundle row without files can only come from outside interference (files deleted): keep the
    // row (anti-rollback and evidence), mark it failed; slot holders are handled by the integrity check.
    if (removed.staging > 0 || removed.orphans.length > 0 || missing.length > 0) {
      this.commit('recording crash recovery', NO_EXTRA, () => {
        for (const sha of missing) this.state.setBundleState(sha, 'failed', 'bundle files missing on disk');
        this.audit.appendInTransaction('recovery', 'runtime', {
          stagingRemoved: removed.staging,
          uncommittedBundlesRemoved: removed.orphans,
          bundlesMissing: missing,
        });
      });
    }
  }

  /** Re-hashes the bundles in slots against their signed manifests; a mismatch is a safety event. */
  private async checkSlotIntegrity(): Promise<void> {
    for (const slots of [...this.cache.values()]) {
      for (const slot of [slots.candidate, slots.lastKnownGood]) {
        if (!slot) continue;
        const problem = await this.integrityProblem(slot.manifestSha256);
        if (problem === null) continue;
        this.commit('dropping a damaged bundle', NO_EXTRA, () => {
          this.state.setBundleState(slot.manifestSha256, 'failed', problem);
          this.state.clearSlot(slots.family, slot.slot);
          this.audit.appendInTransaction('safety-event', 'runtime', {
            type: 'bundle-integrity',
            family: slots.family,
            slot: slot.slot,
            manifestSha256: slot.manifestSha256,
            detail: problem,
          });
        });
      }
      const active = this.cache.get(slots.family)?.active;
      if (active) {
        const problem = await this.integrityProblem(active.manifestSha256);
        if (problem !== null) {
          await this.doRollback(slots.family, {
            cause: 'integrity',
            by: 'runtime',
            reason: problem,
            evidence: null,
            extra: NO_EXTRA,
          });
        }
      }
    }
  }

  private async integrityProblem(sha: string): Promise<string | null> {
    try {
      await this.store.recheck(sha, this.manifestOf(sha));
      return null;
    } catch (error) {
      if (error instanceof BundleError || (error as { code?: unknown }).code === 'ENOENT') {
        return `${(error as { code?: string }).code ?? 'ERROR'}: ${message(error)}`;
      }
      throw error;
    }
  }

  // --- queries ------------------------------------------------------------------------------------

  bundle(manifestSha256: string): InstalledBundle | undefined {
    return this.state.bundle(manifestSha256);
  }

  /** The verified files and manifest of an installed bundle (replay, the serving host). */
  bundleRef(manifestSha256: string): BundleRef | undefined {
    const b = this.state.bundle(manifestSha256);
    if (!b) return undefined;
    return {
      manifestSha256: b.manifestSha256,
      bundleId: b.bundleId,
      family: b.family,
      version: b.version,
      sequence: b.sequence,
      dir: this.store.dirOf(b.manifestSha256),
      manifest: this.manifestOf(b.manifestSha256),
    };
  }

  manifestOf(manifestSha256: string): Manifest {
    const cached = this.manifests.get(manifestSha256);
    if (cached) return cached;
    const b = this.state.bundle(manifestSha256);
    if (!b) throw new StateError('DB_CORRUPT', `no installed bundle ${manifestSha256}`);
    if (bytesToHex(sha256(b.manifestBytes)) !== manifestSha256) {
      throw new StateError('DB_CORRUPT', `the stored manifest of ${b.bundleId} does not match its digest`);
    }
    const manifest = decodeManifest(b.manifestBytes);
    this.manifests.set(manifestSha256, manifest);
    return manifest;
  }

  /** What the pipeline should run, per family (after boot and after every committed change). */
  servingPlans(): FamilyPlan[] {
    const plans: FamilyPlan[] = [];
    for (const slots of this.cache.values()) {
      const active = slots.active;
      const activeRef = active ? this.bundleRef(active.manifestSha256) : undefined;
      const candidate = slots.candidate ? this.state.bundle(slots.candidate.manifestSha256) : undefined;
      plans.push({
        family: slots.family,
        active:
          active && activeRef
            ? {
                bundle: activeRef,
                override:
                  active.mode.kind === 'rule-fallback'
                    ? { reason: 'MODEL_REVOKED', detail: active.mode.detail }
                    : null,
              }
            : null,
        shadow:
          activeRef && candidate?.state === 'installed'
            ? (this.bundleRef(candidate.manifestSha256) ?? null)
            : null,
      });
    }
    return plans;
  }

  status(): LifecycleStatus {
    return describeState({
      state: this.state,
      audit: this.audit,
      device: this.device,
      trust: { version: this.trustStore.version, sha256: this.trustStore.sha256 },
      deviceKey: { kid: this.deviceKey.kid, publicKey: bytesToHex(this.deviceKey.publicKey) },
      manifestOf: (sha) => this.manifestOf(sha),
      live: (sha) => this.live.get(sha),
      probationMinRateWindows: this.policy.probationMinRateWindows,
    });
  }

  // --- install ------------------------------------------------------------------------------------

  /** Installs a .vbundle file (local or from a transfer). Idempotent per manifest. */
  install(file: string, options: InstallOptions = { source: 'local' }): Promise<InstallOutcome> {
    return this.exclusive(() => this.doInstall(file, options));
  }

  /**
   * The transport's hand-over (monitor/updates `onBundleStaged`): copies the staged file, installs it
   * and maps the outcome. Safe to call again for the same bundle after a crash.
   */
  async installStaged(
    file: string,
    transferId: string,
  ): Promise<
    { kind: 'installed' } | { kind: 'shadow' } | { kind: 'rejected'; code: string; detail?: string }
  > {
    const outcome = await this.install(file, { source: 'mqtt', transferId });
    switch (outcome.kind) {
      case 'activated':
      case 'installed':
        return { kind: 'installed' };
      case 'shadow':
        return { kind: 'shadow' };
      case 'duplicate':
        return outcome.slot === 'candidate' ? { kind: 'shadow' } : { kind: 'installed' };
      case 'rejected':
        return { kind: 'rejected', code: outcome.code, detail: outcome.detail };
    }
  }

  private async doInstall(file: string, options: InstallOptions): Promise<InstallOutcome> {
    const actor = options.actor ?? (options.source === 'mqtt' ? 'transport' : this.localActor);
    const context = {
      source: options.source,
      transferId: options.transferId ?? null,
      file: path.basename(file),
    };
    let copy: StagedCopy;
    try {
      copy = await this.store.stageCopy(file, this.limits.maxBundleBytes);
    } catch (error) {
      const errno = (error as { code?: unknown }).code;
      const code: RejectCode =
        error instanceof RangeError
          ? 'TOO_LARGE'
          : errno === 'ENOSPC' || errno === 'EDQUOT'
            ? 'STORAGE_FULL'
            : 'UNREADABLE';
      return this.rejectInstall(actor, context, code, message(error));
    }
    let extracted: string | null = null;
    let committed = false;
    try {
      this.fault('install:copied');
      this.record('bundle-received', actor, { ...context, bytes: copy.size, containerSha256: copy.sha256 });
      const frozen = this.state.frozen();
      if (frozen.frozen) {
        return this.rejectInstall(actor, context, 'FROZEN', `frozen by ${frozen.by}: ${frozen.reason}`);
      }
      // The signed manifest bytes are kept with the bundle (its identity, re-decoded at every boot).
      const manifestBytes = await withFileSource(copy.path, async (source) => {
        const { cose } = await openBundle(source, { limits: this.limits, allowUnsigned: true });
        return Uint8Array.from(cose.payload);
      });
      const manifestSha = bytesToHex(sha256(manifestBytes));
      const existing = this.state.bundle(manifestSha);
      if (existing) {
        return {
          kind: 'duplicate',
          bundle: summary(existing),
          slot: this.state.slotOfBundle(manifestSha)?.slot ?? null,
        };
      }
      const verified = await verifyBundleFile(copy.path, {
        trust: this.trustStore,
        target: {
          kind: 'device',
          deviceClass: this.device.deviceClass,
          runtimeVersion: this.device.runtimeVersion,
          installed: this.state.installedFamilies(),
          revokedBundles: this.state.revocations(),
        },
        stage: 'shadow',
        now: this.now,
        limits: this.limits,
        validatePreprocessing: this.options.validatePreprocessing ?? validatePreprocessingWithOps,
        ...(this.options.verifyPolicy ? { policy: this.options.verifyPolicy } : {}),
      });
      const manifest = verified.manifest;
      if (verified.manifestSha256 !== manifestSha) {
        throw new BundleError('DIGEST_MISMATCH', 'the staged copy changed between reading and verifying it');
      }
      const approvedFor = widestApprovedStage(verified.approvals, this.trustStore) ?? 'shadow';
      this.record('bundle-verified', actor, {
        ...context,
        bundleId: manifest.bundleId,
        family: manifest.modelFamily,
        sequence: manifest.sequence,
        manifestSha256: verified.manifestSha256,
        approvedFor,
        trustVersion: verified.trustVersion,
        approvals: verified.approvals.map((a) => ({
          kid: a.kid,
          role: a.role,
          reviewer: a.reviewer,
          timeMs: a.timeMs,
          scope: a.scope,
        })),
      });
      if (options.transferId !== undefined) this.emitStatus(options.transferId, 'verified');
      this.fault('install:verified');
      extracted = await this.store.extract(copy, verified);
      this.fault('install:extracted');
      const sha = verified.manifestSha256;
      this.manifests.set(sha, manifest);
      const bundle: InstalledBundle = {
        manifestSha256: sha,
        bundleId: manifest.bundleId,
        family: manifest.modelFamily,
        version: manifest.version,
        sequence: manifest.sequence,
        manifestBytes,
        approvals: verified.approvals.map((a) => ({
          kid: a.kid,
          role: a.role,
          reviewer: a.reviewer,
          timeMs: a.timeMs,
          scope: a.scope,
        })),
        approvedFor,
        containerSha256: copy.sha256,
        bytes: copy.size,
        state: 'installed',
        stateDetail: null,
        source: options.source,
        transferId: options.transferId ?? null,
        installedAtMs: this.now(),
      };
      const family = manifest.modelFamily;
      const slots = this.slotsOf(family);
      const previousCandidate = slots.candidate
        ? this.state.bundle(slots.candidate.manifestSha256)
        : undefined;
      const activate = slots.active === null && approvedFor === 'full';
      // Activation re-hashes the files; the serving host then loads the model from re-hashed bytes
      // (readStagedFile). A candidate is loaded too: what cannot load is rejected here, not in shadow.
      if (activate) await this.store.recheck(sha, manifest);
      if (activate || slots.active !== null) await this.prepareOrThrow(sha, bundle);
      const installedRecord: AuditEntry = [
        'bundle-installed',
        actor,
        {
          ...context,
          bundleId: bundle.bundleId,
          family,
          sequence: bundle.sequence,
          manifestSha256: sha,
          approvedFor,
        },
      ];
      this.commit(`installing ${bundle.bundleId}`, NO_EXTRA, () => {
        this.state.insertBundle(bundle);
        this.state.addSequence(family, bundle.sequence);
        this.audit.appendInTransaction(...installedRecord);
        if (previousCandidate) {
          this.audit.appendInTransaction('bundle-superseded', actor, {
            family,
            bundleId: previousCandidate.bundleId,
            manifestSha256: previousCandidate.manifestSha256,
            by: bundle.bundleId,
          });
        }
        if (activate) {
          this.state.clearSlot(family, 'candidate');
          this.state.putSlot({
            slot: 'active',
            family,
            manifestSha256: sha,
            sinceMs: this.now(),
            mode: { kind: 'model' },
            probation: this.startProbation(manifest),
            activation: { via: 'first-install' },
          });
          this.audit.appendInTransaction('bundle-activated', actor, {
            family,
            bundleId: bundle.bundleId,
            manifestSha256: sha,
            via: 'first-install',
            probationWindows: manifest.rollout.probation.windows,
          });
        } else {
          this.state.putSlot({
            slot: 'candidate',
            family,
            manifestSha256: sha,
            sinceMs: this.now(),
            stage: 'shadow',
            shadow: ZERO_SHADOW,
          });
          this.audit.appendInTransaction('bundle-shadow-started', actor, {
            family,
            bundleId: bundle.bundleId,
            manifestSha256: sha,
            approvedFor,
            shadowing: slots.active
              ? (this.state.bundle(slots.active.manifestSha256)?.bundleId ?? null)
              : null,
            autoPromote: manifest.rollout.autoPromote,
          });
        }
      });
      committed = true;
      this.fault('install:committed');
      this.applyPlans();
      const stored = this.state.bundle(sha) ?? bundle;
      if (activate) return { kind: 'activated', bundle: summary(stored) };
      if (slots.active === null) return { kind: 'installed', bundle: summary(stored) };
      return {
        kind: 'shadow',
        bundle: summary(stored),
        superseded: previousCandidate ? summary(previousCandidate) : null,
      };
    } catch (error) {
      if (error instanceof BundleError) return this.rejectInstall(actor, context, error.code, error.message);
      if (error instanceof ActionFailure)
        return this.rejectInstall(actor, context, error.code, error.message);
      throw error;
    } finally {
      if (!committed && extracted !== null) {
        await this.store.remove(path.basename(extracted)).catch((e: unknown) => {
          this.report(e, 'removing an uncommitted bundle');
        });
      }
      await this.store.discard(copy).catch((e: unknown) => {
        this.report(e, 'removing a staging copy');
      });
      if (committed)
        await this.prune().catch((e: unknown) => {
          this.report(e, 'pruning bundles');
        });
    }
  }

  private rejectInstall(
    actor: string,
    context: Readonly<Record<string, unknown>>,
    code: RejectCode,
    detail: string,
  ): InstallOutcome {
    this.record('bundle-rejected', actor, { ...context, code, detail });
    return { kind: 'rejected', code, detail };
  }

  private startProbation(manifest: Manifest): ActiveSlot['probation'] {
    return manifest.rollout.probation.windows > 0
      ? { kind: 'running', startedAtMs: this.now(), counters: ZERO_PROBATION }
      : { kind: 'none' };
  }

  // --- commands -----------------------------------------------------------------------------------

  /**
   * Applies a signed command (MQTT or `vigil command apply`). Every command, accepted or rejected, is
   * audited with who signed it (kid, role), who issued it, and why.
   */
  applyCommand(
    bytes: Uint8Array,
    via: { readonly via: 'mqtt' | 'local'; readonly topic?: string } = { via: 'local' },
  ): Promise<CommandOutcome> {
    return this.exclusive(async () => {
      let auth: AuthenticatedCommand;
      try {
        auth = authenticateCommand(bytes, this.trustStore, this.device, this.now(), this.commandPolicy);
      } catch (error) {
        if (!(error instanceof CommandRejection)) throw error;
        // Who: the verified signer, or for a bad signature only the kid it claims (not proof of anything).
        this.record(
          'command-rejected',
          error.signer ? `${error.signer.role}:${error.signer.kid}` : 'unauthenticated',
          {
            code: error.code,
            detail: error.message,
            commandSha256: error.sha256,
            kid: error.signer?.kid ?? null,
            role: error.signer?.role ?? null,
            claimedKid: error.claimedKid,
            issuer: error.command?.issuer ?? null,
            reason: error.command?.reason ?? null,
            command: error.command?.kind ?? null,
            ...via,
          },
        );
        return {
          kind: 'rejected',
          code: error.code,
          detail: error.message,
          kid: error.signer?.kid ?? null,
          command: error.command,
        };
      }
      const actor = `${auth.signer.role}:${auth.signer.kid}`;
      const who = this.commandWho(auth, via);
      if (this.state.command(auth.nonceHex)) {
        const detail = `nonce ${auth.nonceHex} was used before`;
        this.record('command-rejected', actor, { ...who, code: 'REPLAYED', detail });
        return { kind: 'rejected', code: 'REPLAYED', detail, kid: auth.signer.kid, command: auth.command };
      }
      this.state.transaction('recording a command', () => {
        this.state.insertCommand({
          nonce: auth.nonceHex,
          commandSha256: auth.sha256,
          kind: auth.command.kind,
          receivedAtMs: this.now(),
          expiresAtMs: auth.command.expiresAtMs,
          status: 'pending',
          code: null,
          bytes,
        });
      });
      this.fault('command:recorded');
      return this.execute(auth, via);
    });
  }

  /** The MQTT hook: `onCommand(bytes, topic)`. Outcomes are in the audit log. */
  async handleCommand(bytes: Uint8Array, topic: string): Promise<void> {
    await this.applyCommand(bytes, { via: 'mqtt', topic });
  }

  private commandWho(
    auth: AuthenticatedCommand,
    via: { readonly via: string; readonly topic?: string },
  ): AuditPayload {
    const c = auth.command;
    return {
      command: c.kind,
      description: describeCommand(c),
      kid: auth.signer.kid,
      role: auth.signer.role,
      issuer: c.issuer,
      reason: c.reason,
      nonce: auth.nonceHex,
      commandSha256: auth.sha256,
      issuedAtMs: c.issuedAtMs,
      expiresAtMs: c.expiresAtMs,
      target: { fleet: c.target.fleet, devices: c.target.devices, cohort: c.target.cohort },
      ...via,
    };
  }

  private async execute(
    auth: AuthenticatedCommand,
    via: { readonly via: string; readonly topic?: string },
  ): Promise<CommandOutcome> {
    const c = auth.command;
    const actor = `${auth.signer.role}:${auth.signer.kid}`;
    const who = this.commandWho(auth, via);
    const extra: TxExtra = {
      records: [['command-accepted', actor, who]],
      mutate: () => {
        this.state.resolveCommand(auth.nonceHex, 'accepted', null);
      },
    };
    let outcome: ActionOutcome;
    switch (c.kind) {
      case 'promote':
        outcome = await this.doPromote(c.family, {
          by: actor,
          scope: targeting(c.target),
          force: c.force,
          reason: c.reason,
          expect: c.bundle,
          extra,
        });
        break;
      case 'rollback':
        outcome = await this.doRollback(c.family, {
          cause: 'command',
          by: actor,
          reason: c.reason,
          evidence: null,
          extra,
        });
        break;
      case 'freeze':
      case 'unfreeze':
        outcome = this.doFreeze(c.kind === 'freeze', actor, c.reason, extra);
        break;
      case 'revoke':
        outcome = await this.doRevoke(c.bundle, {
          by: actor,
          reason: c.reason,
          source: `command ${auth.nonceHex}`,
          extra,
        });
        break;
    }
    if (outcome.kind === 'rejected') {
      this.commit('recording a rejected command', NO_EXTRA, () => {
        this.state.resolveCommand(auth.nonceHex, 'rejected', outcome.code);
        this.audit.appendInTransaction('command-rejected', actor, {
          ...who,
          code: outcome.code,
          detail: outcome.detail,
        });
      });
      return {
        kind: 'rejected',
        code: outcome.code,
        detail: outcome.detail,
        kid: auth.signer.kid,
        command: c,
      };
    }
    this.fault('command:committed');
    return { kind: 'accepted', command: c, kid: auth.signer.kid, effect: outcome.effect };
  }

  /** A command that was recorded but not finished before a crash: re-authenticated, then applied. */
  private async replayPending(bytes: Uint8Array, nonce: string): Promise<void> {
    let auth: AuthenticatedCommand;
    try {
      auth = authenticateCommand(bytes, this.trustStore, this.device, this.now(), this.commandPolicy);
    } catch (error) {
      if (!(error instanceof CommandRejection)) throw error;
      this.commit('settling a pending command', NO_EXTRA, () => {
        this.state.resolveCommand(nonce, 'rejected', error.code);
        this.audit.appendInTransaction('command-rejected', 'runtime', {
          code: error.code,
          detail: `pending since before a restart: ${error.message}`,
          nonce,
          commandSha256: error.sha256,
        });
      });
      return;
    }
    await this.execute(auth, { via: 'recovered' });
  }

  // --- promotion ----------------------------------------------------------------------------------

  private async doPromote(
    family: string,
    req: {
      readonly by: string;
      readonly scope: 'canary' | 'full';
      readonly force: boolean;
      readonly reason: string;
      readonly expect?: string;
      readonly extra: TxExtra;
    },
  ): Promise<ActionOutcome> {
    const frozen = this.state.frozen();
    if (frozen.frozen) return rejected('FROZEN', `frozen by ${frozen.by}: ${frozen.reason}`);
    const slots = this.slotsOf(family);
    const candidate = slots.candidate;
    if (!candidate) return rejected('NO_CANDIDATE', `${family} has no candidate to promote`);
    if (req.expect !== undefined && req.expect !== candidate.manifestSha256) {
      return rejected(
        'CANDIDATE_MISMATCH',
        `the command promotes ${req.expect.slice(0, 12)}…, the candidate is ${candidate.manifestSha256.slice(0, 12)}…`,
      );
    }
    const bundle = this.state.bundle(candidate.manifestSha256);
    if (!bundle || bundle.state !== 'installed')
      return rejected('NOT_USABLE', `the candidate is ${bundle?.state ?? 'missing'}`);
    if (slots.active?.probation.kind === 'running') {
      return rejected('PROBATION_ACTIVE', `${family}'s active bundle is still on probation`);
    }
    if (bundle.approvedFor === 'shadow' || !stageAllows(bundle.approvedFor, req.scope)) {
      return rejected(
        'SCOPE_INSUFFICIENT',
        bundle.approvedFor === 'shadow'
          ? `${bundle.bundleId} is approved for shadow only`
          : `${bundle.bundleId} is approved for canary: it can be promoted only by a command naming devices or a cohort`,
      );
    }
    const manifest = this.manifestOf(candidate.manifestSha256);
    const shadow = this.live.get(candidate.manifestSha256)?.shadow ?? candidate.shadow;
    const check = promotionCheck(shadow, manifest.rollout);
    if (!check.ready && !req.force) {
      return rejected(
        'CRITERIA_UNMET',
        `shadow evidence below the rollout policy: ${check.unmet.join('; ')}`,
      );
    }
    const problem = await this.integrityProblem(candidate.manifestSha256);
    if (problem !== null) {
      this.dropDamaged(family, candidate, problem);
      return rejected('DIGEST_MISMATCH', problem);
    }
    const loadFailure = await this.prepare(candidate.manifestSha256);
    if (loadFailure !== null) return rejected('LOAD_FAILED', loadFailure);
    this.fault('promote:rechecked');
    const previous = slots.active;
    const previousBundle = previous ? this.state.bundle(previous.manifestSha256) : undefined;
    this.commit(`promoting ${bundle.bundleId}`, req.extra, () => {
      if (previous && previous.mode.kind === 'model' && previousBundle?.state === 'installed') {
        this.state.clearSlot(family, 'active');
        this.state.putSlot({
          slot: 'last-known-good',
          family,
          manifestSha256: previous.manifestSha256,
          sinceMs: this.now(),
        });
      }
      this.state.clearSlot(family, 'candidate');
      this.state.putSlot({
        slot: 'active',
        family,
        manifestSha256: candidate.manifestSha256,
        sinceMs: this.now(),
        mode: { kind: 'model' },
        probation: this.startProbation(manifest),
        activation: { via: 'promotion', scope: req.scope, by: req.by },
      });
      this.audit.appendInTransaction('bundle-promoted', req.by, {
        family,
        bundleId: bundle.bundleId,
        manifestSha256: bundle.manifestSha256,
        from: previousBundle?.bundleId ?? null,
        scope: req.scope,
        approvedFor: bundle.approvedFor,
        forced: req.force && !check.ready,
        unmetCriteria: check.unmet,
        shadow: { ...shadow },
        metrics: { ...check.metrics },
        reason: req.reason,
        probationWindows: manifest.rollout.probation.windows,
      });
    });
    this.fault('promote:committed');
    this.applyPlans();
    if (bundle.transferId !== null) this.emitStatus(bundle.transferId, 'promoted');
    await this.prune().catch((e: unknown) => {
      this.report(e, 'pruning bundles');
    });
    return {
      kind: 'done',
      effect: `${bundle.bundleId} is active for ${family} (probation ${manifest.rollout.probation.windows} windows)`,
    };
  }

  // --- rollback -----------------------------------------------------------------------------------

  /**
   * A field engineer's local rollback (`vigil rollback --yes`): audited like a command (accepted as a
   * rollback record, refused as `command-rejected` with its code), refused while frozen.
   */
  rollback(
    family: string,
    request: { readonly reason: string; readonly actor?: string },
  ): Promise<ActionOutcome> {
    const actor = request.actor ?? this.localActor;
    return this.exclusive(async () => {
      const outcome = await this.doRollback(family, {
        cause: 'local',
        by: actor,
        reason: request.reason,
        evidence: null,
        extra: NO_EXTRA,
      });
      if (outcome.kind === 'rejected') {
        this.record('command-rejected', actor, {
          command: 'rollback',
          via: 'local',
          family,
          reason: request.reason,
          code: outcome.code,
          detail: outcome.detail,
        });
      }
      return outcome;
    });
  }

  private async doRollback(
    family: string,
    req: {
      readonly cause: RollbackCause;
      readonly by: string;
      readonly reason: string;
      readonly evidence: AuditPayload | null;
      readonly extra: TxExtra;
    },
  ): Promise<ActionOutcome> {
    const manual = req.cause === 'command' || req.cause === 'local';
    const frozen = this.state.frozen();
    if (manual && frozen.frozen) return rejected('FROZEN', `frozen by ${frozen.by}: ${frozen.reason}`);
    const slots = this.cache.get(family);
    if (!slots) return rejected('UNKNOWN_FAMILY', `${family} is not installed here`);
    const active = slots.active;
    if (!active) return rejected('NO_ACTIVE', `${family} has no active bundle`);
    const failed = this.state.bundle(active.manifestSha256);
    let target = slots.lastKnownGood;
    if (target) {
      const targetBundle = this.state.bundle(target.manifestSha256);
      const problem =
        targetBundle?.state === 'installed'
          ? await this.integrityProblem(target.manifestSha256)
          : `the last known good bundle is ${targetBundle?.state ?? 'missing'}`;
      const loadFailure = problem === null ? await this.prepare(target.manifestSha256) : null;
      if (problem !== null || loadFailure !== null) {
        this.dropDamaged(family, target, problem ?? loadFailure ?? '');
        target = null;
      }
    }
    if (!target && manual)
      return rejected('NO_LAST_KNOWN_GOOD', `${family} has no last known good bundle to roll back to`);
    this.fault('rollback:rechecked');
    const targetBundle = target ? this.state.bundle(target.manifestSha256) : undefined;
    const eventId = `rollback:${family}:${this.now()}`;
    const failedState = req.cause === 'revocation' ? 'revoked' : 'failed';
    const counters =
      this.live.get(active.manifestSha256)?.probation ??
      (active.probation.kind === 'running' ? active.probation.counters : null);
    const candidate = this.cache.get(family)?.candidate ?? null;
    this.commit(`rolling back ${family}`, req.extra, () => {
      this.state.setBundleState(active.manifestSha256, failedState, `${req.cause}: ${req.reason}`);
      if (target) {
        this.state.clearSlot(family, 'last-known-good');
        this.state.putSlot({
          slot: 'active',
          family,
          manifestSha256: target.manifestSha256,
          sinceMs: this.now(),
          mode: { kind: 'model' },
          probation: { kind: 'none' },
          activation: { via: 'rollback', from: active.manifestSha256, by: req.by },
        });
      } else if (req.cause === 'integrity') {
        this.state.clearSlot(family, 'active'); // its files cannot be trusted: nothing of it may run
      } else {
        this.state.putSlot({
          ...active,
          mode: {
            kind: 'rule-fallback',
            reason: req.cause === 'revocation' ? 'revoked' : 'rolled-back',
            detail: `${failed?.bundleId ?? active.manifestSha256}: ${req.reason}; no last known good bundle`,
          },
          probation: { kind: 'none' },
        });
      }
      if (candidate) this.state.putSlot({ ...candidate, sinceMs: candidate.sinceMs, shadow: ZERO_SHADOW });
      const payload = {
        family,
        from: failed?.bundleId ?? null,
        fromManifestSha256: active.manifestSha256,
        to: targetBundle?.bundleId ?? null,
        toManifestSha256: target?.manifestSha256 ?? null,
        ruleFallback: target === null && req.cause !== 'integrity',
        cause: req.cause,
        reason: req.reason,
        by: req.by,
      };
      this.audit.appendInTransaction('bundle-rolled-back', req.by, payload);
      // A rollback is a safety event (DESIGN.md): it keeps the failed bundle's evidence.
      this.audit.appendInTransaction('safety-event', req.by, {
        type: 'rollback',
        ...payload,
        eventId,
        failedBundleKept: true,
        probation: counters ? { ...counters } : null,
        policy: failed ? { ...this.manifestOf(failed.manifestSha256).rollout.probation } : null,
        evidence: req.evidence,
      });
    });
    this.fault('rollback:committed');
    this.pinFamily(eventId, 'rollback', family);
    this.applyPlans();
    await this.prune().catch((e: unknown) => {
      this.report(e, 'pruning bundles');
    });
    return {
      kind: 'done',
      effect: targetBundle
        ? `${family} rolled back from ${failed?.bundleId ?? '?'} to ${targetBundle.bundleId}`
        : `${family}: ${failed?.bundleId ?? '?'} withdrawn; the declared fallback answers`,
    };
  }

  private dropDamaged(
    family: string,
    slot: CandidateSlot | { readonly slot: 'last-known-good'; readonly manifestSha256: string },
    problem: string,
  ): void {
    this.commit('dropping a damaged bundle', NO_EXTRA, () => {
      this.state.setBundleState(slot.manifestSha256, 'failed', problem);
      this.state.clearSlot(family, slot.slot);
      this.audit.appendInTransaction('safety-event', 'runtime', {
        type: 'bundle-integrity',
        family,
        slot: slot.slot,
        manifestSha256: slot.manifestSha256,
        detail: problem,
      });
    });
    this.applyPlans();
  }

  // --- freeze, revoke -------------------------------------------------------------------------------

  private doFreeze(freeze: boolean, by: string, reason: string, extra: TxExtra): ActionOutcome {
    const before = this.state.frozen();
    this.commit(freeze ? 'freezing' : 'unfreezing', extra, () => {
      this.state.setFrozen(freeze ? { frozen: true, sinceMs: this.now(), by, reason } : { frozen: false });
      this.audit.appendInTransaction(freeze ? 'frozen' : 'unfrozen', by, {
        reason,
        wasFrozen: before.frozen,
        active: Object.fromEntries(
          [...this.cache.values()].map((s) => [
            s.family,
            s.active ? (this.state.bundle(s.active.manifestSha256)?.bundleId ?? null) : null,
          ]),
        ),
      });
    });
    this.fault('freeze:committed');
    return {
      kind: 'done',
      effect: freeze ? 'frozen: no installs, promotions or manual rollbacks' : 'unfrozen',
    };
  }

  private async doRevoke(
    selector: BundleSelector,
    req: { readonly by: string; readonly reason: string; readonly source: string; readonly extra: TxExtra },
  ): Promise<ActionOutcome> {
    const revocation = revocationOf(selector, req.reason, this.now());
    const matches = this.state
      .bundles()
      .filter((b) => findBundleRevocation([revocation], { ...b, modelFamily: b.family }) !== undefined);
    const effect = await this.revokeBundles(matches, {
      by: req.by,
      reason: req.reason,
      selector: selectorText(selector),
      extra: {
        records: req.extra.records,
        mutate: () => {
          req.extra.mutate?.();
          this.state.addRevocation(revocation, req.source);
        },
      },
    });
    return { kind: 'done', effect };
  }

  /** Marks bundles revoked, clears them from candidate and last-known-good, withdraws active ones. */
  private async revokeBundles(
    matches: readonly InstalledBundle[],
    ctx: { readonly by: string; readonly reason: string; readonly selector: string; readonly extra: TxExtra },
  ): Promise<string> {
    const shas = new Set(matches.map((b) => b.manifestSha256));
    this.commit('recording a revocation', ctx.extra, () => {
      for (const b of matches) this.state.setBundleState(b.manifestSha256, 'revoked', ctx.reason);
      for (const slots of this.cache.values()) {
        if (slots.candidate && shas.has(slots.candidate.manifestSha256))
          this.state.clearSlot(slots.family, 'candidate');
        if (slots.lastKnownGood && shas.has(slots.lastKnownGood.manifestSha256)) {
          this.state.clearSlot(slots.family, 'last-known-good');
        }
      }
      this.audit.appendInTransaction('bundle-revoked', ctx.by, {
        selector: ctx.selector,
        reason: ctx.reason,
        bundles: matches.map((b) => ({ bundleId: b.bundleId, manifestSha256: b.manifestSha256 })),
        activeAffected: [...this.cache.values()]
          .filter((s) => s.active && shas.has(s.active.manifestSha256))
          .map((s) => s.family),
      });
    });
    this.fault('revoke:committed');
    this.applyPlans();
    const effects: string[] = [`revoked ${ctx.selector} (${matches.length} installed bundle(s))`];
    for (const slots of [...this.cache.values()]) {
      const active = slots.active;
      if (!active || !shas.has(active.manifestSha256) || active.mode.kind !== 'model') continue;
      const outcome = await this.doRollback(slots.family, {
        cause: 'revocation',
        by: ctx.by,
        reason: ctx.reason,
        evidence: null,
        extra: NO_EXTRA,
      });
      effects.push(outcome.kind === 'done' ? outcome.effect : `${slots.family}: ${outcome.detail}`);
    }
    return effects.join('; ');
  }

  /** Applies trust-document and device revocations to installed bundles (boot, trust rotation). */
  private async sweepRevocations(source: string): Promise<void> {
    const device = this.state.revocations();
    const matches = this.state.bundles().filter((b) => {
      if (b.state === 'revoked') return false;
      const id = {
        bundleId: b.bundleId,
        modelFamily: b.family,
        version: b.version,
        manifestSha256: b.manifestSha256,
      };
      return (
        this.trustStore.bundleRevocation(id) !== undefined || findBundleRevocation(device, id) !== undefined
      );
    });
    if (matches.length > 0) {
      await this.revokeBundles(matches, {
        by: 'runtime',
        reason: `revoked by trust version ${this.trustStore.version} or an earlier command (${source})`,
        selector: matches.map((b) => b.bundleId).join(', '),
        extra: NO_EXTRA,
      });
    }
    // A revocation committed just before a crash, whose rollback never ran.
    for (const slots of [...this.cache.values()]) {
      const active = slots.active;
      if (!active || active.mode.kind !== 'model') continue;
      if (this.state.bundle(active.manifestSha256)?.state !== 'revoked') continue;
      await this.doRollback(slots.family, {
        cause: 'revocation',
        by: 'runtime',
        reason: 'revoked before a restart',
        evidence: null,
        extra: NO_EXTRA,
      });
    }
  }

  // --- trust --------------------------------------------------------------------------------------

  /** Offers the next trust document (TUF rotation N → N+1); audited either way. */
  updateTrust(bytes: Uint8Array, source: string): Promise<TrustOutcome> {
    return this.exclusive(async () => {
      const outcome = this.offerTrust(bytes, source);
      if (outcome.kind === 'rotated') await this.sweepRevocations(`trust version ${outcome.to}`);
      return outcome;
    });
  }

  private offerTrust(bytes: Uint8Array, source: string): TrustOutcome {
    const sha = bytesToHex(sha256(bytes));
    const current = this.trustStore;
    let next: TrustStore;
    try {
      const { document } = peekTrustDocument(bytes);
      if (document.version === current.version && sha === current.sha256)
        return { kind: 'unchanged', version: current.version };
      if (document.version === current.version) {
        throw new TrustError(
          'TRUST_ROLLBACK',
          `another document with the trusted version ${current.version}`,
        );
      }
      next = current.acceptUpdate(bytes);
    } catch (error) {
      if (!(error instanceof TrustError)) throw error;
      this.record('trust-rejected', 'runtime', {
        code: error.code,
        detail: error.message,
        sha256: sha,
        source,
        trustedVersion: current.version,
      });
      return { kind: 'rejected', code: error.code, detail: error.message };
    }
    this.commit('rotating the trust document', NO_EXTRA, () => {
      this.state.saveTrust({
        version: next.version,
        sha256: next.sha256,
        bytes,
        acceptedAtMs: this.now(),
        source,
      });
      this.audit.appendInTransaction('trust-rotated', 'runtime', {
        from: current.version,
        to: next.version,
        sha256: next.sha256,
        source,
        keysAdded: next.document.keys
          .filter((k) => !current.document.keys.some((o) => o.kid === k.kid))
          .map((k) => k.kid),
        keysRemoved: current.document.keys
          .filter((k) => !next.document.keys.some((n) => n.kid === k.kid))
          .map((k) => k.kid),
      });
    });
    this.trustStore = next;
    return { kind: 'rotated', from: current.version, to: next.version };
  }

  // --- evidence from the pipeline -----------------------------------------------------------------

  /** Every result the active runners produce (probation health). Cheap; never throws. */
  observeResult(result: WindowResult): void {
    if (result.shadow || this.closed) return;
    const family = result.provenance.modelFamily;
    this.noteStream(family, result.streamId);
    const active = this.cache.get(family)?.active;
    if (active?.manifestSha256 !== result.provenance.manifestSha256 || active.probation.kind !== 'running')
      return;
    try {
      const live = this.liveOf(active.manifestSha256);
      const policy = this.manifestOf(active.manifestSha256).rollout.probation;
      live.probation = addProbationResult(live.probation ?? active.probation.counters, result, policy);
      live.dirty += 1;
      const verdict = judgeProbation(live.probation, policy, this.policy.probationMinRateWindows);
      const sha = active.manifestSha256;
      switch (verdict.kind) {
        case 'breached':
          this.schedule(`probation:${family}`, async () => {
            if (this.cache.get(family)?.active?.manifestSha256 !== sha) return;
            await this.doRollback(family, {
              cause: 'probation',
              by: 'policy',
              reason: `probation breached: ${verdict.breaches.join('; ')}`,
              evidence: { breaches: [...verdict.breaches] },
              extra: NO_EXTRA,
            });
          });
          break;
        case 'passed':
          this.schedule(`probation:${family}`, () => {
            this.passProbation(family, sha);
            return Promise.resolve();
          });
          break;
        case 'running':
          if (live.dirty >= this.policy.flushEveryResults) this.flushEvidence();
          break;
      }
    } catch (error) {
      this.report(error, 'probation evidence');
    }
  }

  /** Active and candidate results for the same window (Pipeline.onShadowPair). */
  observeShadowPair(active: WindowResult, candidate: WindowResult): void {
    if (this.closed) return;
    const family = candidate.provenance.modelFamily;
    const slots = this.cache.get(family);
    const slot = slots?.candidate;
    if (
      !slot ||
      slot.manifestSha256 !== candidate.provenance.manifestSha256 ||
      slots.active?.manifestSha256 !== active.provenance.manifestSha256
    ) {
      return;
    }
    try {
      const live = this.liveOf(slot.manifestSha256);
      live.shadow = addShadowPair(live.shadow ?? slot.shadow, active, candidate);
      live.dirty += 1;
      if (!agree(active.status, candidate.status)) this.pinDisagreement(candidate);
      const manifest = this.manifestOf(slot.manifestSha256);
      const bundle = this.state.bundle(slot.manifestSha256);
      const ready =
        manifest.rollout.autoPromote &&
        bundle?.approvedFor === 'full' &&
        slots.active.probation.kind !== 'running' &&
        !this.state.frozen().frozen &&
        promotionCheck(live.shadow, manifest.rollout).ready;
      if (ready) {
        const sha = slot.manifestSha256;
        this.schedule(`promote:${family}`, async () => {
          if (this.cache.get(family)?.candidate?.manifestSha256 !== sha) return;
          const outcome = await this.doPromote(family, {
            by: 'policy',
            scope: 'full',
            force: false,
            reason: 'automatic promotion: the signed rollout policy allows it and its criteria are met',
            expect: sha,
            extra: NO_EXTRA,
          });
          if (outcome.kind === 'rejected')
            this.report(new Error(`${outcome.code}: ${outcome.detail}`), 'automatic promotion');
        });
      } else if (live.dirty >= this.policy.flushEveryResults) {
        this.flushEvidence();
      }
    } catch (error) {
      this.report(error, 'shadow evidence');
    }
  }

  /**
   * Fallback episodes of the active models (start, end with counts per reason) go to the audit log;
   * a candidate's episodes are shadow evidence only. Returns the record's sequence number.
   */
  recordPipelineEvent(event: PipelineEvent, extra: AuditPayload = {}): number | null {
    if (this.closed) return null;
    switch (event.kind) {
      case 'alert':
        return null;
      case 'fallback-episode-start':
      case 'fallback-episode-end': {
        const active = this.cache.get(event.modelFamily)?.active;
        const bundle = active ? this.state.bundle(active.manifestSha256) : undefined;
        if (bundle?.bundleId !== event.bundleId) return null;
        try {
          const payload =
            event.kind === 'fallback-episode-start'
              ? {
                  streamId: event.streamId,
                  family: event.modelFamily,
                  bundleId: event.bundleId,
                  reason: event.reason,
                  atMs: event.atMs,
                }
              : {
                  streamId: event.streamId,
                  family: event.modelFamily,
                  bundleId: event.bundleId,
                  reason: event.reason,
                  startMs: event.startMs,
                  endMs: event.endMs,
                  windows: event.windows,
                  reasons: { ...event.reasons },
                };
          return this.audit.append(event.kind, 'runtime', { ...payload, ...extra }).seq;
        } catch (error) {
          this.report(error, 'auditing a fallback episode');
          return null;
        }
      }
    }
  }

  /** Access to recorded patient data (a replay, an export of black-box windows) is itself audited. */
  recordAccess(kind: 'replay' | 'blackbox-export', actor: string, payload: AuditPayload): number {
    return this.audit.append(kind, actor, payload).seq;
  }

  /** Any other event the runtime must keep (e.g. a model that failed to load at boot). */
  recordSafetyEvent(payload: AuditPayload, actor = 'runtime'): number {
    return this.audit.append('safety-event', actor, payload).seq;
  }

  /**
   * Compares the runtime configuration with the one recorded at the previous start; a difference is
   * a `config-changed` record naming each changed field (configuration changes are audited).
   */
  recordConfig(config: Readonly<Record<string, unknown>>, actor = 'runtime'): string[] {
    const previous = this.state.meta('config') as Record<string, unknown> | undefined;
    const changed: string[] = [];
    const fields = new Set([...Object.keys(config), ...Object.keys(previous ?? {})]);
    for (const field of [...fields].sort()) {
      if (JSON.stringify(previous?.[field]) !== JSON.stringify(config[field])) changed.push(field);
    }
    if (previous !== undefined && changed.length === 0) return [];
    this.state.transaction('recording the configuration', () => {
      this.state.setMeta('config', config);
      this.audit.appendInTransaction('config-changed', actor, {
        first: previous === undefined,
        changes: Object.fromEntries(
          changed.map((f) => [f, { from: previous?.[f] ?? null, to: config[f] ?? null }]),
        ),
      });
    });
    return changed;
  }

  private passProbation(family: string, sha: string): void {
    const active = this.cache.get(family)?.active;
    if (active?.manifestSha256 !== sha || active.probation.kind !== 'running') return;
    const counters = this.live.get(sha)?.probation ?? active.probation.counters;
    const bundle = this.state.bundle(sha);
    this.commit(`ending probation of ${bundle?.bundleId ?? sha}`, NO_EXTRA, () => {
      this.state.putSlot({ ...active, probation: { kind: 'none' } });
      this.audit.appendInTransaction('probation-passed', 'policy', {
        family,
        bundleId: bundle?.bundleId ?? null,
        manifestSha256: sha,
        counters: { ...counters },
        policy: { ...this.manifestOf(sha).rollout.probation },
      });
    });
    this.fault('probation:committed');
  }

  private noteStream(family: string, streamId: string): void {
    let set = this.streams.get(family);
    if (!set) {
      set = new Set();
      this.streams.set(family, set);
    }
    if (set.has(streamId)) return;
    set.add(streamId);
    if (set.size > 64) set.delete(set.values().next().value as string);
  }

  private pinFamily(eventId: string, kind: string, family: string): void {
    try {
      for (const stream of this.streams.get(family) ?? [])
        this.blackBox.pin(eventId, kind, stream, this.policy.pinWindows);
    } catch (error) {
      this.report(error, 'pinning black-box windows');
    }
  }

  private pinDisagreement(candidate: WindowResult): void {
    const last = this.lastDisagreementPin.get(candidate.streamId);
    const now = this.now();
    if (last !== undefined && now - last < this.policy.disagreementPinIntervalMs) return;
    this.lastDisagreementPin.set(candidate.streamId, now);
    try {
      this.blackBox.pin(
        `shadow:${candidate.resultId}`,
        'shadow-disagreement',
        candidate.streamId,
        this.policy.pinWindows,
      );
    } catch (error) {
      this.report(error, 'pinning a shadow disagreement');
    }
  }

  // --- checkpoints, close ---------------------------------------------------------------------------

  /** Signs (head hash, count) with the device key and stores it; returns the newest checkpoint. */
  checkpoint(): { readonly checkpoint: DeviceCheckpoint; readonly signed: Uint8Array } {
    const head = this.audit.headCheckpoint();
    const last = this.audit.lastCheckpoint();
    if (last && last.checkpoint.count === head.count && last.checkpoint.headHash === head.headHash) {
      return { checkpoint: { ...last.checkpoint, deviceId: this.device.deviceId }, signed: last.signed };
    }
    const checkpoint: DeviceCheckpoint = { ...head, deviceId: this.device.deviceId };
    const signed = signCheckpoint(checkpoint, this.signer);
    this.audit.storeCheckpoint(head, signed);
    return { checkpoint, signed };
  }

  /** Resolves when every queued operation (including automatic promotions and rollbacks) is done. */
  async idle(): Promise<void> {
    let seen: Promise<unknown>;
    do {
      seen = this.chain;
      await seen.catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve));
    } while (seen !== this.chain || this.scheduled.size > 0);
  }

  /** Waits for running operations, saves evidence counters, records a clean shutdown. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain.catch(() => undefined);
    this.closed = true;
    try {
      this.state.transaction('recording shutdown', () => {
        this.flushEvidenceInTx();
        this.state.setMeta('running', false);
        this.audit.appendInTransaction('shutdown', 'runtime', { deviceId: this.device.deviceId });
      });
    } finally {
      this.db.close();
      this.lock.release();
    }
  }

  // --- internals ----------------------------------------------------------------------------------

  private get localActor(): string {
    return this.options.localActor ?? 'local';
  }

  private fault(point: FaultPoint): void {
    this.options.faults?.at(point);
  }

  private report(error: unknown, context: string): void {
    this.options.onError?.(error, context);
  }

  private emitStatus(transferId: string, status: Parameters<UpdateStatusListener>[1], code?: string): void {
    for (const listener of this.statusListeners) {
      try {
        listener(transferId, status, code);
      } catch (error) {
        this.report(error, 'update status listener');
      }
    }
  }

  private record(kind: AuditKind, actor: string, payload: AuditPayload): number {
    return this.audit.append(kind, actor, payload).seq;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StateError('DB_WRITE_FAILED', 'the lifecycle is closed'));
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Runs background work once at a time per key (automatic promotion, probation decisions). */
  private schedule(key: string, fn: () => Promise<void>): void {
    if (this.scheduled.has(key)) return;
    this.scheduled.add(key);
    this.exclusive(fn)
      .catch((error: unknown) => {
        this.report(error, key);
      })
      .finally(() => this.scheduled.delete(key));
  }

  private slotsOf(family: string): FamilySlots {
    return this.cache.get(family) ?? { family, active: null, candidate: null, lastKnownGood: null };
  }

  private liveOf(sha: string): Live {
    let live = this.live.get(sha);
    if (!live) {
      live = { probation: null, shadow: null, dirty: 0 };
      this.live.set(sha, live);
    }
    return live;
  }

  /** One transaction: evidence counters, the change, its audit records (and a command's). */
  private commit(action: string, extra: TxExtra, mutate: () => void): void {
    this.state.transaction(action, () => {
      this.flushEvidenceInTx();
      extra.mutate?.();
      for (const entry of extra.records) this.audit.appendInTransaction(...entry);
      mutate();
    });
    this.reloadCache();
  }

  private flushEvidence(): void {
    try {
      this.state.transaction('saving rollout evidence', () => {
        this.flushEvidenceInTx();
      });
      for (const live of this.live.values()) live.dirty = 0;
    } catch (error) {
      this.report(error, 'saving rollout evidence');
    }
  }

  private flushEvidenceInTx(): void {
    for (const slots of this.cache.values()) {
      const active = slots.active;
      const liveActive = active ? this.live.get(active.manifestSha256) : undefined;
      if (active && active.probation.kind === 'running' && liveActive?.probation && liveActive.dirty > 0) {
        this.state.putSlot({ ...active, probation: { ...active.probation, counters: liveActive.probation } });
      }
      const candidate = slots.candidate;
      const liveCandidate = candidate ? this.live.get(candidate.manifestSha256) : undefined;
      if (candidate && liveCandidate?.shadow && liveCandidate.dirty > 0) {
        this.state.putSlot({ ...candidate, shadow: liveCandidate.shadow });
      }
    }
  }

  /** Re-reads every slot after a commit; evidence counters restart from what was committed. */
  private reloadCache(): void {
    this.cache.clear();
    this.live.clear();
    for (const slots of this.state.allSlots()) this.cache.set(slots.family, slots);
  }

  private async prepare(sha: string): Promise<string | null> {
    if (!this.host) return null;
    const ref = this.bundleRef(sha);
    if (!ref) return `no installed bundle ${sha}`;
    try {
      await this.host.prepare(ref);
      return null;
    } catch (error) {
      return message(error);
    }
  }

  private async prepareOrThrow(sha: string, bundle: InstalledBundle): Promise<void> {
    if (!this.host) return;
    try {
      await this.host.prepare({
        manifestSha256: sha,
        bundleId: bundle.bundleId,
        family: bundle.family,
        version: bundle.version,
        sequence: bundle.sequence,
        dir: this.store.dirOf(sha),
        manifest: this.manifestOf(sha),
      });
    } catch (error) {
      throw new ActionFailure('LOAD_FAILED', message(error));
    }
  }

  private applyPlans(): void {
    if (!this.host) return;
    try {
      this.host.apply(this.servingPlans());
    } catch (error) {
      this.report(error, 'applying serving plans');
    }
  }

  /** Bounded disk use: superseded bundles first, then old failed/revoked evidence; never a slot. */
  private async prune(): Promise<void> {
    const inSlot = new Set(
      [...this.cache.values()].flatMap((s) =>
        [s.active, s.candidate, s.lastKnownGood].flatMap((x) => (x ? [x.manifestSha256] : [])),
      ),
    );
    const all = this.state
      .bundles()
      .sort((a, b) => a.installedAtMs - b.installedAtMs || a.sequence - b.sequence);
    const free = all.filter((b) => !inSlot.has(b.manifestSha256));
    const evidence = free.filter((b) => b.state !== 'installed');
    const doomed = new Set(
      evidence
        .slice(0, Math.max(0, evidence.length - this.policy.keepFailedBundles))
        .map((b) => b.manifestSha256),
    );
    let count = all.length - doomed.size;
    let bytes = all.filter((b) => !doomed.has(b.manifestSha256)).reduce((sum, b) => sum + b.bytes, 0);
    for (const b of [...free.filter((x) => x.state === 'installed'), ...evidence]) {
      if (count <= this.policy.maxInstalledBundles && bytes <= this.policy.maxStoreBytes) break;
      if (doomed.has(b.manifestSha256)) continue;
      doomed.add(b.manifestSha256);
      count -= 1;
      bytes -= b.bytes;
    }
    for (const b of all) {
      if (!doomed.has(b.manifestSha256)) continue;
      this.commit(`pruning ${b.bundleId}`, NO_EXTRA, () => {
        this.state.deleteBundle(b.manifestSha256);
        this.audit.appendInTransaction('bundle-pruned', 'runtime', {
          family: b.family,
          bundleId: b.bundleId,
          manifestSha256: b.manifestSha256,
          state: b.state,
          bytes: b.bytes,
        });
      });
      this.manifests.delete(b.manifestSha256);
      this.fault('prune:committed');
      await this.store.remove(b.manifestSha256);
    }
  }
}

/** An action that failed inside an install (reported as a rejection with its code). */
class ActionFailure extends Error {
  constructor(
    readonly code: RejectCode,
    message: string,
  ) {
    super(message);
  }
}
