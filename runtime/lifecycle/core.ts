// The lifecycle's shared machinery (internal): the state, audit log, bundle store and trust store it
// works on, the in-memory view of the slots with the rollout evidence counted since the last write,
// one-operation-at-a-time scheduling, and the one-transaction commit every state change goes through.
// The operations live in their own modules (install, promote, rollback, revocation, commands,
// observe, boot, prune); lifecycle.ts is the public face.
import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  BundleError,
  DEFAULT_BUNDLE_LIMITS,
  bytesToHex,
  decodeManifest,
  sha256,
  signerFor,
  type BundleLimits,
  type Manifest,
  type SecretKey,
  type Signer,
} from '../../models/format/index.ts';
import {
  AuditLog,
  BlackBox,
  DEFAULT_BLACKBOX_OPTIONS,
  DeviceState,
  StateError,
  ZERO_PROBATION,
  type ActiveSlot,
  type AuditKind,
  type AuditPayload,
  type AuditRecord,
  type FamilySlots,
  type InstalledBundle,
  type ProbationCounters,
  type ShadowCounters,
  type Suppression,
  type WriterLock,
} from '../state/index.ts';
import type { TrustStore } from '../trust/index.ts';
import { BundleStore } from './bundle-store.ts';
import { DEFAULT_COMMAND_POLICY, type CommandPolicy } from './command.ts';
import type { RejectCode } from './errors.ts';
import {
  DEFAULT_LIFECYCLE_POLICY,
  type FaultPoint,
  type LifecycleOptions,
  type LifecyclePolicy,
  type UpdateStatusListener,
} from './options.ts';
import type { ActionOutcome, BundleRef, DeviceIdentity, FamilyPlan, ServingHost } from './types.ts';

export type AuditEntry = readonly [AuditKind, string, AuditPayload];

/** Extra work committed together with an action (a command's own record and nonce resolution). */
export interface TxExtra {
  readonly records: readonly AuditEntry[];
  readonly mutate?: () => void;
}

export const NO_EXTRA: TxExtra = { records: [] };

/** Evidence counted since the last write, per bundle (probation for the active, shadow for the candidate). */
export interface Live {
  probation: ProbationCounters | null;
  shadow: ShadowCounters | null;
  dirty: number;
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function rejected(code: RejectCode, detail: string): ActionOutcome {
  return { kind: 'rejected', code, detail };
}

/** An action that failed inside an install (reported as a rejection with its code). */
export class ActionFailure extends Error {
  constructor(
    readonly code: RejectCode,
    message: string,
  ) {
    super(message);
  }
}

export class LifecycleCore {
  readonly state: DeviceState;
  readonly audit: AuditLog;
  readonly blackBox: BlackBox;
  readonly store: BundleStore;
  readonly policy: LifecyclePolicy;
  readonly commandPolicy: CommandPolicy;
  readonly limits: BundleLimits;
  readonly now: () => number;
  readonly signer: Signer;
  readonly cache = new Map<string, FamilySlots>();
  readonly live = new Map<string, Live>();
  readonly manifests = new Map<string, Manifest>();
  /** Recent streams per family (whose windows a rollback pins). */
  readonly streams = new Map<string, Set<string>>();
  readonly lastDisagreementPin = new Map<string, number>();
  readonly scheduled = new Set<string>();
  readonly statusListeners = new Set<UpdateStatusListener>();
  /** Output suppressions in force, by bundle id (the suppressions table). */
  readonly suppressions = new Map<string, Suppression>();
  /** Listeners of committed audit records (telemetry publishes safety events and checkpoints). */
  readonly auditListeners = new Set<(record: AuditRecord) => void>();
  /** Records up to here were handed to the listeners (records since the lifecycle opened are due). */
  private publishedSeq: number;
  trustStore: TrustStore;
  host: ServingHost | null;
  chain: Promise<unknown> = Promise.resolve();
  closed = false;

  constructor(
    readonly options: LifecycleOptions,
    readonly db: Database.Database,
    readonly lock: WriterLock,
    readonly deviceKey: SecretKey,
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
    this.publishedSeq = this.audit.headCheckpoint().count;
    this.reloadSuppressions();
  }

  reloadSuppressions(): void {
    this.suppressions.clear();
    for (const s of this.state.suppressions()) this.suppressions.set(s.bundleId, s);
  }

  /** Hands every committed record not handed over yet to the audit listeners, in order. */
  publishAudit(): void {
    if (this.auditListeners.size === 0) return;
    for (const record of this.audit.records(this.publishedSeq + 1)) {
      this.publishedSeq = record.seq;
      for (const listener of this.auditListeners) {
        try {
          listener(record);
        } catch (error) {
          this.report(error, 'audit listener');
        }
      }
    }
  }

  get device(): DeviceIdentity {
    return this.options.device;
  }

  async integrityProblem(sha: string): Promise<string | null> {
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
            ? { bundle: activeRef, override: this.forcedFallback(active) ?? this.suppression(activeRef) }
            : null,
        shadow:
          activeRef && candidate?.state === 'installed'
            ? (this.bundleRef(candidate.manifestSha256) ?? null)
            : null,
      });
    }
    return plans;
  }

  /**
   * The declared fallback answers for an active bundle that must not run: withdrawn (its rollback
   * under way), in rule-fallback, or — whatever its mode says — a bundle no longer `installed`
   * (revoked or failed): a revoked model is never served as a model, not even for a moment.
   */
  forcedFallback(active: ActiveSlot): NonNullable<FamilyPlan['active']>['override'] {
    switch (active.mode.kind) {
      case 'withdrawn':
      case 'rule-fallback':
        return { reason: 'MODEL_REVOKED', detail: active.mode.detail };
      case 'model': {
        const bundle = this.state.bundle(active.manifestSha256);
        if (bundle?.state === 'installed') return null;
        return {
          reason: 'MODEL_REVOKED',
          detail: `${bundle?.bundleId ?? active.manifestSha256} is ${bundle?.state ?? 'missing'}: ${bundle?.stateDetail ?? ''}`,
        };
      }
    }
  }

  /** A suppression of the active bundle's outputs (after MODEL_REVOKED, which wins). */
  suppression(active: BundleRef): NonNullable<FamilyPlan['active']>['override'] {
    const s = this.suppressions.get(active.bundleId);
    return s
      ? {
          reason: 'OUTPUTS_SUPPRESSED',
          detail: `suppressed by ${s.actor} since ${new Date(s.sinceMs).toISOString()}: ${s.reason}`,
        }
      : null;
  }

  startProbation(manifest: Manifest): ActiveSlot['probation'] {
    return manifest.rollout.probation.windows > 0
      ? { kind: 'running', startedAtMs: this.now(), counters: ZERO_PROBATION }
      : { kind: 'none' };
  }

  noteStream(family: string, streamId: string): void {
    let set = this.streams.get(family);
    if (!set) {
      set = new Set();
      this.streams.set(family, set);
    }
    if (set.has(streamId)) return;
    set.add(streamId);
    if (set.size > 64) set.delete(set.values().next().value as string);
  }

  pinFamily(eventId: string, kind: string, family: string): void {
    try {
      for (const stream of this.streams.get(family) ?? [])
        this.blackBox.pin(eventId, kind, stream, this.policy.pinWindows);
    } catch (error) {
      this.report(error, 'pinning black-box windows');
    }
  }

  get localActor(): string {
    return this.options.localActor ?? 'local';
  }

  fault(point: FaultPoint): void {
    this.options.faults?.at(point);
  }

  report(error: unknown, context: string): void {
    this.options.onError?.(error, context);
  }

  emitStatus(transferId: string, status: Parameters<UpdateStatusListener>[1], code?: string): void {
    for (const listener of this.statusListeners) {
      try {
        listener(transferId, status, code);
      } catch (error) {
        this.report(error, 'update status listener');
      }
    }
  }

  record(kind: AuditKind, actor: string, payload: AuditPayload): number {
    const seq = this.audit.append(kind, actor, payload).seq;
    this.publishAudit();
    return seq;
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StateError('DB_WRITE_FAILED', 'the lifecycle is closed'));
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Runs background work once at a time per key (automatic promotion, probation decisions). */
  schedule(key: string, fn: () => Promise<void>): void {
    if (this.scheduled.has(key)) return;
    this.scheduled.add(key);
    this.exclusive(fn)
      .catch((error: unknown) => {
        this.report(error, key);
      })
      .finally(() => this.scheduled.delete(key));
  }

  slotsOf(family: string): FamilySlots {
    return this.cache.get(family) ?? { family, active: null, candidate: null, lastKnownGood: null };
  }

  liveOf(sha: string): Live {
    let live = this.live.get(sha);
    if (!live) {
      live = { probation: null, shadow: null, dirty: 0 };
      this.live.set(sha, live);
    }
    return live;
  }

  /** One transaction: evidence counters, the change, its audit records (and a command's). */
  commit(action: string, extra: TxExtra, mutate: () => void): void {
    this.state.transaction(action, () => {
      this.flushEvidenceInTx();
      extra.mutate?.();
      for (const entry of extra.records) this.audit.appendInTransaction(...entry);
      mutate();
    });
    this.reloadCache();
    this.publishAudit();
  }

  flushEvidence(): void {
    try {
      this.state.transaction('saving rollout evidence', () => {
        this.flushEvidenceInTx();
      });
      for (const live of this.live.values()) live.dirty = 0;
    } catch (error) {
      this.report(error, 'saving rollout evidence');
    }
  }

  flushEvidenceInTx(): void {
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
  reloadCache(): void {
    this.cache.clear();
    this.live.clear();
    for (const slots of this.state.allSlots()) this.cache.set(slots.family, slots);
  }

  async prepare(sha: string): Promise<string | null> {
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

  async prepareOrThrow(sha: string, bundle: InstalledBundle): Promise<void> {
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

  applyPlans(): void {
    if (!this.host) return;
    try {
      this.host.apply(this.servingPlans());
    } catch (error) {
      this.report(error, 'applying serving plans');
    }
  }
}
