// Wire form of reports and drift events: deterministic CBOR (RFC 8949 §4.2.1, models/format) with
// integer keys and compact count vectors. The key map and the CDDL are in docs/telemetry-reports.md.
// Decoding is field by field on untrusted input: size cap first, strict CBOR, unknown keys rejected,
// every range and cross-field invariant checked, a typed ReportError on any failure.
import {
  CborError,
  decodeCbor,
  encodeCbor,
  isBytes,
  isCborArray,
  isCborMap,
  type CborMap,
  type CborValue,
} from '../../models/format/index.ts';
import { ReportError } from './errors.ts';
import {
  DRIFT_FLAG,
  REPORT_FALLBACK_REASONS,
  REPORT_FORMAT_VERSION,
  REPORT_ID_PATTERN,
  REPORT_LIMITS,
  REPORT_OUTBOX_CLASSES,
  REPORT_STATISTICS,
  SUM_P_SCALE,
  type ChangeSection,
  type DriftAction,
  type DriftEvent,
  type DriftEventKind,
  type DriftFlags,
  type DriftSection,
  type LabelSection,
  type ReportFallbackReason,
  type ReportModel,
  type ReportOutboxClass,
  type ReportRole,
  type ReportStatistic,
  type ShadowSection,
  type StatusCounts,
  type TelemetryReport,
} from './types.ts';
import { decodeVector, encodeVector, sum } from './vectors.ts';

/** Latency counts in format v1: monitor/stats DEFAULT_LATENCY_BINS (61 edges → 63 counts). */
export const LATENCY_COUNTS_V1 = 63;

/** Top-level keys of a report (docs/telemetry-reports.md "Key map"). */
export const REPORT_KEYS = Object.freeze({
  version: 0,
  fleet: 1,
  device: 2,
  seq: 3,
  createdMs: 4,
  interval: 5,
  model: 6,
  role: 7,
  cohort: 8,
  versions: 9,
  windows: 10,
  fallbackReasons: 11,
  alerts: 12,
  episodes: 13,
  features: 14,
  score: 15,
  labels: 16,
  latency: 17,
  drift: 18,
  change: 19,
  shadow: 20,
  evicted: 21,
  suppressedSinceMs: 22,
});

/** Top-level keys of a drift event. */
export const EVENT_KEYS = Object.freeze({
  version: 0,
  fleet: 1,
  device: 2,
  seq: 3,
  createdMs: 4,
  kind: 5,
  model: 6,
  role: 7,
  cohort: 8,
  atMs: 9,
  action: 10,
  direction: 11,
  interval: 12,
  flags: 13,
});

const EVENT_KINDS: readonly DriftEventKind[] = ['interval-drift', 'score-change', 'quality-change'];
const ACTIONS: readonly DriftAction[] = ['report', 'alert', 'suppress-outputs'];
const ROLES: readonly ReportRole[] = ['active', 'shadow'];
const STAT_MASK_ALL = (1 << REPORT_STATISTICS.length) - 1;

// ---------------------------------------------------------------------------------------------------
// Encoding (the device's side; input errors are caller bugs: BAD_INPUT)

function bad(path: string, message: string): never {
  throw new ReportError('BAD_INPUT', message, path);
}

function hexToBytes32(hex: string, path: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) bad(path, 'must be 64 lower-case hex digits');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function encUint(value: number, path: string): number {
  if (!Number.isSafeInteger(value) || value < 0) bad(path, 'must be a non-negative integer');
  return value;
}

function encFloat32(value: number, path: string): number {
  if (!Number.isFinite(value) || value < 0) bad(path, 'must be a finite number >= 0');
  return Math.fround(value);
}

function encText(value: string, path: string): string {
  checkText(value, path, 'BAD_INPUT');
  return value;
}

function encId(value: string, path: string): string {
  if (!REPORT_ID_PATTERN.test(value)) bad(path, 'is not a valid fleet/device id');
  return value;
}

function encModel(model: ReportModel): CborValue[] {
  return [
    encText(model.family, 'model.family'),
    encText(model.bundleId, 'model.bundleId'),
    encText(model.version, 'model.version'),
    encUint(model.sequence, 'model.sequence'),
    hexToBytes32(model.manifestSha256, 'model.manifestSha256'),
    hexToBytes32(model.profileSha256, 'model.profileSha256'),
  ];
}

function encStatus(s: StatusCounts, path: string): number[] {
  return [
    encUint(s.ok, `${path}.ok`),
    encUint(s.indeterminate, `${path}.indeterminate`),
    encUint(s.fallback, `${path}.fallback`),
  ];
}

function encFlags(flags: readonly DriftFlags[], path: string): number[] {
  const out: number[] = [];
  for (const [i, f] of flags.entries()) {
    out.push(encUint(f.index, `${path}[${i}].index`), encUint(f.flags, `${path}[${i}].flags`));
  }
  return out;
}

function statMask(statistics: readonly ReportStatistic[]): number {
  let mask = 0;
  for (const s of statistics) mask |= 1 << REPORT_STATISTICS.indexOf(s);
  return mask;
}

function allZero(values: readonly number[]): boolean {
  return values.every((v) => v === 0);
}

/**
 * The report's CBOR payload (what the COSE_Sign1 signs). Validates the report exactly as the decoder
 * would, so a device can never send what a collector must reject.
 */
export function encodeReportPayload(report: TelemetryReport): Uint8Array {
  const map = new Map<number, CborValue>();
  const K = REPORT_KEYS;
  map.set(K.version, REPORT_FORMAT_VERSION);
  map.set(K.fleet, encId(report.fleet, 'fleet'));
  map.set(K.device, encId(report.device, 'device'));
  map.set(K.seq, encUint(report.seq, 'seq'));
  map.set(K.createdMs, encUint(report.createdMs, 'createdMs'));
  map.set(K.interval, [encUint(report.startMs, 'startMs'), encUint(report.endMs, 'endMs')]);
  map.set(K.model, encModel(report.model));
  map.set(K.role, ROLES.indexOf(report.role));
  map.set(K.cohort, encText(report.cohort, 'cohort'));
  map.set(K.versions, [
    encText(report.runtimeVersion, 'runtimeVersion'),
    encText(report.firmwareVersion, 'firmwareVersion'),
  ]);
  map.set(K.windows, encStatus(report.windows, 'windows'));
  const reasons = new Map<number, CborValue>();
  for (const [code, reason] of REPORT_FALLBACK_REASONS.entries()) {
    const n = report.fallbackReasons[reason] ?? 0;
    if (encUint(n, `fallbackReasons.${reason}`) > 0) reasons.set(code, n);
  }
  if (reasons.size > 0) map.set(K.fallbackReasons, reasons);
  const alerts = [report.alerts.model, report.alerts.fallbackRule, report.alerts.quality];
  alerts.forEach((v, i) => encUint(v, `alerts[${i}]`));
  if (!allZero(alerts)) map.set(K.alerts, alerts);
  const episodes = [report.episodes.started, report.episodes.ended, report.episodes.windows];
  episodes.forEach((v, i) => encUint(v, `episodes[${i}]`));
  if (!allZero(episodes)) map.set(K.episodes, episodes);
  map.set(
    K.features,
    report.features.map((counts, f) => encodeVector(counts, `features[${f}]`)),
  );
  map.set(K.score, [
    encodeVector(report.score.counts, 'score.counts'),
    encodeVector(report.score.sumPMicro, 'score.sumPMicro'),
  ]);
  if (report.labels !== null) {
    const l = report.labels;
    map.set(K.labels, [
      encodeVector(l.n, 'labels.n'),
      encodeVector(l.sumPMicro, 'labels.sumPMicro'),
      encodeVector(l.sumY, 'labels.sumY'),
      encUint(l.late, 'labels.late'),
      encUint(l.unscored, 'labels.unscored'),
    ]);
  }
  map.set(K.latency, encodeVector(report.latency, 'latency'));
  map.set(K.drift, [
    statMask(report.drift.statistics),
    report.drift.alarm,
    encFlags(report.drift.flags, 'drift.flags'),
  ]);
  const c = report.change;
  map.set(K.change, [
    encUint(c.scoreAlarmsUp, 'change.scoreAlarmsUp'),
    encUint(c.scoreAlarmsDown, 'change.scoreAlarmsDown'),
    encFloat32(c.scoreUp, 'change.scoreUp'),
    encFloat32(c.scoreDown, 'change.scoreDown'),
    encUint(c.qualityAlarms, 'change.qualityAlarms'),
    encFloat32(c.quality, 'change.quality'),
  ]);
  if (report.shadow.length > 0) {
    map.set(
      K.shadow,
      report.shadow.map((s, i) => [
        encText(s.candidateBundleId, `shadow[${i}].candidateBundleId`),
        encUint(s.pairs, `shadow[${i}].pairs`),
        encUint(s.agreements, `shadow[${i}].agreements`),
        encStatus(s.candidate, `shadow[${i}].candidate`),
        [
          encUint(s.positives.both, `shadow[${i}].positives.both`),
          encUint(s.positives.activeOnly, `shadow[${i}].positives.activeOnly`),
          encUint(s.positives.candidateOnly, `shadow[${i}].positives.candidateOnly`),
          encUint(s.positives.neither, `shadow[${i}].positives.neither`),
        ],
      ]),
    );
  }
  map.set(
    K.evicted,
    REPORT_OUTBOX_CLASSES.map((cls) => encUint(report.evicted[cls], `evicted.${cls}`)),
  );
  if (report.suppressedSinceMs !== null)
    map.set(K.suppressedSinceMs, encUint(report.suppressedSinceMs, 'suppressedSinceMs'));
  const bytes = encodeCbor(map);
  // The encoder must never emit what the decoder rejects (it also catches inconsistent totals).
  try {
    decodeReportPayload(bytes);
  } catch (error) {
    if (error instanceof ReportError)
      throw new ReportError('BAD_INPUT', error.message, error.path, { cause: error });
    throw error;
  }
  return bytes;
}

/** The drift event's CBOR payload. */
export function encodeDriftEventPayload(event: DriftEvent): Uint8Array {
  const K = EVENT_KEYS;
  const map = new Map<number, CborValue>();
  map.set(K.version, REPORT_FORMAT_VERSION);
  map.set(K.fleet, encId(event.fleet, 'fleet'));
  map.set(K.device, encId(event.device, 'device'));
  map.set(K.seq, encUint(event.seq, 'seq'));
  map.set(K.createdMs, encUint(event.createdMs, 'createdMs'));
  map.set(K.kind, EVENT_KINDS.indexOf(event.kind));
  map.set(K.model, encModel(event.model));
  map.set(K.role, ROLES.indexOf(event.role));
  map.set(K.cohort, encText(event.cohort, 'cohort'));
  map.set(K.atMs, encUint(event.atMs, 'atMs'));
  map.set(K.action, ACTIONS.indexOf(event.action));
  if (event.direction !== null) map.set(K.direction, event.direction === 'up' ? 0 : 1);
  if (event.interval !== null) {
    map.set(K.interval, [
      encUint(event.interval.startMs, 'interval.startMs'),
      encUint(event.interval.endMs, 'interval.endMs'),
    ]);
  }
  if (event.flags.length > 0) map.set(K.flags, encFlags(event.flags, 'flags'));
  const bytes = encodeCbor(map);
  try {
    decodeDriftEventPayload(bytes);
  } catch (error) {
    if (error instanceof ReportError)
      throw new ReportError('BAD_INPUT', error.message, error.path, { cause: error });
    throw error;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------------
// Decoding (the collector's side; untrusted input)

function field(path: string, message: string): never {
  throw new ReportError('BAD_FIELD', message, path);
}

function inconsistent(path: string, message: string): never {
  throw new ReportError('INCONSISTENT', message, path);
}

// Control characters (C0, DEL, C1) are refused in every text field: they would reach logs and pages.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const utf8 = new TextEncoder();

function checkText(value: unknown, path: string, code: 'BAD_FIELD' | 'BAD_INPUT'): string {
  if (typeof value !== 'string') throw new ReportError(code, 'must be text', path);
  if (utf8.encode(value).length > REPORT_LIMITS.maxTextBytes) {
    throw new ReportError(code, `is longer than ${REPORT_LIMITS.maxTextBytes} bytes`, path);
  }
  if (CONTROL.test(value)) throw new ReportError(code, 'contains control characters', path);
  return value;
}

/** A top-level map with integer keys; every key read is recorded and `done()` rejects the rest. */
class KeyedMap {
  private readonly seen = new Set<number>();

  constructor(
    private readonly map: CborMap,
    private readonly names: Readonly<Record<string, number>>,
  ) {}

  private pathOf(key: number): string {
    for (const [name, k] of Object.entries(this.names)) if (k === key) return name;
    return `key ${key}`;
  }

  optional(key: number): CborValue | undefined {
    this.seen.add(key);
    return this.map.get(key);
  }

  required(key: number): CborValue {
    const value = this.optional(key);
    if (value === undefined) return field(this.pathOf(key), 'is missing');
    return value;
  }

  path(key: number): string {
    return this.pathOf(key);
  }

  done(): void {
    for (const key of this.map.keys()) {
      if (typeof key !== 'number' || !this.seen.has(key))
        field(`key ${String(key)}`, 'is not a field of this format');
    }
  }
}

function decUint(value: CborValue | undefined, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    return field(path, 'must be an unsigned integer');
  }
  return value;
}

function decFloat32(value: CborValue | undefined, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || Math.fround(value) !== value) {
    return field(path, 'must be a finite float32 >= 0');
  }
  return value;
}

function decArray(value: CborValue | undefined, path: string, length?: number): readonly CborValue[] {
  if (!isCborArray(value)) return field(path, 'must be an array');
  if (length !== undefined && value.length !== length) return field(path, `must have ${length} entries`);
  return value;
}

function decId(value: CborValue | undefined, path: string): string {
  if (typeof value !== 'string' || !REPORT_ID_PATTERN.test(value))
    return field(path, 'is not a valid fleet/device id');
  return value;
}

function decText(value: CborValue | undefined, path: string, allowEmpty = true): string {
  const text = checkText(value, path, 'BAD_FIELD');
  if (!allowEmpty && text.length === 0) return field(path, 'must not be empty');
  return text;
}

function decEnum<T>(value: CborValue | undefined, table: readonly T[], path: string): T {
  const index = decUint(value, path);
  const item = table[index];
  if (item === undefined) return field(path, `unknown code ${index}`);
  return item;
}

function decModel(value: CborValue | undefined): ReportModel {
  const a = decArray(value, 'model', 6);
  const hash = (v: CborValue | undefined, path: string): string => {
    if (!isBytes(v) || v.length !== 32) return field(path, 'must be a 32-byte SHA-256');
    return bytesToHex(v);
  };
  return {
    family: decText(a[0], 'model.family', false),
    bundleId: decText(a[1], 'model.bundleId', false),
    version: decText(a[2], 'model.version', false),
    sequence: decUint(a[3], 'model.sequence'),
    manifestSha256: hash(a[4], 'model.manifestSha256'),
    profileSha256: hash(a[5], 'model.profileSha256'),
  };
}

function decInterval(value: CborValue | undefined, path: string): { startMs: number; endMs: number } {
  const a = decArray(value, path, 2);
  const startMs = decUint(a[0], `${path}.startMs`);
  const endMs = decUint(a[1], `${path}.endMs`);
  if (!(endMs > startMs)) inconsistent(path, 'must end after it starts');
  if (endMs - startMs > REPORT_LIMITS.maxIntervalMs) field(path, 'is longer than 31 days');
  return { startMs, endMs };
}

function decStatus(value: CborValue | undefined, path: string): StatusCounts {
  const a = decArray(value, path, 3);
  return {
    ok: decUint(a[0], `${path}.ok`),
    indeterminate: decUint(a[1], `${path}.indeterminate`),
    fallback: decUint(a[2], `${path}.fallback`),
  };
}

function decFlags(value: CborValue | undefined, path: string, maxIndex: number, mask: number): DriftFlags[] {
  const a = decArray(value, path);
  if (a.length % 2 !== 0) return field(path, 'must hold (index, flags) pairs');
  const out: DriftFlags[] = [];
  for (let i = 0; i < a.length; i += 2) {
    const index = decUint(a[i], `${path}[${i}]`);
    const flags = decUint(a[i + 1], `${path}[${i + 1}]`);
    if (index > maxIndex) field(`${path}[${i}]`, `index ${index} is beyond the variables (${maxIndex})`);
    if (out.length > 0 && !(index > (out[out.length - 1] as DriftFlags).index)) {
      field(`${path}[${i}]`, 'indices must be strictly increasing');
    }
    if (flags < 1 || flags > 255) field(`${path}[${i + 1}]`, 'flags must be in 1..255');
    if ((flags & STAT_MASK_ALL & ~mask) !== 0) {
      inconsistent(`${path}[${i + 1}]`, 'flags a statistic the policy does not compute');
    }
    out.push({ index, flags });
  }
  return out;
}

function decStatistics(value: CborValue | undefined, path: string): ReportStatistic[] {
  const mask = decUint(value, path);
  if (mask < 1 || mask > STAT_MASK_ALL) return field(path, 'must name at least one known statistic');
  return REPORT_STATISTICS.filter((_, i) => (mask & (1 << i)) !== 0);
}

function decodeTop(bytes: Uint8Array, maxBytes: number): CborMap {
  if (!(bytes instanceof Uint8Array)) throw new ReportError('BAD_FIELD', 'payload must be bytes');
  if (bytes.length > maxBytes) {
    throw new ReportError('TOO_LARGE', `payload of ${bytes.length} bytes exceeds the ${maxBytes}-byte cap`);
  }
  let value: CborValue;
  try {
    value = decodeCbor(bytes, { maxBytes, maxDepth: 6 });
  } catch (error) {
    if (error instanceof CborError) {
      throw new ReportError(
        error.code === 'TOO_LARGE' ? 'TOO_LARGE' : 'MALFORMED_CBOR',
        error.message,
        null,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  if (!isCborMap(value)) throw new ReportError('BAD_FIELD', 'payload must be a map with integer keys');
  return value;
}

function decVersion(map: KeyedMap, key: number): void {
  const v = map.required(key);
  if (v !== REPORT_FORMAT_VERSION) {
    throw new ReportError(
      'UNSUPPORTED_VERSION',
      `format version ${String(typeof v === 'number' ? v : typeof v)} is not 1`,
      'version',
    );
  }
}

function checkScoreSums(counts: readonly number[], sumPMicro: readonly number[], path: string): void {
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] as number;
    const s = sumPMicro[i] as number;
    // Σp̂ of n scores in [0, 1] is at most n; rounding adds at most one micro-unit.
    if (s > n * SUM_P_SCALE + 1) inconsistent(`${path}[${i}]`, 'Σp̂ exceeds the window count of its bin');
    if (n === 0 && s !== 0) inconsistent(`${path}[${i}]`, 'Σp̂ in an empty bin');
  }
}

/** Decodes and validates a report payload (the COSE_Sign1 payload). */
export function decodeReportPayload(
  bytes: Uint8Array,
  maxBytes: number = REPORT_LIMITS.maxBytes,
): TelemetryReport {
  const K = REPORT_KEYS;
  const m = new KeyedMap(decodeTop(bytes, maxBytes), K);
  decVersion(m, K.version);
  const fleet = decId(m.required(K.fleet), 'fleet');
  const device = decId(m.required(K.device), 'device');
  const seq = decUint(m.required(K.seq), 'seq');
  const createdMs = decUint(m.required(K.createdMs), 'createdMs');
  const { startMs, endMs } = decInterval(m.required(K.interval), 'interval');
  const model = decModel(m.required(K.model));
  const role = decEnum(m.required(K.role), ROLES, 'role');
  const cohort = decText(m.required(K.cohort), 'cohort');
  const versions = decArray(m.required(K.versions), 'versions', 2);
  const runtimeVersion = decText(versions[0], 'versions.runtime', false);
  const firmwareVersion = decText(versions[1], 'versions.firmware', false);
  const windows = decStatus(m.required(K.windows), 'windows');
  const total = windows.ok + windows.indeterminate + windows.fallback;

  const fallbackReasons: Partial<Record<ReportFallbackReason, number>> = {};
  const reasonsRaw = m.optional(K.fallbackReasons);
  if (reasonsRaw !== undefined) {
    if (!isCborMap(reasonsRaw) || reasonsRaw.size === 0) field('fallbackReasons', 'must be a non-empty map');
    for (const [code, count] of reasonsRaw) {
      const reason = typeof code === 'number' ? REPORT_FALLBACK_REASONS[code] : undefined;
      if (reason === undefined) field('fallbackReasons', `unknown reason code ${String(code)}`);
      const n = decUint(count, `fallbackReasons.${reason}`);
      if (n === 0) field(`fallbackReasons.${reason}`, 'zero counts are omitted');
      fallbackReasons[reason] = n;
    }
  }
  if (sum(Object.values(fallbackReasons)) !== windows.fallback) {
    inconsistent('fallbackReasons', 'reasons do not add up to the fallback windows');
  }

  const triple = (key: number, path: string): number[] => {
    const raw = m.optional(key);
    if (raw === undefined) return [0, 0, 0];
    const a = decArray(raw, path, 3).map((v, i) => decUint(v, `${path}[${i}]`));
    if (allZero(a)) field(path, 'an all-zero section is omitted');
    return a;
  };
  const [aModel, aRule, aQuality] = triple(K.alerts, 'alerts') as [number, number, number];
  const [eStarted, eEnded, eWindows] = triple(K.episodes, 'episodes') as [number, number, number];
  if (eEnded > 0 && eWindows < eEnded) inconsistent('episodes', 'an ended episode has at least one window');

  const featuresRaw = decArray(m.required(K.features), 'features');
  if (featuresRaw.length > REPORT_LIMITS.maxFeatures)
    field('features', `more than ${REPORT_LIMITS.maxFeatures} features`);
  const features = featuresRaw.map((v, f) => {
    const counts = decVector(v, `features[${f}]`);
    if (counts.length < 4) field(`features[${f}]`, 'a bin layout has at least 4 counts (2 edges)');
    return counts;
  });
  if (features.length > 0) {
    const featureWindows = sum(features[0] as number[]);
    features.forEach((counts, f) => {
      if (sum(counts) !== featureWindows)
        inconsistent(`features[${f}]`, 'every feature counts the same windows');
    });
    if (featureWindows > total) inconsistent('features', 'more featured windows than windows');
  }

  const scoreRaw = decArray(m.required(K.score), 'score', 2);
  const scoreCounts = decVector(scoreRaw[0], 'score.counts');
  const scoreSumP = decVector(scoreRaw[1], 'score.sumPMicro');
  if (scoreCounts.length < 4) field('score.counts', 'a bin layout has at least 4 counts (2 edges)');
  if (scoreSumP.length !== scoreCounts.length)
    inconsistent('score.sumPMicro', 'length differs from score.counts');
  checkScoreSums(scoreCounts, scoreSumP, 'score.sumPMicro');
  if (sum(scoreCounts) !== windows.ok + windows.indeterminate) {
    inconsistent('score.counts', 'scored windows must equal ok + indeterminate');
  }

  let labels: LabelSection | null = null;
  const labelsRaw = m.optional(K.labels);
  if (labelsRaw !== undefined) {
    const a = decArray(labelsRaw, 'labels', 5);
    const n = decVector(a[0], 'labels.n');
    const sumPMicro = decVector(a[1], 'labels.sumPMicro');
    const sumY = decVector(a[2], 'labels.sumY');
    const late = decUint(a[3], 'labels.late');
    const unscored = decUint(a[4], 'labels.unscored');
    for (const [name, v] of [
      ['labels.n', n],
      ['labels.sumPMicro', sumPMicro],
      ['labels.sumY', sumY],
    ] as const) {
      if (v.length !== scoreCounts.length) inconsistent(name, 'length differs from score.counts');
    }
    checkScoreSums(n, sumPMicro, 'labels.sumPMicro');
    sumY.forEach((y, i) => {
      if (y > (n[i] as number))
        inconsistent(`labels.sumY[${i}]`, 'more positive labels than labelled windows');
    });
    const labelled = sum(n) + unscored;
    if (labelled === 0) field('labels', 'a section without labels is omitted');
    if (late > labelled) inconsistent('labels.late', 'more late labels than labels');
    labels = { n, sumPMicro, sumY, late, unscored };
  }

  const latency = decVector(m.required(K.latency), 'latency');
  if (latency.length !== LATENCY_COUNTS_V1)
    field('latency', `format v1 has ${LATENCY_COUNTS_V1} latency bins`);
  if (sum(latency) !== total) inconsistent('latency', 'latency counts must equal the windows');

  const driftRaw = decArray(m.required(K.drift), 'drift', 3);
  const statistics = decStatistics(driftRaw[0], 'drift.statistics');
  const alarm = driftRaw[1];
  if (typeof alarm !== 'boolean') field('drift.alarm', 'must be a boolean');
  const flags = decFlags(driftRaw[2], 'drift.flags', features.length, statMask(statistics));
  if (alarm !== flags.some((f) => (f.flags & DRIFT_FLAG.alarm) !== 0)) {
    inconsistent('drift.alarm', 'the alarm is set exactly when a variable carries the alarm flag');
  }
  const drift: DriftSection = { statistics, alarm, flags };

  const ch = decArray(m.required(K.change), 'change', 6);
  const change: ChangeSection = {
    scoreAlarmsUp: decUint(ch[0], 'change.scoreAlarmsUp'),
    scoreAlarmsDown: decUint(ch[1], 'change.scoreAlarmsDown'),
    scoreUp: decFloat32(ch[2], 'change.scoreUp'),
    scoreDown: decFloat32(ch[3], 'change.scoreDown'),
    qualityAlarms: decUint(ch[4], 'change.qualityAlarms'),
    quality: decFloat32(ch[5], 'change.quality'),
  };
  if (change.scoreAlarmsUp + change.scoreAlarmsDown > windows.ok + windows.indeterminate) {
    inconsistent('change', 'more score alarms than scored windows');
  }
  if (change.qualityAlarms > total) inconsistent('change.qualityAlarms', 'more quality alarms than windows');

  const shadow: ShadowSection[] = [];
  const shadowRaw = m.optional(K.shadow);
  if (shadowRaw !== undefined) {
    const a = decArray(shadowRaw, 'shadow');
    if (a.length === 0 || a.length > REPORT_LIMITS.maxShadowEntries) {
      field('shadow', `must hold 1..${REPORT_LIMITS.maxShadowEntries} entries`);
    }
    if (role !== 'active') inconsistent('shadow', 'shadow agreement is reported by the active model');
    for (const [i, entryRaw] of a.entries()) {
      const p = `shadow[${i}]`;
      const e = decArray(entryRaw, p, 5);
      const candidateBundleId = decText(e[0], `${p}.candidateBundleId`, false);
      const pairs = decUint(e[1], `${p}.pairs`);
      const agreements = decUint(e[2], `${p}.agreements`);
      const candidate = decStatus(e[3], `${p}.candidate`);
      const pos = decArray(e[4], `${p}.positives`, 4).map((v, j) => decUint(v, `${p}.positives[${j}]`));
      if (pairs === 0) field(`${p}.pairs`, 'an entry has at least one pair');
      if (agreements > pairs) inconsistent(`${p}.agreements`, 'more agreements than pairs');
      if (candidate.ok + candidate.indeterminate + candidate.fallback !== pairs) {
        inconsistent(`${p}.candidate`, 'candidate statuses must add up to the pairs');
      }
      if (sum(pos) > candidate.ok)
        inconsistent(`${p}.positives`, 'more ok-ok pairs than ok candidate results');
      if (shadow.some((s) => s.candidateBundleId === candidateBundleId)) {
        field(`${p}.candidateBundleId`, 'duplicate candidate');
      }
      shadow.push({
        candidateBundleId,
        pairs,
        agreements,
        candidate,
        positives: {
          both: pos[0] as number,
          activeOnly: pos[1] as number,
          candidateOnly: pos[2] as number,
          neither: pos[3] as number,
        },
      });
    }
  }

  const ev = decArray(m.required(K.evicted), 'evicted', REPORT_OUTBOX_CLASSES.length);
  const evicted = Object.fromEntries(
    REPORT_OUTBOX_CLASSES.map((cls, i) => [cls, decUint(ev[i], `evicted.${cls}`)]),
  ) as Record<ReportOutboxClass, number>;

  const suppressedRaw = m.optional(K.suppressedSinceMs);
  const suppressedSinceMs = suppressedRaw === undefined ? null : decUint(suppressedRaw, 'suppressedSinceMs');
  m.done();

  return {
    formatVersion: 1,
    fleet,
    device,
    seq,
    createdMs,
    startMs,
    endMs,
    model,
    role,
    cohort,
    runtimeVersion,
    firmwareVersion,
    windows,
    fallbackReasons,
    alerts: { model: aModel, fallbackRule: aRule, quality: aQuality },
    episodes: { started: eStarted, ended: eEnded, windows: eWindows },
    features,
    score: { counts: scoreCounts, sumPMicro: scoreSumP },
    labels,
    latency,
    drift,
    change,
    shadow,
    evicted,
    suppressedSinceMs,
  };
}

function decVector(value: CborValue | undefined, path: string): number[] {
  return decodeVector(value, path, REPORT_LIMITS.maxCounts);
}

/** Decodes and validates a drift event payload. */
export function decodeDriftEventPayload(
  bytes: Uint8Array,
  maxBytes: number = REPORT_LIMITS.maxBytes,
): DriftEvent {
  const K = EVENT_KEYS;
  const m = new KeyedMap(decodeTop(bytes, maxBytes), K);
  decVersion(m, K.version);
  const fleet = decId(m.required(K.fleet), 'fleet');
  const device = decId(m.required(K.device), 'device');
  const seq = decUint(m.required(K.seq), 'seq');
  const createdMs = decUint(m.required(K.createdMs), 'createdMs');
  const kind = decEnum(m.required(K.kind), EVENT_KINDS, 'kind');
  const model = decModel(m.required(K.model));
  const role = decEnum(m.required(K.role), ROLES, 'role');
  const cohort = decText(m.required(K.cohort), 'cohort');
  const atMs = decUint(m.required(K.atMs), 'atMs');
  const action = decEnum(m.required(K.action), ACTIONS, 'action');
  const directionRaw = m.optional(K.direction);
  const direction =
    directionRaw === undefined ? null : decEnum(directionRaw, ['up', 'down'] as const, 'direction');
  const intervalRaw = m.optional(K.interval);
  const interval = intervalRaw === undefined ? null : decInterval(intervalRaw, 'interval');
  const flagsRaw = m.optional(K.flags);
  const flags =
    flagsRaw === undefined ? [] : decFlags(flagsRaw, 'flags', REPORT_LIMITS.maxFeatures, STAT_MASK_ALL);
  if (flagsRaw !== undefined && flags.length === 0) field('flags', 'an empty list is omitted');
  m.done();
  if (kind === 'interval-drift') {
    if (interval === null) field('interval', 'an interval-drift event names its interval');
    if (direction !== null) inconsistent('direction', 'an interval-drift event has no direction');
  } else {
    if (direction === null) field('direction', 'a change event names its direction');
    if (interval !== null || flags.length > 0)
      inconsistent('interval', 'only interval-drift events carry an interval');
  }
  if (role === 'shadow' && action === 'suppress-outputs') {
    inconsistent('action', 'a shadow candidate never suppresses outputs');
  }
  return {
    formatVersion: 1,
    fleet,
    device,
    seq,
    createdMs,
    kind,
    model,
    role,
    cohort,
    atMs,
    action,
    direction,
    interval,
    flags,
  };
}

/** Decoded report → the statistics-ready view: Σp̂ back in probability units. */
export function sumPFromMicro(sumPMicro: readonly number[]): number[] {
  return sumPMicro.map((v) => v / SUM_P_SCALE);
}

export { bytesToHex };
