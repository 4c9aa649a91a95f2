// One report interval of one (model, cohort, role) group: fixed-size typed arrays filled in place on
// the hot path (no allocation per window), turned into a report draft when the interval closes, and
// serialisable so an interval survives a restart.
import { binIndex } from '../stats/index.ts';
import { REPORT_FALLBACK_REASONS, REPORT_LIMITS, SUM_P_SCALE } from '../report/index.ts';
import type { ShadowSection } from '../report/index.ts';
import { MonitorError } from './errors.ts';
import { LATENCY_EDGES, type PreparedModel } from './model.ts';

export const REASON_COUNT = REPORT_FALLBACK_REASONS.length;
export const OTHER_REASON = REPORT_FALLBACK_REASONS.indexOf('OTHER');
export const REASON_CODES: ReadonlyMap<string, number> = new Map(
  REPORT_FALLBACK_REASONS.map((r, i) => [r, i]),
);
/** 1 for QUALITY_* reason codes: the quality-failure indicator of the CUSUM. */
export const QUALITY_REASON: Uint8Array = Uint8Array.from(REPORT_FALLBACK_REASONS, (r) =>
  r.startsWith('QUALITY_') ? 1 : 0,
);
const LATENCY_COUNTS = LATENCY_EDGES.length + 2;

/** Alert sources in report order. */
export const ALERT_SOURCES = ['model', 'fallback-rule', 'quality'] as const;

export class ShadowAccumulator {
  pairs = 0;
  agreements = 0;
  ok = 0;
  indeterminate = 0;
  fallback = 0;
  both = 0;
  activeOnly = 0;
  candidateOnly = 0;
  neither = 0;

  toSection(candidateBundleId: string): ShadowSection {
    return {
      candidateBundleId,
      pairs: this.pairs,
      agreements: this.agreements,
      candidate: { ok: this.ok, indeterminate: this.indeterminate, fallback: this.fallback },
      positives: {
        both: this.both,
        activeOnly: this.activeOnly,
        candidateOnly: this.candidateOnly,
        neither: this.neither,
      },
    };
  }
}

export class IntervalAccumulator {
  readonly features: Uint32Array[];
  readonly scoreCounts: Uint32Array;
  readonly scoreSumP: Float64Array;
  readonly labelN: Uint32Array;
  readonly labelSumP: Float64Array;
  readonly labelY: Uint32Array;
  labelsLate = 0;
  labelsUnscored = 0;
  ok = 0;
  indeterminate = 0;
  fallback = 0;
  readonly reasons = new Uint32Array(REASON_COUNT);
  readonly alerts = new Uint32Array(3);
  episodesStarted = 0;
  episodesEnded = 0;
  episodeWindows = 0;
  readonly latency = new Uint32Array(LATENCY_COUNTS);
  scoreAlarmsUp = 0;
  scoreAlarmsDown = 0;
  qualityAlarms = 0;
  readonly shadow = new Map<string, ShadowAccumulator>();

  constructor(
    readonly model: PreparedModel,
    readonly startMs: number,
    readonly endMs: number,
  ) {
    this.features = model.features.map((f) => new Uint32Array(f.edges.length + 2));
    const k = model.score.edges.length + 2;
    this.scoreCounts = new Uint32Array(k);
    this.scoreSumP = new Float64Array(k);
    this.labelN = new Uint32Array(k);
    this.labelSumP = new Float64Array(k);
    this.labelY = new Uint32Array(k);
  }

  get windows(): number {
    return this.ok + this.indeterminate + this.fallback;
  }

  get labels(): number {
    let n = this.labelsUnscored;
    for (let i = 0; i < this.labelN.length; i++) n += this.labelN[i] as number;
    return n;
  }

  /** Nothing to report: no window and no label. */
  get empty(): boolean {
    return this.windows === 0 && this.labels === 0;
  }

  /** Counts one row of features (length already checked). */
  addFeatures(row: ArrayLike<number>): void {
    const vars = this.model.features;
    for (let f = 0; f < vars.length; f++) {
      const counts = this.features[f] as Uint32Array;
      const i = binIndex((vars[f] as { edges: Float64Array }).edges, row[f] as number);
      counts[i] = (counts[i] as number) + 1;
    }
  }

  /** Counts a score (ok or indeterminate) into the score bins and Σp̂. */
  addScore(score: number): void {
    const i = binIndex(this.model.score.edges, score);
    this.scoreCounts[i] = (this.scoreCounts[i] as number) + 1;
    if (score === score) this.scoreSumP[i] = (this.scoreSumP[i] as number) + clampUnit(score);
  }

  addLabel(score: number | null, value: 0 | 1, late: boolean): void {
    if (late) this.labelsLate++;
    if (score === null) {
      this.labelsUnscored++;
      return;
    }
    const i = binIndex(this.model.score.edges, score);
    this.labelN[i] = (this.labelN[i] as number) + 1;
    if (score === score) this.labelSumP[i] = (this.labelSumP[i] as number) + clampUnit(score);
    if (value === 1) this.labelY[i] = (this.labelY[i] as number) + 1;
  }

  addLatency(ms: number): void {
    const i = binIndex(LATENCY_EDGES, ms);
    this.latency[i] = (this.latency[i] as number) + 1;
  }

  /** The candidate's agreement counters; undefined beyond the format's cap of candidates per report. */
  shadowFor(candidateBundleId: string): ShadowAccumulator | undefined {
    let acc = this.shadow.get(candidateBundleId);
    if (acc === undefined) {
      if (this.shadow.size >= REPORT_LIMITS.maxShadowEntries) return undefined;
      acc = new ShadowAccumulator();
      this.shadow.set(candidateBundleId, acc);
    }
    return acc;
  }

  fallbackReasons(): Partial<Record<(typeof REPORT_FALLBACK_REASONS)[number], number>> {
    const out: Partial<Record<(typeof REPORT_FALLBACK_REASONS)[number], number>> = {};
    REPORT_FALLBACK_REASONS.forEach((reason, i) => {
      const n = this.reasons[i] as number;
      if (n > 0) out[reason] = n;
    });
    return out;
  }

  // -------------------------------------------------------------------------------------------------
  // Persistence (plain JSON; parsed field by field on restore)

  toJSON(): SerializedAccumulator {
    return {
      startMs: this.startMs,
      endMs: this.endMs,
      features: this.features.map((c) => Array.from(c)),
      scoreCounts: Array.from(this.scoreCounts),
      scoreSumP: Array.from(this.scoreSumP),
      labelN: Array.from(this.labelN),
      labelSumP: Array.from(this.labelSumP),
      labelY: Array.from(this.labelY),
      scalars: [
        this.labelsLate,
        this.labelsUnscored,
        this.ok,
        this.indeterminate,
        this.fallback,
        this.episodesStarted,
        this.episodesEnded,
        this.episodeWindows,
        this.scoreAlarmsUp,
        this.scoreAlarmsDown,
        this.qualityAlarms,
      ],
      reasons: Array.from(this.reasons),
      alerts: Array.from(this.alerts),
      latency: Array.from(this.latency),
      shadow: [...this.shadow].map(([id, s]) => [
        id,
        [
          s.pairs,
          s.agreements,
          s.ok,
          s.indeterminate,
          s.fallback,
          s.both,
          s.activeOnly,
          s.candidateOnly,
          s.neither,
        ],
      ]),
    };
  }

  static restore(model: PreparedModel, raw: unknown): IntervalAccumulator {
    const o = object(raw, 'accumulator');
    const startMs = uint(o.startMs, 'startMs');
    const endMs = uint(o.endMs, 'endMs');
    if (endMs - startMs !== model.intervalMs || startMs % model.intervalMs !== 0) {
      bad('the interval does not match the model policy');
    }
    const acc = new IntervalAccumulator(model, startMs, endMs);
    const features = array(o.features, 'features');
    if (features.length !== acc.features.length) bad('feature count differs');
    features.forEach((f, i) => {
      fillUint(acc.features[i] as Uint32Array, f, `features[${i}]`);
    });
    fillUint(acc.scoreCounts, o.scoreCounts, 'scoreCounts');
    fillSum(acc.scoreSumP, o.scoreSumP, 'scoreSumP');
    fillUint(acc.labelN, o.labelN, 'labelN');
    fillSum(acc.labelSumP, o.labelSumP, 'labelSumP');
    fillUint(acc.labelY, o.labelY, 'labelY');
    const s = new Uint32Array(11);
    fillUint(s, o.scalars, 'scalars');
    [
      acc.labelsLate,
      acc.labelsUnscored,
      acc.ok,
      acc.indeterminate,
      acc.fallback,
      acc.episodesStarted,
      acc.episodesEnded,
      acc.episodeWindows,
      acc.scoreAlarmsUp,
      acc.scoreAlarmsDown,
      acc.qualityAlarms,
    ] = Array.from(s) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    fillUint(acc.reasons, o.reasons, 'reasons');
    fillUint(acc.alerts, o.alerts, 'alerts');
    fillUint(acc.latency, o.latency, 'latency');
    for (const [i, entry] of array(o.shadow, 'shadow').entries()) {
      const pair = array(entry, `shadow[${i}]`);
      const id = pair[0];
      if (typeof id !== 'string' || id.length === 0 || id.length > 128) bad(`shadow[${i}] id`);
      const v = new Uint32Array(9);
      fillUint(v, pair[1], `shadow[${i}]`);
      const sh = acc.shadowFor(id);
      if (sh === undefined) bad('too many shadow candidates');
      [
        sh.pairs,
        sh.agreements,
        sh.ok,
        sh.indeterminate,
        sh.fallback,
        sh.both,
        sh.activeOnly,
        sh.candidateOnly,
        sh.neither,
      ] = Array.from(v) as [number, number, number, number, number, number, number, number, number];
    }
    return acc;
  }
}

export interface SerializedAccumulator {
  readonly startMs: number;
  readonly endMs: number;
  readonly features: number[][];
  readonly scoreCounts: number[];
  readonly scoreSumP: number[];
  readonly labelN: number[];
  readonly labelSumP: number[];
  readonly labelY: number[];
  readonly scalars: number[];
  readonly reasons: number[];
  readonly alerts: number[];
  readonly latency: number[];
  readonly shadow: [string, number[]][];
}

function clampUnit(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

/** Σp̂ of one bin in micro-units (report format: exact integer merges). */
export function toMicro(sumP: Float64Array): number[] {
  return Array.from(sumP, (v) => Math.round(v * SUM_P_SCALE));
}

function bad(what: string): never {
  throw new MonitorError('BAD_STATE', `persisted accumulator: ${what}`);
}

function object(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(`${what} is not an object`);
  return raw as Record<string, unknown>;
}

function array(raw: unknown, what: string): unknown[] {
  if (!Array.isArray(raw)) bad(`${what} is not an array`);
  return raw as unknown[];
}

function uint(raw: unknown, what: string): number {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0)
    bad(`${what} is not an unsigned integer`);
  return raw;
}

function fillUint(target: Uint32Array, raw: unknown, what: string): void {
  const a = array(raw, what);
  if (a.length !== target.length) bad(`${what} has ${a.length} entries, expected ${target.length}`);
  a.forEach((v, i) => {
    const n = uint(v, `${what}[${i}]`);
    if (n > 0xffffffff) bad(`${what}[${i}] is too large`);
    target[i] = n;
  });
}

function fillSum(target: Float64Array, raw: unknown, what: string): void {
  const a = array(raw, what);
  if (a.length !== target.length) bad(`${what} has ${a.length} entries, expected ${target.length}`);
  a.forEach((v, i) => {
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v))
      bad(`${what}[${i}] is not a finite sum >= 0`);
    target[i] = v;
  });
}
