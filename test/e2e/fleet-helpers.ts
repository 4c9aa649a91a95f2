// What the fleet end-to-end tests read: each device's own storage after it stopped (read-only
// inspection, its outbox counters) and what the collector holds (its store), independently of the
// demo's own checks.
import path from 'node:path';
import { decodeSign1 } from '../../models/format/index.ts';
import type { CollectorStore, ReportRow } from '../../monitor/collector/index.ts';
import { Outbox, type OutboxStats } from '../../monitor/outbox/index.ts';
import { decodeReportPayload } from '../../monitor/report/index.ts';
import { inspectDevice, verifyDeviceAudit, type LifecycleStatus } from '../../runtime/lifecycle/index.ts';
import type { AuditRecord, AuditVerdict } from '../../runtime/state/index.ts';
import { RUNTIME_VERSION } from '../../runtime/version.ts';

export interface DeviceView {
  readonly status: LifecycleStatus;
  readonly records: readonly AuditRecord[];
  readonly audit: AuditVerdict;
  readonly checkpointsUsed: number;
  readonly invalidCheckpoints: readonly string[];
  readonly outbox: OutboxStats;
}

/** A stopped device's state, its audit chain verified against the checkpoints the collector holds. */
export async function viewDevice(
  dataDir: string,
  store: CollectorStore,
  device: string,
): Promise<DeviceView> {
  const held = store.checkpoints(device, 100_000).map((c) => c.signed);
  const inspection = inspectDevice(dataDir, RUNTIME_VERSION);
  try {
    const report = await verifyDeviceAudit(inspection, held);
    const outbox = Outbox.open(path.join(dataDir, 'outbox.db'));
    try {
      return {
        status: inspection.status(),
        records: [...inspection.audit.records()],
        audit: report.verdict,
        checkpointsUsed: report.checkpointsUsed,
        invalidCheckpoints: report.invalidCheckpoints,
        outbox: outbox.stats(),
      };
    } finally {
      outbox.close();
    }
  } finally {
    inspection.close();
  }
}

export function reportRows(store: CollectorStore, device: string): ReportRow[] {
  return store.reports({ device, fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 10_000_000 });
}

/** Reports sharing a natural key (device, bundle, cohort, role, interval start): re-sent intervals. */
export function repeatedIntervals(rows: readonly ReportRow[]): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const r of rows) {
    const key = `${r.device}|${r.manifestSha256}|${r.cohort}|${r.role}|${r.startMs}`;
    if (seen.has(key)) repeated.push(key);
    seen.add(key);
  }
  return repeated;
}

/** When each report the collector holds was made (the device clock, inside its signature). */
export function reportCreatedMs(store: CollectorStore, device: string, seq: number): number {
  const bytes = store.messagePayload(device, seq);
  if (bytes === null) throw new Error(`the collector holds no message ${device}#${seq}`);
  return decodeReportPayload(decodeSign1(bytes, { maxBytes: 64 * 1024 }).payload).createdMs;
}

export function activeBundle(view: DeviceView, family: string): string | null {
  return view.status.families.find((f) => f.family === family)?.active?.bundle.bundleId ?? null;
}
