// The collector's mergeable aggregate: everything a set of reports says, as plain sums over one
// Float64Array (docs/collector.md "Rollups"). Report counts are integers (docs/telemetry-reports.md),
// so sums are exact up to 2^53 and independent of the order in which reports arrive: merging per
// hour, then per day, then across cohorts gives the same numbers as merging the reports directly.
//
// Layout of `data`: SCALARS (below), then fallback reasons (18), latency (63), each feature's counts
// (profile layout, m + 3), score counts, score Σp̂ (micro-units), label n, label Σp̂ (micro), label Σy.
// Shadow agreement is kept per candidate bundle in a small map beside it.
import { LATENCY_COUNTS_V1, REPORT_FALLBACK_REASONS, type TelemetryReport } from '../report/index.ts';
import { CollectorError } from './errors.ts';

/** Feature and score vector lengths: fixed by the reference profile a report was counted against. */
export interface AggregateShape {
  readonly featureLengths: readonly number[];
  readonly scoreLength: number;
}

export const SCALAR = Object.freeze({
  reports: 0,
  /** Σ (endMs − startMs): device time covered by reports (hours of use). */
  coveredMs: 1,
  ok: 2,
  indeterminate: 3,
  fallback: 4,
  alertsModel: 5,
  alertsFallbackRule: 6,
  alertsQuality: 7,
  episodesStarted: 8,
  episodesEnded: 9,
  episodesWindows: 10,
  /** Reports whose device-side family-wise drift alarm fired. */
  driftAlarmReports: 11,
  /** Reports sent while the safe action `suppress-outputs` was in force. */
  suppressedReports: 12,
  labelsLate: 13,
  labelsUnscored: 14,
  labelledReports: 15,
  scoreAlarmsUp: 16,
  scoreAlarmsDown: 17,
  qualityAlarms: 18,
  /** Windows counted in the feature bins (each featured window once). */
  featuredWindows: 19,
  /** min startMs / max endMs (not sums: merged with min/max). */
  firstStartMs: 20,
  lastEndMs: 21,
});
const SCALARS = 22;
const REASONS = REPORT_FALLBACK_REASONS.length;
const LATENCY = LATENCY_COUNTS_V1;
const FORMAT = 1;

export interface ShadowTotals {
  pairs: number;
  agreements: number;
  candidateOk: number;
  candidateIndeterminate: number;
  candidateFallback: number;
  both: number;
  activeOnly: number;
  candidateOnly: number;
  neither: number;
}

export function shapeOf(report: TelemetryReport): AggregateShape {
  return { featureLengths: report.features.map((f) => f.length), scoreLength: report.score.counts.length };
}

export function shapeKey(shape: AggregateShape): string {
  return `${shape.featureLengths.join(',')}|${shape.scoreLength}`;
}

export function sameShape(a: AggregateShape, b: AggregateShape): boolean {
  return (
    a.scoreLength === b.scoreLength &&
    a.featureLengths.length === b.featureLengths.length &&
    a.featureLengths.every((n, i) => n === b.featureLengths[i])
  );
}

export class Aggregate {
  readonly shape: AggregateShape;
  readonly data: Float64Array;
  readonly shadow: Map<string, ShadowTotals>;
  private readonly featureOffsets: readonly number[];
  private readonly scoreOffset: number;

  private constructor(shape: AggregateShape, data: Float64Array, shadow: Map<string, ShadowTotals>) {
    this.shape = shape;
    this.data = data;
    this.shadow = shadow;
    const offsets: number[] = [];
    let at = SCALARS + REASONS + LATENCY;
    for (const n of shape.featureLengths) {
      offsets.push(at);
      at += n;
    }
    this.featureOffsets = offsets;
    this.scoreOffset = at;
  }

  static size(shape: AggregateShape): number {
    let features = 0;
    for (const n of shape.featureLengths) features += n;
    return SCALARS + REASONS + LATENCY + features + 5 * shape.scoreLength;
  }

  static empty(shape: AggregateShape): Aggregate {
    const data = new Float64Array(Aggregate.size(shape));
    data[SCALAR.firstStartMs] = Infinity;
    data[SCALAR.lastEndMs] = -Infinity;
    return new Aggregate(
      { featureLengths: [...shape.featureLengths], scoreLength: shape.scoreLength },
      data,
      new Map(),
    );
  }

  static ofReport(report: TelemetryReport): Aggregate {
    const agg = Aggregate.empty(shapeOf(report));
    agg.addReport(report);
    return agg;
  }

  scalar(key: keyof typeof SCALAR): number {
    return this.data[SCALAR[key]] as number;
  }

  get reports(): number {
    return this.data[SCALAR.reports] as number;
  }

  get windows(): number {
    return (this.data[SCALAR.ok] as number) + (this.data[SCALAR.indeterminate] as number) + this.fallback;
  }

  get fallback(): number {
    return this.data[SCALAR.fallback] as number;
  }

  /** Fallback windows per reason, REPORT_FALLBACK_REASONS order. */
  reasons(): Float64Array {
    return this.data.subarray(SCALARS, SCALARS + REASONS);
  }

  latency(): Float64Array {
    return this.data.subarray(SCALARS + REASONS, SCALARS + REASONS + LATENCY);
  }

  feature(i: number): Float64Array {
    const at = this.featureOffsets[i];
    const n = this.shape.featureLengths[i];
    if (at === undefined || n === undefined) throw new RangeError(`no feature ${i}`);
    return this.data.subarray(at, at + n);
  }

  /** Variable i: features 0…F−1, then the score at index F (the report's drift index convention). */
  variable(i: number): Float64Array {
    return i === this.shape.featureLengths.length ? this.score() : this.feature(i);
  }

  get variables(): number {
    return this.shape.featureLengths.length + 1;
  }

  score(): Float64Array {
    return this.section(0);
  }

  scoreSumPMicro(): Float64Array {
    return this.section(1);
  }

  labelN(): Float64Array {
    return this.section(2);
  }

  labelSumPMicro(): Float64Array {
    return this.section(3);
  }

  labelSumY(): Float64Array {
    return this.section(4);
  }

  private section(k: number): Float64Array {
    const s = this.shape.scoreLength;
    return this.data.subarray(this.scoreOffset + k * s, this.scoreOffset + (k + 1) * s);
  }

  /** Adds one decoded, verified report (its shape must match: PROFILE_MISMATCH otherwise). */
  addReport(r: TelemetryReport): void {
    const shape = this.shape;
    if (r.features.length !== shape.featureLengths.length || r.score.counts.length !== shape.scoreLength) {
      throw new CollectorError('PROFILE_MISMATCH', 'the report does not have the aggregate layout');
    }
    const d = this.data;
    d[SCALAR.reports] = (d[SCALAR.reports] as number) + 1;
    d[SCALAR.coveredMs] = (d[SCALAR.coveredMs] as number) + (r.endMs - r.startMs);
    d[SCALAR.ok] = (d[SCALAR.ok] as number) + r.windows.ok;
    d[SCALAR.indeterminate] = (d[SCALAR.indeterminate] as number) + r.windows.indeterminate;
    d[SCALAR.fallback] = (d[SCALAR.fallback] as number) + r.windows.fallback;
    d[SCALAR.alertsModel] = (d[SCALAR.alertsModel] as number) + r.alerts.model;
    d[SCALAR.alertsFallbackRule] = (d[SCALAR.alertsFallbackRule] as number) + r.alerts.fallbackRule;
    d[SCALAR.alertsQuality] = (d[SCALAR.alertsQuality] as number) + r.alerts.quality;
    d[SCALAR.episodesStarted] = (d[SCALAR.episodesStarted] as number) + r.episodes.started;
    d[SCALAR.episodesEnded] = (d[SCALAR.episodesEnded] as number) + r.episodes.ended;
    d[SCALAR.episodesWindows] = (d[SCALAR.episodesWindows] as number) + r.episodes.windows;
    if (r.drift.alarm) d[SCALAR.driftAlarmReports] = (d[SCALAR.driftAlarmReports] as number) + 1;
    if (r.suppressedSinceMs !== null) {
      d[SCALAR.suppressedReports] = (d[SCALAR.suppressedReports] as number) + 1;
    }
    d[SCALAR.scoreAlarmsUp] = (d[SCALAR.scoreAlarmsUp] as number) + r.change.scoreAlarmsUp;
    d[SCALAR.scoreAlarmsDown] = (d[SCALAR.scoreAlarmsDown] as number) + r.change.scoreAlarmsDown;
    d[SCALAR.qualityAlarms] = (d[SCALAR.qualityAlarms] as number) + r.change.qualityAlarms;
    d[SCALAR.firstStartMs] = Math.min(d[SCALAR.firstStartMs] as number, r.startMs);
    d[SCALAR.lastEndMs] = Math.max(d[SCALAR.lastEndMs] as number, r.endMs);
    for (let i = 0; i < REASONS; i++) {
      const n = r.fallbackReasons[REPORT_FALLBACK_REASONS[i] as (typeof REPORT_FALLBACK_REASONS)[number]];
      if (n !== undefined) d[SCALARS + i] = (d[SCALARS + i] as number) + n;
    }
    addInto(d, SCALARS + REASONS, r.latency);
    let featured = 0;
    r.features.forEach((counts, i) => {
      addInto(d, this.featureOffsets[i] as number, counts);
      if (i === 0) for (const c of counts) featured += c;
    });
    d[SCALAR.featuredWindows] = (d[SCALAR.featuredWindows] as number) + featured;
    const s = shape.scoreLength;
    addInto(d, this.scoreOffset, r.score.counts);
    addInto(d, this.scoreOffset + s, r.score.sumPMicro);
    const labels = r.labels;
    if (labels !== null) {
      addInto(d, this.scoreOffset + 2 * s, labels.n);
      addInto(d, this.scoreOffset + 3 * s, labels.sumPMicro);
      addInto(d, this.scoreOffset + 4 * s, labels.sumY);
      d[SCALAR.labelsLate] = (d[SCALAR.labelsLate] as number) + labels.late;
      d[SCALAR.labelsUnscored] = (d[SCALAR.labelsUnscored] as number) + labels.unscored;
      d[SCALAR.labelledReports] = (d[SCALAR.labelledReports] as number) + 1;
    }
    for (const sh of r.shadow) {
      const t = this.shadowEntry(sh.candidateBundleId);
      t.pairs += sh.pairs;
      t.agreements += sh.agreements;
      t.candidateOk += sh.candidate.ok;
      t.candidateIndeterminate += sh.candidate.indeterminate;
      t.candidateFallback += sh.candidate.fallback;
      t.both += sh.positives.both;
      t.activeOnly += sh.positives.activeOnly;
      t.candidateOnly += sh.positives.candidateOnly;
      t.neither += sh.positives.neither;
    }
  }

  private shadowEntry(id: string): ShadowTotals {
    let t = this.shadow.get(id);
    if (t === undefined) {
      t = {
        pairs: 0,
        agreements: 0,
        candidateOk: 0,
        candidateIndeterminate: 0,
        candidateFallback: 0,
        both: 0,
        activeOnly: 0,
        candidateOnly: 0,
        neither: 0,
      };
      this.shadow.set(id, t);
    }
    return t;
  }

  /** Adds another aggregate of the same shape into this one. */
  merge(other: Aggregate): void {
    if (!sameShape(this.shape, other.shape)) {
      throw new CollectorError('PROFILE_MISMATCH', 'cannot merge aggregates of different layouts');
    }
    const d = this.data;
    const o = other.data;
    const first = Math.min(d[SCALAR.firstStartMs] as number, o[SCALAR.firstStartMs] as number);
    const last = Math.max(d[SCALAR.lastEndMs] as number, o[SCALAR.lastEndMs] as number);
    for (let i = 0; i < d.length; i++) d[i] = (d[i] as number) + (o[i] as number);
    d[SCALAR.firstStartMs] = first;
    d[SCALAR.lastEndMs] = last;
    for (const [id, t] of other.shadow) {
      const mine = this.shadowEntry(id);
      for (const key of Object.keys(t) as (keyof ShadowTotals)[]) mine[key] += t[key];
    }
  }

  clone(): Aggregate {
    const shadow = new Map<string, ShadowTotals>();
    for (const [id, t] of this.shadow) shadow.set(id, { ...t });
    return new Aggregate(this.shape, Float64Array.from(this.data), shadow);
  }

  /** Binary form for storage: a header with the shape, then `data`; shadow as JSON (usually null). */
  encode(): { readonly blob: Buffer; readonly shadowJson: string | null } {
    const header = [
      FORMAT,
      this.shape.featureLengths.length,
      this.shape.scoreLength,
      ...this.shape.featureLengths,
    ];
    const out = new Float64Array(header.length + this.data.length);
    out.set(header, 0);
    out.set(this.data, header.length);
    const shadowJson = this.shadow.size === 0 ? null : JSON.stringify(Object.fromEntries(this.shadow));
    return { blob: Buffer.from(out.buffer, out.byteOffset, out.byteLength), shadowJson };
  }

  static decode(blob: Uint8Array, shadowJson: string | null): Aggregate {
    if (blob.byteLength % 8 !== 0 || blob.byteLength < 24) {
      throw new CollectorError('STORE_FAILED', 'aggregate blob has a bad length');
    }
    // Copy: SQLite buffers are not 8-byte aligned.
    const all = new Float64Array(blob.byteLength / 8);
    new Uint8Array(all.buffer).set(blob);
    const features = all[1] as number;
    const scoreLength = all[2] as number;
    if (all[0] !== FORMAT || !Number.isSafeInteger(features) || all.length < 3 + features) {
      throw new CollectorError('STORE_FAILED', 'aggregate blob has an unknown format');
    }
    const shape: AggregateShape = {
      featureLengths: Array.from(all.subarray(3, 3 + features)),
      scoreLength,
    };
    const data = all.subarray(3 + features);
    if (data.length !== Aggregate.size(shape)) {
      throw new CollectorError('STORE_FAILED', 'aggregate blob does not match its shape');
    }
    const shadow = new Map<string, ShadowTotals>();
    if (shadowJson !== null) {
      const parsed = JSON.parse(shadowJson) as Record<string, ShadowTotals>;
      for (const [id, t] of Object.entries(parsed)) shadow.set(id, { ...t });
    }
    return new Aggregate(shape, data, shadow);
  }
}

function addInto(target: Float64Array, offset: number, values: readonly number[]): void {
  for (let i = 0; i < values.length; i++) {
    target[offset + i] = (target[offset + i] as number) + (values[i] as number);
  }
}

/** Merges many aggregates of one shape (null when there are none). */
export function mergeAll(parts: Iterable<Aggregate>): Aggregate | null {
  let out: Aggregate | null = null;
  for (const p of parts) {
    if (out === null) out = p.clone();
    else out.merge(p);
  }
  return out;
}
