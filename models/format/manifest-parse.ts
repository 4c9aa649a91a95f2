// Parses `unknown` (a decoded manifest, or a bundle.json spec) into a Manifest, field by field.
// Unknown fields are rejected unless the manifest lists them in `optionalFields`; numbers are checked
// against their ranges; cross-field rules (thresholds ordering, listed files, evidence consistency)
// are checked here so that nothing downstream sees an incoherent release.
import { BundleError } from './errors.ts';
import {
  Fields,
  HEX_SHA256,
  readArray,
  readInteger,
  readNumber,
  readString,
  type FieldFailure,
} from './fields.ts';
import type {
  AcceptanceCriterion,
  ChannelSpec,
  DeviceClass,
  EvidenceSummary,
  FallbackPolicy,
  FileEntry,
  InputSpec,
  Manifest,
  MetricSet,
  ModelSpec,
  MonitoringPolicy,
  OodPolicy,
  OutputSpec,
  PostprocessingRules,
  Provenance,
  QualityPolicy,
  RolloutPolicy,
  RuleExpr,
  RuntimeRequirement,
  ThresholdTable,
} from './manifest.ts';
import { checkBundlePath, checkUniquePaths } from './paths.ts';
import { isSemVer, compareSemVer, parseSemVer } from './semver.ts';
import type { PreprocessingStep } from '../ops/types.ts';

export const MANIFEST_LIMITS = Object.freeze({
  maxFiles: 64,
  maxDeviceClasses: 64,
  maxChannels: 64,
  maxPreprocessingSteps: 256,
  maxFeatures: 4096,
  maxCohorts: 256,
  maxCriteria: 256,
  maxRuleDepth: 16,
  maxTextChars: 4000,
});

/** Latest time accepted anywhere (year 2286), so that arithmetic on times stays exact. */
const MAX_TIME_MS = 10_000_000_000_000;
const ID = /^[A-Za-z0-9](?:[A-Za-z0-9._@+:-]*[A-Za-z0-9])?$/;
const FAMILY = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;
const HEX_COMMIT = /^[0-9a-f]{7,64}$/;

const fail: FieldFailure = (path, message) => {
  throw new BundleError('BAD_MANIFEST', `${path} ${message}`);
};

const KNOWN_FIELDS = [
  'formatVersion',
  'bundleId',
  'modelFamily',
  'version',
  'sequence',
  'createdAtMs',
  'expiresAtMs',
  'deviceClasses',
  'runtime',
  'precursorSequence',
  'intendedUse',
  'input',
  'preprocessing',
  'model',
  'output',
  'thresholds',
  'postprocessing',
  'quality',
  'ood',
  'fallback',
  'monitoring',
  'rollout',
  'provenance',
  'evidence',
  'files',
  'releaseNotes',
  'optionalFields',
] as const;

const fraction = { min: 0, max: 1 };
const text = (f: Fields, key: string, max = 256): string => f.string(key, { max });
const name = (f: Fields, key: string): string => f.string(key, { max: 128, pattern: NAME, what: 'a name' });
const semver = (f: Fields, key: string): string => checkSemver(f.string(key, { max: 128 }), f.at(key));
/** Versions of policies and tables: short identifiers such as `1.2.0` or `2025-06-a`. */
const policyVersion = (f: Fields): string =>
  f.string('version', { max: 64, pattern: /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/, what: 'a version identifier' });

function checkSemver(value: string, path: string): string {
  if (!isSemVer(value)) fail(path, 'must be a semantic version (semver 2.0, e.g. 1.2.0)');
  return value;
}

/** Parses a decoded manifest. Throws BundleError (BAD_MANIFEST, BAD_PATH or DUPLICATE_PATH). */
export function parseManifest(value: unknown): Manifest {
  const f = Fields.of(value, 'manifest', fail);
  const formatVersion = f.literal('formatVersion', [1] as const);
  const bundleId = f.string('bundleId', {
    max: 128,
    pattern: ID,
    what: 'an id of letters, digits and ._@+:-',
  });
  const modelFamily = f.string('modelFamily', {
    max: 64,
    pattern: FAMILY,
    what: 'lower-case letters, digits and -',
  });
  const version = semver(f, 'version');
  const sequence = f.integer('sequence', { max: Number.MAX_SAFE_INTEGER });
  const createdAtMs = f.integer('createdAtMs', { max: MAX_TIME_MS });
  const expiresAtMs = f.integer('expiresAtMs', { max: MAX_TIME_MS });
  if (expiresAtMs <= createdAtMs) fail(f.at('expiresAtMs'), 'must be later than createdAtMs');
  const deviceClasses = f.array(
    'deviceClasses',
    { min: 1, max: MANIFEST_LIMITS.maxDeviceClasses },
    deviceClass,
  );
  const runtime = f.object('runtime', runtimeRequirement);
  const precursorSequence = f.nullable('precursorSequence', (v, p) => readInteger(v, p, fail));
  if (precursorSequence !== null && precursorSequence >= sequence) {
    fail(f.at('precursorSequence'), 'must be lower than the sequence of this bundle');
  }
  const intendedUse = text(f, 'intendedUse', MANIFEST_LIMITS.maxTextChars);
  const input = f.object('input', inputSpec);
  const preprocessing = f.array(
    'preprocessing',
    { max: MANIFEST_LIMITS.maxPreprocessingSteps },
    preprocessingStep,
  );
  const model = f.object('model', modelSpec);
  const output = f.object('output', outputSpec);
  const thresholds = f.object('thresholds', thresholdTable);
  const postprocessing = f.object('postprocessing', postprocessingRules);
  const quality = f.object('quality', (q) => qualityPolicy(q, input));
  const ood = f.object('ood', oodPolicy);
  const fallback = f.object('fallback', fallbackPolicy);
  const monitoring = f.object('monitoring', monitoringPolicy);
  const rollout = f.object('rollout', rolloutPolicy);
  const provenance = f.object('provenance', provenanceOf);
  const evidence = f.object('evidence', evidenceSummary);
  const files = f.array('files', { min: 1, max: MANIFEST_LIMITS.maxFiles }, fileEntry);
  checkUniquePaths(
    files.map((e) => e.path),
    'manifest.files',
  );
  for (const [key, path] of [
    ['file', model.file],
    ['profileFile', model.profileFile],
    ['evidenceFile', model.evidenceFile],
  ] as const) {
    if (!files.some((e) => e.path === path))
      fail(`manifest.model.${key}`, `names ${path}, which is not in files`);
  }
  const releaseNotes = f.optional('releaseNotes', (v, p) =>
    readString(v, p, fail, { max: MANIFEST_LIMITS.maxTextChars }),
  );
  const optionalFields = f.optional('optionalFields', (v, p) =>
    readArray(v, p, fail, { max: 32 }, (item, ip) => {
      const field = readString(item, ip, fail, {
        max: 64,
        pattern: /^[A-Za-z][A-Za-z0-9_-]*$/,
        what: 'a field name',
      });
      if ((KNOWN_FIELDS as readonly string[]).includes(field))
        fail(ip, `names ${field}, which is not optional`);
      return field;
    }),
  );
  const extensions: Record<string, unknown> = {};
  for (const key of f.unread()) {
    if (!(optionalFields ?? []).includes(key))
      fail(f.at(key), 'is not a known field (and not listed in optionalFields)');
    extensions[key] = f.raw(key);
  }
  return {
    formatVersion,
    bundleId,
    modelFamily,
    version,
    sequence,
    createdAtMs,
    expiresAtMs,
    deviceClasses,
    runtime,
    precursorSequence,
    intendedUse,
    input,
    preprocessing,
    model,
    output,
    thresholds,
    postprocessing,
    quality,
    ood,
    fallback,
    monitoring,
    rollout,
    provenance,
    evidence,
    files,
    ...(releaseNotes === undefined ? {} : { releaseNotes }),
    ...(optionalFields === undefined ? {} : { optionalFields }),
    ...(Object.keys(extensions).length === 0 ? {} : { extensions: Object.freeze(extensions) }),
  };
}

function deviceClass(value: unknown, path: string): DeviceClass {
  const f = Fields.of(value, path, fail);
  const out = {
    vendorId: f.string('vendorId', { max: 128, pattern: ID, what: 'an identifier' }),
    classId: f.string('classId', { max: 128, pattern: ID, what: 'an identifier' }),
  };
  f.done();
  return out;
}

function runtimeRequirement(f: Fields): RuntimeRequirement {
  const minVersion = semver(f, 'minVersion');
  const maxVersionExclusive = f.nullable('maxVersionExclusive', (v, p) =>
    checkSemver(readString(v, p, fail, { max: 128 }), p),
  );
  if (maxVersionExclusive !== null) {
    const lo = parseSemVer(minVersion);
    const hi = parseSemVer(maxVersionExclusive);
    if (lo && hi && compareSemVer(hi, lo) <= 0) fail(f.at('maxVersionExclusive'), 'must be above minVersion');
  }
  return { minVersion, maxVersionExclusive };
}

function channelSpec(value: unknown, path: string): ChannelSpec {
  const f = Fields.of(value, path, fail);
  const out = {
    name: name(f, 'name'),
    unit: f.string('unit', { max: 32 }),
    min: f.number('min'),
    max: f.number('max'),
  };
  if (out.max <= out.min) fail(f.at('max'), 'must be above min');
  f.done();
  return out;
}

function inputSpec(f: Fields): InputSpec {
  const sensor = f.literal('sensor', ['accel', 'ecg', 'ppg'] as const);
  const channels = f.array('channels', { min: 1, max: MANIFEST_LIMITS.maxChannels }, channelSpec);
  if (new Set(channels.map((c) => c.name)).size !== channels.length)
    fail(f.at('channels'), 'has duplicate names');
  const sampleRateHz = f.number('sampleRateHz', { above: 0, max: 100_000 });
  const rateToleranceRel = f.number('rateToleranceRel', { min: 0, max: 0.5 });
  const windowS = f.number('windowS', { above: 0, max: 3600 });
  const hopS = f.number('hopS', { above: 0, max: windowS });
  if (windowS * sampleRateHz < 1) fail(f.at('windowS'), 'holds less than one sample');
  return { sensor, channels, sampleRateHz, rateToleranceRel, windowS, hopS };
}

function plainParams(value: unknown, path: string): Readonly<Record<string, unknown>> {
  const f = Fields.of(value, path, fail);
  const out: Record<string, unknown> = {};
  for (const key of f.unread()) out[key] = f.raw(key);
  return out;
}

function preprocessingStep(value: unknown, path: string): PreprocessingStep {
  const f = Fields.of(value, path, fail);
  const out = {
    op: f.string('op', { max: 64, pattern: /^[a-z][a-z0-9_]*$/, what: 'an op name (lower_snake_case)' }),
    version: f.integer('version', { min: 1, max: 1_000_000 }),
    inputs: f.array('inputs', { min: 1, max: 16 }, (v, p) =>
      readString(v, p, fail, { max: 64, pattern: NAME, what: 'a value name' }),
    ),
    output: name(f, 'output'),
    params: plainParams(f.required('params'), f.at('params')),
  };
  f.done();
  return out;
}

function modelSpec(f: Fields): ModelSpec {
  const path = (key: string): string => {
    const p = f.string(key, { max: 255 });
    checkBundlePath(p, f.at(key));
    return p;
  };
  const out = {
    file: path('file'),
    opset: f.integer('opset', { min: 1, max: 100 }),
    inputName: f.string('inputName', { max: 128 }),
    outputName: f.string('outputName', { max: 128 }),
    featuresFrom: name(f, 'featuresFrom'),
    featureNames: f.array('featureNames', { min: 1, max: MANIFEST_LIMITS.maxFeatures }, (v, p) =>
      readString(v, p, fail, { max: 128, pattern: NAME, what: 'a feature name' }),
    ),
    profileFile: path('profileFile'),
    evidenceFile: path('evidenceFile'),
  };
  if (new Set(out.featureNames).size !== out.featureNames.length)
    fail(f.at('featureNames'), 'has duplicates');
  return out;
}

function label(value: unknown, path: string): { name: string; meaning: string } {
  const f = Fields.of(value, path, fail);
  const out = { name: name(f, 'name'), meaning: text(f, 'meaning', 1000) };
  f.done();
  return out;
}

function outputSpec(f: Fields): OutputSpec {
  const out = {
    scoreMeaning: text(f, 'scoreMeaning', 1000),
    positive: label(f.required('positive'), f.at('positive')),
    negative: label(f.required('negative'), f.at('negative')),
  };
  if (out.positive.name === out.negative.name)
    fail(f.at('negative.name'), 'must differ from the positive label');
  return out;
}

function thresholdTable(f: Fields): ThresholdTable {
  const out = {
    version: policyVersion(f),
    operatingThreshold: f.number('operatingThreshold', fraction),
    releaseThreshold: f.number('releaseThreshold', fraction),
    indeterminateLow: f.number('indeterminateLow', fraction),
  };
  if (out.releaseThreshold > out.operatingThreshold)
    fail(f.at('releaseThreshold'), 'must not exceed operatingThreshold');
  if (out.indeterminateLow > out.operatingThreshold)
    fail(f.at('indeterminateLow'), 'must not exceed operatingThreshold');
  return out;
}

function postprocessingRules(f: Fields): PostprocessingRules {
  return {
    version: policyVersion(f),
    consecutiveWindows: f.integer('consecutiveWindows', { min: 1, max: 1000 }),
    refractoryMs: f.integer('refractoryMs', { max: 86_400_000 }),
  };
}

function qualityPolicy(f: Fields, input: InputSpec): QualityPolicy {
  const out = {
    version: policyVersion(f),
    maxMissingFraction: f.number('maxMissingFraction', fraction),
    maxClippedFraction: f.number('maxClippedFraction', fraction),
    flatlinePeakToPeak: f.number('flatlinePeakToPeak', { min: 0 }),
    maxRateJitterRel: f.number('maxRateJitterRel', fraction),
    rejectFlags: f.array('rejectFlags', { max: 64 }, (v, p) =>
      readString(v, p, fail, { max: 64, pattern: NAME, what: 'a flag name' }),
    ),
    sqi: f.array('sqi', { max: 64 }, (v, p) => {
      const s = Fields.of(v, p, fail);
      const bound = {
        name: name(s, 'name'),
        min: s.nullable('min', (x, xp) => readNumber(x, xp, fail)),
        max: s.nullable('max', (x, xp) => readNumber(x, xp, fail)),
      };
      if (bound.min === null && bound.max === null) fail(p, 'must bound at least one side');
      if (bound.min !== null && bound.max !== null && bound.max < bound.min)
        fail(s.at('max'), 'must not be below min');
      s.done();
      return bound;
    }),
    motionGateG: f.nullable('motionGateG', (v, p) => readNumber(v, p, fail, { above: 0, max: 16 })),
  };
  if (out.motionGateG !== null && input.sensor !== 'ppg')
    fail(f.at('motionGateG'), 'applies to PPG inputs only');
  return out;
}

function oodPolicy(f: Fields): OodPolicy {
  return {
    version: policyVersion(f),
    maxFeaturesOutsideSupport: f.number('maxFeaturesOutsideSupport', fraction),
    maxDistance: f.number('maxDistance', { above: 0, max: 1000 }),
  };
}

function ruleExpr(value: unknown, path: string, depth = 1): RuleExpr {
  if (depth > MANIFEST_LIMITS.maxRuleDepth) fail(path, `nests deeper than ${MANIFEST_LIMITS.maxRuleDepth}`);
  const f = Fields.of(value, path, fail);
  const op = f.literal('op', ['feature', 'const', 'gt', 'ge', 'lt', 'le', 'and', 'or', 'not'] as const);
  let out: RuleExpr;
  switch (op) {
    case 'feature':
      out = { op, name: name(f, 'name') };
      break;
    case 'const':
      out = { op, value: f.number('value') };
      break;
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le':
      out = {
        op,
        left: ruleExpr(f.required('left'), f.at('left'), depth + 1),
        right: ruleExpr(f.required('right'), f.at('right'), depth + 1),
      };
      break;
    case 'and':
    case 'or':
      out = { op, args: f.array('args', { min: 1, max: 32 }, (v, p) => ruleExpr(v, p, depth + 1)) };
      break;
    case 'not':
      out = { op, arg: ruleExpr(f.required('arg'), f.at('arg'), depth + 1) };
      break;
  }
  f.done();
  return out;
}

function fallbackPolicy(f: Fields): FallbackPolicy {
  const kind = f.literal('kind', ['suppress', 'alert', 'rule'] as const);
  const version = policyVersion(f);
  switch (kind) {
    case 'suppress':
      return { kind, version };
    case 'alert':
      return { kind, version, message: text(f, 'message', 1000) };
    case 'rule':
      return {
        kind,
        version,
        rule: ruleExpr(f.required('rule'), f.at('rule')),
        positiveLabel: name(f, 'positiveLabel'),
      };
  }
}

const STATISTICS = ['psi', 'js', 'ks', 'wasserstein', 'chi2'] as const;

function monitoringPolicy(f: Fields): MonitoringPolicy {
  const statistics = f.array('statistics', { min: 1, max: STATISTICS.length }, (v, p) => {
    const found = STATISTICS.find((s) => s === v);
    if (found === undefined) return fail(p, `must be one of ${STATISTICS.join(', ')}`);
    return found;
  });
  if (new Set(statistics).size !== statistics.length) fail(f.at('statistics'), 'has duplicates');
  return {
    version: policyVersion(f),
    reportIntervalS: f.number('reportIntervalS', { min: 1, max: 7 * 86_400 }),
    statistics,
    alpha: f.number('alpha', { above: 0, max: 0.5 }),
    onDrift: f.literal('onDrift', ['report', 'alert', 'suppress-outputs'] as const),
    changeDetection: f.object('changeDetection', (c) => ({
      delta: c.number('delta', { min: 0 }),
      lambda: c.number('lambda', { above: 0 }),
      direction: c.literal('direction', ['both', 'up', 'down'] as const),
      minSamples: c.integer('minSamples', { min: 1, max: 1_000_000 }),
      falseAlarmsPer10kWindows: c.number('falseAlarmsPer10kWindows', { min: 0 }),
    })),
  };
}

function rolloutPolicy(f: Fields): RolloutPolicy {
  return {
    shadowMinWindows: f.integer('shadowMinWindows', { max: 100_000_000 }),
    shadowMinAgreement: f.number('shadowMinAgreement', fraction),
    maxFallbackRateIncrease: f.number('maxFallbackRateIncrease', fraction),
    maxAlertRateIncreasePer1k: f.number('maxAlertRateIncreasePer1k', { min: 0, max: 1000 }),
    autoPromote: f.boolean('autoPromote'),
    probation: f.object('probation', (p) => ({
      windows: p.integer('windows', { max: 100_000_000 }),
      maxInferenceErrors: p.integer('maxInferenceErrors', { max: 100_000_000 }),
      maxDeadlineMisses: p.integer('maxDeadlineMisses', { max: 100_000_000 }),
      maxFallbackRate: p.number('maxFallbackRate', fraction),
      maxLatencyP99Ms: p.number('maxLatencyP99Ms', { above: 0, max: 60_000 }),
    })),
  };
}

function provenanceOf(f: Fields): Provenance {
  const sha = (key: string): string =>
    f.string(key, { min: 64, max: 64, pattern: HEX_SHA256, what: 'a lower-case hex SHA-256' });
  const out = {
    sourceCommit: f.string('sourceCommit', {
      max: 64,
      pattern: HEX_COMMIT,
      what: 'a lower-case hex commit id',
    }),
    trainingRunId: f.string('trainingRunId', { max: 128 }),
    datasetSnapshotSha256: sha('datasetSnapshotSha256'),
    splitKey: f.string('splitKey', { max: 256 }),
    dependencyLockSha256: sha('dependencyLockSha256'),
    seed: f.integer('seed', { max: Number.MAX_SAFE_INTEGER }),
    hyperparameters: f.object('hyperparameters', (h) => {
      const out: Record<string, number | string> = {};
      const keys = h.unread();
      if (keys.length > 128) fail(h.path, 'has more than 128 entries');
      for (const key of keys) {
        const v = h.raw(key);
        if (typeof v === 'string') out[key] = readString(v, h.at(key), fail, { min: 0, max: 256 });
        else out[key] = readNumber(v, h.at(key), fail);
      }
      return out;
    }),
  };
  return out;
}

function metricSet(f: Fields): MetricSet {
  return {
    n: f.integer('n', { max: Number.MAX_SAFE_INTEGER }),
    sensitivity: f.number('sensitivity', fraction),
    specificity: f.number('specificity', fraction),
    rocAuc: f.number('rocAuc', fraction),
    ece: f.number('ece', fraction),
  };
}

function criterion(value: unknown, path: string): AcceptanceCriterion {
  const f = Fields.of(value, path, fail);
  const out = {
    metric: f.string('metric', { max: 128 }),
    comparator: f.literal('comparator', ['>=', '<='] as const),
    threshold: f.number('threshold'),
    observed: f.number('observed'),
    passed: f.boolean('passed'),
  };
  const holds = out.comparator === '>=' ? out.observed >= out.threshold : out.observed <= out.threshold;
  if (holds !== out.passed)
    fail(
      f.at('passed'),
      `says ${out.passed} but ${out.observed} ${out.comparator} ${out.threshold} is ${holds}`,
    );
  f.done();
  return out;
}

function evidenceSummary(f: Fields): EvidenceSummary {
  const testSet = f.object('testSet', metricSet);
  const perCohort = f.array('perCohort', { max: MANIFEST_LIMITS.maxCohorts }, (v, p) => {
    const c = Fields.of(v, p, fail);
    const out = { cohort: c.string('cohort', { max: 128 }), ...metricSet(c) };
    c.done();
    return out;
  });
  const acceptance = f.array('acceptance', { min: 1, max: MANIFEST_LIMITS.maxCriteria }, criterion);
  const allPassed = f.boolean('allPassed');
  if (allPassed !== acceptance.every((c) => c.passed))
    fail(f.at('allPassed'), 'disagrees with the acceptance criteria');
  return { testSet, perCohort, acceptance, allPassed };
}

function fileEntry(value: unknown, path: string): FileEntry {
  const f = Fields.of(value, path, fail);
  const filePath = f.string('path', { max: 255 });
  checkBundlePath(filePath, f.at('path'));
  const out = {
    path: filePath,
    size: f.integer('size', { max: Number.MAX_SAFE_INTEGER }),
    sha256: f.string('sha256', { min: 64, max: 64, pattern: HEX_SHA256, what: 'a lower-case hex SHA-256' }),
  };
  f.done();
  return out;
}
