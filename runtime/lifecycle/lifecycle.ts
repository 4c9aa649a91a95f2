// The device's model lifecycle (issue 5; docs/lifecycle.md): install (private copy → verify → extract
// → atomic switch), shadow evidence and promotion (by the signed rollout policy or a signed command),
// probation with automatic rollback to the last known good bundle, freeze, revocation, signed
// commands with replay protection, and the audit trail of every step. One operation runs at a time;
// every state change commits in one SQLite transaction together with its audit records. This is the
// public face; the operations live in their own modules over the shared core (core.ts).
import crypto from 'node:crypto';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { bytesToHex, type Manifest, type Signer } from '../../models/format/index.ts';
import type { PipelineEvent, WindowResult } from '../pipeline/index.ts';
import {
  DeviceState,
  STATE_DB_FILE,
  STATE_MIGRATIONS,
  WriterLock,
  ensureDirSync,
  loadOrCreateDeviceKey,
  loadOrCreateStorageKey,
  openStateDb,
  signCheckpoint,
  stateErrorFrom,
  type AuditLog,
  type AuditPayload,
  type AuditRecord,
  type BlackBox,
  type DeviceCheckpoint,
  type InstalledBundle,
  type Suppression,
} from '../state/index.ts';
import { TrustStore } from '../trust/index.ts';
import { applyCommand } from './apply-command.ts';
import { boot } from './boot.ts';
import type { BundleStore } from './bundle-store.ts';
import { LifecycleCore } from './core.ts';
import { LifecycleError } from './errors.ts';
import { install } from './install.ts';
import { observeResult, observeShadowPair, recordPipelineEvent } from './observe.ts';
import type { InstallOptions, LifecycleOptions, UpdateStatusListener } from './options.ts';
import { localRollback } from './rollback.ts';
import { describeState } from './status.ts';
import { liftSuppression, suppressOutputs, type SuppressionOutcome } from './suppress.ts';
import { updateTrust } from './trust-update.ts';
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

export {
  DEFAULT_LIFECYCLE_POLICY,
  type FaultHooks,
  type FaultPoint,
  type InstallOptions,
  type LifecycleOptions,
  type LifecyclePolicy,
  type UpdateStatusListener,
} from './options.ts';

export class Lifecycle {
  private constructor(private readonly core: LifecycleCore) {}

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
      const stored = new DeviceState(db).currentTrust();
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
      const core = new LifecycleCore(options, db, lock, device.key, storage.key, trust);
      await boot(core, stored === null, { storage: storage.created, device: device.created });
      return new Lifecycle(core);
    } catch (error) {
      db?.close();
      lock.release();
      // System errors (they name the failing syscall) get the state's codes: DB_FULL, DB_READONLY…
      const syscall = (error as { syscall?: unknown }).syscall;
      throw typeof syscall === 'string' ? stateErrorFrom(error, 'opening the device state') : error;
    }
  }

  // --- identity, keys, hooks ----------------------------------------------------------------------

  get trust(): TrustStore {
    return this.core.trustStore;
  }

  get device(): DeviceIdentity {
    return this.core.device;
  }

  get audit(): AuditLog {
    return this.core.audit;
  }

  get blackBox(): BlackBox {
    return this.core.blackBox;
  }

  get store(): BundleStore {
    return this.core.store;
  }

  get deviceKeyInfo(): { readonly kid: string; readonly publicKey: Uint8Array } {
    return { kid: this.core.deviceKey.kid, publicKey: this.core.deviceKey.publicKey };
  }

  /** Signs with the device key (checkpoints, telemetry seals). */
  get deviceSigner(): Signer {
    return this.core.signer;
  }

  isFrozen(): boolean {
    return this.core.state.frozen().frozen;
  }

  setHost(host: ServingHost | null): void {
    this.core.host = host;
  }

  /**
   * Every committed audit record, in order — from the records of this boot on (a listener added after
   * open first receives what was recorded since then). For publishing safety events and the like.
   */
  onAudit(listener: (record: AuditRecord) => void): () => void {
    this.core.auditListeners.add(listener);
    this.core.publishAudit();
    return () => this.core.auditListeners.delete(listener);
  }

  onUpdateStatus(listener: UpdateStatusListener): () => void {
    this.core.statusListeners.add(listener);
    return () => this.core.statusListeners.delete(listener);
  }

  // --- queries ------------------------------------------------------------------------------------

  bundle(manifestSha256: string): InstalledBundle | undefined {
    return this.core.state.bundle(manifestSha256);
  }

  /** The verified files and manifest of an installed bundle (replay, the serving host). */
  bundleRef(manifestSha256: string): BundleRef | undefined {
    return this.core.bundleRef(manifestSha256);
  }

  manifestOf(manifestSha256: string): Manifest {
    return this.core.manifestOf(manifestSha256);
  }

  /** What the pipeline should run, per family (after boot and after every committed change). */
  servingPlans(): FamilyPlan[] {
    return this.core.servingPlans();
  }

  status(): LifecycleStatus {
    const core = this.core;
    return describeState({
      state: core.state,
      audit: core.audit,
      device: core.device,
      trust: { version: core.trustStore.version, sha256: core.trustStore.sha256 },
      deviceKey: { kid: core.deviceKey.kid, publicKey: bytesToHex(core.deviceKey.publicKey) },
      manifestOf: (sha) => core.manifestOf(sha),
      live: (sha) => core.live.get(sha),
      probationMinRateWindows: core.policy.probationMinRateWindows,
    });
  }

  // --- operations ---------------------------------------------------------------------------------

  /** Installs a .vbundle file (local or from a transfer). Idempotent per manifest. */
  install(file: string, options: InstallOptions = { source: 'local' }): Promise<InstallOutcome> {
    return this.core.exclusive(() => install(this.core, file, options));
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

  /**
   * Applies a signed command (MQTT or `vigil command apply`). Every command, accepted or rejected, is
   * audited with who signed it (kid, role), who issued it, and why.
   */
  applyCommand(
    bytes: Uint8Array,
    via: { readonly via: 'mqtt' | 'local'; readonly topic?: string } = { via: 'local' },
  ): Promise<CommandOutcome> {
    return applyCommand(this.core, bytes, via);
  }

  /** The MQTT hook: `onCommand(bytes, topic)`. Outcomes are in the audit log. */
  async handleCommand(bytes: Uint8Array, topic: string): Promise<void> {
    await this.applyCommand(bytes, { via: 'mqtt', topic });
  }

  /**
   * A command the transport refused before reading it (above its size cap): audited like any other
   * rejected command, with who sent it unknown (its bytes were never buffered, so never verified).
   */
  recordTransportRejection(rejection: {
    readonly code: string;
    readonly topic: string;
    readonly bytes: number;
    readonly limit: number;
  }): void {
    this.core.record('command-rejected', 'unauthenticated', {
      code: rejection.code,
      detail: `${String(rejection.bytes)} bytes exceed the transport's cap of ${String(rejection.limit)}`,
      via: 'mqtt',
      topic: rejection.topic,
      bytes: rejection.bytes,
      limit: rejection.limit,
    });
  }

  /** A field engineer's local rollback (`vigil rollback --yes`): audited, refused while frozen. */
  rollback(
    family: string,
    request: { readonly reason: string; readonly actor?: string },
  ): Promise<ActionOutcome> {
    return localRollback(this.core, family, request);
  }

  /**
   * Suppresses a bundle's outputs (a drift policy's `suppress-outputs` safe action, actor `policy`, or
   * an operator's): while that bundle is the active model of its family, its declared fallback answers
   * every window (OUTPUTS_SUPPRESSED) — through model changes and restarts, until lifted. Takes effect
   * at once (not queued behind other operations); persisted and audited. Idempotent.
   */
  suppressOutputs(
    bundleId: string,
    request: { readonly reason: string; readonly actor?: string; readonly sinceMs?: number },
  ): SuppressionOutcome {
    return suppressOutputs(this.core, bundleId, { ...request, actor: request.actor ?? 'policy' });
  }

  /** Ends a suppression (audited with who and why). */
  liftSuppression(
    bundleId: string,
    request: { readonly reason: string; readonly actor?: string },
  ): SuppressionOutcome {
    return liftSuppression(this.core, bundleId, { ...request, actor: request.actor ?? this.core.localActor });
  }

  /** Output suppressions in force. */
  suppressions(): Suppression[] {
    return [...this.core.suppressions.values()];
  }

  /** Offers the next trust document (TUF rotation N → N+1); audited either way. */
  updateTrust(bytes: Uint8Array, source: string): Promise<TrustOutcome> {
    return updateTrust(this.core, bytes, source);
  }

  // --- evidence and records -----------------------------------------------------------------------

  /** Every result the active runners produce (probation health). Cheap; never throws. */
  observeResult(result: WindowResult): void {
    observeResult(this.core, result);
  }

  /** Active and candidate results for the same window (Pipeline.onShadowPair). */
  observeShadowPair(active: WindowResult, candidate: WindowResult): void {
    observeShadowPair(this.core, active, candidate);
  }

  /**
   * Fallback episodes of the active models (start, end with counts per reason) go to the audit log;
   * a candidate's episodes are shadow evidence only. Returns the record's sequence number.
   */
  recordPipelineEvent(event: PipelineEvent, extra: AuditPayload = {}): number | null {
    return recordPipelineEvent(this.core, event, extra);
  }

  /** Access to recorded patient data (a replay, an export of black-box windows) is itself audited. */
  recordAccess(kind: 'replay' | 'blackbox-export', actor: string, payload: AuditPayload): number {
    return this.core.record(kind, actor, payload);
  }

  /** Any other event the runtime must keep (e.g. a model that failed to load at boot). */
  recordSafetyEvent(payload: AuditPayload, actor = 'runtime'): number {
    return this.core.record('safety-event', actor, payload);
  }

  /**
   * Compares the runtime configuration with the one recorded at the previous start; a difference is
   * a `config-changed` record naming each changed field (configuration changes are audited).
   */
  recordConfig(config: Readonly<Record<string, unknown>>, actor = 'runtime'): string[] {
    const { state, audit } = this.core;
    const previous = state.meta('config') as Record<string, unknown> | undefined;
    const changed: string[] = [];
    const fields = new Set([...Object.keys(config), ...Object.keys(previous ?? {})]);
    for (const field of [...fields].sort()) {
      if (JSON.stringify(previous?.[field]) !== JSON.stringify(config[field])) changed.push(field);
    }
    if (previous !== undefined && changed.length === 0) return [];
    state.transaction('recording the configuration', () => {
      state.setMeta('config', config);
      audit.appendInTransaction('config-changed', actor, {
        first: previous === undefined,
        changes: Object.fromEntries(
          changed.map((f) => [f, { from: previous?.[f] ?? null, to: config[f] ?? null }]),
        ),
      });
    });
    this.core.publishAudit();
    return changed;
  }

  // --- checkpoints, close -------------------------------------------------------------------------

  /** Signs (head hash, count) with the device key and stores it; returns the newest checkpoint. */
  checkpoint(): { readonly checkpoint: DeviceCheckpoint; readonly signed: Uint8Array } {
    const { audit, device, signer } = this.core;
    const head = audit.headCheckpoint();
    const last = audit.lastCheckpoint();
    if (last && last.checkpoint.count === head.count && last.checkpoint.headHash === head.headHash) {
      return { checkpoint: { ...last.checkpoint, deviceId: device.deviceId }, signed: last.signed };
    }
    const checkpoint: DeviceCheckpoint = { ...head, deviceId: device.deviceId };
    const signed = signCheckpoint(checkpoint, signer);
    audit.storeCheckpoint(head, signed);
    return { checkpoint, signed };
  }

  /**
   * Periodic housekeeping (the daemon runs it with its checkpoints): black-box pins past their
   * retention or beyond the byte bound, and nonces of commands that have expired (they can no longer
   * be replayed). Returns what was deleted.
   */
  maintain(): { readonly blackBoxWindows: number; readonly commandNonces: number } {
    const core = this.core;
    const blackBoxWindows = core.blackBox.prune();
    const commandNonces = core.state.transaction('pruning settled commands', () =>
      core.state.pruneCommands(core.now() - core.commandPolicy.clockSkewMs),
    );
    return { blackBoxWindows, commandNonces };
  }

  /** Resolves when every queued operation (including automatic promotions and rollbacks) is done. */
  async idle(): Promise<void> {
    let seen: Promise<unknown>;
    do {
      seen = this.core.chain;
      await seen.catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve));
    } while (seen !== this.core.chain || this.core.scheduled.size > 0);
  }

  /** Waits for running operations, saves evidence counters, records a clean shutdown. */
  async close(): Promise<void> {
    const core = this.core;
    if (core.closed) return;
    await core.chain.catch(() => undefined);
    core.closed = true;
    try {
      core.state.transaction('recording shutdown', () => {
        core.flushEvidenceInTx();
        core.state.setMeta('running', false);
        core.audit.appendInTransaction('shutdown', 'runtime', { deviceId: core.device.deviceId });
      });
    } finally {
      core.db.close();
      core.lock.release();
    }
  }
}
