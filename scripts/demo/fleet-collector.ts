// The demo's fleet collector: monitor/collector's public API wired as `vigil collector` wires it
// (SQLite store, MQTT source, HTTP API and dashboard), with the run's alert rule, the demo bundles
// registered (each verified offline against the demo trust document first, as `vigil collector
// profile add` does) and every device's key enrolled from a record signed by the demo field key
// and verified against the trust document (as `vigil device enroll` does).
import net from 'node:net';
import { signerFor } from '../../models/format/index.ts';
import {
  Collector,
  SqliteCollectorStore,
  connectMqttSource,
  registrationFromManifest,
  startHttpServer,
  type CollectorHttpServer,
  type MqttSource,
} from '../../monitor/collector/index.ts';
import { signDeviceEnrolment, verifyDeviceEnrolment } from '../../runtime/trust/index.ts';
import { verifyBundleFile } from '../../runtime/verify/index.ts';
import type { CollectorRule } from '../../simulator/fleet/index.ts';
import type { DemoKit } from './bundles.ts';

/** A device's identity as enrolled: its fleet, id and key. */
export interface DeviceIdentity {
  readonly fleet: string;
  readonly deviceId: string;
  readonly kid: string;
  readonly publicKey: Uint8Array;
}

/** A device to enrol: its fleet, its enrolment record (signed by a field key) and its site. */
export interface EnrolmentEntry {
  readonly fleet: string;
  readonly record: Uint8Array;
  readonly site: string;
}

/** The enrolment record a field engineer signs when installing a device (here: the demo field key). */
export function enrolmentRecord(kit: DemoKit, device: DeviceIdentity, nowMs: number): Uint8Array {
  return signDeviceEnrolment(
    {
      formatVersion: 1,
      deviceId: device.deviceId,
      kid: device.kid,
      publicKey: device.publicKey,
      deviceClass: { vendorId: 'vigil-demo', classId: 'wearable-gateway-v1' },
      enrolledAtMs: nowMs,
    },
    signerFor(kit.key('field')),
  );
}

/** Verifies a record against the trust document (signed by an unrevoked field key), then enrols it. */
export function enrolVerified(collector: Collector, kit: DemoKit, entry: EnrolmentEntry): void {
  const e = verifyDeviceEnrolment(kit.trustStore, entry.record);
  const signer = kit.trustStore.verifyRoleSign1(entry.record, {
    role: 'field',
    contentType: 'application/vnd.vigil.device-enrolment+cbor',
    maxBytes: 4096,
  }).kid;
  collector.enrol({
    fleet: entry.fleet,
    device: e.deviceId,
    kid: e.kid,
    publicKey: e.publicKey,
    deviceClass: e.deviceClass,
    enrolledAtMs: e.enrolledAtMs,
    enrolledBy: signer,
    site: entry.site,
    record: entry.record,
    retiredAtMs: null,
    retiredBy: null,
    retiredReason: null,
  });
}

/** Registers every demo bundle (verified offline against the demo trust document first). */
export async function registerBundles(collector: Collector, kit: DemoKit, nowMs: number): Promise<void> {
  for (const b of kit.bundles.values()) {
    const v = await verifyBundleFile(b.path, {
      trust: kit.trustStore,
      stage: b.approvals.length === 3 ? 'full' : 'shadow',
      now: () => nowMs,
      target: { kind: 'offline', deviceClass: null, runtimeVersion: null },
    }).catch(() => null);
    const verification =
      v === null
        ? `not verified for deployment (approvals: ${b.approvals.join(', ') || 'none'}); registered for its profile only`
        : `verified offline for ${v.stage} deployment against the DEMO trust document version ${v.trustVersion}; ` +
          `approvals: ${v.approvals.map((a) => `${a.role} ${a.reviewer}`).join('; ')}`;
    collector.registerModel(
      registrationFromManifest(b.manifest, b.manifestSha256, b.profileBytes, verification),
    );
  }
}

/** Enrols devices and registers bundles in a collector database that no collector has open. */
export async function registerOffline(
  dbFile: string,
  kit: DemoKit,
  entries: readonly EnrolmentEntry[],
  nowMs: number,
): Promise<void> {
  const collector = new Collector({
    store: new SqliteCollectorStore(dbFile),
    fleet: null,
    options: { verifyThreads: 0 },
  });
  try {
    await registerBundles(collector, kit, nowMs);
    for (const e of entries) {
      const existing = collector.enrolments
        .list()
        .find((x) => x.fleet === e.fleet && Buffer.from(x.record).equals(Buffer.from(e.record)));
      if (existing === undefined) enrolVerified(collector, kit, e);
    }
  } finally {
    await collector.close();
  }
}

export interface FleetCollectorOptions {
  readonly dbFile: string;
  readonly fleet: string;
  readonly brokerUrl: string;
  readonly rule: CollectorRule;
  readonly kit: DemoKit;
  readonly devices: readonly EnrolmentEntry[];
  /** `{ host, port }` for the dashboard (port 0: any free port); null: no HTTP server. */
  readonly http: { readonly host: string; readonly port: number } | null;
  readonly now?: () => number;
}

export interface FleetCollector {
  readonly collector: Collector;
  readonly http: CollectorHttpServer | null;
  readonly source: MqttSource;
  close(): Promise<void>;
}

async function portFree(host: string, port: number): Promise<boolean> {
  if (port === 0) return true;
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, host, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

export async function startFleetCollector(options: FleetCollectorOptions): Promise<FleetCollector> {
  const now = options.now ?? Date.now;
  const rule = options.rule;
  const collector = new Collector({
    store: new SqliteCollectorStore(options.dbFile),
    fleet: options.fleet,
    now,
    options: {
      bucketMs: rule.bucketS * 1000,
      evaluationGraceMs: Math.round(rule.graceS * 1000),
      evaluateEveryMs: 1000,
      silentAfterMs: Math.max(15_000, 3 * rule.bucketS * 1000),
      gapLostAfterMs: 3_600_000,
      verifyThreads: 0,
      alertRule: {
        consecutiveWindows: rule.consecutiveWindows,
        minPsi: rule.minPsi,
        fdr: rule.fdr,
        groupBy: 'cohort',
      },
    },
  });
  try {
    await registerBundles(collector, options.kit, now());
    for (const e of options.devices) enrolVerified(collector, options.kit, e);
    collector.start();
    let http: CollectorHttpServer | null = null;
    if (options.http !== null) {
      const port = (await portFree(options.http.host, options.http.port)) ? options.http.port : 0;
      http = await startHttpServer(collector, { host: options.http.host, port });
    }
    const source = await connectMqttSource(
      {
        url: options.brokerUrl,
        fleet: options.fleet,
        clientId: `vigil-demo-collector-${process.pid}`,
        clean: true,
      },
      collector,
    );
    return {
      collector,
      http,
      source,
      close: async () => {
        await source.close().catch(() => undefined);
        await http?.close().catch(() => undefined);
        await collector.close();
      },
    };
  } catch (error) {
    await collector.close().catch(() => undefined);
    throw error;
  }
}
