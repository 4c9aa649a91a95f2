// Monte-Carlo null distributions of the drift statistics: draw n observations from the reference
// itself (multinomial on the ordered bins), compute every statistic, repeat. Exact for the discrete,
// small-n, sparse-bin cases where the asymptotics of analyticNull.ts are poor. Seeded: the same
// reference, grid and seed give the same table on any machine, so it can be signed into a bundle.
import { binnedKs, chiSquareGof, jensenShannonDistance, psi, PSI_EPSILON } from './distances.ts';
import { normalisedWasserstein, prepareReference } from './drift.ts';
import type { PreparedReference, ReferenceBins } from './drift.ts';
import { StatsError } from './errors.ts';
import { SeededRandom } from './random.ts';
import { asymptoticExponent, DRIFT_STATISTICS, isDriftStatisticName } from './statistics.ts';
import type { DriftStatisticName } from './statistics.ts';

/** Sorted (ascending) null replicates of every statistic at one n. */
export type NullSample = { readonly n: number; readonly replicates: number } & {
  readonly [S in DriftStatisticName]: Float64Array;
};

/** Statistic values of one ordered-bin count vector (the same functions the device runs). */
function statisticsOf(
  counts: Float64Array,
  reference: PreparedReference,
  epsilon: number,
): Record<DriftStatisticName, number> {
  return {
    psi: psi(counts, reference.ordered, epsilon),
    js: jensenShannonDistance(counts, reference.ordered),
    ks: binnedKs(counts, reference.ordered),
    wasserstein: normalisedWasserstein(counts, reference),
    chi2: chiSquareGof(counts, reference.ordered).statistic,
  };
}

function checkReplicates(replicates: number): void {
  if (!Number.isInteger(replicates) || replicates < 1) {
    throw new StatsError('BAD_ARGUMENT', `replicates must be an integer >= 1, got ${replicates}`);
  }
}

function checkSampleSize(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new StatsError('BAD_ARGUMENT', `sample size must be an integer >= 1`);
}

/** Null replicates at sample size n, drawn with `random` (advanced in place). */
export function simulateNullWith(
  reference: PreparedReference,
  n: number,
  replicates: number,
  random: SeededRandom,
  epsilon: number = PSI_EPSILON,
): NullSample {
  checkSampleSize(n);
  checkReplicates(replicates);
  const counts = new Float64Array(reference.ordered.length);
  const out = {
    psi: new Float64Array(replicates),
    js: new Float64Array(replicates),
    ks: new Float64Array(replicates),
    wasserstein: new Float64Array(replicates),
    chi2: new Float64Array(replicates),
  };
  for (let r = 0; r < replicates; r++) {
    random.multinomialInto(n, reference.ordered, counts);
    const s = statisticsOf(counts, reference, epsilon);
    out.psi[r] = s.psi;
    out.js[r] = s.js;
    out.ks[r] = s.ks;
    out.wasserstein[r] = s.wasserstein;
    out.chi2[r] = s.chi2;
  }
  for (const name of DRIFT_STATISTICS) out[name].sort();
  return { n, replicates, ...out };
}

/** Null replicates at sample size n from a seed. */
export function simulateNull(options: {
  readonly reference: PreparedReference;
  readonly n: number;
  readonly replicates: number;
  readonly seed: number;
  readonly epsilon?: number;
}): NullSample {
  return simulateNullWith(
    options.reference,
    options.n,
    options.replicates,
    SeededRandom.fromSeed(options.seed),
    options.epsilon ?? PSI_EPSILON,
  );
}

/**
 * Monte-Carlo p-value with the +1 correction, (1 + #{null ≥ observed}) / (R + 1): never 0, and a
 * valid (slightly conservative) p-value for any R (Davison & Hinkley 1997, §4.2; North et al. 2002).
 */
export function empiricalPValue(sortedNull: Float64Array, observed: number): number {
  if (Number.isNaN(observed)) throw new StatsError('BAD_ARGUMENT', 'observed statistic is NaN');
  // First index with null[i] >= observed (binary search on the ascending sample).
  let lo = 0;
  let hi = sortedNull.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sortedNull[mid] as number) < observed) lo = mid + 1;
    else hi = mid;
  }
  return (1 + sortedNull.length - lo) / (sortedNull.length + 1);
}

/**
 * Upper (1 − α) quantile of a sorted sample: the ⌈(1 − α)R⌉-th smallest value. With the rule
 * "alarm when statistic > threshold" the false-alarm rate is at most α even for discrete statistics.
 */
export function upperQuantile(sorted: Float64Array, alpha: number): number {
  if (sorted.length === 0) throw new StatsError('BAD_ARGUMENT', 'empty sample');
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((1 - alpha) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** A threshold table for one feature: the (1 − α) null quantile of each statistic at each grid n. */
export interface NullThresholdTable {
  readonly method: 'monte-carlo';
  readonly alpha: number;
  readonly replicates: number;
  readonly seed: number;
  readonly epsilon: number;
  /** Strictly increasing integer sample sizes. */
  readonly sampleSizes: readonly number[];
  readonly thresholds: { readonly [S in DriftStatisticName]: readonly number[] };
}

export interface CalibrateNullOptions extends ReferenceBins {
  readonly sampleSizes: readonly number[];
  readonly alpha: number;
  readonly replicates: number;
  readonly seed: number;
  readonly epsilon?: number;
}

function checkGrid(sampleSizes: readonly number[]): void {
  if (sampleSizes.length < 1) throw new StatsError('BAD_ARGUMENT', 'need at least one sample size');
  for (let i = 0; i < sampleSizes.length; i++) {
    const n = sampleSizes[i] as number;
    checkSampleSize(n);
    if (i > 0 && !(n > (sampleSizes[i - 1] as number))) {
      throw new StatsError('BAD_ARGUMENT', 'sample sizes must be strictly increasing');
    }
  }
}

/**
 * Calibrates the null thresholds of every statistic on a grid of n by simulation under the reference.
 * Grid point i draws from the i-th jumped substream of the seed, so appending a grid point leaves the
 * earlier thresholds unchanged.
 */
export function calibrateNullThresholds(options: CalibrateNullOptions): NullThresholdTable {
  const { sampleSizes, alpha, replicates, seed } = options;
  if (!(alpha > 0 && alpha < 1))
    throw new StatsError('BAD_ARGUMENT', `alpha must be in (0, 1), got ${alpha}`);
  checkReplicates(replicates);
  checkGrid(sampleSizes);
  const epsilon = options.epsilon ?? PSI_EPSILON;
  const reference = prepareReference(options);
  const root = SeededRandom.fromSeed(seed);
  const thresholds: Record<DriftStatisticName, number[]> = {
    psi: [],
    js: [],
    ks: [],
    wasserstein: [],
    chi2: [],
  };
  for (const n of sampleSizes) {
    const sample = simulateNullWith(reference, n, replicates, root.split(), epsilon);
    for (const name of DRIFT_STATISTICS) thresholds[name].push(upperQuantile(sample[name], alpha));
  }
  return {
    method: 'monte-carlo',
    alpha,
    replicates,
    seed,
    epsilon,
    sampleSizes: [...sampleSizes],
    thresholds,
  };
}

export interface TableThreshold {
  readonly threshold: number;
  /** n lies outside the grid: the nearest grid value was scaled by the asymptotic power of n. */
  readonly extrapolated: boolean;
}

function interpolateLogLog(n0: number, t0: number, n1: number, t1: number, n: number): number {
  const w = Math.log(n / n0) / Math.log(n1 / n0);
  if (t0 > 0 && t1 > 0) return Math.exp(Math.log(t0) + w * Math.log(t1 / t0));
  return t0 + w * (t1 - t0);
}

/**
 * Threshold for `statistic` at sample size n from a table: exact at grid points, log–log linear
 * between them (the quantiles are close to power laws in n), and outside the grid the nearest grid
 * value times (n / n_grid)^exponent with the statistic's asymptotic exponent (flagged `extrapolated`).
 */
export function thresholdAt(
  table: NullThresholdTable,
  statistic: DriftStatisticName,
  n: number,
): TableThreshold {
  if (!(n >= 1) || !Number.isFinite(n)) throw new StatsError('BAD_ARGUMENT', `n must be >= 1, got ${n}`);
  const sizes = table.sampleSizes;
  const values = table.thresholds[statistic];
  const count = sizes.length;
  const first = sizes[0] as number;
  const last = sizes[count - 1] as number;
  if (n < first || n > last) {
    const anchorN = n < first ? first : last;
    const anchorT = (n < first ? values[0] : values[count - 1]) as number;
    return { threshold: anchorT * Math.pow(n / anchorN, asymptoticExponent(statistic)), extrapolated: true };
  }
  let hi = 0;
  while ((sizes[hi] as number) < n) hi++;
  if (sizes[hi] === n) return { threshold: values[hi] as number, extrapolated: false };
  const lo = hi - 1;
  return {
    threshold: interpolateLogLog(
      sizes[lo] as number,
      values[lo] as number,
      sizes[hi] as number,
      values[hi] as number,
      n,
    ),
    extrapolated: false,
  };
}

function finiteNumber(raw: unknown, what: string): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw))
    throw new StatsError('BAD_STATE', `${what} must be a number`);
  return raw;
}

function numberArray(raw: unknown, what: string, length?: number): number[] {
  if (!Array.isArray(raw)) throw new StatsError('BAD_STATE', `${what} must be an array`);
  if (length !== undefined && raw.length !== length) {
    throw new StatsError('BAD_STATE', `${what} must have ${length} entries`);
  }
  return raw.map((x: unknown, i) => finiteNumber(x, `${what}[${i}]`));
}

/** Parses a table that arrived from outside (a bundle's profile), field by field. */
export function parseNullThresholdTable(raw: unknown): NullThresholdTable {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new StatsError('BAD_STATE', 'threshold table must be an object');
  }
  const o = raw as Record<string, unknown>;
  if (o.method !== 'monte-carlo') throw new StatsError('BAD_STATE', 'unknown threshold table method');
  const alpha = finiteNumber(o.alpha, 'alpha');
  const replicates = finiteNumber(o.replicates, 'replicates');
  const seed = finiteNumber(o.seed, 'seed');
  const epsilon = finiteNumber(o.epsilon, 'epsilon');
  if (!(alpha > 0 && alpha < 1)) throw new StatsError('BAD_STATE', 'alpha must be in (0, 1)');
  if (!Number.isInteger(replicates) || replicates < 1) throw new StatsError('BAD_STATE', 'bad replicates');
  if (!(epsilon > 0 && epsilon < 1)) throw new StatsError('BAD_STATE', 'epsilon must be in (0, 1)');
  const sampleSizes = numberArray(o.sampleSizes, 'sampleSizes');
  try {
    checkGrid(sampleSizes);
  } catch (error) {
    throw new StatsError('BAD_STATE', 'sampleSizes must be increasing integers >= 1', { cause: error });
  }
  const t = o.thresholds;
  if (typeof t !== 'object' || t === null || Array.isArray(t))
    throw new StatsError('BAD_STATE', 'thresholds missing');
  const rawThresholds = t as Record<string, unknown>;
  for (const key of Object.keys(rawThresholds)) {
    if (!isDriftStatisticName(key)) throw new StatsError('BAD_STATE', `unknown statistic ${key}`);
  }
  const read = (name: DriftStatisticName): number[] => {
    const values = numberArray(rawThresholds[name], `thresholds.${name}`, sampleSizes.length);
    if (values.some((v) => v < 0)) throw new StatsError('BAD_STATE', `thresholds.${name} must be >= 0`);
    return values;
  };
  for (const key of Object.keys(o)) {
    if (!['method', 'alpha', 'replicates', 'seed', 'epsilon', 'sampleSizes', 'thresholds'].includes(key)) {
      throw new StatsError('BAD_STATE', `unknown field ${key}`);
    }
  }
  return {
    method: 'monte-carlo',
    alpha,
    replicates,
    seed,
    epsilon,
    sampleSizes,
    thresholds: {
      psi: read('psi'),
      js: read('js'),
      ks: read('ks'),
      wasserstein: read('wasserstein'),
      chi2: read('chi2'),
    },
  };
}
