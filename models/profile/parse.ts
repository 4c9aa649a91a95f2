// parseProfile: the validator for profiles arriving inside bundles (untrusted until proven).
// Reads `unknown` field by field, rejects unknown fields, caps every array, checks every invariant
// the device and collector rely on (edge order, counts layout, proportions = counts / n, threshold
// table shape), and returns a fresh plain object in canonical key order.
import { countsLength, edgesAreValid } from './bins.ts';
import { ProfileError } from './errors.ts';
import { NULL_STATISTICS } from './nulls.ts';
import type { NullStatistic, NullThresholdTable } from './nulls.ts';
import { PROFILE_FORMAT_VERSION } from './types.ts';
import type { BinnedReference, CalibrationReference, NullModelInfo, ReferenceProfile } from './types.ts';

export const PROFILE_LIMITS = Object.freeze({
  maxFeatures: 1024,
  maxEdges: 1025,
  maxSampleSizes: 64,
  maxNameLength: 256,
});

type Obj = Readonly<Record<string, unknown>>;

function isPlainObject(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function object(v: unknown, path: string, keys: readonly string[]): Obj {
  if (!isPlainObject(v)) throw new ProfileError('BAD_TYPE', 'expected an object', path);
  for (const key of Object.keys(v)) {
    if (!keys.includes(key)) throw new ProfileError('UNKNOWN_FIELD', `unknown field "${key}"`, path);
  }
  for (const key of keys) {
    if (!(key in v)) throw new ProfileError('MISSING_FIELD', `missing field "${key}"`, path);
  }
  return v;
}

function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ProfileError('BAD_TYPE', 'expected a finite number', path);
  return v + 0; // −0 → 0
}

function int(v: unknown, path: string, min: number, max: number): number {
  const n = num(v, path);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ProfileError('BAD_VALUE', `expected an integer in [${min}, ${max}]`, path);
  }
  return n;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new ProfileError('BAD_TYPE', 'expected a string', path);
  if (v.length === 0 || v.length > PROFILE_LIMITS.maxNameLength) {
    throw new ProfileError('BAD_VALUE', `string length must be 1..${PROFILE_LIMITS.maxNameLength}`, path);
  }
  return v;
}

function array(v: unknown, path: string, max: number): readonly unknown[] {
  if (!Array.isArray(v)) throw new ProfileError('BAD_TYPE', 'expected an array', path);
  if (v.length > max) throw new ProfileError('TOO_LARGE', `more than ${max} entries`, path);
  return v as readonly unknown[];
}

function numbers(v: unknown, path: string, max: number): number[] {
  return array(v, path, max).map((x, i) => num(x, `${path}[${i}]`));
}

function nullModel(v: unknown, path: string): NullModelInfo {
  const o = object(v, path, ['method', 'bins', 'alpha', 'replicates', 'seed', 'epsilon', 'sampleSizes']);
  if (o['method'] !== 'monte-carlo') {
    throw new ProfileError('BAD_VALUE', 'unsupported null-model method', `${path}.method`);
  }
  if (o['bins'] !== 'ordered') throw new ProfileError('BAD_VALUE', 'unsupported bins', `${path}.bins`);
  const alpha = num(o['alpha'], `${path}.alpha`);
  if (!(alpha > 0 && alpha < 0.5)) {
    throw new ProfileError('BAD_VALUE', 'alpha must be in (0, 0.5)', `${path}.alpha`);
  }
  const epsilon = num(o['epsilon'], `${path}.epsilon`);
  if (!(epsilon > 0 && epsilon < 0.01)) {
    throw new ProfileError('BAD_VALUE', 'epsilon must be in (0, 0.01)', `${path}.epsilon`);
  }
  const sampleSizes = array(o['sampleSizes'], `${path}.sampleSizes`, PROFILE_LIMITS.maxSampleSizes).map(
    (x, i) => int(x, `${path}.sampleSizes[${i}]`, 1, 1_000_000),
  );
  if (sampleSizes.length === 0) {
    throw new ProfileError('BAD_VALUE', 'no sample sizes', `${path}.sampleSizes`);
  }
  for (let i = 1; i < sampleSizes.length; i++) {
    if (!((sampleSizes[i] ?? 0) > (sampleSizes[i - 1] ?? 0))) {
      throw new ProfileError('BAD_VALUE', 'sample sizes must increase strictly', `${path}.sampleSizes[${i}]`);
    }
  }
  return {
    method: 'monte-carlo',
    bins: 'ordered',
    alpha,
    replicates: int(o['replicates'], `${path}.replicates`, 1, 100_000_000),
    seed: int(o['seed'], `${path}.seed`, 0, 0xffffffff),
    epsilon,
    sampleSizes,
  };
}

/** Upper bound of each statistic (JS distance and KS live in [0, 1]). */
const STATISTIC_MAX: Readonly<Record<NullStatistic, number>> = {
  psi: Number.MAX_VALUE,
  js: 1,
  ks: 1,
  wasserstein: Number.MAX_VALUE,
  chi2: Number.MAX_VALUE,
};

/** A variable's table must repeat the profile's null model exactly. */
function table(v: unknown, path: string, model: NullModelInfo): NullThresholdTable {
  const o = object(v, path, [
    'method',
    'alpha',
    'replicates',
    'seed',
    'epsilon',
    'sampleSizes',
    'thresholds',
  ]);
  const same =
    o['method'] === model.method &&
    o['alpha'] === model.alpha &&
    o['replicates'] === model.replicates &&
    o['seed'] === model.seed &&
    o['epsilon'] === model.epsilon &&
    Array.isArray(o['sampleSizes']) &&
    o['sampleSizes'].length === model.sampleSizes.length &&
    model.sampleSizes.every((n, i) => (o['sampleSizes'] as unknown[])[i] === n);
  if (!same) throw new ProfileError('INCONSISTENT', 'table differs from the profile null model', path);
  const t = object(o['thresholds'], `${path}.thresholds`, NULL_STATISTICS);
  const read = (key: NullStatistic): number[] => {
    const at = `${path}.thresholds.${key}`;
    const values = numbers(t[key], at, PROFILE_LIMITS.maxSampleSizes);
    if (values.length !== model.sampleSizes.length) {
      throw new ProfileError(
        'INCONSISTENT',
        `${values.length} thresholds for ${model.sampleSizes.length} sizes`,
        at,
      );
    }
    values.forEach((x, i) => {
      if (!(x >= 0 && x <= STATISTIC_MAX[key])) {
        throw new ProfileError('BAD_VALUE', `threshold outside [0, ${STATISTIC_MAX[key]}]`, `${at}[${i}]`);
      }
    });
    return values;
  };
  return {
    method: 'monte-carlo',
    alpha: model.alpha,
    replicates: model.replicates,
    seed: model.seed,
    epsilon: model.epsilon,
    sampleSizes: [...model.sampleSizes],
    thresholds: {
      psi: read('psi'),
      js: read('js'),
      ks: read('ks'),
      wasserstein: read('wasserstein'),
      chi2: read('chi2'),
    },
  };
}

const BINNED_KEYS = [
  'name',
  'edges',
  'counts',
  'proportions',
  'n',
  'mean',
  'sd',
  'min',
  'max',
  'nullThresholds',
];

function binned(v: unknown, path: string, model: NullModelInfo): BinnedReference {
  const o = object(v, path, BINNED_KEYS);
  const name = str(o['name'], `${path}.name`);
  const edges = numbers(o['edges'], `${path}.edges`, PROFILE_LIMITS.maxEdges);
  if (!edgesAreValid(edges)) {
    throw new ProfileError(
      'BAD_VALUE',
      'edges must be ≥ 2 finite, strictly increasing numbers',
      `${path}.edges`,
    );
  }
  const k = countsLength(edges);
  const counts = array(o['counts'], `${path}.counts`, PROFILE_LIMITS.maxEdges + 2).map((x, i) =>
    int(x, `${path}.counts[${i}]`, 0, Number.MAX_SAFE_INTEGER),
  );
  if (counts.length !== k)
    throw new ProfileError(
      'INCONSISTENT',
      `${counts.length} counts for ${edges.length} edges`,
      `${path}.counts`,
    );
  const n = int(o['n'], `${path}.n`, 1, Number.MAX_SAFE_INTEGER);
  let total = 0;
  for (const c of counts) total += c;
  if (total !== n) throw new ProfileError('INCONSISTENT', `counts sum to ${total}, n is ${n}`, `${path}.n`);
  if ((counts[k - 1] ?? 0) === n)
    throw new ProfileError('INCONSISTENT', 'all reference values are NaN', `${path}.counts`);
  const proportions = numbers(o['proportions'], `${path}.proportions`, PROFILE_LIMITS.maxEdges + 2);
  if (proportions.length !== k) {
    throw new ProfileError(
      'INCONSISTENT',
      `${proportions.length} proportions for ${k} counts`,
      `${path}.proportions`,
    );
  }
  proportions.forEach((p, i) => {
    if (!(Math.abs(p - (counts[i] ?? 0) / n) <= 1e-12)) {
      throw new ProfileError(
        'INCONSISTENT',
        'proportion differs from count / n',
        `${path}.proportions[${i}]`,
      );
    }
  });
  const sd = num(o['sd'], `${path}.sd`);
  if (sd < 0) throw new ProfileError('BAD_VALUE', 'sd must be ≥ 0', `${path}.sd`);
  const min = num(o['min'], `${path}.min`);
  const max = num(o['max'], `${path}.max`);
  if (!(min <= max)) throw new ProfileError('INCONSISTENT', 'min > max', `${path}.min`);
  const mean = num(o['mean'], `${path}.mean`);
  if (!(mean >= min && mean <= max))
    throw new ProfileError('INCONSISTENT', 'mean outside [min, max]', `${path}.mean`);
  return {
    name,
    edges,
    counts,
    proportions,
    n,
    mean,
    sd,
    min,
    max,
    nullThresholds: table(o['nullThresholds'], `${path}.nullThresholds`, model),
  };
}

function calibration(v: unknown, path: string, score: BinnedReference): CalibrationReference | null {
  if (v === null) return null;
  const o = object(v, path, ['n', 'sumP', 'sumY']);
  const k = score.counts.length;
  const read = (key: 'n' | 'sumP' | 'sumY'): number[] => {
    const values = numbers(o[key], `${path}.${key}`, PROFILE_LIMITS.maxEdges + 2);
    if (values.length !== k) {
      throw new ProfileError('INCONSISTENT', `${values.length} values for ${k} score bins`, `${path}.${key}`);
    }
    return values;
  };
  const n = read('n');
  const sumP = read('sumP');
  const sumY = read('sumY');
  n.forEach((count, i) => {
    const p = sumP[i] ?? Number.NaN;
    const y = sumY[i] ?? Number.NaN;
    // Σp̂ of `count` probabilities lies in [0, count] (slack for the rounding of the sum).
    const ok =
      count === score.counts[i] &&
      Number.isSafeInteger(y) &&
      y >= 0 &&
      y <= count &&
      p >= 0 &&
      p <= count * (1 + 1e-12);
    if (!ok) {
      throw new ProfileError(
        'INCONSISTENT',
        'need n = score counts, integer 0 ≤ Σy ≤ n, 0 ≤ Σp ≤ n',
        `${path}[${i}]`,
      );
    }
  });
  return { n, sumP, sumY };
}

/** Validates an untrusted profile (decoded CBOR or JSON) and returns it in canonical form. */
export function parseProfile(raw: unknown): ReferenceProfile {
  const o = object(raw, '', [
    'formatVersion',
    'referenceSplit',
    'binning',
    'nullModel',
    'features',
    'score',
    'calibration',
  ]);
  if (o['formatVersion'] !== PROFILE_FORMAT_VERSION) {
    throw new ProfileError(
      'UNSUPPORTED_VERSION',
      `formatVersion must be ${PROFILE_FORMAT_VERSION}`,
      'formatVersion',
    );
  }
  const binningRaw = object(o['binning'], 'binning', ['rule', 'interiorBins']);
  const binning = {
    rule: str(binningRaw['rule'], 'binning.rule'),
    interiorBins: int(binningRaw['interiorBins'], 'binning.interiorBins', 1, PROFILE_LIMITS.maxEdges - 1),
  };
  const model = nullModel(o['nullModel'], 'nullModel');
  const featuresRaw = array(o['features'], 'features', PROFILE_LIMITS.maxFeatures);
  if (featuresRaw.length === 0) throw new ProfileError('BAD_VALUE', 'no features', 'features');
  const features = featuresRaw.map((f, i) => binned(f, `features[${i}]`, model));
  const score = binned(o['score'], 'score', model);
  const names = new Set([...features.map((f) => f.name), score.name]);
  if (names.size !== features.length + 1) {
    throw new ProfileError('INCONSISTENT', 'feature and score names must be unique', 'features');
  }
  return {
    formatVersion: PROFILE_FORMAT_VERSION,
    referenceSplit: str(o['referenceSplit'], 'referenceSplit'),
    binning,
    nullModel: model,
    features,
    score,
    calibration: calibration(o['calibration'], 'calibration', score),
  };
}
