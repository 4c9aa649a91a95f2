// The per-device drift monitor (issue 7): every pipeline result, delayed label, shadow pair and
// pipeline event is counted into the current report interval of its (model bundle, cohort, role)
// group; closeInterval() turns finished intervals into report drafts, evaluates drift against the
// profile, and raises alarms per the signed monitoring policy. Semantics: docs/telemetry-reports.md.
//
// Hot path (onResult): one clock read, a cached group lookup, binary searches into fixed typed arrays,
// two change-detector updates; no allocation per window.
import { Cusum, PageHinkley, StatsError } from '../stats/index.ts';
import {
  REPORT_ID_PATTERN,
  type DriftAction,
  type DriftEventKind,
  type DriftFlags,
  type ReportRole,
} from '../report/index.ts';
import {
  ALERT_SOURCES,
  IntervalAccumulator,
  OTHER_REASON,
  QUALITY_REASON,
  REASON_CODES,
  toMicro,
} from './accumulator.ts';
import { decideInterval } from './evaluate.ts';
import { MonitorError } from './errors.ts';
import { prepareModel, reportCohort, type PreparedModel } from './model.ts';
import type {
  DeviceMonitorOptions,
  DriftAlarm,
  MonitorCounters,
  MonitoredEvent,
  MonitoredLabel,
  MonitoredModel,
  MonitoredResult,
  ReportDraft,
} from './types.ts';

const DEFAULT_MAX_GROUPS = 256;
/** Streams remembered for attributing events to a cohort (cleared wholesale beyond this). */
const MAX_STREAMS = 4096;
const MAX_PENDING_EVENTS = 1024;
const STATE_VERSION = 1;

class Group {
  ph: PageHinkley;
  cusum: Cusum;
  acc: IntervalAccumulator;
  readonly closed: IntervalAccumulator[] = [];

  constructor(
    readonly model: PreparedModel,
    readonly bundleId: string,
    readonly cohort: string,
    readonly shadow: boolean,
    nowMs: number,
  ) {
    this.ph = new PageHinkley(model.pageHinkley);
    this.cusum = new Cusum(model.qualityCusum);
    this.acc = freshAccumulator(model, nowMs);
  }

  get role(): ReportRole {
    return this.shadow ? 'shadow' : 'active';
  }
}

interface BundleEntry {
  readonly model: PreparedModel;
  readonly active: Map<string, Group>;
  readonly shadow: Map<string, Group>;
}

function freshAccumulator(model: PreparedModel, nowMs: number): IntervalAccumulator {
  const start = nowMs - (((nowMs % model.intervalMs) + model.intervalMs) % model.intervalMs);
  return new IntervalAccumulator(model, start, start + model.intervalMs);
}

export interface RestoreResult {
  readonly restoredGroups: number;
  /** Why parts of the persisted state were not taken over (the monitor starts those fresh). */
  readonly discarded: readonly string[];
}

export class DeviceMonitor {
  private readonly bundles = new Map<string, BundleEntry>();
  private readonly streamCohort = new Map<string, string>();
  private readonly pendingEvents = new Map<string, MonitoredEvent[]>();
  private readonly suppressed = new Map<string, number>();
  private last: Group | undefined;
  private groupCount = 0;
  private firmwareVersion: string;
  private readonly maxGroups: number;
  private readonly counters = {
    observed: 0,
    unknownModel: 0,
    featureMismatch: 0,
    groupLimit: 0,
    labels: 0,
    labelsUnknownModel: 0,
    shadowPairs: 0,
    callbackErrors: 0,
  };

  constructor(private readonly options: DeviceMonitorOptions) {
    if (!REPORT_ID_PATTERN.test(options.fleet) || !REPORT_ID_PATTERN.test(options.device)) {
      throw new MonitorError('BAD_OPTIONS', 'fleet and device must be valid ids (docs/telemetry.md)');
    }
    checkVersion(options.runtimeVersion, 'runtimeVersion');
    checkVersion(options.firmwareVersion, 'firmwareVersion');
    this.firmwareVersion = options.firmwareVersion;
    this.maxGroups = options.maxGroups ?? DEFAULT_MAX_GROUPS;
    if (!Number.isSafeInteger(this.maxGroups) || this.maxGroups < 1) {
      throw new MonitorError('BAD_OPTIONS', 'maxGroups must be a positive integer');
    }
  }

  /** Registers a verified model (its manifest and profile). Idempotent for the same hashes. */
  registerModel(model: MonitoredModel): void {
    const existing = this.bundles.get(model.manifest.bundleId);
    if (existing) {
      const s = existing.model.source;
      if (s.manifestSha256 === model.manifestSha256 && s.profileSha256 === model.profileSha256) return;
      throw new MonitorError(
        'BAD_MODEL',
        `bundle ${model.manifest.bundleId} is registered with other hashes`,
      );
    }
    const prepared = prepareModel(model);
    this.bundles.set(prepared.bundleId, { model: prepared, active: new Map(), shadow: new Map() });
  }

  /** The firmware reported a new version (e.g. after an update): later reports carry it. */
  setFirmwareVersion(version: string): void {
    checkVersion(version, 'firmwareVersion');
    this.firmwareVersion = version;
  }

  // -------------------------------------------------------------------------------------------------
  // Observer side (PipelineObserver / LabelObserver / ShadowListener shapes)

  /** Every pipeline result, with the features the model saw (null when preprocessing never ran). */
  onResult(result: MonitoredResult, features: ArrayLike<number> | null): void {
    this.counters.observed++;
    const g = this.groupOf(result.provenance.bundleId, result.cohort, result.shadow);
    if (g === undefined) return;
    const now = this.options.now();
    if (now >= g.acc.endMs) this.roll(g, now);
    if (this.streamCohort.get(result.streamId) !== result.cohort)
      this.rememberStream(result.streamId, result.cohort);
    if (this.pendingEvents.size > 0) this.applyPending(result.streamId);
    const acc = g.acc;
    const status = result.status;
    let quality = 0;
    switch (status.kind) {
      case 'ok':
        acc.ok++;
        this.scored(g, status.score, now);
        break;
      case 'indeterminate':
        acc.indeterminate++;
        this.scored(g, status.score, now);
        break;
      case 'fallback': {
        acc.fallback++;
        const code = REASON_CODES.get(status.reason) ?? OTHER_REASON;
        acc.reasons[code] = (acc.reasons[code] as number) + 1;
        quality = QUALITY_REASON[code] as number;
        break;
      }
    }
    if (g.cusum.update(quality) === 'up') {
      acc.qualityAlarms++;
      this.raise(g, 'quality-change', 'up', null, [], now);
    }
    if (features !== null) {
      if (features.length === acc.features.length) acc.addFeatures(features);
      else this.counters.featureMismatch++;
    }
    acc.addLatency(result.latencyMs);
  }

  /** Alias of onResult for callers that prefer the brief's name. */
  observe(result: MonitoredResult, features: ArrayLike<number> | null): void {
    this.onResult(result, features);
  }

  /**
   * A delayed label joined to its result (runtime DeviceRuntime label observer). Counted in the
   * interval in which it arrives; `late` when its result ended before that interval started.
   */
  onLabel(result: MonitoredResult, label: MonitoredLabel): void {
    const g = this.groupOf(result.provenance.bundleId, result.cohort, result.shadow);
    if (g === undefined) {
      this.counters.labelsUnknownModel++;
      return;
    }
    this.counters.labels++;
    const now = this.options.now();
    if (now >= g.acc.endMs) this.roll(g, now);
    const s = result.status;
    const score = s.kind === 'fallback' ? null : s.score;
    g.acc.addLabel(score, label.value === 1 ? 1 : 0, result.endMs < g.acc.startMs);
  }

  /** Results of the active model and its shadow candidate for the same window. */
  onShadowPair(active: MonitoredResult, candidate: MonitoredResult): void {
    const g = this.groupOf(active.provenance.bundleId, active.cohort, false);
    if (g === undefined) return;
    this.counters.shadowPairs++;
    const now = this.options.now();
    if (now >= g.acc.endMs) this.roll(g, now);
    const s = g.acc.shadowFor(candidate.provenance.bundleId);
    if (s === undefined) return; // more candidates in one interval than a report carries
    const a = active.status;
    const c = candidate.status;
    s.pairs++;
    switch (c.kind) {
      case 'ok':
        s.ok++;
        break;
      case 'indeterminate':
        s.indeterminate++;
        break;
      case 'fallback':
        s.fallback++;
        break;
    }
    if (a.kind === 'ok' && c.kind === 'ok') {
      if (a.label === c.label) s.agreements++;
      if (a.positive && c.positive) s.both++;
      else if (a.positive) s.activeOnly++;
      else if (c.positive) s.candidateOnly++;
      else s.neither++;
    } else if (a.kind === c.kind) {
      s.agreements++;
    }
  }

  /** Pipeline events: alerts and fallback episodes. */
  onEvent(event: MonitoredEvent): void {
    const cohort = this.streamCohort.get(event.streamId);
    if (cohort === undefined) {
      // An event before the stream's first result (it comes right after, synchronously): hold it.
      if (this.pendingEvents.size >= MAX_PENDING_EVENTS) return;
      const list = this.pendingEvents.get(event.streamId);
      if (list) list.push(event);
      else this.pendingEvents.set(event.streamId, [event]);
      return;
    }
    this.countEvent(event, cohort);
  }

  // -------------------------------------------------------------------------------------------------
  // Intervals

  /**
   * Closes every interval that ended at or before `nowMs` and returns one report draft per group
   * with data. Drift is evaluated here (and interval alarms raised) — never on the hot path.
   */
  closeInterval(nowMs: number = this.options.now()): ReportDraft[] {
    const drafts: ReportDraft[] = [];
    for (const g of this.groups()) {
      if (g.acc.endMs <= nowMs) this.roll(g, nowMs);
      for (const acc of g.closed) if (!acc.empty) drafts.push(this.finish(g, acc, nowMs));
      g.closed.length = 0;
    }
    return drafts;
  }

  /** When the earliest open interval ends (for the daemon's timer), or null without groups. */
  nextCloseMs(): number | null {
    let next: number | null = null;
    for (const g of this.groups()) if (next === null || g.acc.endMs < next) next = g.acc.endMs;
    return next;
  }

  // -------------------------------------------------------------------------------------------------
  // Safe action state

  /** Ends a `suppress-outputs` episode (on a signed command or a new release). */
  liftSuppression(bundleId: string): boolean {
    return this.suppressed.delete(bundleId);
  }

  /** Suppressions in force (re-apply them to the runtime after a restart). */
  activeSuppressions(): { bundleId: string; sinceMs: number }[] {
    return [...this.suppressed].map(([bundleId, sinceMs]) => ({ bundleId, sinceMs }));
  }

  stats(): MonitorCounters {
    return { ...this.counters, groups: this.groupCount };
  }

  // -------------------------------------------------------------------------------------------------
  // Persistence

  /** Writes detectors, open and unreported intervals and suppressions to the store. */
  persist(): void {
    const store = this.options.store;
    if (!store) return;
    const groups = [...this.groups()].map((g) => ({
      bundleId: g.bundleId,
      manifestSha256: g.model.source.manifestSha256,
      profileSha256: g.model.source.profileSha256,
      cohort: g.cohort,
      shadow: g.shadow,
      ph: g.ph.state(),
      cusum: g.cusum.state(),
      acc: g.acc.toJSON(),
      closed: g.closed.map((a) => a.toJSON()),
    }));
    const text = JSON.stringify({ v: STATE_VERSION, suppressed: [...this.suppressed], groups });
    try {
      store.save(text);
    } catch (error) {
      throw new MonitorError('STORE_FAILED', 'could not save the monitor state', { cause: error });
    }
  }

  /**
   * Takes over the persisted state for registered models (call after registerModel, before any
   * result). Anything invalid or for a model not registered with the same hashes is discarded, with
   * the reason in the result: the monitor never refuses to start because of its own state file.
   */
  restore(): RestoreResult {
    const store = this.options.store;
    if (!store) return { restoredGroups: 0, discarded: [] };
    let text: string | null;
    try {
      text = store.load();
    } catch (error) {
      throw new MonitorError('STORE_FAILED', 'could not read the monitor state', { cause: error });
    }
    if (text === null) return { restoredGroups: 0, discarded: [] };
    const discarded: string[] = [];
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return { restoredGroups: 0, discarded: ['state is not JSON'] };
    }
    if (typeof raw !== 'object' || raw === null || (raw as { v?: unknown }).v !== STATE_VERSION) {
      return { restoredGroups: 0, discarded: ['unknown state version'] };
    }
    const state = raw as { suppressed?: unknown; groups?: unknown };
    if (Array.isArray(state.suppressed)) {
      for (const entry of state.suppressed as unknown[]) {
        if (
          Array.isArray(entry) &&
          typeof entry[0] === 'string' &&
          this.bundles.has(entry[0]) &&
          Number.isSafeInteger(entry[1])
        ) {
          this.suppressed.set(entry[0], entry[1] as number);
        } else {
          discarded.push('a suppression of an unregistered model');
        }
      }
    }
    let restoredGroups = 0;
    const now = this.options.now();
    for (const [i, g] of (Array.isArray(state.groups) ? (state.groups as unknown[]) : []).entries()) {
      try {
        if (this.restoreGroup(g, now)) restoredGroups++;
        else discarded.push(`group ${i}: model not registered with the same hashes, or already active`);
      } catch (error) {
        if (error instanceof MonitorError || error instanceof StatsError)
          discarded.push(`group ${i}: ${error.message}`);
        else throw error;
      }
    }
    return { restoredGroups, discarded };
  }

  // -------------------------------------------------------------------------------------------------
  // Internals

  private *groups(): Generator<Group> {
    for (const entry of this.bundles.values()) {
      yield* entry.active.values();
      yield* entry.shadow.values();
    }
  }

  private groupOf(bundleId: string, cohort: string, shadow: boolean): Group | undefined {
    const last = this.last;
    if (
      last !== undefined &&
      last.bundleId === bundleId &&
      last.cohort === cohort &&
      last.shadow === shadow
    ) {
      return last;
    }
    const entry = this.bundles.get(bundleId);
    if (entry === undefined) {
      this.counters.unknownModel++;
      return undefined;
    }
    const byCohort = shadow ? entry.shadow : entry.active;
    let g = byCohort.get(cohort);
    if (g === undefined) {
      if (this.groupCount >= this.maxGroups) {
        this.counters.groupLimit++;
        return undefined;
      }
      g = new Group(entry.model, bundleId, cohort, shadow, this.options.now());
      byCohort.set(cohort, g);
      this.groupCount++;
    }
    this.last = g;
    return g;
  }

  private roll(g: Group, nowMs: number): void {
    g.closed.push(g.acc);
    g.acc = freshAccumulator(g.model, nowMs);
  }

  private scored(g: Group, score: number, now: number): void {
    g.acc.addScore(score);
    if (!Number.isFinite(score)) return;
    const signal = g.ph.update(score);
    if (signal === 'none') return;
    if (signal === 'up') g.acc.scoreAlarmsUp++;
    else g.acc.scoreAlarmsDown++;
    this.raise(g, 'score-change', signal, null, [], now);
  }

  private rememberStream(streamId: string, cohort: string): void {
    if (this.streamCohort.size >= MAX_STREAMS) this.streamCohort.clear();
    this.streamCohort.set(streamId, cohort);
  }

  private applyPending(streamId: string): void {
    const list = this.pendingEvents.get(streamId);
    if (list === undefined) return;
    this.pendingEvents.delete(streamId);
    const cohort = this.streamCohort.get(streamId) ?? '';
    for (const event of list) this.countEvent(event, cohort);
  }

  private countEvent(event: MonitoredEvent, cohort: string): void {
    const entry = this.bundles.get(event.bundleId);
    if (entry === undefined) {
      this.counters.unknownModel++;
      return;
    }
    // Events belong to the model that raised them; a candidate's group exists once it produced results.
    const shadowGroup = entry.shadow.get(cohort);
    const g = entry.active.get(cohort) ?? shadowGroup ?? this.groupOf(event.bundleId, cohort, false);
    if (g === undefined) return;
    const now = this.options.now();
    if (now >= g.acc.endMs) this.roll(g, now);
    const acc = g.acc;
    switch (event.kind) {
      case 'fallback-episode-start':
        acc.episodesStarted++;
        break;
      case 'fallback-episode-end':
        acc.episodesEnded++;
        acc.episodeWindows += Math.max(1, Math.floor(event.windows));
        break;
      case 'alert': {
        const i = ALERT_SOURCES.indexOf(event.source);
        if (i >= 0) acc.alerts[i] = (acc.alerts[i] as number) + 1;
        break;
      }
    }
  }

  private finish(g: Group, acc: IntervalAccumulator, nowMs: number): ReportDraft {
    const model = g.model;
    const decision = decideInterval(model, acc.features, acc.scoreCounts);
    const phStats = g.ph.statistics();
    const labels = acc.labels;
    const draft: ReportDraft = {
      formatVersion: 1,
      fleet: this.options.fleet,
      device: this.options.device,
      startMs: acc.startMs,
      endMs: acc.endMs,
      model: model.reportModel,
      role: g.role,
      cohort: reportCohort(g.cohort),
      runtimeVersion: this.options.runtimeVersion,
      firmwareVersion: this.firmwareVersion,
      windows: { ok: acc.ok, indeterminate: acc.indeterminate, fallback: acc.fallback },
      fallbackReasons: acc.fallbackReasons(),
      alerts: {
        model: acc.alerts[0] as number,
        fallbackRule: acc.alerts[1] as number,
        quality: acc.alerts[2] as number,
      },
      episodes: { started: acc.episodesStarted, ended: acc.episodesEnded, windows: acc.episodeWindows },
      features: acc.features.map((c) => Array.from(c)),
      score: { counts: Array.from(acc.scoreCounts), sumPMicro: toMicro(acc.scoreSumP) },
      labels:
        labels === 0
          ? null
          : {
              n: Array.from(acc.labelN),
              sumPMicro: toMicro(acc.labelSumP),
              sumY: Array.from(acc.labelY),
              late: acc.labelsLate,
              unscored: acc.labelsUnscored,
            },
      latency: Array.from(acc.latency),
      drift: { statistics: model.statistics, alarm: decision.alarm, flags: decision.flags },
      change: {
        scoreAlarmsUp: acc.scoreAlarmsUp,
        scoreAlarmsDown: acc.scoreAlarmsDown,
        scoreUp: Math.fround(phStats.up),
        scoreDown: Math.fround(phStats.down),
        qualityAlarms: acc.qualityAlarms,
        quality: Math.fround(g.cusum.statistics().up),
      },
      shadow: g.shadow ? [] : [...acc.shadow].map(([id, s]) => s.toSection(id)),
      suppressedSinceMs: g.shadow ? null : (this.suppressed.get(g.bundleId) ?? null),
    };
    if (decision.alarm) {
      this.raise(
        g,
        'interval-drift',
        null,
        { startMs: acc.startMs, endMs: acc.endMs },
        decision.flags,
        nowMs,
      );
      // The report of the interval that raised the safe action already says so.
      if (!g.shadow && this.suppressed.has(g.bundleId)) {
        return { ...draft, suppressedSinceMs: this.suppressed.get(g.bundleId) ?? null };
      }
    }
    return draft;
  }

  private raise(
    g: Group,
    kind: DriftEventKind,
    direction: 'up' | 'down' | null,
    interval: { startMs: number; endMs: number } | null,
    flags: readonly DriftFlags[],
    atMs: number,
  ): void {
    let action: DriftAction = g.model.onDrift;
    // The declared safe action answers the family-wise interval test of the active model only: the
    // change detectors are early warnings (calibrated at 1 per 10k windows) and a candidate in shadow
    // has no outputs to suppress.
    if (action === 'suppress-outputs' && (kind !== 'interval-drift' || g.shadow)) action = 'alert';
    const alarm: DriftAlarm = {
      kind,
      bundleId: g.bundleId,
      modelFamily: g.model.reportModel.family,
      cohort: g.cohort,
      role: g.role,
      atMs,
      action,
      direction,
      interval,
      flags,
      event:
        action === 'report'
          ? null
          : {
              formatVersion: 1,
              fleet: this.options.fleet,
              device: this.options.device,
              kind,
              model: g.model.reportModel,
              role: g.role,
              cohort: reportCohort(g.cohort),
              atMs,
              action,
              direction,
              interval,
              flags,
            },
    };
    this.call(() => this.options.callbacks?.onAlarm?.(alarm));
    if (action === 'suppress-outputs' && !this.suppressed.has(g.bundleId)) {
      this.suppressed.set(g.bundleId, atMs);
      this.call(() =>
        this.options.callbacks?.onSuppressOutputs?.({
          bundleId: g.bundleId,
          modelFamily: g.model.reportModel.family,
          sinceMs: atMs,
          alarm,
        }),
      );
    }
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch {
      this.counters.callbackErrors++;
    }
  }

  private restoreGroup(raw: unknown, now: number): boolean {
    if (typeof raw !== 'object' || raw === null)
      throw new MonitorError('BAD_STATE', 'group is not an object');
    const o = raw as Record<string, unknown>;
    const { bundleId, cohort, shadow } = o;
    if (typeof bundleId !== 'string' || typeof cohort !== 'string' || typeof shadow !== 'boolean') {
      throw new MonitorError('BAD_STATE', 'group identity is malformed');
    }
    const entry = this.bundles.get(bundleId);
    if (
      entry === undefined ||
      entry.model.source.manifestSha256 !== o.manifestSha256 ||
      entry.model.source.profileSha256 !== o.profileSha256
    ) {
      return false;
    }
    const byCohort = shadow ? entry.shadow : entry.active;
    if (byCohort.has(cohort)) return false;
    if (this.groupCount >= this.maxGroups) return false;
    const g = new Group(entry.model, bundleId, cohort, shadow, now);
    g.ph = PageHinkley.restore(entry.model.pageHinkley, o.ph);
    g.cusum = Cusum.restore(entry.model.qualityCusum, o.cusum);
    const acc = IntervalAccumulator.restore(entry.model, o.acc);
    const closed = (Array.isArray(o.closed) ? (o.closed as unknown[]) : []).map((c) =>
      IntervalAccumulator.restore(entry.model, c),
    );
    g.closed.push(...closed);
    // An interval that ended while the device was down is reported at the next close.
    if (acc.endMs <= now) {
      g.closed.push(acc);
      g.acc = freshAccumulator(entry.model, now);
    } else {
      g.acc = acc;
    }
    byCohort.set(cohort, g);
    this.groupCount++;
    return true;
  }
}

// C0, DEL and C1 control characters: never in a version that reaches reports, logs and pages.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkVersion(version: string, what: string): void {
  if (typeof version !== 'string' || version.length < 1 || version.length > 64 || CONTROL.test(version)) {
    throw new MonitorError('BAD_OPTIONS', `${what} must be 1–64 printable characters`);
  }
}
