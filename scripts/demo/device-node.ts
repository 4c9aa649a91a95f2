// One device, wired the one way it runs in the field (`vigil run`, and each device of the fleet demo):
//
//   firmware ──bridge (Unix socket / TCP)──► VigilDaemon (lifecycle, pipeline, audit, black box)
//                                              │ observer: every result, shadow pairs, labels
//                                              ▼
//                                 DeviceMonitor (drift statistics per interval, state file)
//                                              │ signed reports, drift events
//   checkpoints (re-signed with their seq), ──► outbox (SQLite, durable) ──► MQTT ──► collector
//   safety events, update statuses             ▲
//   commands, update transfers ◄───────────────┘ (openDeviceTransport → lifecycle)
//
// Nothing here decides anything: the parts do (runtime/, monitor/, firmware-bridge/). Wiring order
// matters in two places: the device key is loaded (created on first boot, as the lifecycle would)
// before the transport opens, so update statuses can be sealed even when a bundle staged before a
// crash is handed over again while the daemon is still booting; and the monitor registers every
// bundle the lifecycle serves before results of that bundle can reach it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { encodeCbor, signSign1, signerFor, toCbor, type Signer } from '../../models/format/index.ts';
import { parseProfile } from '../../models/profile/index.ts';
import { SAFETY_EVENT_CONTENT_TYPE } from '../../monitor/collector/index.ts';
import {
  DeviceMonitor,
  enqueueDriftEvent,
  jsonFileStore,
  reportCycle,
  type DriftAlarm,
} from '../../monitor/device/index.ts';
import type { ClientState } from '../../monitor/mqtt/index.ts';
import { Outbox, type EnqueueInput } from '../../monitor/outbox/index.ts';
import {
  UPDATE_STATUS_CONTENT_TYPE,
  openDeviceTransport,
  type DeviceTransport,
} from '../../monitor/updates/index.ts';
import { startBridgeServer, type BridgeServerHandle } from '../../firmware-bridge/server/index.ts';
import type { TransportSpec } from '../../firmware-bridge/server/index.ts';
import type { RuntimeConfig } from '../../runtime/config.ts';
import { VigilDaemon, type SafetyNotice } from '../../runtime/daemon.ts';
import type { BackendChoice } from '../../runtime/inference/backend.ts';
import type { BundleRef } from '../../runtime/lifecycle/index.ts';
import { loadOrCreateDeviceKey, signCheckpoint, type AuditRecord } from '../../runtime/state/index.ts';
import { RUNTIME_VERSION } from '../../runtime/version.ts';

export interface NodeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const SILENT_NODE_LOGGER: NodeLogger = Object.freeze({
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
});

/** What a host (the demo, a test) may want to see of a device, besides its telemetry. */
export interface DeviceNodeEvents {
  readonly onAudit?: (record: AuditRecord) => void;
  readonly onLinkState?: (state: ClientState) => void;
  readonly onSafetyEvent?: (notice: SafetyNotice) => void;
}

export interface DeviceNodeOptions {
  readonly config: RuntimeConfig;
  /** Trust document: the anchor on first boot, or the next version. */
  readonly trust?: Uint8Array;
  readonly trustSource?: string;
  /** The MQTT password (never in the config file; `vigil run` reads VIGIL_MQTT_PASSWORD). */
  readonly mqttPassword?: string;
  /** Share one inference backend between devices of one process (the fleet demo). */
  readonly backend?: BackendChoice;
  readonly logger?: NodeLogger;
  readonly events?: DeviceNodeEvents;
  readonly now?: () => number;
}

/** What a graceful stop waits for: the outbox drained to the broker (bounded). */
export interface CloseOptions {
  readonly drainTimeoutMs?: number;
}

const MONITOR_STATE_FILE = 'monitor.json';

/** Audit records after which the lifecycle serves other bundles (the monitor must know them). */
const SERVING_CHANGES: ReadonlySet<string> = new Set([
  'bundle-activated',
  'bundle-shadow-started',
  'bundle-promoted',
  'bundle-rolled-back',
  'bundle-installed',
]);

export function bridgeTransports(config: RuntimeConfig): TransportSpec[] {
  const transports: TransportSpec[] = [
    { kind: 'unix', path: config.bridgeSocket ?? path.join(config.dataDir, 'bridge.sock'), mode: 0o660 },
  ];
  if (config.bridgeTcp !== null) {
    const m = /^(.*):(\d+)$/.exec(config.bridgeTcp);
    const host = (m?.[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
    transports.push({ kind: 'tcp', host, port: Number(m?.[2] ?? 0) });
  }
  return transports;
}

function readTls(config: RuntimeConfig): Record<string, unknown> | undefined {
  if (config.mqttCaFile === null && config.mqttCertFile === null && config.mqttKeyFile === null)
    return undefined;
  const read = (file: string | null) => (file === null ? undefined : fs.readFileSync(file));
  const tls: Record<string, unknown> = { rejectUnauthorized: true };
  const ca = read(config.mqttCaFile);
  const cert = read(config.mqttCertFile);
  const key = read(config.mqttKeyFile);
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  return tls;
}

export class DeviceNode {
  private reportTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly reportSeqs: number[] = [];

  private constructor(
    readonly config: RuntimeConfig,
    readonly daemon: VigilDaemon,
    readonly monitor: DeviceMonitor,
    readonly outbox: Outbox,
    readonly transport: DeviceTransport | null,
    readonly bridge: BridgeServerHandle,
    private readonly signer: Signer,
    private readonly logger: NodeLogger,
    private readonly now: () => number,
  ) {}

  static async start(options: DeviceNodeOptions): Promise<DeviceNode> {
    const config = options.config;
    const logger = options.logger ?? SILENT_NODE_LOGGER;
    const now = options.now ?? Date.now;
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    // The same key file the lifecycle uses (created here on first boot exactly as it would be).
    const { key } = await loadOrCreateDeviceKey(path.join(config.dataDir, 'keys'), config.deviceId, (n) =>
      crypto.randomBytes(n),
    );
    const signer = signerFor(key);
    let daemon: VigilDaemon | null = null;
    const starting = deferred<VigilDaemon>();
    const daemonReady = starting.promise;
    daemonReady.catch(() => undefined);

    const transport =
      config.mqttUrl === null
        ? null
        : openDeviceTransport(
            {
              dataDir: config.dataDir,
              mqtt: {
                url: config.mqttUrl,
                fleet: config.fleet,
                device: config.deviceId,
                ...(config.cohort === null ? {} : { cohort: config.cohort }),
                protocol: config.mqttProtocol,
                reconnect: { initialDelayMs: 250, maxDelayMs: config.mqttReconnectMaxDelayMs },
                ...(config.mqttUsername === null ? {} : { username: config.mqttUsername }),
                ...(options.mqttPassword === undefined ? {} : { password: options.mqttPassword }),
                ...(readTls(config) === undefined ? {} : { tls: readTls(config) }),
              },
            },
            {
              onCommand: async (payload, topic) => {
                const d = await daemonReady;
                const outcome = await d.lifecycle.applyCommand(payload, { via: 'mqtt', topic });
                logger.info({ event: 'command', topic, outcome: outcome.kind }, 'command handled');
              },
              onCommandRejected: async (rejection) => {
                (await daemonReady).transportHooks.onCommandRejected(rejection);
                logger.warn(
                  { event: 'command', topic: rejection.topic, code: rejection.code },
                  'command refused',
                );
              },
              onBundleStaged: async (file, transferId) =>
                (await daemonReady).transportHooks.onBundleStaged(file, transferId),
              sealStatus: (payload) =>
                signSign1({ payload, contentType: UPDATE_STATUS_CONTENT_TYPE, signer }),
              birthInfo: () => {
                const info: Record<string, string> = { runtime: RUNTIME_VERSION };
                for (const m of daemon?.runtime.status().models ?? []) info[m.modelFamily] = m.bundleId;
                return info;
              },
              onError: (error) => {
                logger.warn({ event: 'mqtt.error', code: error.code, message: error.message }, 'mqtt');
              },
              onStateChange: (state) => {
                options.events?.onLinkState?.(state);
              },
            },
          );
    const outbox = transport?.outbox ?? Outbox.open(path.join(config.dataDir, 'outbox.db'));
    const enqueue = (input: EnqueueInput): void => {
      try {
        outbox.enqueue(input);
      } catch (error) {
        logger.error({ event: 'outbox.error', error: String(error) }, 'enqueue failed');
      }
    };

    const monitor = new DeviceMonitor({
      fleet: config.fleet,
      device: config.deviceId,
      runtimeVersion: RUNTIME_VERSION,
      firmwareVersion: config.firmwareVersion,
      now,
      store: jsonFileStore(path.join(config.dataDir, MONITOR_STATE_FILE)),
      callbacks: {
        onAlarm: (alarm: DriftAlarm) => {
          logger.info(
            {
              event: 'drift.alarm',
              kind: alarm.kind,
              bundle: alarm.bundleId,
              cohort: alarm.cohort,
              action: alarm.action,
            },
            'drift alarm',
          );
          if (alarm.event !== null) {
            try {
              enqueueDriftEvent(outbox, alarm.event, signer);
            } catch (error) {
              logger.error({ event: 'outbox.error', error: String(error) }, 'drift event not enqueued');
            }
          }
        },
        onSuppressOutputs: (request) => {
          // The daemon, not the node: results (and so alarms) can flow before the node is built.
          if (daemon) {
            suppressOutputs(
              daemon,
              logger,
              request.bundleId,
              `${request.alarm.kind} in cohort ${request.alarm.cohort}`,
            );
          }
        },
      },
    });

    let node: DeviceNode | null = null;
    try {
      daemon = await VigilDaemon.start({
        config,
        cohort: config.cohort,
        ...(options.trust ? { trust: options.trust } : {}),
        ...(options.trustSource ? { trustSource: options.trustSource } : {}),
        ...(options.backend ? { backend: options.backend } : {}),
        ...(options.now ? { now: options.now } : {}),
        lifecycle: { policy: { probationMinRateWindows: config.probationMinRateWindows } },
        observers: [monitor],
        checkpointIntervalMs: config.checkpointIntervalS * 1000,
        hooks: {
          onCheckpoint: (checkpoint) => {
            // Published under its outbox sequence number, inside the signature (docs/audit.md).
            enqueue({
              class: 'audit-checkpoint',
              topicSuffix: 'audit',
              payload: (seq) => signCheckpoint({ ...checkpoint, seq }, signer),
            });
          },
          onSafetyEvent: (notice) => {
            enqueue({
              class: 'safety-event',
              topicSuffix: 'event',
              payload: (seq) => safetyEventPayload(config, notice, seq, signer),
            });
            options.events?.onSafetyEvent?.(notice);
          },
          onUpdateStatus: (transferId, status, code) => {
            transport?.reportUpdateStatus(transferId, status, code);
          },
          onAudit: (record) => {
            node?.onAudit(record);
            options.events?.onAudit?.(record);
          },
          onError: (error, context) => {
            logger.error({ event: 'daemon.error', context, error: String(error) }, 'background failure');
          },
        },
      });
      starting.resolve(daemon);
      const bridge = await startBridgeServer({
        runtime: daemon.runtime,
        transports: bridgeTransports(config),
        logger: {
          debug: () => undefined,
          info: (obj, msg) => {
            logger.info(obj, msg);
          },
          warn: (obj, msg) => {
            logger.warn(obj, msg);
          },
          error: (obj, msg) => {
            logger.error(obj, msg);
          },
        },
      });
      node = new DeviceNode(config, daemon, monitor, outbox, transport, bridge, signer, logger, now);
      node.registerServing();
      const restored = monitor.restore();
      if (restored.discarded.length > 0) {
        logger.warn(
          { event: 'monitor.restore', discarded: restored.discarded },
          'monitor state partly discarded',
        );
      }
      // The lifecycle keeps its suppressions (committed when the monitor's safe action fired, before
      // the monitor's own state is saved); the monitor forgets those lifted meanwhile.
      const inForce = new Set(daemon.lifecycle.suppressions().map((x) => x.bundleId));
      for (const s of monitor.activeSuppressions()) {
        if (!inForce.has(s.bundleId)) monitor.liftSuppression(s.bundleId);
      }
      daemon.pipeline.onShadowPair((active, candidate) => {
        monitor.onShadowPair(active, candidate);
      });
      daemon.runtime.addLabelObserver(monitor);
      transport?.start();
      node.scheduleReports();
      return node;
    } catch (error) {
      starting.reject(error);
      await daemon?.close().catch(() => undefined);
      await transport?.stop({ graceful: false }).catch(() => undefined);
      if (!transport) outbox.close();
      throw error;
    }
  }

  /** Report sequence numbers this node enqueued since it started (for the scenario's accounting). */
  get enqueuedReports(): readonly number[] {
    return this.reportSeqs;
  }

  /** The firmware reported another version (later reports carry it). */
  setFirmwareVersion(version: string): void {
    this.monitor.setFirmwareVersion(version);
  }

  /** Closes every finished interval now and enqueues its reports (the timer does this on its own). */
  reportNow(): number[] {
    const seqs = reportCycle(this.monitor, this.outbox, this.signer, this.now());
    this.reportSeqs.push(...seqs);
    return seqs;
  }

  private scheduleReports(): void {
    if (this.closed) return;
    const next = this.monitor.nextCloseMs();
    const delay = next === null ? 1000 : Math.max(50, next - this.now() + this.config.reportCloseDelayMs);
    this.reportTimer = setTimeout(
      () => {
        try {
          this.reportNow();
        } catch (error) {
          this.logger.error({ event: 'report.error', error: String(error) }, 'report cycle failed');
        }
        this.scheduleReports();
      },
      Math.min(delay, 60_000),
    );
    this.reportTimer.unref();
  }

  /** Registers every bundle the lifecycle serves (active and shadow) with the drift monitor. */
  private registerServing(): void {
    for (const plan of this.daemon.lifecycle.servingPlans()) {
      for (const ref of [plan.active?.bundle, plan.shadow]) if (ref) this.register(ref);
    }
  }

  private register(ref: BundleRef): void {
    const manifest = ref.manifest;
    const entry = manifest.files.find((f) => f.path === manifest.model.profileFile);
    if (entry === undefined) return;
    try {
      // The bundle directory was re-hashed against the signed manifest when it was loaded.
      const bytes = fs.readFileSync(path.join(ref.dir, entry.path));
      const sha = crypto.createHash('sha256').update(bytes).digest('hex');
      if (sha !== entry.sha256) throw new Error(`profile of ${ref.bundleId} does not match its manifest`);
      const profile = parseProfile(JSON.parse(bytes.toString('utf8')) as unknown);
      this.monitor.registerModel({
        manifest,
        manifestSha256: ref.manifestSha256,
        profile,
        profileSha256: sha,
      });
    } catch (error) {
      this.logger.error(
        { event: 'monitor.register', bundle: ref.bundleId, error: String(error) },
        'not monitored',
      );
    }
  }

  private onAudit(record: AuditRecord): void {
    // A lifted suppression ends the monitor's episode too (its next alarm may suppress again).
    if (record.kind === 'suppression-lifted' && typeof record.payload.bundleId === 'string') {
      this.monitor.liftSuppression(record.payload.bundleId);
    }
    if (!SERVING_CHANGES.has(record.kind)) return;
    this.registerServing();
  }

  /**
   * Graceful stop: firmware bridge, daemon (drains, signs a last checkpoint), monitor state, then
   * the transport once the outbox has drained (or the timeout passed).
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reportTimer) clearTimeout(this.reportTimer);
    await this.bridge.close().catch(() => undefined);
    await this.daemon.close();
    try {
      this.reportNow();
    } catch (error) {
      this.logger.error({ event: 'report.error', error: String(error) }, 'last report cycle failed');
    }
    this.monitor.persist();
    if (this.transport) {
      const deadline = Date.now() + (options.drainTimeoutMs ?? 5000);
      while (this.outbox.stats().pending > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await this.transport.stop({ graceful: true });
    } else {
      this.outbox.close();
    }
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve: (v: T) => void = () => undefined;
  let reject: (e: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The collector's safety event: `{v, fleet, device, seq, at, type, family?, bundleId?, manifestSha256?, detail?}`. */
export function safetyEventPayload(
  config: RuntimeConfig,
  notice: SafetyNotice,
  seq: number,
  signer: Signer,
): Uint8Array {
  const body: Record<string, unknown> = {
    v: 1,
    fleet: config.fleet,
    device: config.deviceId,
    seq,
    at: Math.max(0, Math.round(notice.atMs)),
    type: notice.type,
  };
  if (notice.family !== null) body.family = notice.family;
  if (notice.bundleId !== null) body.bundleId = notice.bundleId;
  if (notice.manifestSha256 !== null) body.manifestSha256 = notice.manifestSha256;
  if (notice.detail !== null) body.detail = notice.detail;
  return signSign1({ payload: encodeCbor(toCbor(body)), contentType: SAFETY_EVENT_CONTENT_TYPE, signer });
}

/**
 * The monitoring policy's safe action: the bundle's outputs are suppressed in the lifecycle's serving
 * state (persisted, audited, kept by every later plan) — see docs/lifecycle.md "Output suppression".
 */
function suppressOutputs(daemon: VigilDaemon, logger: NodeLogger, bundleId: string, reason: string): void {
  try {
    const outcome = daemon.suppressOutputs(bundleId, `drift alarm: ${reason}`);
    if (outcome.kind === 'rejected') {
      logger.warn({ event: 'suppress.rejected', bundle: bundleId, code: outcome.code }, outcome.detail);
    }
  } catch (error) {
    logger.error({ event: 'suppress.error', bundle: bundleId, error: String(error) }, 'not suppressed');
  }
}
