// Drift statistics on binned distributions, as the null thresholds assume them. They use the
// ORDERED bins only (underflow, interior…, overflow; the NaN bin is excluded and both distributions
// are renormalised without it); n in a threshold table is the number of non-NaN observations.
// Definitions match monitor/stats/distances.ts (a test cross-checks them):
//   PSI  Σ (q̃ − p̃) ln(q̃/p̃) with q̃ = (q + ε)/(1 + Kε), p̃ likewise, K ordered bins, ε = 1e-4;
//   JS   √JSD, JSD = ½ KL(q‖m) + ½ KL(p‖m) in bits, m = (q + p)/2, 0·log 0 = 0;
//   KS   max over the K − 1 inner boundaries of |Q(j) − P(j)| (cumulative proportions);
//   W    Σ_j |Q(j) − P(j)|·(x_{j+1} − x_j) on representative points, divided by the reference SD;
//   χ²   Pearson Σ (O − E)²/E over the bins with reference proportion > 0 (E from the count there).
// Logarithms come from the training module's deterministic dlog, so thresholds are reproducible.
import { dlog } from '../training/index.ts';

export const PSI_EPSILON = 1e-4;

/** Weights normalised to proportions (sum 1); zeros stay zero. */
function normalise(w: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < w.length; i++) total += w[i] ?? 0;
  const out = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = (w[i] ?? 0) / total;
  return out;
}

/** Ordered-bin part (all but the last, NaN, entry) of a counts or proportions vector. */
export function orderedPart(countsOrProportions: ArrayLike<number>): Float64Array {
  const k = countsOrProportions.length - 1;
  const out = new Float64Array(k);
  for (let i = 0; i < k; i++) out[i] = countsOrProportions[i] ?? 0;
  return out;
}

export function psi(
  observed: ArrayLike<number>,
  reference: ArrayLike<number>,
  epsilon = PSI_EPSILON,
): number {
  const q = normalise(observed);
  const p = normalise(reference);
  const norm = 1 + q.length * epsilon;
  let sum = 0;
  for (let i = 0; i < q.length; i++) {
    const qi = ((q[i] ?? 0) + epsilon) / norm;
    const pi = ((p[i] ?? 0) + epsilon) / norm;
    sum += (qi - pi) * dlog(qi / pi);
  }
  return sum;
}

export function jsDistance(observed: ArrayLike<number>, reference: ArrayLike<number>): number {
  const q = normalise(observed);
  const p = normalise(reference);
  let sum = 0;
  for (let i = 0; i < q.length; i++) {
    const qi = q[i] ?? 0;
    const pi = p[i] ?? 0;
    const m = 0.5 * (qi + pi);
    if (qi > 0) sum += qi * dlog(qi / m);
    if (pi > 0) sum += pi * dlog(pi / m);
  }
  const jsd = (0.5 * sum) / Math.LN2;
  return Math.sqrt(Math.min(1, Math.max(0, jsd)));
}

export function binnedKs(observed: ArrayLike<number>, reference: ArrayLike<number>): number {
  const q = normalise(observed);
  const p = normalise(reference);
  let cq = 0;
  let cp = 0;
  let max = 0;
  for (let i = 0; i < q.length - 1; i++) {
    cq += q[i] ?? 0;
    cp += p[i] ?? 0;
    const d = Math.abs(cq - cp);
    if (d > max) max = d;
  }
  return max;
}

/**
 * Representative point of each ordered bin (m + 2): interior midpoints; the underflow bin at
 * e₀ − w₁/2 and the overflow bin at e_m + w_m/2 (w = width of the first / last interior bin).
 */
export function representativePoints(edges: ArrayLike<number>): Float64Array {
  const m = edges.length - 1;
  const e = (i: number): number => edges[i] ?? Number.NaN;
  const points = new Float64Array(m + 2);
  for (let i = 1; i <= m; i++) points[i] = 0.5 * (e(i - 1) + e(i));
  points[0] = e(0) - 0.5 * (e(1) - e(0));
  points[m + 1] = e(m) + 0.5 * (e(m) - e(m - 1));
  return points;
}

/** Wasserstein-1 on `points`, in the points' units (divide by the reference SD to normalise). */
export function binnedWasserstein(
  observed: ArrayLike<number>,
  reference: ArrayLike<number>,
  points: ArrayLike<number>,
): number {
  const q = normalise(observed);
  const p = normalise(reference);
  let cq = 0;
  let cp = 0;
  let sum = 0;
  for (let i = 0; i < q.length - 1; i++) {
    cq += q[i] ?? 0;
    cp += p[i] ?? 0;
    sum += Math.abs(cq - cp) * ((points[i + 1] ?? 0) - (points[i] ?? 0));
  }
  return sum;
}

/**
 * Pearson χ² statistic of integer `observed` counts against `reference` weights, over the bins
 * where the reference is > 0 (observations elsewhere are outside the support and not tested here).
 */
export function chiSquareStatistic(observed: ArrayLike<number>, reference: ArrayLike<number>): number {
  const p = normalise(reference);
  let n = 0;
  let mass = 0;
  for (let i = 0; i < p.length; i++) {
    if ((p[i] ?? 0) > 0) {
      n += observed[i] ?? 0;
      mass += p[i] ?? 0;
    }
  }
  if (n === 0) return 0;
  let statistic = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] ?? 0;
    if (pi > 0) {
      const expected = (n * pi) / mass;
      const d = (observed[i] ?? 0) - expected;
      statistic += (d * d) / expected;
    }
  }
  return statistic;
}
