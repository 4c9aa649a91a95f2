// The world around the simulated wearers (simulator/fleet FleetHost): real device daemons — in this
// process, each with its own state directory, keys, outbox, MQTT client and bridge socket, or in a
// process of their own (`vigil run`) for devices that will lose power (a real SIGKILL) — each behind
// a link proxy to the broker (cut, slowed), the demo bundles, signed update pushes and commands over
// MQTT, and optionally the embedded collector with device keys enrolled.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { connectOperator, type OperatorConnection } from '../../monitor/mqtt/index.ts';
import { UpdateSender, type PushResult, type UpdateStatusKind } from '../../monitor/updates/index.ts';
import { DEFAULT_CONFIG, type RuntimeConfig } from '../../runtime/config.ts';
import type { BackendChoice } from '../../runtime/inference/backend.ts';
import { selectBackend } from '../../runtime/inference/select.ts';
import { signCommand } from '../../runtime/lifecycle/index.ts';
import { deviceKid, loadOrCreateDeviceKey, type AuditRecord } from '../../runtime/state/index.ts';
import { signerFor } from '../../models/format/index.ts';
import type { FleetDevice, FleetHost, FleetPlan, Narrator } from '../../simulator/fleet/index.ts';
import { corruptCopy, prepareDemoKit, type DemoBundle, type DemoKit } from './bundles.ts';
import { DeviceNode, type NodeLogger } from './device-node.ts';
import {
  enrolmentRecord,
  registerOffline,
  startFleetCollector,
  type EnrolmentEntry,
  type FleetCollector,
} from './fleet-collector.ts';
import { LinkProxy } from './link-proxy.ts';

const VIGIL_JS = fileURLToPath(new URL('../vigil.js', import.meta.url));

export interface FleetHostOptions {
  /** Demo keys and bundles (keys kept between runs). */
  readonly demoDir: string;
  /** This run's device state, collector database, enrolment records and logs. */
  readonly runDir: string;
  /** Short directory for the bridge sockets (Unix socket paths are limited to ~100 bytes). */
  readonly socketDir: string;
  readonly brokerUrl: string;
  /** Start the embedded collector (with its dashboard at `http`, null: no HTTP). */
  readonly collector: { readonly http: { host: string; port: number } | null } | null;
  readonly narrator: Narrator;
  /** Bytes per second of the device-bound link of devices that lose power during an update. */
  readonly slowLinkBytesPerS?: number;
  /** Keep this run directory's bundles and device keys from an earlier preparation (`--prepare`). */
  readonly reuse?: boolean;
  /** Also enrol the device keys and register the bundles in this (offline) collector database. */
  readonly collectorDb?: string;
  /** Preparation is done (the collector and its dashboard are up). */
  readonly onPrepared?: () => void;
  /** Scenario time zero was set (wall ms). */
  readonly onStarted?: (t0Ms: number) => void;
  readonly now?: () => number;
}

/** One transfer the host started, and what each device made of it. */
export interface PushRecord {
  readonly bundle: string;
  readonly corrupted: boolean;
  readonly devices: readonly string[];
  readonly startedMs: number;
  /** Latest status per device (from the update/status topic). */
  readonly statuses: Map<string, { status: UpdateStatusKind; code?: string }>;
  result: PushResult | null;
  error: string | null;
  done: Promise<void>;
}

interface Running {
  readonly device: FleetDevice;
  readonly dataDir: string;
  node: DeviceNode | null;
  child: ChildProcess | null;
  firmware: string;
  starts: number;
}

const text = (v: unknown) => (typeof v === 'string' ? v : '?');

/** The device audit records the demo narrates, in words (others stay in the audit trail). */
const NARRATED: Readonly<Partial<Record<AuditRecord['kind'], (r: AuditRecord) => string>>> = {
  'bundle-shadow-started': (r) =>
    `runs ${text(r.payload.bundleId)} in shadow (its results never reach the firmware)`,
  'bundle-promoted': (r) =>
    `promoted ${text(r.payload.bundleId)} (${text(r.payload.scope)} scope, by ${r.actor}); probation starts`,
  'probation-passed': (r) => `${text(r.payload.bundleId)} passed its probation`,
  'bundle-rolled-back': (r) =>
    `rolled back ${text(r.payload.from)} → ${typeof r.payload.to === 'string' ? r.payload.to : 'the declared rule fallback'} ` +
    `(${text(r.payload.cause)}: ${text(r.payload.reason)}); a safety event`,
  'command-rejected': (r) => `refused a command: ${text(r.payload.code)}`,
};

export class DemoFleetHost implements FleetHost {
  kit: DemoKit | null = null;
  fleetCollector: FleetCollector | null = null;
  plan: FleetPlan | null = null;
  t0Ms = 0;
  readonly pushes: PushRecord[] = [];
  readonly devices = new Map<string, Running>();
  readonly proxies = new Map<string, LinkProxy>();
  readonly publicKeys = new Map<string, { kid: string; publicKey: Uint8Array }>();
  private operatorConnection: Promise<OperatorConnection> | null = null;
  private backend: BackendChoice | null = null;
  private logger: pino.Logger | null = null;
  private readonly pending = new Map<string, Set<string>>();
  private flushTimer: NodeJS.Timeout | null = null;
  private alertTimer: NodeJS.Timeout | null = null;
  private readonly seenAlerts = new Set<number>();
  private readonly now: () => number;

  constructor(private readonly options: FleetHostOptions) {
    this.now = options.now ?? Date.now;
  }

  private say(line: string): void {
    this.options.narrator.say(line);
  }

  get collector(): FleetCollector | null {
    return this.fleetCollector;
  }

  deviceDir(id: string): string {
    return path.join(this.options.runDir, 'devices', id);
  }

  socketPath(d: FleetDevice): string {
    return path.join(this.options.socketDir, `${d.index}.sock`);
  }

  bundle(name: string): DemoBundle {
    const b = this.kit?.bundles.get(name);
    if (b === undefined) throw new Error(`no demo bundle ${name}`);
    return b;
  }

  async prepare(plan: FleetPlan): Promise<void> {
    this.plan = plan;
    const s = plan.scenario;
    fs.mkdirSync(path.join(this.options.runDir, 'enrolments'), { recursive: true });
    fs.mkdirSync(this.options.socketDir, { recursive: true, mode: 0o700 });
    this.logger = pino(
      { name: 'vigil-demo-device' },
      pino.destination({ dest: path.join(this.options.runDir, 'devices.log'), sync: false, mkdir: true }),
    );
    this.say('Preparing the demo releases (DEMO keys — not for clinical use)…');
    const kit = await prepareDemoKit({
      dir: this.options.demoDir,
      bundleDir: path.join(this.options.runDir, 'bundles'),
      reportIntervalS: s.reportIntervalS,
      candidates: s.candidates,
      nowMs: this.now(),
      reuse: this.options.reuse === true,
    });
    this.kit = kit;
    this.say(`  DEMO keys: ${kit.keysDir} (reused between runs; never put them in a real trust document)`);
    for (const b of kit.bundles.values()) {
      this.say(
        `  ${b.bundleId.padEnd(28)} seq ${b.sequence}  manifest ${b.manifestSha256.slice(0, 12)}…  approved by ${b.approvals.join(', ') || 'nobody'}`,
      );
    }
    const entries: EnrolmentEntry[] = [];
    for (const d of plan.devices) {
      const dir = this.deviceDir(d.id);
      // The device key, created as the device's first boot would (runtime/state), so that it can be
      // enrolled at the collector before the device publishes anything.
      const { key } = await loadOrCreateDeviceKey(path.join(dir, 'keys'), d.id, (n) => crypto.randomBytes(n));
      this.publicKeys.set(d.id, { kid: deviceKid(d.id), publicKey: key.publicKey });
      const record = enrolmentRecord(
        kit,
        { fleet: s.fleet, deviceId: d.id, kid: key.kid, publicKey: key.publicKey },
        this.now(),
      );
      fs.writeFileSync(path.join(this.options.runDir, 'enrolments', `${d.id}.cose`), record);
      entries.push({ fleet: s.fleet, record, site: `clinic-${d.cohort}`.slice(0, 64) });
      this.devices.set(d.id, {
        device: d,
        dataDir: dir,
        node: null,
        child: null,
        firmware: d.firmware,
        starts: 0,
      });
    }
    if (this.options.collectorDb !== undefined) {
      await registerOffline(this.options.collectorDb, kit, entries, this.now());
    }
    if (this.options.collector !== null) {
      this.fleetCollector = await startFleetCollector({
        dbFile: path.join(this.options.runDir, 'collector.db'),
        fleet: s.fleet,
        brokerUrl: this.options.brokerUrl,
        rule: s.collector,
        kit,
        devices: entries,
        http: this.options.collector.http,
        now: this.now,
      });
    }
    this.backend = await selectBackend('auto');
    const broker = new URL(this.options.brokerUrl);
    const slow = new Set(
      s.steps.flatMap((step) => (step.do === 'power-loss' && step.during === 'update' ? [step.device] : [])),
    );
    for (const d of plan.devices) {
      const proxy = await LinkProxy.start({ host: broker.hostname, port: Number(broker.port || 1883) });
      if (slow.has(d.index)) proxy.throttle(this.options.slowLinkBytesPerS ?? 12_000);
      this.proxies.set(d.id, proxy);
    }
    this.options.onPrepared?.();
  }

  /** The field engineer's connection to the broker (pushes, commands), opened when first needed. */
  private operator(): Promise<OperatorConnection> {
    this.operatorConnection ??= connectOperator({
      url: this.options.brokerUrl,
      clientId: `vigil-demo-operator-${process.pid}`,
    });
    return this.operatorConnection;
  }

  started(t0Ms: number): void {
    this.t0Ms = t0Ms;
    this.options.onStarted?.(t0Ms);
    if (this.fleetCollector !== null) {
      this.alertTimer = setInterval(() => {
        this.watchAlerts();
      }, 1000);
      this.alertTimer.unref();
    }
  }

  private config(r: Running): RuntimeConfig {
    const plan = this.plan;
    if (plan === null) throw new Error('not prepared');
    const proxy = this.proxies.get(r.device.id);
    return {
      ...DEFAULT_CONFIG,
      deviceId: r.device.id,
      fleet: plan.scenario.fleet,
      dataDir: r.dataDir,
      cohort: r.device.cohort,
      firmwareVersion: r.firmware,
      bridgeSocket: this.socketPath(r.device),
      mqttUrl: proxy?.url ?? this.options.brokerUrl,
      mqttReconnectMaxDelayMs: 2000,
      // Gateways of the demo share two cores with everything else: a generous inference deadline keeps
      // deadline misses (which count against a release on probation) about the model, not the laptop.
      inferenceDeadlineMs: 5000,
      checkpointIntervalS: Math.max(10, plan.scenario.collector.bucketS),
      reportCloseDelayMs: 300,
      probationMinRateWindows: 20,
    };
  }

  async startDevice(device: FleetDevice): Promise<string> {
    const r = this.devices.get(device.id);
    const kit = this.kit;
    if (r === undefined || kit === null) throw new Error(`unknown device ${device.id}`);
    r.starts += 1;
    const config = this.config(r);
    fs.rmSync(config.bridgeSocket ?? '', { force: true });
    if (device.outOfProcess) {
      r.child = await this.spawnDevice(r, config);
    } else {
      const logger: NodeLogger = this.logger?.child({ device: device.id }) ?? {
        info: () => undefined,
        warn: () => undefined,
        error: () => undefined,
      };
      const node = await DeviceNode.start({
        config,
        trust: kit.trust,
        ...(this.backend ? { backend: this.backend } : {}),
        logger,
        events: {
          onAudit: (record) => {
            this.onAudit(device, record);
          },
        },
      });
      r.node = node;
      if (r.starts === 1) {
        for (const b of kit.baseline) {
          const outcome = await node.daemon.install(b.path, { source: 'local' });
          if (outcome.kind === 'rejected')
            this.say(`  ✗ ${device.id}: ${b.bundleId} rejected: ${outcome.code}`);
        }
        await node.daemon.waitForModels();
      }
    }
    return config.bridgeSocket ?? '';
  }

  /** `vigil run` in a child process: the ready line on stdout says the bridge listens. */
  private async spawnDevice(r: Running, config: RuntimeConfig): Promise<ChildProcess> {
    const kit = this.kit;
    if (kit === null) throw new Error('not prepared');
    const configFile = `${r.dataDir}.config.json`;
    fs.writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
    const logFile = path.join(this.options.runDir, 'logs', `${r.device.id}.log`);
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const log = fs.openSync(logFile, 'a');
    const args = [VIGIL_JS, 'run', '--config', configFile, '--trust', kit.trustPath, '--json'];
    if (r.starts === 1) for (const b of kit.baseline) args.push('--install', b.path);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', log] });
    fs.closeSync(log);
    if (child.stdout === null) throw new Error('vigil run: no stdout pipe');
    const lines = readline.createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${r.device.id}: vigil run did not become ready in 60 s (see ${logFile})`));
      }, 60_000);
      const fail = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`${r.device.id}: vigil run exited with ${String(code)} (see ${logFile})`));
      };
      child.once('exit', fail);
      lines.on('line', (line) => {
        if (!line.includes('"ready"')) return;
        clearTimeout(timer);
        child.off('exit', fail);
        resolve();
      });
    });
    return child;
  }

  setFirmware(device: FleetDevice, version: string): void {
    const r = this.devices.get(device.id);
    if (r === undefined) return;
    r.firmware = version; // a device in its own process takes it at its next start
    r.node?.setFirmwareVersion(version);
  }

  private sender(): { publish: OperatorConnection['publish']; subscribe: OperatorConnection['subscribe'] } {
    return {
      publish: async (topic, payload) => (await this.operator()).publish(topic, payload),
      subscribe: async (filters, handler) => (await this.operator()).subscribe(filters, handler),
    };
  }

  private startPush(
    name: string,
    file: Uint8Array,
    devices: readonly FleetDevice[],
    corrupted: boolean,
  ): PushRecord {
    const plan = this.plan;
    if (plan === null) throw new Error('not prepared');
    const b = this.bundle(name);
    const record: PushRecord = {
      bundle: name,
      corrupted,
      devices: devices.map((d) => d.id),
      startedMs: this.now(),
      statuses: new Map(),
      result: null,
      error: null,
      done: Promise.resolve(),
    };
    const sender = new UpdateSender(
      this.sender(),
      {
        fleet: plan.scenario.fleet,
        target: { kind: 'devices', devices: record.devices },
        file,
        name: `${b.bundleId}${corrupted ? '-damaged' : ''}.vbundle`,
        chunkBytes: 8 * 1024,
        until: 'shadow',
        timeoutMs: 240_000,
        retryMs: 4000,
      },
      {
        onEvent: (event) => {
          if (event.kind !== 'status') return;
          const m = event.status;
          record.statuses.set(event.device, {
            status: m.status,
            ...(m.code === undefined ? {} : { code: m.code }),
          });
          if (m.status !== 'rejected') return;
          if (corrupted) {
            this.say(
              `  ✗ ${event.device} rejected the damaged copy of ${b.bundleId}: ${m.code ?? '?'} — ` +
                'the lifecycle verified it, refused it, and kept its model',
            );
          } else this.note(`rejected ${b.bundleId}: ${m.code ?? '?'}`, event.device);
        },
      },
    );
    record.done = sender
      .run()
      .then((result) => {
        record.result = result;
        const states = new Map<string, number>();
        for (const d of result.devices) states.set(d.state, (states.get(d.state) ?? 0) + 1);
        const summary = [...states].map(([k, n]) => `${n} ${k}`).join(', ');
        this.say(
          `  transfer of ${b.bundleId}${corrupted ? ' (damaged copy)' : ''} finished: ${summary}` +
            `${result.timedOut ? ' (timed out)' : ''}; ${result.chunksPublished} chunk messages`,
        );
      })
      .catch((error: unknown) => {
        record.error = String(error);
        this.say(`  ✗ transfer of ${b.bundleId} failed: ${String(error)}`);
      });
    this.pushes.push(record);
    return record;
  }

  push(bundle: string, devices: readonly FleetDevice[]): void {
    const b = this.bundle(bundle);
    this.startPush(bundle, new Uint8Array(fs.readFileSync(b.path)), devices, false);
  }

  pushCorrupted(bundle: string, device: FleetDevice): void {
    const b = this.bundle(bundle);
    const out = path.join(this.options.runDir, `${b.bundleId.replace('@', '-')}-damaged.vbundle`);
    void corruptCopy(b, out).then((bytes) => {
      this.startPush(bundle, bytes, [device], true);
    });
  }

  async promote(bundle: string, cohort: string | null): Promise<void> {
    const plan = this.plan;
    const kit = this.kit;
    if (plan === null || kit === null) throw new Error('not prepared');
    const b = this.bundle(bundle);
    const issuedAtMs = this.now();
    const bytes = signCommand(
      {
        kind: 'promote',
        family: b.family,
        bundle: b.manifestSha256,
        force: false,
        target: { fleet: plan.scenario.fleet, devices: null, cohort },
        nonce: new Uint8Array(crypto.randomBytes(16)),
        issuedAtMs,
        expiresAtMs: issuedAtMs + 3_600_000,
        issuer: 'Demo release manager <demo-release@vigil.invalid>',
        reason: `promote ${b.bundleId} after shadow evaluation (demo)`,
      },
      signerFor(kit.key('release')),
    );
    await (await this.operator()).publish(`vigil/v1/${plan.scenario.fleet}/cmd/promote`, bytes);
    this.say(`  signed by ${kit.key('release').kid}; sent to vigil/v1/${plan.scenario.fleet}/cmd/promote`);
  }

  async transferStarted(device: FleetDevice, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = this.now() + timeoutMs;
    while (this.now() < deadline && signal?.aborted !== true) {
      const latest = [...this.pushes].reverse().find((p) => p.devices.includes(device.id));
      const status = latest?.statuses.get(device.id)?.status;
      if (status === 'accepted' || status === 'progress' || status === 'need') return true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return false;
  }

  async powerLoss(device: FleetDevice): Promise<void> {
    const r = this.devices.get(device.id);
    if (r?.child === null || r?.child === undefined)
      throw new Error(`${device.id} does not run in its own process`);
    const child = r.child;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
    });
    child.kill('SIGKILL');
    await exited;
    r.child = null;
  }

  link(device: FleetDevice | null, up: boolean): void {
    const proxies = device === null ? [...this.proxies.values()] : [this.proxies.get(device.id)];
    for (const p of proxies) {
      if (up) p?.restore();
      else p?.cut();
    }
  }

  async acknowledge(cohort: string | null, by: string, comment: string): Promise<void> {
    const c = this.fleetCollector?.collector;
    if (!c) {
      this.say('  (no collector in this run: nothing to acknowledge)');
      return;
    }
    const open = c.store.alerts({ state: 'open' }).filter((a) => cohort === null || a.groupValue === cohort);
    for (const a of open) c.alerts.acknowledge(a.id, by, comment);
    this.say(`  ${open.length} alert${open.length === 1 ? '' : 's'} acknowledged by ${by}: "${comment}"`);
    await Promise.resolve();
  }

  // --- narration of what the devices and the collector do ------------------------------------------

  private onAudit(device: FleetDevice, record: AuditRecord): void {
    const line = NARRATED[record.kind]?.(record);
    if (line !== undefined) this.note(line, device.id);
  }

  /** Groups the same event from many devices into one narration line. */
  private note(what: string, device: string): void {
    let set = this.pending.get(what);
    if (!set) {
      set = new Set();
      this.pending.set(what, set);
    }
    set.add(device);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.flushNotes();
    }, 1500);
    this.flushTimer.unref();
  }

  flushNotes(): void {
    for (const [what, set] of this.pending) {
      const ids = [...set].sort();
      const who = ids.length <= 3 ? ids.join(', ') : `${ids.length} devices`;
      this.say(`  ${who}: ${what}`);
    }
    this.pending.clear();
  }

  private watchAlerts(): void {
    const c = this.fleetCollector?.collector;
    if (!c) return;
    const fresh = c.store.alerts({}).filter((a) => !this.seenAlerts.has(a.id));
    if (fresh.length === 0) return;
    const groups = new Map<string, typeof fresh>();
    for (const a of fresh) {
      this.seenAlerts.add(a.id);
      const model = c.store.model(a.manifestSha256);
      const key = `${model?.bundleId ?? a.manifestSha256.slice(0, 12)} (${a.role}), ${a.groupDimension} ${a.groupValue}`;
      groups.set(key, [...(groups.get(key) ?? []), a]);
    }
    for (const [key, alerts] of groups) {
      const names = alerts.map((a) => a.variableName);
      const psi = Math.max(...alerts.map((a) => a.evidence.windows.at(-1)?.statistics.psi ?? 0));
      const t = ((Math.min(...alerts.map((a) => a.openedMs)) - this.t0Ms) / 1000).toFixed(0);
      this.say(
        `  🚨 collector: ${alerts.length} drift alert${alerts.length === 1 ? '' : 's'} at ${t} s for ${key}: ` +
          `${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''} (PSI up to ${psi.toFixed(1)})`,
      );
    }
  }

  /** Stops every device gracefully (in-process: drained outbox; child: SIGTERM). */
  async stopDevices(): Promise<void> {
    if (this.alertTimer) clearInterval(this.alertTimer);
    this.flushNotes();
    for (const p of this.proxies.values()) p.restore();
    await Promise.all(this.pushes.map((p) => p.done));
    const stops = [...this.devices.values()].map(async (r) => {
      if (r.node) {
        await r.node.close({ drainTimeoutMs: 8000 });
        r.node = null;
      }
      const child = r.child;
      if (child) {
        const exited = new Promise<void>((resolve) => {
          child.once('exit', () => {
            resolve();
          });
        });
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
        }, 15_000);
        await exited;
        clearTimeout(timer);
        r.child = null;
      }
    });
    await Promise.all(stops);
  }

  /** Everything else: operator connection, proxies, collector (after the checks read it). */
  async close(): Promise<void> {
    if (this.alertTimer) clearInterval(this.alertTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const r of this.devices.values()) {
      await r.node?.close({ drainTimeoutMs: 0 }).catch(() => undefined);
      r.child?.kill('SIGKILL');
    }
    const op = this.operatorConnection;
    this.operatorConnection = null;
    if (op) await (await op.catch(() => null))?.end().catch(() => undefined);
    for (const p of this.proxies.values()) await p.close();
    await this.fleetCollector?.close().catch(() => undefined);
    this.logger?.flush();
  }
}
