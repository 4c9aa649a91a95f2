// The device daemon core: opens the device state and lifecycle, loads the bundles the slots name into
// the pipeline (active and shadow runners, rule-fallback overrides), feeds the lifecycle its evidence
// (probation results, shadow pairs, fallback episodes), records every window in the black box and pins
// alerts, fallback episodes and shadow disagreements, signs audit checkpoints, and exposes the hooks
// the device transport and the firmware bridge need. The bridge server and MQTT wiring are built
// around it (`transportHooks` go straight into monitor/updates openDeviceTransport).
import { signSign1 } from '../models/format/index.ts';
import { UPDATE_STATUS_CONTENT_TYPE } from '../monitor/updates/index.ts';
import { loadStagedModel } from './assemble.ts';
import type { RuntimeConfig } from './config.ts';
import { DeviceRuntime } from './device.ts';
import type { BackendChoice } from './inference/backend.ts';
import { selectBackend } from './inference/select.ts';
import {
  Lifecycle,
  type BundleRef,
  type CommandOutcome,
  type FamilyPlan,
  type InstallOptions,
  type InstallOutcome,
  type LifecycleOptions,
  type ServingHost,
  type SuppressionOutcome,
  type UpdateStatusListener,
} from './lifecycle/index.ts';
import { replayEvent, type ReplayReport } from './lifecycle/replay.ts';
import type { ModelHandle } from './loader.ts';
import {
  ModelRunner,
  Pipeline,
  type PipelineEvent,
  type PipelineObserver,
  type Window,
  type WindowResult,
} from './pipeline/index.ts';
import type { AuditRecord, DeviceCheckpoint } from './state/index.ts';
import { RUNTIME_VERSION } from './version.ts';

/**
 * A safety-relevant lifecycle event for the fleet (rollbacks, freezes, revocations, damaged bundles):
 * the fields of the collector's safety event (monitor/collector signed-messages), without the fleet,
 * device and telemetry sequence the publisher adds.
 */
export interface SafetyNotice {
  readonly type: 'rollback' | 'freeze' | 'unfreeze' | 'revocation' | 'bundle-integrity' | 'other';
  readonly atMs: number;
  readonly family: string | null;
  readonly bundleId: string | null;
  readonly manifestSha256: string | null;
  /** At most 512 characters. */
  readonly detail: string | null;
  /** The audit record it comes from. */
  readonly auditSeq: number;
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The safety notice an audit record calls for, if any. */
export function safetyNotice(record: AuditRecord): SafetyNotice | null {
  const p = record.payload;
  const base = { atMs: record.atMs, auditSeq: record.seq };
  const detail = (s: string) => s.slice(0, 512);
  switch (record.kind) {
    case 'safety-event': {
      const type = p.type === 'rollback' || p.type === 'bundle-integrity' ? p.type : 'other';
      return {
        ...base,
        type,
        family: text(p.family),
        bundleId: text(p.from) ?? text(p.bundleId),
        manifestSha256: text(p.fromManifestSha256) ?? text(p.manifestSha256),
        detail: detail(
          type === 'rollback'
            ? `${String(p.cause)}: ${String(p.reason)} → ${text(p.to) ?? 'declared fallback'}`
            : `${String(p.type)}: ${String(p.detail)}`,
        ),
      };
    }
    case 'frozen':
    case 'unfrozen':
      return {
        ...base,
        type: record.kind === 'frozen' ? 'freeze' : 'unfreeze',
        family: null,
        bundleId: null,
        manifestSha256: null,
        detail: detail(`${record.actor}: ${String(p.reason)}`),
      };
    case 'bundle-revoked': {
      const first = (
        p.bundles as readonly { bundleId?: unknown; manifestSha256?: unknown }[] | undefined
      )?.[0];
      return {
        ...base,
        type: 'revocation',
        family: null,
        bundleId: text(first?.bundleId),
        manifestSha256: text(first?.manifestSha256),
        detail: detail(`${String(p.selector)}: ${String(p.reason)}`),
      };
    }
    case 'bundle-withdrawn':
      // Its approvals no longer hold (trust rotation, expiry at promotion): a candidate or rollback
      // target gone, or the active model withdrawn (its rollback follows with its own notice).
      return {
        ...base,
        type: 'other',
        family: text(p.family),
        bundleId: text(p.bundleId),
        manifestSha256: text(p.manifestSha256),
        detail: detail(`${String(p.slot)} withdrawn: ${String(p.code)}: ${String(p.detail)}`),
      };
    // Everything else is evidence for the audit trail, not a fleet safety notice (suppressions reach
    // the fleet with the drift reports' suppressedSinceMs and the drift event) (a rollback comes
    // with its own safety-event record, so `bundle-rolled-back` is not repeated).
    case 'boot':
    case 'shutdown':
    case 'recovery':
    case 'config-changed':
    case 'trust-anchored':
    case 'trust-rotated':
    case 'trust-rejected':
    case 'bundle-received':
    case 'bundle-verified':
    case 'bundle-rejected':
    case 'bundle-installed':
    case 'bundle-activated':
    case 'bundle-shadow-started':
    case 'bundle-superseded':
    case 'bundle-promoted':
    case 'probation-passed':
    case 'bundle-rolled-back':
    case 'bundle-pruned':
    case 'command-accepted':
    case 'command-rejected':
    case 'fallback-episode-start':
    case 'fallback-episode-end':
    case 'outputs-suppressed':
    case 'suppression-lifted':
    case 'drift-alarm':
    case 'checkpoint':
    case 'blackbox-export':
    case 'replay':
      return null;
  }
}

export interface DaemonHooks {
  /** A new signed audit checkpoint (publish it to the collector). */
  readonly onCheckpoint?: (checkpoint: DeviceCheckpoint, signed: Uint8Array) => void;
  /** Every committed audit record, in order, from this start on. */
  readonly onAudit?: (record: AuditRecord) => void;
  /** Rollbacks, freezes, revocations, damaged bundles: for the fleet's safety events. */
  readonly onSafetyEvent?: (notice: SafetyNotice) => void;
  /** Later update stages for a transfer (pass `transport.reportUpdateStatus`). */
  readonly onUpdateStatus?: UpdateStatusListener;
  /** Failures in background work (loading, evidence, pins): logged, never thrown at the pipeline. */
  readonly onError?: (error: unknown, context: string) => void;
}

export interface DaemonOptions {
  readonly config: RuntimeConfig;
  /** The device's cohort (signed commands may target a cohort). */
  readonly cohort?: string | null;
  /** A signed trust document: the anchor on first start, or the next version. */
  readonly trust?: Uint8Array;
  readonly trustSource?: string;
  readonly now?: () => number;
  readonly monoNow?: () => number;
  readonly random?: (n: number) => Uint8Array;
  /** Reuse a chosen inference backend (tests); otherwise chosen per config. */
  readonly backend?: BackendChoice;
  /** More pipeline observers (the drift monitor…): every result, shadow ones included, and event. */
  readonly observers?: readonly PipelineObserver[];
  /** Lifecycle knobs (policy, limits, black box, fault hooks for the crash test). */
  readonly lifecycle?: Partial<
    Pick<
      LifecycleOptions,
      | 'policy'
      | 'commandPolicy'
      | 'verifyPolicy'
      | 'limits'
      | 'blackBox'
      | 'faults'
      | 'localActor'
      | 'validatePreprocessing'
      | 'onDbOpen'
    >
  >;
  /** Sign a checkpoint this often (0: only on request and at close). */
  readonly checkpointIntervalMs?: number;
  readonly labelJoinCapacity?: number;
  readonly hooks?: DaemonHooks;
}

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 15 * 60_000;

/** Loads bundles into runners and applies the lifecycle's serving plans to the pipeline. */
class PipelineHost implements ServingHost {
  private readonly handles = new Map<string, Promise<ModelHandle>>();
  private readonly runners = new Map<string, ModelRunner>();
  private plans: readonly FamilyPlan[] = [];

  constructor(
    private readonly pipeline: Pipeline,
    private readonly backend: BackendChoice,
    private readonly config: RuntimeConfig,
    private readonly observer: PipelineObserver,
    private readonly monoNow: () => number,
    private readonly report: (error: unknown, context: string) => void,
  ) {}

  async prepare(bundle: BundleRef): Promise<void> {
    await this.load(bundle);
  }

  private load(bundle: BundleRef): Promise<ModelHandle> {
    let handle = this.handles.get(bundle.manifestSha256);
    if (!handle) {
      handle = loadStagedModel(bundle, this.backend.backend, {
        maxBatch: this.config.maxBatch,
        batchMaxWaitMs: this.config.batchMaxWaitMs,
      });
      this.handles.set(bundle.manifestSha256, handle);
      handle.catch(() => this.handles.delete(bundle.manifestSha256));
    }
    return handle;
  }

  /** Loads everything the current plans name (boot); returns the bundles that failed to load. */
  async prepareAll(plans: readonly FamilyPlan[]): Promise<{ bundle: BundleRef; error: unknown }[]> {
    const failed: { bundle: BundleRef; error: unknown }[] = [];
    for (const plan of plans) {
      for (const ref of [plan.active?.bundle, plan.shadow]) {
        if (!ref) continue;
        try {
          await this.load(ref);
        } catch (error) {
          this.report(error, `loading ${ref.bundleId}`);
          failed.push({ bundle: ref, error });
        }
      }
    }
    return failed;
  }

  apply(plans: readonly FamilyPlan[]): void {
    this.plans = plans;
    // Overrides first, synchronously, on the runners already serving: a withdrawal (or a suppression)
    // holds from the very next window, not only once the plan's models are loaded and swapped in.
    for (const plan of plans) {
      if (!plan.active) continue;
      this.runners.get(`${plan.active.bundle.manifestSha256}:active`)?.setOverride(plan.active.override);
    }
    void this.applyLoaded();
  }

  private async applyLoaded(): Promise<void> {
    const plans = this.plans;
    const ready = async (ref: BundleRef | null | undefined): Promise<ModelHandle | null> => {
      if (!ref) return null;
      try {
        return await this.load(ref);
      } catch (error) {
        this.report(error, `loading ${ref.bundleId}`);
        return null;
      }
    };
    const resolved = await Promise.all(
      plans.map(async (plan) => ({
        plan,
        active: await ready(plan.active?.bundle),
        shadow: await ready(plan.shadow),
      })),
    );
    if (plans !== this.plans) return; // a newer plan arrived while loading
    const used = new Set<string>();
    for (const { plan, active, shadow } of resolved) {
      if (!plan.active || !active) {
        this.pipeline.removeFamily(plan.family);
        continue;
      }
      const activeRunner = this.runner(plan.active.bundle, active, false);
      activeRunner.setOverride(plan.active.override);
      used.add(`${plan.active.bundle.manifestSha256}:active`);
      let shadowRunner: ModelRunner | null = null;
      if (plan.shadow && shadow) {
        shadowRunner = this.runner(plan.shadow, shadow, true);
        used.add(`${plan.shadow.manifestSha256}:shadow`);
      }
      this.pipeline.setFamily(plan.family, { active: activeRunner, shadow: shadowRunner });
    }
    for (const family of this.pipeline.familyNames()) {
      if (!plans.some((p) => p.family === family)) this.pipeline.removeFamily(family);
    }
    for (const key of [...this.runners.keys()]) if (!used.has(key)) this.runners.delete(key);
    await this.unloadUnused();
  }

  private runner(ref: BundleRef, handle: ModelHandle, shadow: boolean): ModelRunner {
    const key = `${ref.manifestSha256}:${shadow ? 'shadow' : 'active'}`;
    let runner = this.runners.get(key);
    if (!runner) {
      runner = new ModelRunner(
        handle.model,
        {
          runtimeVersion: RUNTIME_VERSION,
          inferenceDeadlineMs: this.config.inferenceDeadlineMs,
          monoNow: this.monoNow,
          shadow,
        },
        this.observer,
      );
      this.runners.set(key, runner);
    }
    return runner;
  }

  /** Sessions no plan names any more are closed once the windows in flight are done. */
  private async unloadUnused(): Promise<void> {
    const named = (sha: string) =>
      this.plans.some((p) => p.active?.bundle.manifestSha256 === sha || p.shadow?.manifestSha256 === sha);
    const unused = [...this.handles.keys()].filter((sha) => !named(sha));
    if (unused.length === 0) return;
    await this.pipeline.drain();
    for (const sha of unused) {
      if (named(sha)) continue;
      const handle = this.handles.get(sha);
      this.handles.delete(sha);
      try {
        await (await handle)?.unload();
      } catch (error) {
        this.report(error, 'unloading a model');
      }
    }
  }

  async close(): Promise<void> {
    await this.pipeline.drain();
    for (const handle of this.handles.values()) {
      try {
        await (await handle).unload();
      } catch {
        // failed loads have nothing to unload
      }
    }
    this.handles.clear();
  }
}

export class VigilDaemon {
  /** Hooks for monitor/updates `openDeviceTransport` (pass them straight through). */
  readonly transportHooks: {
    readonly onCommand: (payload: Uint8Array, topic: string) => Promise<void>;
    readonly onCommandRejected: (rejection: Parameters<Lifecycle['recordTransportRejection']>[0]) => void;
    readonly onBundleStaged: (path: string, transferId: string) => ReturnType<Lifecycle['installStaged']>;
    readonly sealStatus: (payload: Uint8Array) => Uint8Array;
  };
  private readonly pendingPins = new Map<string, string>();
  /** Result ids of the alerts just sent (the event comes before its result): pinned with it. */
  private readonly pendingAlertPins = new Set<string>();
  private checkpointTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    readonly config: RuntimeConfig,
    readonly lifecycle: Lifecycle,
    readonly pipeline: Pipeline,
    readonly runtime: DeviceRuntime,
    readonly backend: BackendChoice,
    private readonly host: PipelineHost,
    private readonly hooks: DaemonHooks,
  ) {
    this.transportHooks = {
      onCommand: (payload, topic) => lifecycle.handleCommand(payload, topic),
      onCommandRejected: (rejection) => {
        lifecycle.recordTransportRejection(rejection);
      },
      onBundleStaged: (path, transferId) => lifecycle.installStaged(path, transferId),
      sealStatus: (payload) =>
        signSign1({ payload, contentType: UPDATE_STATUS_CONTENT_TYPE, signer: lifecycle.deviceSigner }),
    };
  }

  static async start(options: DaemonOptions): Promise<VigilDaemon> {
    const config = options.config;
    const hooks = options.hooks ?? {};
    const report = (error: unknown, context: string) => hooks.onError?.(error, context);
    const monoNow = options.monoNow ?? (() => performance.now());
    const backend = options.backend ?? (await selectBackend(config.backend));
    const observers = options.observers ?? [];
    // The pipeline observer forwards to the daemon once it exists (the runners are built later).
    let daemon: VigilDaemon | null = null;
    const observer: PipelineObserver = {
      onResult: (result, features, window) => {
        daemon?.onResult(result, window);
        for (const o of observers) o.onResult?.(result, features, window);
      },
      onEvent: (event) => {
        daemon?.onEvent(event);
        for (const o of observers) o.onEvent?.(event);
      },
    };
    const pipeline = new Pipeline(
      {
        maxStreams: config.maxStreams,
        monoNow,
        onInternalError: (error) => {
          report(error, 'pipeline');
        },
      },
      observer,
    );
    const host = new PipelineHost(pipeline, backend, config, observer, monoNow, report);
    const lifecycle = await Lifecycle.open({
      dataDir: config.dataDir,
      device: {
        deviceId: config.deviceId,
        fleet: config.fleet,
        cohort: options.cohort ?? null,
        deviceClass: { vendorId: config.vendorId, classId: config.classId },
        runtimeVersion: RUNTIME_VERSION,
      },
      ...(options.trust ? { trust: options.trust } : {}),
      ...(options.trustSource ? { trustSource: options.trustSource } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...options.lifecycle,
      host,
      onError: report,
    });
    try {
      // The backend actually chosen and why (select.ts): a gateway that silently fell back to wasm
      // shows up in the audit trail as a config change with its reason.
      lifecycle.recordConfig({
        ...config,
        backend: `${config.backend} → ${backend.backend.kind}`,
        backendReason: backend.reason,
      });
      const plans = lifecycle.servingPlans();
      // A verified, re-hashed bundle that still cannot load leaves its family without a model: a
      // safety event (the firmware gets NO_MODEL_FOR_SENSOR for its streams).
      for (const { bundle, error } of await host.prepareAll(plans)) {
        lifecycle.recordSafetyEvent({
          type: 'load-failed',
          family: bundle.family,
          bundleId: bundle.bundleId,
          manifestSha256: bundle.manifestSha256,
          detail: error instanceof Error ? error.message : String(error),
        });
      }
      host.apply(plans);
      await new Promise((resolve) => setImmediate(resolve));
      const runtime = new DeviceRuntime(pipeline, {
        deviceId: config.deviceId,
        labelJoinCapacity: options.labelJoinCapacity ?? 100_000,
        frozen: () => lifecycle.isFrozen(),
      });
      daemon = new VigilDaemon(config, lifecycle, pipeline, runtime, backend, host, hooks);
      pipeline.onShadowPair((active, candidate) => {
        lifecycle.observeShadowPair(active, candidate);
      });
      if (hooks.onUpdateStatus) lifecycle.onUpdateStatus(hooks.onUpdateStatus);
      if (hooks.onAudit || hooks.onSafetyEvent) {
        lifecycle.onAudit((record) => {
          hooks.onAudit?.(record);
          const notice = hooks.onSafetyEvent ? safetyNotice(record) : null;
          if (notice) hooks.onSafetyEvent?.(notice);
        });
      }
      const interval = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
      if (interval > 0) {
        const started = daemon;
        started.checkpointTimer = setInterval(() => {
          started.maintain();
          started.checkpoint();
        }, interval);
        started.checkpointTimer.unref();
      }
      daemon.maintain();
      await daemon.waitForModels();
      return daemon;
    } catch (error) {
      await host.close().catch(() => undefined);
      await lifecycle.close().catch(() => undefined);
      throw error;
    }
  }

  /** Resolves once the pipeline runs what the lifecycle's plans name (after loads settle). */
  async waitForModels(): Promise<void> {
    await this.lifecycle.idle();
    for (let i = 0; i < 100; i += 1) {
      const plans = this.lifecycle.servingPlans();
      const done = plans.every((p) => {
        const runners = this.pipeline.family(p.family);
        if (!p.active) return runners === undefined;
        return (
          runners?.active.model.manifestSha256 === p.active.bundle.manifestSha256 &&
          (runners.shadow?.model.manifestSha256 ?? null) === (p.shadow?.manifestSha256 ?? null)
        );
      });
      if (done) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  install(path: string, options?: InstallOptions): Promise<InstallOutcome> {
    return this.lifecycle.install(path, options);
  }

  applyCommand(bytes: Uint8Array): Promise<CommandOutcome> {
    return this.lifecycle.applyCommand(bytes, { via: 'local' });
  }

  /**
   * The drift policy's safe action `suppress-outputs` (DeviceMonitor `onSuppressOutputs`): while
   * `bundleId` is its family's active model, the declared fallback answers every window with
   * OUTPUTS_SUPPRESSED. Part of the serving state: persisted, audited (actor `policy` by default),
   * applied to the running runner at once and kept by every later plan — other bundles being installed,
   * promoted, revoked or rolled back do not lift it, nor does a restart. Idempotent.
   */
  suppressOutputs(bundleId: string, reason: string, actor = 'policy'): SuppressionOutcome {
    return this.lifecycle.suppressOutputs(bundleId, { reason, actor });
  }

  /** Ends a suppression (DeviceMonitor.liftSuppression should be called with it). Audited. */
  liftSuppression(bundleId: string, reason = 'suppression lifted', actor = 'runtime'): SuppressionOutcome {
    return this.lifecycle.liftSuppression(bundleId, { reason, actor });
  }

  /** Housekeeping: black-box retention and size bound, expired command nonces. */
  maintain(): void {
    try {
      this.lifecycle.maintain();
    } catch (error) {
      this.hooks.onError?.(error, 'housekeeping');
    }
  }

  /** Signs a checkpoint of the audit log (if it grew) and hands it to `onCheckpoint`. */
  checkpoint(): { readonly checkpoint: DeviceCheckpoint; readonly signed: Uint8Array } | null {
    try {
      const before = this.lifecycle.audit.lastCheckpoint();
      const made = this.lifecycle.checkpoint();
      if (
        before?.checkpoint.count !== made.checkpoint.count ||
        before.checkpoint.headHash !== made.checkpoint.headHash
      ) {
        this.hooks.onCheckpoint?.(made.checkpoint, made.signed);
      }
      return made;
    } catch (error) {
      this.hooks.onError?.(error, 'signing an audit checkpoint');
      return null;
    }
  }

  /** Re-runs the windows pinned to an event with the recorded bundles (audited: it reads patient data). */
  async replay(eventId: string, actor = 'runtime'): Promise<ReplayReport> {
    const report = await replayEvent(eventId, {
      blackBox: this.lifecycle.blackBox,
      bundle: (sha) => this.lifecycle.bundleRef(sha),
      backend: this.backend.backend,
      runtimeVersion: RUNTIME_VERSION,
    });
    this.lifecycle.recordAccess('replay', actor, {
      eventId,
      eventKind: report.eventKind,
      windows: report.windows.length,
      ...report.counts,
      identical: report.identical,
    });
    return report;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    await this.lifecycle.idle();
    await this.host.close();
    this.checkpoint();
    await this.lifecycle.close();
  }

  // --- observer -------------------------------------------------------------------------------------

  private onResult(result: WindowResult, window: Window): void {
    if (this.closed) return;
    const blackBox = this.lifecycle.blackBox;
    blackBox.record(window, [result]);
    this.lifecycle.observeResult(result);
    if (result.shadow) return;
    try {
      const episode = this.pendingPins.get(result.streamId);
      if (episode !== undefined) {
        this.pendingPins.delete(result.streamId);
        blackBox.pin(episode, 'fallback-episode', result.streamId, PIN_WINDOWS);
      }
      // Pinned for the alerts the firmware was sent (a rule finding inside the refractory period is
      // positive but raised none).
      if (this.pendingAlertPins.delete(result.resultId))
        blackBox.pin(`alert:${result.resultId}`, 'alert', result.streamId, PIN_WINDOWS);
    } catch (error) {
      this.hooks.onError?.(error, 'pinning black-box windows');
    }
  }

  private onEvent(event: PipelineEvent): void {
    if (this.closed) return;
    switch (event.kind) {
      case 'fallback-episode-start': {
        // The episode's first window reaches onResult right after this event: pin it then.
        const eventId = `fallback:${event.streamId}:${event.atMs}`;
        if (this.lifecycle.recordPipelineEvent(event, { eventId }) !== null) {
          this.pendingPins.set(event.streamId, eventId);
        }
        break;
      }
      case 'fallback-episode-end':
        this.lifecycle.recordPipelineEvent(event);
        break;
      case 'alert':
        this.pendingAlertPins.add(event.resultId);
        if (this.pendingAlertPins.size > 1024) this.pendingAlertPins.clear(); // results that never came
        this.runtime.publishAlert(event);
        break;
    }
  }
}

/** Windows pinned with an alert or the start of a fallback episode (the ring's default depth). */
const PIN_WINDOWS = 8;
