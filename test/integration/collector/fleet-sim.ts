// Simulated devices for the collector's tests and benchmarks: test device keys, real signed reports
// (monitor/report signReport, the device's own encoder and signing) whose counts are drawn from a
// reference profile, optionally through a sensor gain change, plus signed drift events, safety events,
// audit checkpoints and update statuses. Seeded: the same seed gives the same bytes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  ed25519Signer,
  defaultEd25519,
  encodeCbor,
  signSign1,
  toCbor,
  type Signer,
} from '../../../models/format/index.ts';
import { parseProfile, type ReferenceProfile } from '../../../models/profile/index.ts';
import {
  REPORT_OUTBOX_CLASSES,
  signDriftEvent,
  signReport,
  type DriftEvent,
  type ReportOutboxClass,
  type TelemetryReport,
} from '../../../monitor/report/index.ts';
import { UPDATE_STATUS_CONTENT_TYPE, encodeStatusMessage } from '../../../monitor/updates/index.ts';
import {
  CHECKPOINT_CONTENT_TYPE,
  SAFETY_EVENT_CONTENT_TYPE,
  type Enrolment,
  type ModelRegistration,
  type SafetyEventType,
} from '../../../monitor/collector/index.ts';

export const REPO = path.resolve(import.meta.dirname, '../../..');

/** A small seeded generator (mulberry32): tests only. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = Math.max(1e-12, this.next());
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  binomial(n: number, p: number): number {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (n < 40) {
      let k = 0;
      for (let i = 0; i < n; i++) if (this.next() < p) k++;
      return k;
    }
    const k = Math.round(n * p + Math.sqrt(n * p * (1 - p)) * this.normal());
    return Math.min(n, Math.max(0, k));
  }
  /** Multinomial counts of n over proportions (sequential conditional binomials). */
  multinomial(n: number, p: readonly number[]): number[] {
    const out = new Array<number>(p.length).fill(0);
    let left = n;
    let mass = p.reduce((a, b) => a + b, 0);
    for (let i = 0; i < p.length && left > 0; i++) {
      const pi = p[i] as number;
      const k = i === p.length - 1 ? left : this.binomial(left, mass > 0 ? pi / mass : 0);
      out[i] = k;
      left -= k;
      mass -= pi;
    }
    return out;
  }
}

export interface SimDevice {
  readonly fleet: string;
  readonly device: string;
  readonly kid: string;
  readonly signer: Signer;
  readonly publicKey: Uint8Array;
  cohort: string;
  firmware: string;
  readonly site: string;
  seq: number;
}

export function makeDevice(
  fleet: string,
  device: string,
  options: { cohort?: string; firmware?: string; site?: string; firstSeq?: number } = {},
): SimDevice {
  const seed = new Uint8Array(
    crypto.createHash('sha256').update(`vigil collector test key ${fleet}/${device}`).digest(),
  );
  const kid = `dev-${device}`;
  return {
    fleet,
    device,
    kid,
    signer: ed25519Signer(kid, seed),
    publicKey: defaultEd25519().publicKeyFromSeed(seed),
    cohort: options.cohort ?? 'control',
    firmware: options.firmware ?? 'fw-1.0.0',
    site: options.site ?? 'site-a',
    seq: options.firstSeq ?? 1,
  };
}

export function enrolmentOf(d: SimDevice, atMs = 1_700_000_000_000): Enrolment {
  return {
    fleet: d.fleet,
    device: d.device,
    kid: d.kid,
    publicKey: d.publicKey,
    deviceClass: { vendorId: 'vigil-demo', classId: 'wearable-gateway-v1' },
    enrolledAtMs: atMs,
    enrolledBy: 'field-test',
    site: d.site,
    record: new Uint8Array([0xa0]),
    retiredAtMs: null,
    retiredBy: null,
    retiredReason: null,
  };
}

export interface ModelFixture {
  readonly profile: ReferenceProfile;
  readonly profileBytes: Uint8Array;
  readonly profileSha256: string;
  readonly manifestSha256: string;
  readonly family: string;
  readonly bundleId: string;
  readonly version: string;
  readonly sequence: number;
  readonly operatingThreshold: number;
  readonly indeterminateLow: number;
  readonly registration: ModelRegistration;
}

/** A reference model's committed profile with a fixture manifest identity. */
export function referenceModel(
  name: 'fall-detector' | 'af-screener',
  version = '1.0.0',
  sequence = 1,
): ModelFixture {
  const dir = path.join(REPO, 'models/reference', name);
  const profileBytes = new Uint8Array(fs.readFileSync(path.join(dir, 'profile.json')));
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'bundle.json'), 'utf8')) as {
    modelFamily: string;
    thresholds: { operatingThreshold: number; indeterminateLow: number };
    monitoring: { statistics: string[]; reportIntervalS: number };
    intendedUse: string;
    output: { positive: { name: string } };
  };
  const profile = parseProfile(JSON.parse(Buffer.from(profileBytes).toString('utf8')));
  const manifestSha256 = crypto
    .createHash('sha256')
    .update(`fixture manifest ${name} ${version}`)
    .digest('hex');
  const profileSha256 = crypto.createHash('sha256').update(profileBytes).digest('hex');
  const bundleId = `${name}@${version}`;
  return {
    profile,
    profileBytes,
    profileSha256,
    manifestSha256,
    family: spec.modelFamily,
    bundleId,
    version,
    sequence,
    operatingThreshold: spec.thresholds.operatingThreshold,
    indeterminateLow: spec.thresholds.indeterminateLow,
    registration: {
      profileBytes,
      manifest: {
        manifestSha256,
        family: spec.modelFamily,
        bundleId,
        version,
        sequence,
        operatingThreshold: spec.thresholds.operatingThreshold,
        indeterminateLow: spec.thresholds.indeterminateLow,
        statistics: spec.monitoring.statistics as ('psi' | 'js' | 'ks' | 'wasserstein' | 'chi2')[],
        reportIntervalS: spec.monitoring.reportIntervalS,
        intendedUse: spec.intendedUse,
        positiveLabel: spec.output.positive.name,
      },
      source: 'bundle',
      verification: 'test fixture (not verified)',
    },
  };
}

/**
 * Bin probabilities after multiplying the variable by `gain`, assuming values spread uniformly inside
 * each reference bin (tails as point masses half a neighbouring bin's width outside).
 */
export function scaledProportions(
  edges: readonly number[],
  proportions: readonly number[],
  gain: number,
): number[] {
  const m = edges.length - 1;
  const out = new Array<number>(m + 3).fill(0);
  out[m + 2] = proportions[m + 2] ?? 0;
  if (gain === 1) return [...proportions];
  const place = (x: number, mass: number): void => {
    let i = 0;
    while (i <= m && x >= (edges[i] as number)) i++;
    out[i] = (out[i] as number) + mass;
  };
  const first = edges[0] as number;
  const last = edges[m] as number;
  const w0 = (edges[1] as number) - first;
  const wm = last - (edges[m - 1] as number);
  place((first - w0 / 2) * gain, proportions[0] ?? 0);
  place((last + wm / 2) * gain, proportions[m + 1] ?? 0);
  for (let b = 1; b <= m; b++) {
    const mass = proportions[b] ?? 0;
    if (mass === 0) continue;
    const lo = (edges[b - 1] as number) * gain;
    const hi = (edges[b] as number) * gain;
    const span = hi - lo;
    // Split the scaled interval [lo, hi) over the bins it overlaps.
    if (lo < first) {
      const part = Math.min(hi, first) - lo;
      out[0] = (out[0] as number) + (mass * part) / span;
    }
    for (let j = 1; j <= m; j++) {
      const a = Math.max(lo, edges[j - 1] as number);
      const c = Math.min(hi, edges[j] as number);
      if (c > a) {
        out[j] = (out[j] as number) + (mass * (c - a)) / span;
      }
    }
    if (hi > last) {
      const part = hi - Math.max(lo, last);
      out[m + 1] = (out[m + 1] as number) + (mass * part) / span;
    }
  }
  return out;
}

/** Features in units of g (or g/s) scale with an accelerometer gain; counts and times do not. */
export function gainAffects(name: string): boolean {
  return /_g(_s)?$/.test(name);
}

export interface ReportOptions {
  readonly startMs: number;
  readonly intervalMs: number;
  readonly windows: number;
  readonly rng: Rng;
  /** Sensor gain applied to g-valued features (1: no drift). */
  readonly gain?: number;
  readonly fallbackShare?: number;
  /** Share of scored windows that get a label in this report. */
  readonly labelShare?: number;
  /** Multiplies the true positive rate in labels (1: calibrated). */
  readonly labelBias?: number;
  readonly alerts?: number;
  readonly shadowCandidate?: string;
  readonly role?: 'active' | 'shadow';
  readonly evicted?: Partial<Record<ReportOutboxClass, number>>;
  readonly suppressedSinceMs?: number | null;
  readonly revokedWindows?: number;
}

function binMeanP(profile: ReferenceProfile, i: number): number {
  const cal = profile.calibration;
  const n = cal?.n[i] ?? 0;
  if (n > 0) return Math.min(1, Math.max(0, (cal?.sumP[i] ?? 0) / n));
  const e = profile.score.edges;
  if (i === 0) return 0;
  if (i >= e.length) return 1;
  return Math.min(1, Math.max(0, ((e[i - 1] as number) + (e[i] as number)) / 2));
}

/** One interval report of a simulated device (its sequence number is taken and advanced). */
export function simulateReport(d: SimDevice, model: ModelFixture, o: ReportOptions): TelemetryReport {
  const { rng } = o;
  const profile = model.profile;
  const gain = o.gain ?? 1;
  const revoked = o.revokedWindows ?? 0;
  const fallback = Math.round(o.windows * (o.fallbackShare ?? 0.04)) + revoked;
  const scored = Math.max(0, o.windows - fallback);
  const indeterminate = Math.round(scored * 0.01);
  const ok = scored - indeterminate;
  const ood = Math.min(fallback - revoked, Math.round((fallback - revoked) / 3));
  const quality = fallback - revoked - ood;
  const featured = scored + ood;
  const features = profile.features.map((f) =>
    rng.multinomial(
      featured,
      gainAffects(f.name) ? scaledProportions(f.edges, f.proportions, gain) : [...f.proportions],
    ),
  );
  const scoreP = [...profile.score.proportions];
  scoreP[scoreP.length - 1] = 0; // a score is never NaN
  const scoreCounts = rng.multinomial(scored, scoreP);
  const meanP = scoreCounts.map((_, i) => binMeanP(profile, i));
  const sumPMicro = scoreCounts.map((n, i) => Math.round(n * (meanP[i] as number) * 1e6));
  let labels: TelemetryReport['labels'] = null;
  if ((o.labelShare ?? 0) > 0) {
    const n = scoreCounts.map((c) => rng.binomial(c, o.labelShare ?? 0));
    const bias = o.labelBias ?? 1;
    const sumY = n.map((k, i) => rng.binomial(k, Math.min(1, (meanP[i] as number) * bias)));
    if (n.some((k) => k > 0)) {
      labels = {
        n,
        sumPMicro: n.map((k, i) => Math.round(k * (meanP[i] as number) * 1e6)),
        sumY,
        late: 0,
        unscored: 0,
      };
    }
  }
  const latency = new Array<number>(63).fill(0);
  const all = ok + indeterminate + fallback;
  latency[21] = Math.floor(all * 0.6);
  latency[22] = Math.floor(all * 0.3);
  latency[24] = all - Math.floor(all * 0.6) - Math.floor(all * 0.3);
  const evicted = Object.fromEntries(REPORT_OUTBOX_CLASSES.map((c) => [c, o.evicted?.[c] ?? 0])) as Record<
    ReportOutboxClass,
    number
  >;
  const reasons: TelemetryReport['fallbackReasons'] = {};
  if (quality > 0) (reasons as Record<string, number>).QUALITY_CLIPPING = quality;
  if (ood > 0) (reasons as Record<string, number>).OOD_SUPPORT = ood;
  if (revoked > 0) (reasons as Record<string, number>).MODEL_REVOKED = revoked;
  const seq = d.seq++;
  const alerts = o.alerts ?? rng.binomial(3, 0.3);
  return {
    formatVersion: 1,
    fleet: d.fleet,
    device: d.device,
    seq,
    createdMs: o.startMs + o.intervalMs + 5,
    startMs: o.startMs,
    endMs: o.startMs + o.intervalMs,
    model: {
      family: model.family,
      bundleId: model.bundleId,
      version: model.version,
      sequence: model.sequence,
      manifestSha256: model.manifestSha256,
      profileSha256: model.profileSha256,
    },
    role: o.role ?? 'active',
    cohort: d.cohort,
    runtimeVersion: '0.1.0',
    firmwareVersion: d.firmware,
    windows: { ok, indeterminate, fallback },
    fallbackReasons: reasons,
    alerts: { model: alerts, fallbackRule: 0, quality: 0 },
    episodes: { started: 0, ended: 0, windows: 0 },
    features,
    score: { counts: scoreCounts, sumPMicro },
    labels,
    latency,
    drift: { statistics: ['psi', 'js', 'ks', 'wasserstein'], alarm: false, flags: [] },
    change: { scoreAlarmsUp: 0, scoreAlarmsDown: 0, scoreUp: 0, scoreDown: 0, qualityAlarms: 0, quality: 0 },
    shadow:
      o.shadowCandidate === undefined || (o.role ?? 'active') !== 'active'
        ? []
        : [
            {
              candidateBundleId: o.shadowCandidate,
              pairs: ok,
              agreements: ok - Math.round(ok * 0.01),
              candidate: {
                ok: ok - Math.round(ok * 0.005),
                indeterminate: Math.round(ok * 0.005),
                fallback: 0,
              },
              positives: { both: 0, activeOnly: 0, candidateOnly: 0, neither: ok - Math.round(ok * 0.005) },
            },
          ],
    evicted,
    suppressedSinceMs: o.suppressedSinceMs ?? null,
  };
}

export function signedReport(d: SimDevice, report: TelemetryReport): Uint8Array {
  return signReport(report, d.signer);
}

export function topic(d: SimDevice, suffix: string): string {
  return `vigil/v1/${d.fleet}/${d.device}/${suffix}`;
}

export function driftEvent(d: SimDevice, model: ModelFixture, atMs: number): Uint8Array {
  const event: DriftEvent = {
    formatVersion: 1,
    fleet: d.fleet,
    device: d.device,
    seq: d.seq++,
    createdMs: atMs,
    kind: 'interval-drift',
    model: {
      family: model.family,
      bundleId: model.bundleId,
      version: model.version,
      sequence: model.sequence,
      manifestSha256: model.manifestSha256,
      profileSha256: model.profileSha256,
    },
    role: 'active',
    cohort: d.cohort,
    atMs,
    action: 'alert',
    direction: null,
    interval: { startMs: atMs - 3_600_000, endMs: atMs },
    flags: [{ index: 0, flags: 1 | 128 }],
  };
  return signDriftEvent(event, d.signer);
}

export function safetyEvent(
  d: SimDevice,
  type: SafetyEventType,
  atMs: number,
  extra: { family?: string; bundleId?: string; detail?: string } = {},
): Uint8Array {
  const payload = encodeCbor(
    toCbor({ v: 1, fleet: d.fleet, device: d.device, seq: d.seq++, at: atMs, type, ...extra }),
  );
  return signSign1({ payload, contentType: SAFETY_EVENT_CONTENT_TYPE, signer: d.signer });
}

export function checkpoint(
  d: SimDevice,
  count: number,
  headSeed: string,
  atMs: number,
  withSeq = true,
): Uint8Array {
  const head = new Uint8Array(crypto.createHash('sha256').update(headSeed).digest());
  const body: Record<string, unknown> = { v: 1, device: d.device, count, head, at: atMs };
  if (withSeq) body.seq = d.seq++;
  return signSign1({
    payload: encodeCbor(toCbor(body)),
    contentType: CHECKPOINT_CONTENT_TYPE,
    signer: d.signer,
  });
}

export function updateStatus(
  d: SimDevice,
  status: 'accepted' | 'rejected',
  atMs: number,
  sealed = true,
): Uint8Array {
  const bytes = encodeStatusMessage({
    v: 1,
    type: 'update-status',
    fleet: d.fleet,
    device: d.device,
    seq: d.seq++,
    at: atMs,
    transferId: '0123456789abcdef0123456789abcdef',
    status,
    ...(status === 'rejected' ? { code: 'SIGNATURE_INVALID' } : {}),
  });
  return sealed
    ? signSign1({ payload: bytes, contentType: UPDATE_STATUS_CONTENT_TYPE, signer: d.signer })
    : bytes;
}

export function stateMessage(d: SimDevice, online: boolean, bdSeq: number, atMs?: number): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      v: 1,
      online,
      fleet: d.fleet,
      device: d.device,
      bdSeq,
      cohort: d.cohort,
      ...(atMs ? { at: atMs } : {}),
    }),
  );
}

/** The value, or a test failure naming what was missing (tests avoid non-null assertions). */
export function must<T>(value: T | null | undefined, what = 'value'): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}`);
  return value;
}

/** A simulated device signing with a given key (e.g. one made by `vigil keygen --role device`). */
export function deviceWithKey(
  fleet: string,
  device: string,
  key: { readonly kid: string; readonly seed: Uint8Array; readonly publicKey: Uint8Array },
  options: { cohort?: string; firmware?: string; site?: string } = {},
): SimDevice {
  return {
    fleet,
    device,
    kid: key.kid,
    signer: ed25519Signer(key.kid, key.seed),
    publicKey: key.publicKey,
    cohort: options.cohort ?? 'control',
    firmware: options.firmware ?? 'fw-1.0.0',
    site: options.site ?? 'site-a',
    seq: 1,
  };
}

/** The fixture with the identity of a real built bundle (its manifest SHA-256). */
export function withManifest(model: ModelFixture, manifestSha256: string): ModelFixture {
  return { ...model, manifestSha256 };
}
