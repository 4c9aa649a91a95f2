// Builds a ReferenceProfile from reference data (typically the validation split) and the model's
// scores on it. Deterministic: same inputs and seed give a deep-equal profile.
import { checkScoresLabels } from '../evaluation/index.ts';
import { sortedFinite } from '../training/index.ts';
import { binCounts, binIndex, mergeEdges, quantileEdges } from './bins.ts';
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
  readonly scoreName: string;
  /**
   * Edges to add to a variable's quantile edges, by variable name. Put the operating threshold
   * (and the release / indeterminate thresholds) on the score, so that score-bin counts give
   * exact confusion counts at them.
   */
  readonly extraEdges: Readonly<Record<string, readonly number[]>>;
}

export const DEFAULT_PROFILE_OPTIONS: Omit<ProfileOptions, 'seed'> = Object.freeze({
  ...DEFAULT_NULL_MODEL,
  interiorBins: 10,
  scoreName: 'score',
  extraEdges: Object.freeze({}),
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
  extraEdges: readonly number[] = [],
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
    edges = mergeEdges(quantileEdges(values, options.interiorBins), extraEdges);
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
  for (const name of Object.keys(o.extraEdges)) {
    if (name !== o.scoreName && !input.featureNames.includes(name)) {
      throw new ProfileError('BAD_OPTION', `extra edges for unknown variable ${name}`);
    }
  }
  const column = new Float64Array(n);
  const cache: NullSampleCache = new Map();
  const features = input.featureNames.map((name, j) => {
    for (let r = 0; r < n; r++) column[r] = input.x[r * f + j] ?? Number.NaN;
    return binnedReference(name, column, o, cache, o.extraEdges[name] ?? []);
  });
  const score = binnedReference(o.scoreName, input.scores, o, cache, o.extraEdges[o.scoreName] ?? []);
  let calibration: CalibrationReference | null = null;
  if (input.labels !== undefined) {
    try {
      checkScoresLabels(input.scores, input.labels, true);
    } catch (cause) {
      throw new ProfileError('BAD_INPUT', 'scores must be probabilities and labels 0/1', '', { cause });
    }
    const k = score.counts.length;
    const n = new Array<number>(k).fill(0);
    const sumP = new Array<number>(k).fill(0);
    const sumY = new Array<number>(k).fill(0);
    for (let i = 0; i < input.scores.length; i++) {
      const p = input.scores[i] ?? Number.NaN;
      const b = binIndex(score.edges, p);
      n[b] = (n[b] ?? 0) + 1;
      sumP[b] = (sumP[b] ?? 0) + p;
      sumY[b] = (sumY[b] ?? 0) + (input.labels[i] ?? 0);
    }
    calibration = { n, sumP, sumY };
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
