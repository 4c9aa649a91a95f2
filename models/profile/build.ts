// Builds a ReferenceProfile from reference data (typically the validation split) and the model's
// scores on it. Deterministic: same inputs and seed give a deep-equal profile.
import { reliabilityBins } from '../evaluation/index.ts';
import { sortedFinite } from '../training/index.ts';
import { binCounts, quantileEdges } from './bins.ts';
import { ProfileError } from './errors.ts';
import { DEFAULT_NULL_MODEL, checkNullModelOptions, nullThresholds } from './nulls.ts';
import type { NullModelOptions, NullSampleCache } from './nulls.ts';
import { BINNING_RULE, PROFILE_FORMAT_VERSION } from './types.ts';
import type { BinnedReference, CalibrationReference, ReferenceProfile } from './types.ts';

export interface ProfileInput {
  readonly featureNames: readonly string[];
  /** Row-major [n, F] reference features (NaN allowed, ±∞ not). */
  readonly x: ArrayLike<number>;
  /** Model scores on the same rows (as the deployed model computes them). */
  readonly scores: ArrayLike<number>;
  /** Labels on the same rows, for the reference calibration; omit for none. */
  readonly labels?: ArrayLike<number>;
  readonly referenceSplit: string;
}

export interface ProfileOptions extends NullModelOptions {
  readonly interiorBins: number;
  readonly calibrationBins: number;
  readonly scoreName: string;
}

export const DEFAULT_PROFILE_OPTIONS: Omit<ProfileOptions, 'seed'> = Object.freeze({
  ...DEFAULT_NULL_MODEL,
  interiorBins: 10,
  calibrationBins: 10,
  scoreName: 'score',
});

function momentsOf(values: ArrayLike<number>): { mean: number; sd: number; min: number; max: number } {
  const sorted = sortedFinite(values);
  const n = sorted.length;
  if (n === 0) throw new ProfileError('DEGENERATE', 'no non-NaN reference value');
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of sorted) ss += (v - mean) * (v - mean);
  const min = (sorted[0] ?? 0) + 0;
  const max = (sorted[n - 1] ?? 0) + 0;
  // Rounding can push the mean of near-equal values a hair outside [min, max]; clamp it.
  return { mean: Math.min(max, Math.max(min, mean)), sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, min, max };
}

/** Reference of one variable: edges, counts, proportions, moments, support and null thresholds. */
export function binnedReference(
  name: string,
  values: ArrayLike<number>,
  options: Pick<ProfileOptions, 'interiorBins'> & NullModelOptions,
  cache: NullSampleCache = new Map(),
): BinnedReference {
  if (name.length === 0 || name.length > 256)
    throw new ProfileError('BAD_INPUT', `bad variable name "${name}"`);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? Number.NaN;
    if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) {
      throw new ProfileError('BAD_INPUT', `${name}: infinite reference value`);
    }
  }
  let edges: number[];
  try {
    edges = quantileEdges(values, options.interiorBins);
  } catch (e) {
    if (e instanceof ProfileError) throw new ProfileError(e.code, `${name}: ${e.message}`, '', { cause: e });
    throw e;
  }
  const counts = binCounts(edges, values);
  const n = values.length;
  const { mean, sd, min, max } = momentsOf(values);
  return {
    name,
    edges,
    counts,
    proportions: counts.map((c) => c / n),
    n,
    mean,
    sd,
    min,
    max,
    nullThresholds: nullThresholds(edges, counts, sd, options, cache),
  };
}

export function buildReferenceProfile(
  input: ProfileInput,
  options: Partial<ProfileOptions> & { seed: number },
): ReferenceProfile {
  const o: ProfileOptions = { ...DEFAULT_PROFILE_OPTIONS, ...options };
  checkNullModelOptions(o);
  if (!Number.isSafeInteger(o.calibrationBins) || o.calibrationBins < 1 || o.calibrationBins > 1000) {
    throw new ProfileError('BAD_OPTION', `calibrationBins ${o.calibrationBins} not in [1, 1000]`);
  }
  const f = input.featureNames.length;
  const n = input.scores.length;
  if (f < 1 || new Set([...input.featureNames, o.scoreName]).size !== f + 1) {
    throw new ProfileError(
      'BAD_INPUT',
      'feature names must be non-empty, unique and differ from the score name',
    );
  }
  if (input.x.length !== n * f)
    throw new ProfileError('BAD_INPUT', `x has ${input.x.length} values for ${n} × ${f}`);
  if (n < 1) throw new ProfileError('BAD_INPUT', 'no reference rows');
  if (input.referenceSplit.length === 0) throw new ProfileError('BAD_INPUT', 'referenceSplit is empty');
  const column = new Float64Array(n);
  const cache: NullSampleCache = new Map();
  const features = input.featureNames.map((name, j) => {
    for (let r = 0; r < n; r++) column[r] = input.x[r * f + j] ?? Number.NaN;
    return binnedReference(name, column, o, cache);
  });
  const score = binnedReference(o.scoreName, input.scores, o, cache);
  let calibration: CalibrationReference | null = null;
  if (input.labels !== undefined) {
    const bins = reliabilityBins(input.scores, input.labels, o.calibrationBins);
    calibration = {
      edges: [0, ...bins.map((b) => b.upper)],
      n: bins.map((b) => b.n),
      sumP: bins.map((b) => b.sumP),
      sumY: bins.map((b) => b.sumY),
    };
  }
  return {
    formatVersion: PROFILE_FORMAT_VERSION,
    referenceSplit: input.referenceSplit,
    binning: { rule: BINNING_RULE, interiorBins: o.interiorBins },
    nullModel: {
      method: 'monte-carlo',
      bins: 'ordered',
      alpha: o.alpha,
      replicates: o.replicates,
      seed: o.seed,
      epsilon: o.epsilon,
      sampleSizes: [...o.sampleSizes],
    },
    features,
    score,
    calibration,
  };
}
