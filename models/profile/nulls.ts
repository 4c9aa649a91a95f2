// Sample-size-aware null thresholds for the drift statistics (DESIGN.md "Drift": a fixed
// "PSI > 0.1" ignores n). For each n in the grid we draw `replicates` multinomial samples of size
// n from the reference ordered-bin proportions (H₀: no drift), compute each statistic against the
// reference, and keep the ⌈(1−α)·R⌉-th smallest of the R replicate values. A monitor raises an
// alarm when statistic > threshold, so the per-test false-alarm rate is at most α up to
// Monte-Carlo error (statistics are discrete: ties at the threshold do not alarm).
//
// Sampling: one draw is u = the next 32-bit output of a xoroshiro128+ stream, mapped to the first
// bin whose cumulative proportion, scaled to 2³² and floored, exceeds u (bin probabilities exact to
// 2⁻³²). The samples for the grid's sizes are nested prefixes of one sequence of max(n) draws per
// replicate; each size's marginal distribution is still exactly multinomial(n, p). The stream's
// seed derives from (seed, the proportions' bytes), so variables with the same reference
// proportions share one simulation, whatever their name or position.
//
// The table has the shape of monitor/stats NullThresholdTable (tested), so the monitor reads it as is.
import { createHash } from 'node:crypto';
import { seededRng } from '../training/index.ts';
import { ProfileError } from './errors.ts';
import { dlog } from '../training/index.ts';
import { orderedPart, representativePoints } from './statistics.ts';

export interface NullModelOptions {
  /** Per-test false-alarm rate. */
  readonly alpha: number;
  readonly replicates: number;
  readonly seed: number;
  /** Strictly increasing sample sizes (non-NaN observations per interval). */
  readonly sampleSizes: readonly number[];
  /** PSI zero-bin ε (statistics.ts). */
  readonly epsilon: number;
}

export const DEFAULT_SAMPLE_SIZES: readonly number[] = Object.freeze([
  50, 100, 200, 500, 1000, 2000, 5000, 10000,
]);

export const DEFAULT_NULL_MODEL: Omit<NullModelOptions, 'seed'> = Object.freeze({
  alpha: 0.01,
  replicates: 2000,
  sampleSizes: DEFAULT_SAMPLE_SIZES,
  epsilon: 1e-4,
});

export const NULL_STATISTICS = Object.freeze(['psi', 'js', 'ks', 'wasserstein', 'chi2'] as const);
export type NullStatistic = (typeof NULL_STATISTICS)[number];

/** One variable's thresholds; each array is aligned with sampleSizes. */
export interface NullThresholdTable {
  readonly method: 'monte-carlo';
  readonly alpha: number;
  readonly replicates: number;
  readonly seed: number;
  readonly epsilon: number;
  readonly sampleSizes: readonly number[];
  /** Wasserstein is divided by the reference SD (0 for a one-bin reference with SD 0). */
  readonly thresholds: { readonly [S in NullStatistic]: readonly number[] };
}

export function checkNullModelOptions(o: NullModelOptions): void {
  const bad = (msg: string): ProfileError => new ProfileError('BAD_OPTION', msg);
  if (!(o.alpha > 0 && o.alpha < 0.5)) throw bad(`alpha ${o.alpha} not in (0, 0.5)`);
  if (!Number.isSafeInteger(o.replicates) || o.replicates < 100 || o.replicates > 100_000) {
    throw bad(`replicates ${o.replicates} not in [100, 100000]`);
  }
  if (!Number.isSafeInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw bad(`seed ${o.seed}`);
  if (!(o.epsilon > 0 && o.epsilon < 0.01)) throw bad(`epsilon ${o.epsilon} not in (0, 0.01)`);
  if (o.sampleSizes.length < 1 || o.sampleSizes.length > 64) throw bad('1 to 64 sample sizes');
  let previous = 0;
  for (const n of o.sampleSizes) {
    if (!Number.isSafeInteger(n) || n <= previous || n > 1_000_000) {
      throw bad(`sample sizes must be strictly increasing integers in [1, 1e6], got ${n}`);
    }
    previous = n;
  }
}

function proportionsKey(p: Float64Array): string {
  return createHash('sha256')
    .update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength))
    .digest('hex');
}

/** Simulated null count vectors: per sample size, replicates × K counts. */
type NullSamples = readonly Uint32Array[];

/** Reuses simulations between variables with identical reference proportions (one build). */
export type NullSampleCache = Map<string, NullSamples>;

const BUCKET_BITS = 16;
const AMBIGUOUS = 0xffff;

function drawSamples(p: Float64Array, options: NullModelOptions, key: string): NullSamples {
  const k = p.length;
  // Cumulative cut points in [0, 2³²]; the last is 2³² so every u lands in a bin.
  const cut = new Float64Array(k);
  let cum = 0;
  for (let i = 0; i < k; i++) {
    cum += p[i] ?? 0;
    cut[i] = i === k - 1 ? 4294967296 : Math.floor(Math.min(cum, 1) * 4294967296);
  }
  // Speed-up only (the mapping is unchanged): the top 16 bits of u decide the bin unless a cut
  // point falls inside that bucket, in which case the full comparison runs.
  const buckets = new Uint16Array(1 << BUCKET_BITS);
  const width = 2 ** (32 - BUCKET_BITS);
  let bin = 0;
  for (let j = 0; j < buckets.length; j++) {
    const lo = j * width;
    while (lo >= (cut[bin] ?? 0)) bin++;
    buckets[j] = lo + width - 1 < (cut[bin] ?? 0) ? bin : AMBIGUOUS;
  }
  const rng = seededRng(options.seed, `profile-null:${key}`);
  const sizes = options.sampleSizes;
  const maxN = sizes[sizes.length - 1] ?? 0;
  const r = options.replicates;
  const out = sizes.map(() => new Uint32Array(r * k));
  const sample = new Int32Array(k);
  for (let rep = 0; rep < r; rep++) {
    sample.fill(0);
    let next = 0;
    let checkpoint = sizes[0] ?? 0;
    for (let drawn = 1; drawn <= maxN; drawn++) {
      const u = rng.next() >>> 0;
      let b = buckets[u >>> (32 - BUCKET_BITS)] ?? AMBIGUOUS;
      if (b === AMBIGUOUS) {
        b = 0;
        while (u >= (cut[b] ?? 0)) b++;
      }
      sample[b] = (sample[b] ?? 0) + 1;
      if (drawn === checkpoint) {
        (out[next] as Uint32Array).set(sample, rep * k);
        next++;
        checkpoint = sizes[next] ?? 0;
      }
    }
  }
  return out;
}

/**
 * All five statistics of one simulated count vector against proportions `p` (sum 1), in one pass
 * without allocation: the same formulas as statistics.ts (a test checks they agree), inlined
 * because this runs replicates × sizes times per variable.
 */
export function nullStatistics(
  sample: ArrayLike<number>,
  p: Float64Array,
  points: Float64Array,
  sd: number,
  epsilon: number,
  out: Record<NullStatistic, number>,
): void {
  const k = p.length;
  let n = 0;
  let inSupport = 0;
  let mass = 0;
  for (let i = 0; i < k; i++) {
    const c = sample[i] ?? 0;
    n += c;
    if ((p[i] ?? 0) > 0) {
      inSupport += c;
      mass += p[i] ?? 0;
    }
  }
  const norm = 1 + k * epsilon;
  let psiSum = 0;
  let jsSum = 0;
  let chi2 = 0;
  let ks = 0;
  let w = 0;
  let cq = 0;
  let cp = 0;
  for (let i = 0; i < k; i++) {
    const c = sample[i] ?? 0;
    const q = c / n;
    const pi = p[i] ?? 0;
    const qt = (q + epsilon) / norm;
    const pt = (pi + epsilon) / norm;
    psiSum += (qt - pt) * dlog(qt / pt);
    const m = 0.5 * (q + pi);
    if (q > 0) jsSum += q * dlog(q / m);
    if (pi > 0) {
      jsSum += pi * dlog(pi / m);
      if (inSupport > 0) {
        const expected = (inSupport * pi) / mass;
        const d = c - expected;
        chi2 += (d * d) / expected;
      }
    }
    if (i < k - 1) {
      cq += q;
      cp += pi;
      const gap = Math.abs(cq - cp);
      if (gap > ks) ks = gap;
      w += gap * ((points[i + 1] ?? 0) - (points[i] ?? 0));
    }
  }
  out.psi = psiSum;
  out.js = Math.sqrt(Math.min(1, Math.max(0, (0.5 * jsSum) / Math.LN2)));
  out.ks = ks;
  out.wasserstein = sd > 0 ? w / sd : 0;
  out.chi2 = chi2;
}

/**
 * Null threshold table of one variable from its reference `edges`, `counts` (full m + 3 layout)
 * and SD. Pass one `cache` to all variables of a build to simulate each distinct proportions
 * vector once.
 */
export function nullThresholds(
  edges: readonly number[],
  counts: readonly number[],
  sd: number,
  options: NullModelOptions,
  cache: NullSampleCache = new Map(),
): NullThresholdTable {
  checkNullModelOptions(options);
  const counted = orderedPart(counts);
  let total = 0;
  for (const c of counted) total += c;
  if (total === 0) throw new ProfileError('DEGENERATE', 'no non-NaN reference value');
  const k = counted.length;
  const p = new Float64Array(k);
  for (let i = 0; i < k; i++) p[i] = (counted[i] ?? 0) / total;
  const key = proportionsKey(p);
  const cacheKey = `${options.seed}:${options.replicates}:${options.sampleSizes.join(',')}:${key}`;
  let samples = cache.get(cacheKey);
  if (samples === undefined) {
    samples = drawSamples(p, options, key);
    cache.set(cacheKey, samples);
  }
  const points = representativePoints(edges);
  const r = options.replicates;
  const rank = Math.ceil((1 - options.alpha) * r) - 1;
  const thresholds: Record<NullStatistic, number[]> = { psi: [], js: [], ks: [], wasserstein: [], chi2: [] };
  const values: Record<NullStatistic, Float64Array> = {
    psi: new Float64Array(r),
    js: new Float64Array(r),
    ks: new Float64Array(r),
    wasserstein: new Float64Array(r),
    chi2: new Float64Array(r),
  };
  const one: Record<NullStatistic, number> = { psi: 0, js: 0, ks: 0, wasserstein: 0, chi2: 0 };
  for (const all of samples) {
    for (let rep = 0; rep < r; rep++) {
      nullStatistics(all.subarray(rep * k, rep * k + k), p, points, sd, options.epsilon, one);
      for (const stat of NULL_STATISTICS) values[stat][rep] = one[stat];
    }
    for (const stat of NULL_STATISTICS) thresholds[stat].push(values[stat].sort()[rank] ?? Number.NaN);
  }
  return {
    method: 'monte-carlo',
    alpha: options.alpha,
    replicates: options.replicates,
    seed: options.seed,
    epsilon: options.epsilon,
    sampleSizes: [...options.sampleSizes],
    thresholds,
  };
}
