// Fleet analytics over the rollups (docs/collector.md "Analytics"): drift per variable over time with
// its n-aware thresholds, current vs reference distributions, performance and calibration from
// labelled outcomes with the label-free CBPE estimate beside them, fallbacks by reason, alert burden
// per device-day, latency and shadow agreement. Every function returns plain JSON-ready data; the
// HTTP API and the surveillance report both use them.
import {
  DEFAULT_LATENCY_BINS,
  StatsError,
  cbpeEstimate,
  confusionFromScoreBins,
  expectedCalibrationError,
  latencyEdges,
  latencyQuantile,
  observedExpected,
  reliabilityPoints,
  sensitivity,
  specificity,
  wilsonInterval,
  type DriftStatisticName,
  type ProportionEstimate,
  type ScoreBinsView,
} from '../stats/index.ts';
import { REPORT_FALLBACK_REASONS, SUM_P_SCALE, isQualityReason, type ReportRole } from '../report/index.ts';
import { Aggregate, SCALAR, mergeAll } from './aggregate.ts';
import { testWindow } from './alert-rule.ts';
import { CollectorError } from './errors.ts';
import { groupRows, groupValue, statisticsOf } from './evaluator.ts';
import { DAY_MS } from './ingest.ts';
import { describeAlertRule, type CollectorOptions } from './options.ts';
import type { PreparedProfile, ProfileCache } from './profiles.ts';
import type { CollectorStore } from './store.ts';
import type { GroupDimension, ModelInfo, RollupLevel, RollupRow, WindowEvaluation } from './types.ts';

export const LATENCY_EDGES = latencyEdges(DEFAULT_LATENCY_BINS);

export interface RangeQuery {
  readonly fromMs: number;
  readonly toMs: number;
  readonly role?: ReportRole;
  readonly resolution?: RollupLevel;
}

export interface ModelSummary {
  readonly manifestSha256: string;
  readonly profileSha256: string;
  readonly family: string;
  readonly bundleId: string;
  readonly version: string;
  readonly sequence: number;
  readonly label: string;
  readonly source: ModelInfo['source'];
  readonly hasProfile: boolean;
  readonly operatingThreshold: number | null;
  readonly intendedUse: string | null;
  readonly verification: string | null;
}

export interface Estimate {
  readonly value: number | null;
  readonly lower: number | null;
  readonly upper: number | null;
  readonly n: number;
}

function estimateOf(p: ProportionEstimate): Estimate {
  return p.kind === 'estimate'
    ? { value: p.estimate, lower: p.lower, upper: p.upper, n: p.trials }
    : { value: null, lower: null, upper: null, n: 0 };
}

function rate(successes: number, trials: number): Estimate {
  if (trials <= 0) return { value: null, lower: null, upper: null, n: 0 };
  const ci = wilsonInterval(successes, trials);
  return { value: successes / trials, lower: ci.lower, upper: ci.upper, n: trials };
}

function round(x: number, digits = 6): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function micro(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => v / SUM_P_SCALE);
}

export function labelBins(a: Aggregate): ScoreBinsView {
  return { n: a.labelN(), sumP: micro(a.labelSumPMicro()), sumY: a.labelSumY() };
}

export function scoreBins(a: Aggregate): ScoreBinsView {
  return { n: a.score(), sumP: micro(a.scoreSumPMicro()), sumY: new Float64Array(a.score().length) };
}

export class FleetAnalytics {
  constructor(
    private readonly store: CollectorStore,
    private readonly profiles: ProfileCache,
    readonly options: CollectorOptions,
  ) {}

  modelSummary(m: ModelInfo): ModelSummary {
    return {
      manifestSha256: m.manifestSha256,
      profileSha256: m.profileSha256,
      family: m.family,
      bundleId: m.bundleId,
      version: m.version,
      sequence: m.sequence,
      label: `${m.family} ${m.version}`,
      source: m.source,
      hasProfile: this.profiles.get(m.profileSha256) !== null,
      operatingThreshold: m.operatingThreshold,
      intendedUse: m.intendedUse,
      verification: m.verification,
    };
  }

  model(manifestSha256: string): { model: ModelInfo; profile: PreparedProfile | null } {
    const model = this.store.model(manifestSha256);
    if (model === null) throw new CollectorError('NOT_FOUND', `no model version ${manifestSha256}`);
    return { model, profile: this.profiles.get(model.profileSha256) };
  }

  /** Day rollups for long ranges, evaluation buckets for short ones (at most ~a week of hours). */
  resolution(q: RangeQuery): { level: RollupLevel; stepMs: number } {
    const bucket = this.options.bucketMs;
    if (bucket >= DAY_MS) return { level: 'bucket', stepMs: bucket };
    if (q.resolution === 'bucket') return { level: 'bucket', stepMs: bucket };
    if (q.resolution === 'day') return { level: 'day', stepMs: DAY_MS };
    return (q.toMs - q.fromMs) / bucket > 168
      ? { level: 'day', stepMs: DAY_MS }
      : { level: 'bucket', stepMs: bucket };
  }

  private rows(sha: string, q: RangeQuery, level: RollupLevel, stepMs: number): RollupRow[] {
    // Rollups are keyed by bucket start: align the range outward to whole steps.
    const fromMs = Math.floor(q.fromMs / stepMs) * stepMs;
    return this.store.rollups({ level, manifestSha256: sha, role: q.role ?? 'active', fromMs, toMs: q.toMs });
  }

  /** Everything over the range, merged (null when no report). */
  total(sha: string, q: RangeQuery): Aggregate | null {
    const { level, stepMs } = this.resolution(q);
    return mergeAll(this.rows(sha, q, level, stepMs).map((r) => r.aggregate));
  }

  /** Drift over time per variable and group, with thresholds at each point's n, and BH per point. */
  drift(sha: string, q: RangeQuery & { readonly groupBy?: GroupDimension }) {
    const { model, profile } = this.model(sha);
    const { level, stepMs } = this.resolution(q);
    const groupBy = q.groupBy ?? this.options.alertRule.groupBy;
    const rows = this.rows(sha, q, level, stepMs);
    const times = [...new Set(rows.map((r) => r.bucketMs))].sort((a, b) => a - b);
    const groups = [...new Set(rows.map((r) => groupValue(r, groupBy)))].sort();
    const statistics = statisticsOf(model);
    const base = {
      model: this.modelSummary(model),
      role: q.role ?? 'active',
      groupBy,
      resolution: level,
      stepMs,
      times,
      groups,
      statistics,
      rule: describeAlertRule(this.options.alertRule, this.options.bucketMs),
      minPsi: this.options.alertRule.minPsi,
    };
    if (profile === null) return { ...base, hasProfile: false, variables: [], ruleEvaluated: [] };
    type Series = {
      psi: (number | null)[];
      threshold: (number | null)[];
      n: number[];
      q: (number | null)[];
      finding: boolean[];
    };
    const variables = profile.variables.map((v) => ({
      index: v.index,
      name: v.name,
      series: Object.fromEntries(
        groups.map((g): [string, Series] => [g, { psi: [], threshold: [], n: [], q: [], finding: [] }]),
      ),
    }));
    const byTime = new Map<number, RollupRow[]>();
    for (const r of rows) {
      const list = byTime.get(r.bucketMs);
      if (list) list.push(r);
      else byTime.set(r.bucketMs, [r]);
    }
    const stats: DriftStatisticName[] = statistics.includes('psi') ? [...statistics] : ['psi', ...statistics];
    // Windows the alert rule evaluated are shown as it decided them (with the devices' design effect);
    // the others (not yet closed, daily points, another grouping) are computed here without it.
    const evaluated = new Map<number, WindowEvaluation>();
    if (level === 'bucket' && groupBy === this.options.alertRule.groupBy && times.length > 0) {
      for (const e of this.store.evaluations({
        manifestSha256: sha,
        role: q.role ?? 'active',
        groupDimension: groupBy,
        fromMs: times[0] as number,
        toMs: (times[times.length - 1] as number) + 1,
      })) {
        evaluated.set(e.windowMs, e);
      }
    }
    const ruleEvaluated: boolean[] = [];
    for (const t of times) {
      const saved = evaluated.get(t);
      ruleEvaluated.push(saved !== undefined);
      if (saved !== undefined) {
        const seen = new Set<string>();
        for (const r of saved.results) {
          const s = variables[r.index]?.series[r.group];
          if (!s || seen.has(`${r.group}\u0000${r.index}`)) continue;
          seen.add(`${r.group}\u0000${r.index}`);
          s.psi.push(r.psi === null ? null : round(r.psi));
          s.threshold.push(r.threshold === null ? null : round(r.threshold));
          s.n.push(r.n);
          s.q.push(r.qValue);
          s.finding.push(r.finding);
        }
        for (const v of variables) {
          for (const g of groups) {
            if (seen.has(`${g}\u0000${v.index}`)) continue;
            const s = v.series[g] as Series;
            s.psi.push(null);
            s.threshold.push(null);
            s.n.push(0);
            s.q.push(null);
            s.finding.push(false);
          }
        }
        continue;
      }
      const result = testWindow(
        profile,
        groupRows(byTime.get(t) ?? [], groupBy),
        stats,
        this.options.alertRule,
        profile.profile.nullModel.epsilon,
      );
      const seen = new Set<string>();
      for (const r of result.results) {
        const s = variables[r.drift.index]?.series[r.group];
        if (!s) continue;
        seen.add(`${r.group}\u0000${r.drift.index}`);
        s.psi.push(r.drift.kind === 'empty' ? null : round(r.drift.statistics.psi ?? 0));
        s.threshold.push(r.drift.kind === 'tested' ? round(r.drift.thresholds.psi ?? 0) : null);
        s.n.push(r.drift.n);
        s.q.push(r.drift.kind === 'tested' ? r.qValue : null);
        s.finding.push(r.finding);
      }
      for (const v of variables) {
        for (const g of groups) {
          if (seen.has(`${g}\u0000${v.index}`)) continue;
          const s = v.series[g] as Series;
          s.psi.push(null);
          s.threshold.push(null);
          s.n.push(0);
          s.q.push(null);
          s.finding.push(false);
        }
      }
    }
    return { ...base, hasProfile: true, variables, ruleEvaluated };
  }

  /** Current vs reference distribution of one variable (proportions over all bins, NaN last). */
  distribution(
    sha: string,
    q: RangeQuery & { readonly variable: number; readonly group?: { dim: GroupDimension; value: string } },
  ) {
    const { model, profile } = this.model(sha);
    if (profile === null)
      throw new CollectorError('NOT_FOUND', `the profile of ${model.bundleId} is not registered`);
    const v = profile.variables[q.variable];
    if (v === undefined) throw new CollectorError('BAD_REQUEST', `no variable ${q.variable}`);
    const { level, stepMs } = this.resolution(q);
    let rows = this.rows(sha, q, level, stepMs);
    if (q.group) {
      const g = q.group;
      rows = rows.filter((r) => groupValue(r, g.dim) === g.value);
    }
    const merged = mergeAll(rows.map((r) => r.aggregate));
    const counts = merged
      ? Array.from(merged.variable(v.index))
      : new Array<number>(v.edges.length + 2).fill(0);
    const total = counts.reduce((a, b) => a + b, 0);
    return {
      model: this.modelSummary(model),
      variable: { index: v.index, name: v.name, mean: v.mean, sd: v.sd },
      edges: Array.from(v.edges),
      reference: profile.profile.features[v.index]?.proportions ?? profile.profile.score.proportions,
      observed: counts.map((c) => (total > 0 ? c / total : 0)),
      counts,
      n: total,
      group: q.group ?? null,
    };
  }

  /** Performance and calibration from labels, CBPE from all scored windows, overall and over time. */
  performance(sha: string, q: RangeQuery & { readonly groupBy?: GroupDimension }) {
    const { model, profile } = this.model(sha);
    const { level, stepMs } = this.resolution(q);
    const rows = this.rows(sha, q, level, stepMs);
    const threshold = model.operatingThreshold;
    const edges = profile?.scoreEdges ?? null;
    const evaluate = (a: Aggregate | null) => performanceOf(a, edges, threshold);
    const overall = evaluate(mergeAll(rows.map((r) => r.aggregate)));
    const byGroup =
      q.groupBy === undefined
        ? []
        : groupRows(rows, q.groupBy).map((g) => ({ group: g.value, ...evaluate(g.aggregate) }));
    const times = [...new Set(rows.map((r) => r.bucketMs))].sort((a, b) => a - b);
    const series = times.map((t) => {
      const p = evaluate(mergeAll(rows.filter((r) => r.bucketMs === t).map((r) => r.aggregate)));
      return {
        t,
        labelled: p.labelled,
        sensitivity: p.sensitivity.value,
        specificity: p.specificity.value,
        ece: p.ece,
        observedExpected: p.observedExpected?.ratio ?? null,
        cbpeSensitivity: p.cbpe?.sensitivity ?? null,
        cbpeSpecificity: p.cbpe?.specificity ?? null,
      };
    });
    const cal = profile?.profile.calibration ?? null;
    let referenceEce: number | null = null;
    if (cal) {
      try {
        referenceEce = expectedCalibrationError(cal);
      } catch {
        referenceEce = null;
      }
    }
    return {
      model: this.modelSummary(model),
      resolution: level,
      stepMs,
      operatingThreshold: threshold,
      referenceEce,
      overall,
      byGroup,
      series,
    };
  }

  /** Fallbacks by reason, alert burden per device-day, latency, device drift alarms, shadow agreement. */
  operations(sha: string, q: RangeQuery) {
    const { model } = this.model(sha);
    const { level, stepMs } = this.resolution(q);
    const rows = this.rows(sha, q, level, stepMs);
    const times = [...new Set(rows.map((r) => r.bucketMs))].sort((a, b) => a - b);
    const byTime = new Map<number, Aggregate[]>();
    for (const r of rows) {
      const list = byTime.get(r.bucketMs);
      if (list) list.push(r.aggregate);
      else byTime.set(r.bucketMs, [r.aggregate]);
    }
    const series = times.map((t) => ({ t, ...operationsOf(mergeAll(byTime.get(t) ?? [])) }));
    const overall = operationsOf(mergeAll(rows.map((r) => r.aggregate)));
    return { model: this.modelSummary(model), resolution: level, stepMs, overall, series };
  }

  /** Devices and hours of use per model version over a range (device-day rows). */
  usage(q: { fromMs: number; toMs: number; manifestSha256?: string }) {
    const days = this.store.deviceDays({
      fromMs: Math.floor(q.fromMs / DAY_MS) * DAY_MS,
      toMs: q.toMs,
      ...(q.manifestSha256 === undefined ? {} : { manifestSha256: q.manifestSha256 }),
    });
    const by = new Map<
      string,
      {
        devices: Set<string>;
        coveredMs: number;
        reports: number;
        alerts: number;
        windows: number;
        fallback: number;
        cohorts: Set<string>;
        sites: Set<string>;
      }
    >();
    for (const d of days) {
      const k = `${d.manifestSha256}\u0000${d.role}`;
      let e = by.get(k);
      if (!e) {
        e = {
          devices: new Set(),
          coveredMs: 0,
          reports: 0,
          alerts: 0,
          windows: 0,
          fallback: 0,
          cohorts: new Set(),
          sites: new Set(),
        };
        by.set(k, e);
      }
      e.devices.add(d.device);
      e.coveredMs += d.coveredMs;
      e.reports += d.reports;
      e.alerts += d.alerts;
      e.windows += d.windows;
      e.fallback += d.fallback;
      e.cohorts.add(d.cohort);
      if (d.site !== '') e.sites.add(d.site);
    }
    return [...by.entries()].map(([k, e]) => {
      const [manifestSha256, role] = k.split('\u0000') as [string, ReportRole];
      const deviceDays = e.coveredMs / DAY_MS;
      return {
        manifestSha256,
        role,
        devices: e.devices.size,
        hours: round(e.coveredMs / 3_600_000, 2),
        deviceDays: round(deviceDays, 3),
        reports: e.reports,
        windows: e.windows,
        fallback: e.fallback,
        alerts: e.alerts,
        alertsPerDeviceDay: deviceDays > 0 ? round(e.alerts / deviceDays, 4) : null,
        cohorts: [...e.cohorts].sort(),
        sites: [...e.sites].sort(),
      };
    });
  }
}

export interface Performance {
  readonly labelled: number;
  readonly positives: number;
  readonly lateLabels: number;
  readonly unscoredLabels: number;
  readonly sensitivity: Estimate;
  readonly specificity: Estimate;
  /** Expected calibration error over the score bins (null without labels). */
  readonly ece: number | null;
  readonly observedExpected: {
    readonly ratio: number;
    readonly lower: number;
    readonly upper: number;
    readonly observed: number;
    readonly expected: number;
  } | null;
  readonly reliability: readonly {
    readonly meanPredicted: number;
    readonly observedRate: number;
    readonly lower: number;
    readonly upper: number;
    readonly n: number;
  }[];
  /** Label-free estimate from every scored window (assumes calibration holds). */
  readonly cbpe: {
    readonly sensitivity: number | null;
    readonly specificity: number | null;
    readonly sensitivitySe: number | null;
    readonly specificitySe: number | null;
    readonly n: number;
  } | null;
  readonly scored: number;
}

export function performanceOf(
  a: Aggregate | null,
  edges: Float64Array | null,
  threshold: number | null,
): Performance {
  const empty: Estimate = { value: null, lower: null, upper: null, n: 0 };
  if (a === null) {
    return {
      labelled: 0,
      positives: 0,
      lateLabels: 0,
      unscoredLabels: 0,
      sensitivity: empty,
      specificity: empty,
      ece: null,
      observedExpected: null,
      reliability: [],
      cbpe: null,
      scored: 0,
    };
  }
  const labels = labelBins(a);
  let labelled = 0;
  let positives = 0;
  for (let i = 0; i < labels.n.length; i++) {
    labelled += labels.n[i] as number;
    positives += labels.sumY[i] as number;
  }
  let sens: Estimate = empty;
  let spec: Estimate = empty;
  let cbpe: Performance['cbpe'] = null;
  let scored = 0;
  for (const c of a.score()) scored += c;
  if (edges !== null && threshold !== null) {
    try {
      if (labelled > 0) {
        const c = confusionFromScoreBins(edges, labels, threshold);
        sens = estimateOf(sensitivity(c));
        spec = estimateOf(specificity(c));
      }
      const est = cbpeEstimate(edges, scoreBins(a), threshold);
      if (est.kind === 'estimate') {
        cbpe = {
          sensitivity: est.sensitivity?.estimate ?? null,
          specificity: est.specificity?.estimate ?? null,
          sensitivitySe: est.sensitivity?.standardError ?? null,
          specificitySe: est.specificity?.standardError ?? null,
          n: est.n,
        };
      }
    } catch (error) {
      if (!(error instanceof StatsError)) throw error;
    }
  }
  let ece: number | null = null;
  let oe: Performance['observedExpected'] = null;
  if (labelled > 0) {
    ece = expectedCalibrationError(labels);
    try {
      const r = observedExpected(labels);
      oe = { ratio: r.ratio, lower: r.lower, upper: r.upper, observed: r.observed, expected: r.expected };
    } catch (error) {
      if (!(error instanceof StatsError)) throw error;
    }
  }
  return {
    labelled,
    positives,
    lateLabels: a.scalar('labelsLate'),
    unscoredLabels: a.scalar('labelsUnscored'),
    sensitivity: sens,
    specificity: spec,
    ece,
    observedExpected: oe,
    reliability: reliabilityPoints(labels).map((p) => ({
      meanPredicted: p.meanPredicted,
      observedRate: p.observedRate,
      lower: p.lower,
      upper: p.upper,
      n: p.n,
    })),
    cbpe,
    scored,
  };
}

export function operationsOf(a: Aggregate | null) {
  if (a === null) {
    return {
      reports: 0,
      windows: 0,
      deviceDays: 0,
      fallbackRate: null as number | null,
      qualityFailureRate: null as number | null,
      reasons: {} as Record<string, number>,
      alerts: { model: 0, fallbackRule: 0, quality: 0 },
      alertsPerDeviceDay: null as number | null,
      latencyMs: { p50: null as number | null, p95: null as number | null, p99: null as number | null },
      driftAlarmReports: 0,
      suppressedReports: 0,
      shadow: [] as {
        candidateBundleId: string;
        pairs: number;
        agreement: Estimate;
        candidateFallbackRate: number | null;
        positives: { both: number; activeOnly: number; candidateOnly: number; neither: number };
      }[],
    };
  }
  const windows = a.windows;
  const reasons: Record<string, number> = {};
  let quality = 0;
  a.reasons().forEach((n, i) => {
    const reason = REPORT_FALLBACK_REASONS[i];
    if (reason === undefined || n === 0) return;
    reasons[reason] = n;
    if (isQualityReason(reason)) quality += n;
  });
  const deviceDays = a.scalar('coveredMs') / DAY_MS;
  const clinical = a.scalar('alertsModel') + a.scalar('alertsFallbackRule');
  const q = (p: number): number | null => {
    const r = latencyQuantile(LATENCY_EDGES, a.latency(), p);
    return r.kind === 'empty' ? null : round(r.ms, 4);
  };
  return {
    reports: a.reports,
    windows,
    deviceDays: round(deviceDays, 4),
    fallbackRate: windows > 0 ? a.fallback / windows : null,
    qualityFailureRate: windows > 0 ? quality / windows : null,
    reasons,
    alerts: {
      model: a.scalar('alertsModel'),
      fallbackRule: a.scalar('alertsFallbackRule'),
      quality: a.scalar('alertsQuality'),
    },
    alertsPerDeviceDay: deviceDays > 0 ? round(clinical / deviceDays, 4) : null,
    latencyMs: { p50: q(0.5), p95: q(0.95), p99: q(0.99) },
    driftAlarmReports: a.scalar('driftAlarmReports'),
    suppressedReports: a.data[SCALAR.suppressedReports] as number,
    shadow: [...a.shadow.entries()].map(([id, t]) => ({
      candidateBundleId: id,
      pairs: t.pairs,
      agreement: rate(t.agreements, t.pairs),
      candidateFallbackRate: t.pairs > 0 ? t.candidateFallback / t.pairs : null,
      positives: {
        both: t.both,
        activeOnly: t.activeOnly,
        candidateOnly: t.candidateOnly,
        neither: t.neither,
      },
    })),
  };
}
