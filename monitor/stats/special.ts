// Special functions for p-values and quantiles, hand-written because no maintained npm package offers
// verified incomplete gamma/beta in plain ESM without pulling a large numerics framework onto the device.
// Every function is checked against SciPy in test/fixtures/stats (see docs/statistics.md).
//
// Methods (standard, public): Lanczos approximation for ln Γ (g = 7, 9 terms); regularised incomplete
// gamma by its power series below x = a + 1 and a Lentz continued fraction above (Abramowitz & Stegun
// 6.5.29 / 6.5.31); regularised incomplete beta by its continued fraction (A&S 26.5.8) with the
// symmetry I_x(a,b) = 1 − I_{1−x}(b,a); quantiles by safeguarded Newton iteration on a bracket.
import { StatsError } from './errors.ts';

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
] as const;
const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);
const MAX_ITERATIONS = 100_000;
const EPS = 1e-16;
const TINY = 1e-300;

/** ln Γ(x) for x > 0 (reflection below 0.5). */
export function lnGamma(x: number): number {
  if (!(x > 0)) throw new StatsError('BAD_ARGUMENT', `lnGamma needs x > 0, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] ?? 0) / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LN_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

function gammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  let ap = a;
  for (let i = 0; i < MAX_ITERATIONS; i++) {
    ap += 1;
    term *= x / ap;
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) {
      return sum * Math.exp(-x + a * Math.log(x) - lnGamma(a));
    }
  }
  throw new StatsError('NOT_CONVERGED', `incomplete gamma series a=${a} x=${x}`);
}

function gammaContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) return Math.exp(-x + a * Math.log(x) - lnGamma(a)) * h;
  }
  throw new StatsError('NOT_CONVERGED', `incomplete gamma continued fraction a=${a} x=${x}`);
}

function checkGammaArgs(a: number, x: number): void {
  if (!(a > 0) || !Number.isFinite(a)) throw new StatsError('BAD_ARGUMENT', `gamma shape must be > 0`);
  if (!(x >= 0)) throw new StatsError('BAD_ARGUMENT', `gamma argument must be >= 0, got ${x}`);
}

/** Regularised lower incomplete gamma P(a, x). */
export function gammaP(a: number, x: number): number {
  checkGammaArgs(a, x);
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = 1 − P(a, x), accurate in the far upper tail. */
export function gammaQ(a: number, x: number): number {
  checkGammaArgs(a, x);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x);
}

/** Density of Gamma(a, 1) at x. */
function gammaDensity(a: number, x: number): number {
  if (x <= 0) return 0;
  return Math.exp((a - 1) * Math.log(x) - x - lnGamma(a));
}

/**
 * Root of a decreasing-or-increasing smooth function on a bracket by Newton steps that fall back to
 * bisection whenever a step leaves the bracket (so convergence is guaranteed).
 */
function safeNewton(
  f: (x: number) => number,
  df: (x: number) => number,
  lo: number,
  hi: number,
  increasing: boolean,
): number {
  let x = 0.5 * (lo + hi);
  for (let i = 0; i < 400; i++) {
    const fx = f(x);
    if (fx === 0) return x;
    if (fx > 0 === increasing) hi = x;
    else lo = x;
    const slope = df(x);
    let next = slope !== 0 ? x - fx / slope : Number.NaN;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - x) <= 4e-16 * Math.abs(next) || hi - lo <= 4e-16 * Math.abs(hi)) return next;
    x = next;
  }
  throw new StatsError('NOT_CONVERGED', 'quantile search did not converge');
}

function upperBracket(tail: (x: number) => number, target: number, start: number): number {
  let hi = Math.max(start, 1);
  for (let i = 0; i < 2000 && tail(hi) > target; i++) hi *= 2;
  return hi;
}

/** x with P(a, x) = p. */
export function gammaQuantile(a: number, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new StatsError('BAD_ARGUMENT', `probability must be in [0, 1], got ${p}`);
  if (p === 0) return 0;
  if (p === 1) return Infinity;
  if (p > 0.5) return gammaQuantileUpper(a, 1 - p);
  const hi = upperBracket((x) => 1 - gammaP(a, x), 1 - p, a);
  return safeNewton(
    (x) => gammaP(a, x) - p,
    (x) => gammaDensity(a, x),
    0,
    hi,
    true,
  );
}

/** x with Q(a, x) = q (upper-tail quantile; keeps relative accuracy for tiny q). */
export function gammaQuantileUpper(a: number, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new StatsError('BAD_ARGUMENT', `probability must be in [0, 1], got ${q}`);
  if (q === 0) return Infinity;
  if (q === 1) return 0;
  if (q > 0.5) return gammaQuantile(a, 1 - q);
  const hi = upperBracket((x) => gammaQ(a, x), q, a);
  return safeNewton(
    (x) => gammaQ(a, x) - q,
    (x) => -gammaDensity(a, x),
    0,
    hi,
    false,
  );
}

/** Survival function of χ²(df): P(X > x). */
export function chi2Sf(x: number, df: number): number {
  if (!(df > 0)) throw new StatsError('BAD_ARGUMENT', `chi2 df must be > 0, got ${df}`);
  if (Number.isNaN(x)) throw new StatsError('BAD_ARGUMENT', 'chi2 statistic is NaN');
  if (x <= 0) return 1;
  return gammaQ(df / 2, x / 2);
}

/** Upper-tail quantile of χ²(df): the x with P(X > x) = q. */
export function chi2Isf(q: number, df: number): number {
  if (!(df > 0)) throw new StatsError('BAD_ARGUMENT', `chi2 df must be > 0, got ${df}`);
  return 2 * gammaQuantileUpper(df / 2, q);
}

/** Lower quantile of χ²(df): the x with P(X ≤ x) = p. */
export function chi2Ppf(p: number, df: number): number {
  if (!(df > 0)) throw new StatsError('BAD_ARGUMENT', `chi2 df must be > 0, got ${df}`);
  return 2 * gammaQuantile(df / 2, p);
}

/** Complementary error function, via erfc(z) = Q(1/2, z²) for z ≥ 0. */
export function erfc(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return z >= 0 ? gammaQ(0.5, z * z) : 1 + gammaP(0.5, z * z);
}

/** Standard normal CDF Φ(x). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Standard normal quantile Φ⁻¹(p), from the χ²(1) relation Φ(−|x|) = Q(1/2, x²/2)/2. */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new StatsError('BAD_ARGUMENT', `probability must be in [0, 1], got ${p}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -Math.sqrt(2 * gammaQuantileUpper(0.5, 2 * p));
  return Math.sqrt(2 * gammaQuantileUpper(0.5, 2 * (1 - p)));
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) return h;
  }
  throw new StatsError('NOT_CONVERGED', `incomplete beta a=${a} b=${b} x=${x}`);
}

/** Regularised incomplete beta I_x(a, b). */
export function betaRegularized(a: number, b: number, x: number): number {
  if (!(a > 0 && b > 0) || !Number.isFinite(a) || !Number.isFinite(b)) {
    throw new StatsError('BAD_ARGUMENT', 'beta parameters must be finite and > 0');
  }
  if (!(x >= 0 && x <= 1)) throw new StatsError('BAD_ARGUMENT', `beta argument must be in [0, 1], got ${x}`);
  if (x === 0) return 0;
  if (x === 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Binomial upper tail P(X ≥ k) for X ~ Bin(n, p) (I_p(k, n − k + 1)). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (!Number.isInteger(k) || !Number.isInteger(n) || n < 0) {
    throw new StatsError('BAD_ARGUMENT', 'binomial k and n must be integers, n >= 0');
  }
  if (!(p >= 0 && p <= 1)) throw new StatsError('BAD_ARGUMENT', `binomial p must be in [0, 1], got ${p}`);
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p === 0) return 0;
  if (p === 1) return 1;
  return betaRegularized(k, n - k + 1, p);
}

/**
 * Survival function of the Kolmogorov distribution (limit of √n·D_n): P(K > x). Two series, each used
 * where it converges fast (Kolmogorov 1933; the theta-function form below x = 1).
 */
export function kolmogorovSf(x: number): number {
  if (Number.isNaN(x)) throw new StatsError('BAD_ARGUMENT', 'Kolmogorov argument is NaN');
  if (x <= 0) return 1;
  if (x < 1) {
    const k = -(Math.PI * Math.PI) / (8 * x * x);
    let cdf = 0;
    for (let j = 1; j < 100; j++) {
      const odd = 2 * j - 1;
      const term = Math.exp(k * odd * odd);
      cdf += term;
      if (term < 1e-17 * cdf) break;
    }
    return 1 - (Math.sqrt(2 * Math.PI) / x) * cdf;
  }
  let sf = 0;
  for (let j = 1; j < 100; j++) {
    const term = Math.exp(-2 * j * j * x * x);
    sf += j % 2 === 1 ? term : -term;
    if (term < 1e-17 * Math.abs(sf)) break;
  }
  return 2 * sf;
}

/** The x with P(K > x) = q for the Kolmogorov distribution (bisection; the sf is monotone). */
export function kolmogorovIsf(q: number): number {
  if (!(q > 0 && q < 1)) throw new StatsError('BAD_ARGUMENT', `probability must be in (0, 1), got ${q}`);
  let lo = 0;
  let hi = 1;
  while (kolmogorovSf(hi) > q) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (kolmogorovSf(mid) > q) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
