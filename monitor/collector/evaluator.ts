// Runs the alert rule (alert-rule.ts) over closed evaluation windows, in order, per model version and
// role: a window [t, t + bucket) is evaluated once the collector's clock passes t + bucket + grace.
// A watermark per (model, role) makes every window evaluated exactly once, across restarts.
import { decodeSign1 } from '../../models/format/index.ts';
import { decodeReportPayload, type ReportRole } from '../report/index.ts';
import { driftStatistics, type DriftStatisticName } from '../stats/index.ts';
import { mergeAll, type Aggregate } from './aggregate.ts';
import {
  MAX_STREAK_WINDOWS,
  advanceStreak,
  alertKey,
  findingWindow,
  testWindow,
  type GroupCounts,
} from './alert-rule.ts';
import {
  DEFAULT_DRIFT_STATISTICS,
  capDeviceWeights,
  designEffect,
  mostDivergentDevice,
} from './fleet-drift.ts';
import { describeAlertRule, type CollectorOptions } from './options.ts';
import type { PreparedProfile, ProfileCache } from './profiles.ts';
import type { CollectorStore, CollectorWriter } from './store.ts';
import type {
  AlertEvidence,
  AlertRecord,
  DeviceEvidence,
  FindingWindow,
  GroupDimension,
  ModelInfo,
  RollupRow,
  StreakState,
} from './types.ts';

export interface EvaluationSummary {
  readonly windows: number;
  readonly tests: number;
  readonly findings: number;
  readonly opened: readonly number[];
  /** Model versions whose profile is missing (not evaluated). */
  readonly withoutProfile: readonly string[];
}

/** Windows evaluated per model and call, so one tick stays short after a long outage. */
const MAX_WINDOWS_PER_RUN = 48;

export function groupValue(row: RollupRow, dim: GroupDimension): string {
  switch (dim) {
    case 'cohort':
      return row.cohort;
    case 'firmware':
      return row.firmware;
    case 'site':
      return row.site;
  }
}

export function groupRows(rows: readonly RollupRow[], dim: GroupDimension): GroupCounts[] {
  const by = new Map<string, Aggregate[]>();
  for (const r of rows) {
    const v = groupValue(r, dim);
    const list = by.get(v);
    if (list) list.push(r.aggregate);
    else by.set(v, [r.aggregate]);
  }
  const out: GroupCounts[] = [];
  for (const [value, aggs] of [...by.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const merged = mergeAll(aggs);
    if (merged) out.push({ value, aggregate: merged });
  }
  return out;
}

export function statisticsOf(model: ModelInfo | null): readonly DriftStatisticName[] {
  const s = model?.statistics;
  return s && s.length > 0 ? s : DEFAULT_DRIFT_STATISTICS;
}

export class Evaluator {
  constructor(
    private readonly store: CollectorStore,
    private readonly profiles: ProfileCache,
    private readonly options: CollectorOptions,
    private readonly now: () => number,
  ) {}

  run(): EvaluationSummary {
    const { bucketMs, evaluationGraceMs } = this.options;
    const nowMs = this.now();
    let windows = 0;
    let tests = 0;
    let findings = 0;
    const opened: number[] = [];
    const withoutProfile: string[] = [];
    for (const k of this.store.rollupKeys('bucket')) {
      const model = this.store.model(k.manifestSha256);
      const profile = model ? this.profiles.get(model.profileSha256) : null;
      if (model === null || profile === null) {
        withoutProfile.push(k.manifestSha256);
        continue;
      }
      let start = this.store.watermark(k.manifestSha256, k.role) ?? k.firstBucketMs;
      let done = 0;
      const streaks = new Map(this.store.streaks(k.manifestSha256, k.role).map((s) => [s.key, s]));
      // A window is closed when the collector's clock has passed its end plus the grace, or when the
      // model's devices have moved on (event time: data of a bucket starting at or after end + grace
      // exists), which also covers devices whose clocks run ahead (simulations, replays).
      const closed = (end: number): boolean =>
        end + evaluationGraceMs <= nowMs || k.lastBucketMs >= end + evaluationGraceMs;
      while (closed(start + bucketMs) && done < MAX_WINDOWS_PER_RUN) {
        const r = this.evaluateWindow(model, profile, k.role, start, streaks, nowMs);
        windows++;
        done++;
        tests += r.tests;
        findings += r.findings;
        opened.push(...r.opened);
        start += bucketMs;
      }
    }
    return { windows, tests, findings, opened, withoutProfile };
  }

  private evaluateWindow(
    model: ModelInfo,
    profile: PreparedProfile,
    role: ReportRole,
    startMs: number,
    streaks: Map<string, StreakState>,
    nowMs: number,
  ): { tests: number; findings: number; opened: number[] } {
    const rule = this.options.alertRule;
    const endMs = startMs + this.options.bucketMs;
    const rows = this.store.rollups({
      level: 'bucket',
      manifestSha256: model.manifestSha256,
      role,
      fromMs: startMs,
      toMs: endMs,
    });
    const groups = groupRows(rows, rule.groupBy);
    const { designEffects, excess, mostDivergent } = this.deviceEffects(model, profile, role, startMs, endMs);
    const result = testWindow(
      profile,
      groups,
      statisticsOf(model),
      rule,
      profile.profile.nullModel.epsilon,
      designEffects,
      excess,
      mostDivergent,
    );
    const opened: number[] = [];
    let findings = 0;
    this.store.write((w) => {
      for (const t of result.results) {
        const key = alertKey(model.manifestSha256, role, rule.groupBy, t.group, t.drift.index);
        const window = findingWindow(t, startMs, endMs, result.tests);
        const step = advanceStreak(key, streaks.get(key) ?? null, t, window, rule);
        if (step.kind === 'skipped') continue;
        streaks.set(key, step.state);
        this.store.putStreak(model.manifestSha256, role, step.state);
        if (step.kind !== 'finding') continue;
        findings++;
        if (!step.reached) continue;
        const active = this.store.activeAlert(key);
        if (active) {
          this.extend(active, window);
          continue;
        }
        const evidence = this.evidence(model, profile, role, t.group, t.drift.index, step.state.windows);
        const alert = {
          key,
          state: 'open' as const,
          manifestSha256: model.manifestSha256,
          role,
          groupDimension: rule.groupBy,
          groupValue: t.group,
          variableIndex: t.drift.index,
          variableName: t.drift.name,
          openedMs: nowMs,
          firstWindowMs: step.state.windows[0]?.startMs ?? startMs,
          lastWindowMs: startMs,
          acknowledged: null,
          resolved: null,
          evidence,
        };
        const id = this.store.insertAlert(alert);
        this.history(w, id, nowMs, t.group, t.drift.name);
        opened.push(id);
      }
      this.store.putEvaluation({
        manifestSha256: model.manifestSha256,
        role,
        groupDimension: rule.groupBy,
        windowMs: startMs,
        tests: result.tests,
        results: result.results.map((t) => ({
          group: t.group,
          index: t.drift.index,
          n: t.drift.n,
          psi: t.drift.kind === 'empty' ? null : (t.drift.statistics.psi ?? null),
          threshold: t.drift.kind === 'tested' ? (t.drift.thresholds.psi ?? null) : null,
          qValue: t.drift.kind === 'tested' ? t.qValue : null,
          designEffect: t.drift.designEffect,
          finding: t.finding,
        })),
      });
      this.store.setWatermark(model.manifestSha256, role, endMs);
    });
    return { tests: result.tests, findings, opened };
  }

  private history(_w: CollectorWriter, id: number, nowMs: number, group: string, variable: string): void {
    this.store.addAlertHistory({
      alertId: id,
      atMs: nowMs,
      action: 'opened',
      by: 'collector',
      comment: `drift of ${variable} in ${this.options.alertRule.groupBy} ${group || '(none)'}`,
    });
  }

  private extend(active: AlertRecord, window: FindingWindow): void {
    const windows = [...active.evidence.windows, window].slice(-MAX_STREAK_WINDOWS);
    this.store.updateAlert({
      ...active,
      lastWindowMs: window.startMs,
      evidence: { ...active.evidence, windows },
    });
  }

  /** The window's counts per group and device, from the signed reports it holds. */
  private deviceCounts(
    model: ModelInfo,
    profile: PreparedProfile,
    role: ReportRole,
    fromMs: number,
    toMs: number,
    filter: { cohort?: string; firmware?: string; site?: string } = {},
  ): Map<string, { group: string; variables: Float64Array[]; reports: DeviceEvidence['reports'][number][] }> {
    const rule = this.options.alertRule;
    const rows = this.store.reports({ manifestSha256: model.manifestSha256, role, fromMs, toMs, ...filter });
    const byDevice = new Map<
      string,
      { group: string; variables: Float64Array[]; reports: DeviceEvidence['reports'][number][] }
    >();
    for (const r of rows) {
      const group = rule.groupBy === 'cohort' ? r.cohort : rule.groupBy === 'firmware' ? r.firmware : r.site;
      const key = `${r.device}\u0000${group}`;
      let entry = byDevice.get(key);
      if (!entry) {
        entry = {
          group,
          variables: profile.variables.map((v) => new Float64Array(v.edges.length + 2)),
          reports: [],
        };
        byDevice.set(key, entry);
      }
      entry.reports.push({ seq: r.seq, startMs: r.startMs, endMs: r.endMs });
      const bytes = this.store.messagePayload(r.device, r.seq);
      if (bytes === null) continue;
      try {
        const report = decodeReportPayload(decodeSign1(bytes).payload);
        profile.variables.forEach((_v, i) => {
          const counts = i === profile.featureCount ? report.score.counts : report.features[i];
          const target = entry.variables[i];
          if (counts === undefined || target === undefined || counts.length !== target.length) return;
          for (let b = 0; b < counts.length; b++) target[b] = (target[b] as number) + (counts[b] as number);
        });
      } catch {
        // Stored messages were verified on the way in; an unreadable one is simply left out.
      }
    }
    return byDevice;
  }

  /**
   * Per group, each variable's design effect with the devices as clusters (fleet-drift.ts), from
   * device counts capped at the per-device weight bound, and what that bound takes off the group's
   * merged counts (capDeviceWeights).
   */
  private deviceEffects(
    model: ModelInfo,
    profile: PreparedProfile,
    role: ReportRole,
    fromMs: number,
    toMs: number,
  ): {
    designEffects: Map<string, number[]>;
    excess: Map<string, (Float64Array | null)[]>;
    mostDivergent: Map<string, (Float64Array | null)[]>;
  } {
    const byGroup = new Map<string, Float64Array[][]>();
    for (const e of this.deviceCounts(model, profile, role, fromMs, toMs).values()) {
      const list = byGroup.get(e.group) ?? [];
      list.push(e.variables);
      byGroup.set(e.group, list);
    }
    const designEffects = new Map<string, number[]>();
    const excess = new Map<string, (Float64Array | null)[]>();
    const mostDivergent = new Map<string, (Float64Array | null)[]>();
    for (const [group, devices] of byGroup) {
      const capped = profile.variables.map((_, i) =>
        capDeviceWeights(
          devices.map((d) => d[i] ?? new Float64Array(0)),
          this.options.alertRule.maxDeviceWeight,
        ),
      );
      designEffects.set(
        group,
        capped.map((c) => designEffect(c.capped)),
      );
      excess.set(
        group,
        capped.map((c) => c.excess),
      );
      mostDivergent.set(
        group,
        capped.map((c, i) => {
          const v = profile.variables[i];
          const j = v === undefined ? null : mostDivergentDevice(c.capped, v.referenceCounts);
          return j === null ? null : (c.capped[j] ?? null);
        }),
      );
    }
    return { designEffects, excess, mostDivergent };
  }

  /** Which devices and reports the finding windows rest on, largest contributors first. */
  private evidence(
    model: ModelInfo,
    profile: PreparedProfile,
    role: ReportRole,
    group: string,
    variableIndex: number,
    windows: readonly FindingWindow[],
  ): AlertEvidence {
    const rule = this.options.alertRule;
    const fromMs = windows[0]?.startMs ?? 0;
    const toMs = windows[windows.length - 1]?.endMs ?? fromMs;
    const filter =
      rule.groupBy === 'cohort'
        ? { cohort: group }
        : rule.groupBy === 'firmware'
          ? { firmware: group }
          : { site: group };
    const variable = profile.variables[variableIndex];
    const devices: (DeviceEvidence & { weight: number })[] = [];
    for (const [key, e] of this.deviceCounts(model, profile, role, fromMs, toMs, filter)) {
      const device = key.slice(0, key.indexOf('\u0000'));
      let psi: number | null = null;
      let n = 0;
      const counts = e.variables[variableIndex];
      if (counts && variable) {
        const s = driftStatistics(Array.from(counts), variable.reference, profile.profile.nullModel.epsilon);
        if (s.kind === 'computed') {
          psi = s.psi;
          n = s.n;
        }
      }
      devices.push({ device, n, psi, reports: e.reports.slice(0, 50), weight: n * (psi ?? 0) });
    }
    devices.sort((a, b) => b.weight - a.weight || a.device.localeCompare(b.device));
    return {
      rule: describeAlertRule(rule, this.options.bucketMs),
      windows: [...windows],
      devices: devices.slice(0, rule.maxEvidenceDevices).map(({ weight: _w, ...d }) => d),
      bundle: {
        family: model.family,
        bundleId: model.bundleId,
        version: model.version,
        manifestSha256: model.manifestSha256,
        profileSha256: model.profileSha256,
      },
    };
  }
}
