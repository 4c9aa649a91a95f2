// What a finished run proves, read from where the evidence lives: each device's own state (read-only
// inspection of its SQLite state and outbox after it stopped) and what the collector holds. The
// scenario's expectations are judged here for the demo's summary; the end-to-end tests make their own
// assertions on the same sources.
import path from 'node:path';
import type { AlertRecord, Collector, ReportRow } from '../../monitor/collector/index.ts';
import { Outbox, type OutboxStats } from '../../monitor/outbox/index.ts';
import { inspectDevice, verifyDeviceAudit, type LifecycleStatus } from '../../runtime/lifecycle/index.ts';
import type { AuditRecord, AuditVerdict } from '../../runtime/state/index.ts';
import { RUNTIME_VERSION } from '../../runtime/version.ts';
import type { Expectation, FleetPlan, RunResult } from '../../simulator/fleet/index.ts';
import type { DemoKit } from './bundles.ts';
import type { PushRecord } from './fleet-host.ts';

/** One device after the run, from its own storage. */
export interface DeviceFacts {
  readonly id: string;
  readonly cohort: string;
  readonly status: LifecycleStatus;
  readonly records: readonly AuditRecord[];
  readonly audit: AuditVerdict;
  /** Collector-held checkpoints that verified and that the chain still contains. */
  readonly checkpointsUsed: number;
  readonly invalidCheckpoints: readonly string[];
  readonly outbox: OutboxStats;
}

export function readDeviceFacts(
  id: string,
  cohort: string,
  dataDir: string,
  externalCheckpoints: readonly Uint8Array[],
): Promise<DeviceFacts> {
  return (async () => {
    const inspection = inspectDevice(dataDir, RUNTIME_VERSION);
    try {
      const report = await verifyDeviceAudit(inspection, externalCheckpoints);
      const outbox = Outbox.open(path.join(dataDir, 'outbox.db'));
      let stats: OutboxStats;
      try {
        stats = outbox.stats();
      } finally {
        outbox.close();
      }
      return {
        id,
        cohort,
        status: inspection.status(),
        records: [...inspection.audit.records()],
        audit: report.verdict,
        checkpointsUsed: report.checkpointsUsed,
        invalidCheckpoints: report.invalidCheckpoints,
        outbox: stats,
      };
    } finally {
      inspection.close();
    }
  })();
}

export interface CheckOutcome {
  readonly name: string;
  /** null: could not be checked in this run (e.g. no collector). */
  readonly ok: boolean | null;
  readonly detail: string;
}

export interface CheckContext {
  readonly plan: FleetPlan;
  readonly run: RunResult;
  readonly kit: DemoKit;
  readonly devices: ReadonlyMap<string, DeviceFacts>;
  readonly pushes: readonly PushRecord[];
  readonly collector: Collector | null;
}

/** Report rows the collector holds for a device. */
export function reportsOf(collector: Collector, device: string): ReportRow[] {
  return collector.store.reports({ device, fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 10_000_000 });
}

/** Reports that repeat another's natural key (device, bundle, cohort, role, interval start). */
export function naturalKeyDuplicates(rows: readonly ReportRow[]): number {
  const seen = new Set<string>();
  let dups = 0;
  for (const r of rows) {
    const key = `${r.device}|${r.manifestSha256}|${r.cohort}|${r.role}|${r.startMs}`;
    if (seen.has(key)) dups += 1;
    seen.add(key);
  }
  return dups;
}

/** Every report each device wrote is held by the collector once; no gap open or lost. */
export function reportAccounting(ctx: CheckContext): CheckOutcome {
  const name = 'every report of every device accounted for';
  let written = 0;
  let held = 0;
  const problems: string[] = [];
  for (const f of ctx.devices.values()) {
    const w = f.outbox.perClass['routine-report'];
    written += w.written;
    if (f.outbox.pending > 0) problems.push(`${f.id}: ${f.outbox.pending} still in its outbox`);
    if (f.outbox.evicted > 0) problems.push(`${f.id}: ${f.outbox.evicted} evicted`);
    if (ctx.collector === null) continue;
    const rows = reportsOf(ctx.collector, f.id);
    held += rows.length;
    if (rows.length !== w.written)
      problems.push(`${f.id}: wrote ${w.written} reports, the collector holds ${rows.length}`);
    const dups = naturalKeyDuplicates(rows);
    if (dups > 0) problems.push(`${f.id}: ${dups} reports repeat an interval`);
    const seq = ctx.collector.store.device(f.id)?.sequence;
    if (seq && (seq.pending.length > 0 || seq.lost > 0)) {
      problems.push(`${f.id}: sequence gaps pending ${seq.pending.length}, lost ${seq.lost}`);
    }
  }
  if (ctx.collector === null) {
    return {
      name,
      ok: problems.length === 0 ? null : false,
      detail: `${written} reports written, all handed to the broker${problems.length ? `; ${problems.join('; ')}` : ''} (no collector in this run)`,
    };
  }
  return {
    name,
    ok: problems.length === 0,
    detail:
      problems.length === 0
        ? `${written} reports written by ${ctx.devices.size} devices, ${held} held by the collector: none lost, none duplicated`
        : problems.slice(0, 6).join('; '),
  };
}

function familyOf(collector: Collector, alert: AlertRecord): string | null {
  return collector.store.model(alert.manifestSha256)?.family ?? null;
}

function expectation(ctx: CheckContext, e: Expectation): CheckOutcome {
  const c = ctx.collector;
  const bucketMs = ctx.plan.scenario.collector.bucketS * 1000;
  const dev = (i: number) => ctx.plan.devices[i]?.id ?? `device ${i}`;
  const facts = (i: number) => ctx.devices.get(dev(i));
  const activeOf = (f: DeviceFacts | undefined, family: string) =>
    f?.status.families.find((x) => x.family === family)?.active?.bundle.bundleId ?? null;
  switch (e.kind) {
    case 'drift-alert': {
      const name = `drift alert for cohort ${e.cohort} (${e.family}) within ${e.withinBuckets} windows of the onset`;
      if (c === null) return { name, ok: null, detail: 'no collector in this run' };
      const onsetMs = ctx.run.t0Ms + e.afterS * 1000;
      const w0 = Math.floor(onsetMs / bucketMs) * bucketMs;
      const alerts = c.store
        .alerts({})
        .filter((a) => a.groupValue === e.cohort && a.role === 'active' && familyOf(c, a) === e.family);
      const first = [...alerts].sort((a, b) => a.openedMs - b.openedMs)[0];
      if (first === undefined) return { name, ok: false, detail: 'no alert' };
      // The window that completed the streak (findings in consecutive windows from firstWindowMs).
      const completing = (a: AlertRecord) =>
        a.firstWindowMs + (ctx.plan.scenario.collector.consecutiveWindows - 1) * bucketMs;
      const inTime = alerts.some(
        (a) => a.firstWindowMs >= w0 && completing(a) < w0 + e.withinBuckets * bucketMs,
      );
      const windows = Math.round((completing(first) - w0) / bucketMs) + 1;
      return {
        name,
        ok: inTime,
        detail:
          `${alerts.length} alert${alerts.length === 1 ? '' : 's'} (e.g. ${first.variableName}); the first opened ` +
          `${((first.openedMs - onsetMs) / 1000).toFixed(0)} s after the onset, when window ${windows} from the onset's closed`,
      };
    }
    case 'no-drift-alert': {
      const name = `no drift alert on the control cohorts${e.except.length ? ` (all but ${e.except.join(', ')})` : ''}`;
      if (c === null) return { name, ok: null, detail: 'no collector in this run' };
      const wrong = c.store.alerts({}).filter((a) => !e.except.includes(a.groupValue));
      return {
        name,
        ok: wrong.length === 0,
        detail:
          wrong.length === 0
            ? `none on ${ctx.plan.scenario.cohorts
                .filter((x) => !e.except.includes(x.id))
                .map((x) => x.id)
                .join(', ')}`
            : wrong
                .slice(0, 4)
                .map((a) => `${a.groupValue}: ${a.variableName}`)
                .join('; '),
      };
    }
    case 'update-rejected': {
      const b = ctx.kit.bundles.get(e.bundle);
      const id = dev(e.device);
      const push = [...ctx.pushes].reverse().find((p) => p.bundle === e.bundle && p.devices.includes(id));
      const name = `${id} rejects ${push?.corrupted === true ? 'the damaged ' : ''}${b?.bundleId ?? e.bundle} and keeps its model`;
      const f = facts(e.device);
      const rejected = f?.records.filter((r) => r.kind === 'bundle-rejected') ?? [];
      const codes = rejected.map((r) => String(r.payload.code));
      const status = push?.statuses.get(id);
      const family = b?.family ?? '';
      const baseline = ctx.kit.bundles.get(family)?.bundleId;
      const active = activeOf(f, family);
      const candidate =
        f?.status.families.find((x) => x.family === family)?.candidate?.bundle.bundleId ?? null;
      const ok =
        status?.status === 'rejected' &&
        status.code !== undefined &&
        codes.includes(status.code) &&
        active === baseline &&
        candidate !== b?.bundleId;
      return {
        name,
        ok,
        detail: `status ${status?.status ?? 'none'} ${status?.code ?? ''}; audit bundle-rejected ${codes.join(', ') || 'none'}; active ${active ?? 'none'}`,
      };
    }
    case 'active': {
      const b = ctx.kit.bundles.get(e.bundle);
      const scope = e.cohort === null ? 'every device' : `every device of cohort ${e.cohort}`;
      const name = `${b?.bundleId ?? e.bundle} active on ${scope}${e.except.length ? ` but ${e.except.map(dev).join(', ')}` : ''}`;
      const chosen = ctx.plan.devices.filter(
        (d) => !e.except.includes(d.index) && (e.cohort === null || d.cohort === e.cohort),
      );
      const wrong = chosen.filter((d) => activeOf(ctx.devices.get(d.id), b?.family ?? '') !== b?.bundleId);
      return {
        name,
        ok: wrong.length === 0,
        detail:
          wrong.length === 0
            ? `${chosen.length} devices`
            : wrong
                .slice(0, 5)
                .map((d) => `${d.id}: ${activeOf(ctx.devices.get(d.id), b?.family ?? '') ?? 'none'}`)
                .join('; '),
      };
    }
    case 'rolled-back': {
      const b = ctx.kit.bundles.get(e.bundle);
      const name = `${b?.bundleId ?? e.bundle} rolled back automatically wherever it was promoted${e.cohort === null ? '' : ` in cohort ${e.cohort}`}`;
      const promoted = [...ctx.devices.values()].filter(
        (f) =>
          (e.cohort === null || f.cohort === e.cohort) &&
          f.records.some((r) => r.kind === 'bundle-promoted' && r.payload.bundleId === b?.bundleId),
      );
      const notBack = promoted.filter(
        (f) =>
          !f.records.some((r) => r.kind === 'bundle-rolled-back' && r.payload.from === b?.bundleId) ||
          activeOf(f, b?.family ?? '') === b?.bundleId,
      );
      return {
        name,
        ok: promoted.length > 0 && notBack.length === 0,
        detail: `${promoted.length} promoted, ${promoted.length - notBack.length} rolled back to last-known-good`,
      };
    }
    case 'reports-delivered':
      return reportAccounting(ctx);
    case 'audit-verified': {
      const name = "every device's audit chain verifies against the collector's checkpoints";
      const bad = [...ctx.devices.values()].filter(
        (f) =>
          f.audit.kind !== 'intact' ||
          f.invalidCheckpoints.length > 0 ||
          (c !== null && f.checkpointsUsed === 0),
      );
      const held =
        c === null
          ? 0
          : [...ctx.devices.keys()].reduce((n, id) => n + c.store.checkpoints(id, 100_000).length, 0);
      return {
        name,
        ok: bad.length === 0 ? (c === null ? null : true) : false,
        detail:
          bad.length === 0
            ? `${ctx.devices.size} chains intact; ${held} signed checkpoints held by the collector, all found in the chains`
            : bad
                .slice(0, 4)
                .map(
                  (f) =>
                    `${f.id}: ${f.audit.kind === 'broken' ? JSON.stringify(f.audit.at) : `${f.checkpointsUsed} checkpoints; ${f.invalidCheckpoints.join(', ')}`}`,
                )
                .join('; '),
      };
    }
    case 'consistent': {
      const id = dev(e.device);
      const f = facts(e.device);
      const name = `${id} came back consistent after losing power`;
      if (f === undefined) return { name, ok: false, detail: 'no state' };
      const unclean = f.records.some((r) => r.kind === 'boot' && r.payload.previousShutdown === 'unclean');
      const families = f.status.families;
      const serving = families.every((x) => x.active !== null && x.active.mode.kind === 'model');
      const push = [...ctx.pushes].reverse().find((p) => !p.corrupted && p.devices.includes(id));
      const outcome = push?.statuses.get(id)?.status ?? 'none';
      const updated =
        push === undefined ||
        families.some((x) => {
          const target = ctx.kit.bundles.get(push.bundle)?.bundleId;
          return x.active?.bundle.bundleId === target || x.candidate?.bundle.bundleId === target;
        });
      const ok = unclean && serving && f.audit.kind === 'intact' && updated;
      return {
        name,
        ok,
        detail:
          `rebooted after an unclean shutdown: ${unclean ? 'yes' : 'no'}; every family serving: ${serving ? 'yes' : 'no'}; ` +
          `audit ${f.audit.kind}; update ${outcome}${updated ? '' : ' (not completed)'}; ` +
          families
            .map(
              (x) =>
                `${x.family}: ${x.active?.bundle.bundleId ?? 'none'}${x.candidate ? ` + ${x.candidate.bundle.bundleId} in shadow` : ''}`,
            )
            .join(', '),
      };
    }
  }
}

/** Expectations that hold at any moment of a run (the others are about steps that must have run). */
const INVARIANTS: ReadonlySet<Expectation['kind']> = new Set([
  'no-drift-alert',
  'reports-delivered',
  'audit-verified',
]);

export function checkExpectations(ctx: CheckContext): CheckOutcome[] {
  const ranS = (ctx.run.endedMs - ctx.run.t0Ms) / 1000;
  const cut = ctx.run.aborted || ctx.plan.durationS < ctx.plan.scenario.durationS;
  return ctx.plan.scenario.expect.map((e) => {
    const outcome = expectation(ctx, e);
    if (!cut || INVARIANTS.has(e.kind)) return outcome;
    return {
      ...outcome,
      ok: null,
      detail: `not judged: the run stopped at ${ranS.toFixed(0)} s of ${ctx.plan.scenario.durationS} s`,
    };
  });
}
