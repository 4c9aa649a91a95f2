// The post-market surveillance report's data (docs/collector.md "Surveillance report"): per model
// version of a family over a period — devices and hours of use, drift findings, performance and
// calibration, fallbacks, alert burden, incidents, open and resolved alerts — plus plain-language
// summary lines. `vigil report --json` prints exactly this; html.ts renders it.
import type { ReportRole } from '../../report/index.ts';
import type { ModelSummary, Performance } from '../analytics.ts';
import type { Collector } from '../collector.ts';
import { CollectorError } from '../errors.ts';
import { describeAlertRule } from '../options.ts';
import type { AlertRecord, Incident, ModelInfo } from '../types.ts';

export const SURVEILLANCE_FORMAT_VERSION = 1;

export interface SurveillanceQuery {
  /** A model family (e.g. `fall-detector`) or a bundle id (`fall-detector@1.0.0`). */
  readonly model: string;
  readonly version?: string;
  readonly fromMs: number;
  readonly toMs: number;
}

export interface DriftFinding {
  readonly group: string;
  readonly variable: string;
  readonly points: number;
  readonly pointsWithFinding: number;
  readonly maxPsi: number | null;
  readonly lastThreshold: number | null;
}

export interface RoleSection {
  readonly role: ReportRole;
  readonly usage: {
    readonly devices: number;
    readonly hours: number;
    readonly deviceDays: number;
    readonly reports: number;
    readonly windows: number;
    readonly cohorts: readonly string[];
    readonly sites: readonly string[];
  };
  readonly drift: ReturnType<Collector['analytics']['drift']>;
  readonly findings: readonly DriftFinding[];
  readonly performance: ReturnType<Collector['analytics']['performance']>;
  readonly operations: ReturnType<Collector['analytics']['operations']>;
}

export interface VersionSection {
  readonly model: ModelSummary;
  readonly roles: readonly RoleSection[];
  readonly alerts: readonly (AlertRecord & {
    readonly history: readonly { atMs: number; action: string; by: string; comment: string }[];
  })[];
  readonly incidents: readonly Incident[];
  readonly summary: readonly string[];
}

export interface SurveillanceReport {
  readonly kind: 'vigil-surveillance-report';
  readonly formatVersion: 1;
  readonly generatedMs: number;
  readonly query: SurveillanceQuery;
  readonly fleet: string | null;
  readonly rule: string;
  readonly dataQuality: {
    readonly received: number;
    readonly rejected: Readonly<Record<string, number>>;
    readonly duplicates: number;
    readonly gaps: {
      readonly pending: number;
      readonly late: number;
      readonly evicted: number;
      readonly lost: number;
    };
    readonly auditFindings: number;
    readonly devicesWithoutProfile: readonly string[];
  };
  readonly versions: readonly VersionSection[];
}

function pct(x: number | null, digits = 1): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(digits)} %`;
}

function ci(e: { value: number | null; lower: number | null; upper: number | null }): string {
  return e.value === null ? 'n/a' : `${pct(e.value)} (95 % CI ${pct(e.lower)}–${pct(e.upper)})`;
}

function matches(m: ModelInfo, q: SurveillanceQuery): boolean {
  const id = m.family === q.model || m.bundleId === q.model;
  return id && (q.version === undefined || m.version === q.version);
}

function findingsOf(drift: RoleSection['drift']): DriftFinding[] {
  const out: DriftFinding[] = [];
  for (const v of drift.variables) {
    for (const [group, s] of Object.entries(v.series)) {
      const withFinding = s.finding.filter(Boolean).length;
      const psis = s.psi.filter((x): x is number => x !== null);
      const thresholds = s.threshold.filter((x): x is number => x !== null);
      if (withFinding === 0) continue;
      out.push({
        group,
        variable: v.name,
        points: s.psi.length,
        pointsWithFinding: withFinding,
        maxPsi: psis.length > 0 ? Math.max(...psis) : null,
        lastThreshold: thresholds[thresholds.length - 1] ?? null,
      });
    }
  }
  return out.sort((a, b) => b.pointsWithFinding - a.pointsWithFinding || (b.maxPsi ?? 0) - (a.maxPsi ?? 0));
}

function summaryLines(
  model: ModelSummary,
  roles: readonly RoleSection[],
  alerts: VersionSection['alerts'],
  incidents: readonly Incident[],
  groupBy: string,
): string[] {
  const lines: string[] = [];
  const active = roles.find((r) => r.role === 'active') ?? roles[0];
  if (active === undefined) {
    return [`${model.label} sent no report in this period.`];
  }
  const u = active.usage;
  lines.push(
    `${model.label} ran on ${u.devices} device${u.devices === 1 ? '' : 's'} for ${u.hours.toFixed(0)} hours ` +
      `(${u.deviceDays.toFixed(1)} device-days, ${u.windows.toLocaleString('en')} analysed windows) in ` +
      `${u.cohorts.length} ${groupBy === 'cohort' ? 'cohort' : 'group'}${u.cohorts.length === 1 ? '' : 's'}` +
      `${roles.some((r) => r.role === 'shadow') ? '; it also ran in shadow (results not used) where listed below' : ''}.`,
  );
  const driftAlerts = alerts.filter((a) => a.role === active.role);
  if (!model.hasProfile) {
    lines.push(
      'Drift could not be evaluated: the reference profile of this version is not registered with the collector.',
    );
  } else if (driftAlerts.length === 0) {
    lines.push(
      `No drift alert: in every ${groupBy} the input data stayed within what the reference profile allows at the observed sample sizes.`,
    );
  } else {
    const byGroup = new Map<string, Set<string>>();
    for (const a of driftAlerts) {
      const set = byGroup.get(a.groupValue) ?? new Set<string>();
      set.add(a.variableName);
      byGroup.set(a.groupValue, set);
    }
    for (const [group, vars] of byGroup) {
      const states = driftAlerts.filter((a) => a.groupValue === group).map((a) => a.state);
      const open = states.filter((s) => s !== 'resolved').length;
      lines.push(
        `Drift in ${groupBy} "${group || '(none)'}": the input data no longer look like the data the model was validated on ` +
          `(${[...vars].slice(0, 5).join(', ')}${vars.size > 5 ? `, and ${vars.size - 5} more` : ''}); ` +
          `${driftAlerts.filter((a) => a.groupValue === group).length} alert(s), ${open} not yet resolved.`,
      );
    }
  }
  const p: Performance = active.performance.overall;
  if (p.labelled > 0) {
    lines.push(
      `From ${p.labelled.toLocaleString('en')} windows with a confirmed outcome (${p.positives} positive): sensitivity ${ci(p.sensitivity)}, ` +
        `specificity ${ci(p.specificity)}; calibration: observed/expected ${p.observedExpected ? `${p.observedExpected.ratio.toFixed(2)} (95 % CI ${p.observedExpected.lower.toFixed(2)}–${p.observedExpected.upper.toFixed(2)})` : 'n/a'}, ` +
        `ECE ${p.ece === null ? 'n/a' : p.ece.toFixed(4)}${active.performance.referenceEce === null ? '' : ` (reference ${active.performance.referenceEce.toFixed(4)})`}.`,
    );
  } else {
    lines.push(
      'No confirmed outcomes (labels) arrived in this period, so sensitivity and specificity could not be measured.',
    );
  }
  if (p.cbpe !== null && p.cbpe.sensitivity !== null) {
    lines.push(
      `Label-free estimate (CBPE, valid only if the model is still calibrated): sensitivity ${pct(p.cbpe.sensitivity)}, specificity ${pct(p.cbpe.specificity)}.`,
    );
  }
  const o = active.operations.overall;
  const reasons = Object.entries(o.reasons).sort((a, b) => b[1] - a[1]);
  lines.push(
    `${pct(o.fallbackRate)} of windows were answered by the declared safe fallback instead of the model` +
      `${reasons.length > 0 ? ` (most often ${reasons[0]?.[0] ?? ''}: ${(reasons[0]?.[1] ?? 0).toLocaleString('en')} windows)` : ''}.`,
  );
  lines.push(
    `Alert burden: ${o.alertsPerDeviceDay === null ? 'n/a' : o.alertsPerDeviceDay.toFixed(2)} clinical alerts per device-day ` +
      `(${(o.alerts.model + o.alerts.fallbackRule).toLocaleString('en')} alerts).`,
  );
  const kinds = new Map<string, number>();
  for (const i of incidents) kinds.set(i.kind, (kinds.get(i.kind) ?? 0) + 1);
  lines.push(
    incidents.length === 0
      ? 'No rollback, freeze, revocation, output suppression or audit finding was reported.'
      : `Incidents: ${[...kinds.entries()].map(([k, n]) => `${n} ${k}`).join(', ')} (listed below).`,
  );
  return lines;
}

export function buildSurveillanceReport(collector: Collector, query: SurveillanceQuery): SurveillanceReport {
  if (!(query.fromMs < query.toMs))
    throw new CollectorError('BAD_REQUEST', 'the period must end after it starts');
  const models = collector.store.models().filter((m) => matches(m, query));
  if (models.length === 0) {
    throw new CollectorError(
      'NOT_FOUND',
      `no model version matches ${query.model}${query.version === undefined ? '' : ` ${query.version}`}`,
    );
  }
  const range = { fromMs: query.fromMs, toMs: query.toMs };
  const groupBy = collector.options.alertRule.groupBy;
  const usage = collector.analytics.usage(range);
  const versions = models.map((m): VersionSection => {
    const summary = collector.analytics.modelSummary(m);
    const roles: RoleSection[] = [];
    for (const role of ['active', 'shadow'] as const) {
      const u = usage.find((x) => x.manifestSha256 === m.manifestSha256 && x.role === role);
      if (u === undefined) continue;
      const q = { ...range, role };
      const drift = collector.analytics.drift(m.manifestSha256, { ...q, groupBy });
      roles.push({
        role,
        usage: {
          devices: u.devices,
          hours: u.hours,
          deviceDays: u.deviceDays,
          reports: u.reports,
          windows: u.windows,
          cohorts: u.cohorts,
          sites: u.sites,
        },
        drift,
        findings: findingsOf(drift),
        performance: collector.analytics.performance(m.manifestSha256, { ...q, groupBy }),
        operations: collector.analytics.operations(m.manifestSha256, q),
      });
    }
    const alerts = collector.store
      .alerts({ manifestSha256: m.manifestSha256, ...range, limit: 5000 })
      .map((a) => ({ ...a, history: collector.store.alertHistory(a.id) }));
    const incidents = collector.store
      .incidents({ ...range, family: m.family, limit: 5000 })
      .filter(
        (i) => i.manifestSha256 === null || i.manifestSha256 === m.manifestSha256 || i.kind === 'rollback',
      );
    return {
      model: summary,
      roles,
      alerts,
      incidents,
      summary: summaryLines(summary, roles, alerts, incidents, groupBy),
    };
  });
  const overview = collector.overview();
  return {
    kind: 'vigil-surveillance-report',
    formatVersion: SURVEILLANCE_FORMAT_VERSION,
    generatedMs: collector.now(),
    query,
    fleet: collector.fleet,
    rule: describeAlertRule(collector.options.alertRule, collector.options.bucketMs),
    dataQuality: {
      received: overview.ingest.received,
      rejected: overview.ingest.rejected,
      duplicates: overview.ingest.duplicates,
      gaps: overview.gaps,
      auditFindings: overview.audit.findings,
      devicesWithoutProfile: collector.store
        .models()
        .filter((m) => !collector.analytics.modelSummary(m).hasProfile)
        .map((m) => m.bundleId),
    },
    versions,
  };
}
