// Sample-size-aware thresholds and p-values from asymptotic theory (derivations: docs/statistics.md
// "Thresholds that depend on n"). Under H0 the observed proportions q differ from the reference p by
// d = q − p with E[d²] = p(1−p)/n, and to second order:
//   PSI        = Σ d²/p   + O(d³)  ⇒ n·PSI        → χ²(k−1)
//   JSD (nats) = Σ d²/8p  + O(d³)  ⇒ 8n·JSD_nat   → χ²(k−1)
// where k counts the bins with p > 0. The O(1/n²) term of the mean gives a Bartlett-type scale c:
//   E[n·PSI]  = (k−1) + (Σ1/p − k)/(2n)            ⇒ c_PSI = 1 + (Σ1/p − k)/(2n(k−1))
//   E[8n·JSD] = (k−1) + (3Σ1/p − 2k − 1)/(8n)      ⇒ c_JS  = 1 + (3Σ1/p − 2k − 1)/(8n(k−1))
// so that n·PSI/c_PSI ≈ χ²(k−1). KS uses the Kolmogorov limit (conservative for binned data: the
// binned statistic is a maximum over fewer points). Wasserstein uses a gamma law fitted to the exact
// mean and variance of Σ w_j |D_j| in the Gaussian limit (D_j the CDF differences at the bin boundaries).
import type { PreparedReference } from './drift.ts';
import { StatsError } from './errors.ts';
import { chi2Isf, chi2Sf, gammaQ, gammaQuantileUpper, kolmogorovIsf, kolmogorovSf } from './special.ts';
import type { DriftStatisticName } from './statistics.ts';

function checkN(n: number): void {
  if (!(n >= 1) || !Number.isFinite(n)) throw new StatsError('BAD_ARGUMENT', `n must be >= 1, got ${n}`);
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1))
    throw new StatsError('BAD_ARGUMENT', `alpha must be in (0, 1), got ${alpha}`);
}

interface SupportSums {
  readonly k: number;
  readonly sumInverse: number;
}

function supportSums(reference: PreparedReference): SupportSums {
  let k = 0;
  let sumInverse = 0;
  for (const p of reference.ordered) {
    if (p > 0) {
      k++;
      sumInverse += 1 / p;
    }
  }
  return { k, sumInverse };
}

/** Bartlett-type mean correction c for n·PSI/c ≈ χ²(k−1). */
export function psiScale(reference: PreparedReference, n: number): number {
  const { k, sumInverse } = supportSums(reference);
  return k > 1 ? 1 + (sumInverse - k) / (2 * n * (k - 1)) : 1;
}

/** Mean correction c for 8n·JSD_nat/c ≈ χ²(k−1). */
export function jsScale(reference: PreparedReference, n: number): number {
  const { k, sumInverse } = supportSums(reference);
  return k > 1 ? 1 + (3 * sumInverse - 2 * k - 1) / (8 * n * (k - 1)) : 1;
}

interface GammaFit {
  /** Shape (independent of n). */
  readonly shape: number;
  /** Scale at n = 1, in units of the reference SD; divide by √n. */
  readonly scale1: number;
}

const gammaFits = new WeakMap<PreparedReference, GammaFit>();

/**
 * Mean and variance of W1/sd = Σ_j w_j |D_j| / sd in the Gaussian limit at n = 1, where
 * Cov(D_i, D_j) = F_i(1 − F_j) for i ≤ j and, for centred normals with correlation ρ,
 * E|X||Y| = (2σ_xσ_y/π)(√(1−ρ²) + ρ·asin ρ). Fitted by a gamma law with the same two moments.
 */
function wassersteinGammaFit(reference: PreparedReference): GammaFit {
  const cached = gammaFits.get(reference);
  if (cached !== undefined) return cached;
  const k = reference.ordered.length;
  if (!(reference.sd > 0)) {
    // Constant reference: W1/sd is 0 under H0 and +∞ otherwise.
    const degenerate: GammaFit = { shape: 1, scale1: 0 };
    gammaFits.set(reference, degenerate);
    return degenerate;
  }
  const cdf: number[] = [];
  const sigma: number[] = [];
  const weight: number[] = [];
  let cum = 0;
  for (let j = 0; j < k - 1; j++) {
    cum += reference.ordered[j] as number;
    const f = Math.min(1, cum);
    const s = Math.sqrt(Math.max(0, f * (1 - f)));
    if (s > 1e-12) {
      cdf.push(f);
      sigma.push(s);
      weight.push(((reference.points[j + 1] as number) - (reference.points[j] as number)) / reference.sd);
    }
  }
  let mean = 0;
  let variance = 0;
  for (let i = 0; i < cdf.length; i++) {
    const wi = weight[i] as number;
    const si = sigma[i] as number;
    mean += wi * si * Math.sqrt(2 / Math.PI);
    for (let j = 0; j < cdf.length; j++) {
      const wj = weight[j] as number;
      const sj = sigma[j] as number;
      const lo = Math.min(i, j);
      const hi = Math.max(i, j);
      const rho = Math.min(1, ((cdf[lo] as number) * (1 - (cdf[hi] as number))) / (si * sj));
      const absMoment = Math.sqrt(Math.max(0, 1 - rho * rho)) + rho * Math.asin(rho) - 1;
      variance += wi * wj * ((2 * si * sj) / Math.PI) * absMoment;
    }
  }
  const fit: GammaFit =
    mean > 0 && variance > 0
      ? { shape: (mean * mean) / variance, scale1: variance / mean }
      : { shape: 1, scale1: 0 };
  gammaFits.set(reference, fit);
  return fit;
}

/**
 * The (1 − α) null quantile of a statistic at sample size n from asymptotic theory. The rule is
 * "alarm when statistic > threshold". For χ² the threshold applies to the Pearson statistic.
 */
export function analyticThreshold(
  reference: PreparedReference,
  statistic: DriftStatisticName,
  n: number,
  alpha: number,
): number {
  checkN(n);
  checkAlpha(alpha);
  const df = reference.supportBins - 1;
  // A one-bin reference: under H0 every statistic is exactly 0, so any positive value is drift
  // (χ² conditions on the support and stays 0).
  if (df < 1) return 0;
  switch (statistic) {
    case 'chi2':
      return chi2Isf(alpha, df);
    case 'psi':
      return (psiScale(reference, n) * chi2Isf(alpha, df)) / n;
    case 'js':
      return Math.sqrt((jsScale(reference, n) * chi2Isf(alpha, df)) / (8 * n * Math.LN2));
    case 'ks':
      return kolmogorovIsf(alpha) / Math.sqrt(n);
    case 'wasserstein': {
      const fit = wassersteinGammaFit(reference);
      return fit.scale1 === 0 ? 0 : (fit.scale1 / Math.sqrt(n)) * gammaQuantileUpper(fit.shape, alpha);
    }
  }
}

/** Asymptotic p-value P0(T ≥ value) at sample size n (same approximations as analyticThreshold). */
export function analyticPValue(
  reference: PreparedReference,
  statistic: DriftStatisticName,
  value: number,
  n: number,
): number {
  checkN(n);
  if (Number.isNaN(value)) throw new StatsError('BAD_ARGUMENT', 'statistic is NaN');
  const df = reference.supportBins - 1;
  if (df < 1) return value > 0 ? 0 : 1;
  switch (statistic) {
    case 'chi2':
      return chi2Sf(value, df);
    case 'psi':
      return chi2Sf((n * value) / psiScale(reference, n), df);
    case 'js':
      return chi2Sf((8 * n * Math.LN2 * value * value) / jsScale(reference, n), df);
    case 'ks':
      return kolmogorovSf(Math.sqrt(n) * value);
    case 'wasserstein': {
      const fit = wassersteinGammaFit(reference);
      if (fit.scale1 === 0) return value > 0 ? 0 : 1;
      return value <= 0 ? 1 : gammaQ(fit.shape, (value * Math.sqrt(n)) / fit.scale1);
    }
  }
}
