// A registered model prepared once for the hot path: bin edges as Float64Arrays, prepared references
// and parsed null tables for the drift tests, change-detector configurations. Everything comes from
// the signed bundle (manifest + profile); nothing here is a local setting.
import crypto from 'node:crypto';
import {
  DEFAULT_LATENCY_BINS,
  StatsError,
  assertEdges,
  calibrateCusum,
  latencyEdges,
  parseNullThresholdTable,
  prepareReference,
  thresholdEdgeIndex,
  type CusumConfig,
  type NullThresholdTable,
  type PageHinkleyConfig,
  type PreparedReference,
} from '../stats/index.ts';
import type { BinnedReference } from '../../models/profile/index.ts';
import type { ReportModel, ReportStatistic } from '../report/index.ts';
import { MonitorError } from './errors.ts';
import type { MonitoredModel } from './types.ts';

/** Shared by every model: DEFAULT_LATENCY_BINS, the layout report format v1 fixes. */
export const LATENCY_EDGES: Float64Array = latencyEdges(DEFAULT_LATENCY_BINS);

/**
 * Page–Hinkley settings the manifest does not state but the reference build calibrated with
 * (scripts/models/reference-build.ts → calibratePageHinkley defaults): both directions, the profile's
 * score mean as the fixed baseline, no alarm in the first 30 windows after a reset.
 */
export const PAGE_HINKLEY_MIN_SAMPLES = 30;

/** Quality CUSUM calibration: stream length and the share of p0 taken as allowance (k = p0/2: shift to 2·p0). */
const QUALITY_CALIBRATION_WINDOWS = 200_000;

export interface PreparedVariable {
  readonly name: string;
  readonly edges: Float64Array;
  readonly reference: PreparedReference;
  readonly table: NullThresholdTable;
  /** Non-NaN reference observations the proportions were estimated from (the two-sample correction). */
  readonly referenceN: number;
}

export interface PreparedModel {
  readonly source: MonitoredModel;
  readonly bundleId: string;
  readonly reportModel: ReportModel;
  readonly features: readonly PreparedVariable[];
  readonly score: PreparedVariable;
  readonly operatingThreshold: number;
  readonly intervalMs: number;
  readonly statistics: readonly ReportStatistic[];
  readonly alpha: number;
  readonly epsilon: number;
  /** Smallest n of the null tables' grid: variables with fewer observations are not tested. */
  readonly minN: number;
  readonly onDrift: 'report' | 'alert' | 'suppress-outputs';
  readonly pageHinkley: PageHinkleyConfig;
  readonly qualityCusum: CusumConfig;
}

function prepareVariable(ref: BinnedReference, path: string): PreparedVariable {
  try {
    assertEdges(ref.edges);
    return {
      name: ref.name,
      edges: Float64Array.from(ref.edges),
      reference: prepareReference({ edges: ref.edges, proportions: ref.proportions, sd: ref.sd }),
      table: parseNullThresholdTable(ref.nullThresholds),
      referenceN: ref.n - (ref.counts[ref.counts.length - 1] ?? 0),
    };
  } catch (error) {
    if (error instanceof StatsError) {
      throw new MonitorError('BAD_MODEL', `${path}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

const cusumCache = new Map<string, CusumConfig>();

/**
 * CUSUM on the per-window quality-failure indicator (1 when the window failed a QUALITY_* check).
 * The bundle states no reference quality-failure rate, so the in-control rate p0 is the release's
 * approved fallback ceiling (rollout.probation.maxFallbackRate): the alarm means "quality failures
 * are running above what the release tolerates". k = p0/2 (tuned to a doubling), and h is calibrated
 * on the device — seeded by the manifest hash, so deterministic — to the bundle's
 * falseAlarmsPer10kWindows at p = p0.
 */
function qualityCusum(model: MonitoredModel): CusumConfig {
  const p0 = Math.min(0.5, Math.max(1e-3, model.manifest.rollout.probation.maxFallbackRate));
  const target = model.manifest.monitoring.changeDetection.falseAlarmsPer10kWindows;
  const seed = Number.parseInt(model.manifestSha256.slice(0, 8), 16) >>> 0;
  const key = `${p0}|${target}|${seed}`;
  const cached = cusumCache.get(key);
  if (cached) return cached;
  const calibration = calibrateCusum({
    stream: { kind: 'sampler', draw: (r) => (r.uniform() < p0 ? 1 : 0) },
    target: p0,
    k: p0 / 2,
    direction: 'up',
    targetFalseAlarmsPer10k: target,
    seed,
    streamLength: Math.max(QUALITY_CALIBRATION_WINDOWS, Math.ceil(200_000 / target)),
  });
  cusumCache.set(key, calibration.config);
  return calibration.config;
}

export function prepareModel(model: MonitoredModel): PreparedModel {
  const { manifest, profile } = model;
  const hex = /^[0-9a-f]{64}$/;
  if (!hex.test(model.manifestSha256) || !hex.test(model.profileSha256)) {
    throw new MonitorError('BAD_MODEL', 'manifest and profile hashes must be lower-case hex SHA-256');
  }
  // Report text fields (docs/telemetry-reports.md): refuse a model whose reports could not be encoded.
  for (const [what, text] of [
    ['bundleId', manifest.bundleId],
    ['modelFamily', manifest.modelFamily],
    ['version', manifest.version],
  ] as const) {
    if (!reportText(text) || text.length === 0) {
      throw new MonitorError('BAD_MODEL', `${what} must be 1–128 bytes of text without control characters`);
    }
  }
  const names = manifest.model.featureNames;
  if (profile.features.length !== names.length) {
    throw new MonitorError(
      'BAD_MODEL',
      `the profile has ${profile.features.length} features, the manifest ${names.length}`,
    );
  }
  profile.features.forEach((f, i) => {
    if (f.name !== names[i]) {
      throw new MonitorError('BAD_MODEL', `profile feature ${i} is ${f.name}, the manifest says ${names[i]}`);
    }
  });
  const epsilon = profile.nullModel.epsilon;
  const features = profile.features.map((f, i) => prepareVariable(f, `features[${i}]`));
  const score = prepareVariable(profile.score, 'score');
  const operatingThreshold = manifest.thresholds.operatingThreshold;
  try {
    thresholdEdgeIndex(score.edges, operatingThreshold);
  } catch (error) {
    throw new MonitorError('BAD_MODEL', 'the operating threshold is not a score-bin edge of the profile', {
      cause: error,
    });
  }
  const policy = manifest.monitoring;
  if (!Number.isSafeInteger(policy.reportIntervalS) || policy.reportIntervalS < 1) {
    throw new MonitorError('BAD_MODEL', 'reportIntervalS must be a positive integer');
  }
  if (!(policy.alpha > 0 && policy.alpha < 1)) throw new MonitorError('BAD_MODEL', 'alpha must be in (0, 1)');
  if (policy.statistics.length === 0) throw new MonitorError('BAD_MODEL', 'the policy names no statistic');
  const cd = policy.changeDetection;
  const pageHinkley: PageHinkleyConfig = {
    delta: cd.delta,
    lambda: cd.lambda,
    direction: cd.direction,
    baseline: { kind: 'reference', mean: profile.score.mean },
    minSamples: cd.minSamples,
  };
  return {
    source: model,
    bundleId: manifest.bundleId,
    reportModel: {
      family: manifest.modelFamily,
      bundleId: manifest.bundleId,
      version: manifest.version,
      sequence: manifest.sequence,
      manifestSha256: model.manifestSha256,
      profileSha256: model.profileSha256,
    },
    features,
    score,
    operatingThreshold,
    intervalMs: policy.reportIntervalS * 1000,
    statistics: [...policy.statistics],
    alpha: policy.alpha,
    epsilon,
    minN: Math.min(...profile.nullModel.sampleSizes),
    onDrift: policy.onDrift,
    pageHinkley,
    qualityCusum: qualityCusum(model),
  };
}

// C0, DEL and C1 control characters are refused in report text fields.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const utf8 = new TextEncoder();

/** Whether text fits a report text field (≤ 128 UTF-8 bytes, no control characters). */
export function reportText(text: string): boolean {
  return utf8.encode(text).length <= 128 && !CONTROL.test(text);
}

/**
 * The cohort as reports carry it: the stream's cohort key when it fits a report text field, else
 * with control characters replaced by '?' and cut to 128 UTF-8 bytes (a report is never lost to it).
 */
export function reportCohort(cohort: string): string {
  if (reportText(cohort)) return cohort;
  let out = cohort.replace(new RegExp(CONTROL.source, 'g'), '?');
  while (utf8.encode(out).length > 128) out = out.slice(0, -1);
  return out;
}

/** SHA-256 (lower-case hex) of bytes: for the profile file when the caller has only its bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}
