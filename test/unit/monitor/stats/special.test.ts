import { describe, expect, it } from 'vitest';
import {
  betaRegularized,
  binomialUpperTail,
  chi2Isf,
  chi2Ppf,
  chi2Sf,
  gammaP,
  gammaQ,
  kolmogorovIsf,
  kolmogorovSf,
  lnGamma,
  normalCdf,
  normalQuantile,
} from '../../../../monitor/stats/index.ts';
import { codeOf, expectClose, scipy } from './fixtures.ts';

// Tolerance: relative 1e-9 (plus a tiny absolute floor for values that are 0 in double precision).
// The functions reach ~1e-13 relative; 1e-9 leaves room for libm differences across machines.
const REL = 1e-9;

describe('special functions against SciPy', () => {
  it('lnGamma matches scipy.special.gammaln', () => {
    for (const c of scipy.special.lnGamma) expectClose(lnGamma(c.x), c.value, REL, 1e-13, `lnGamma(${c.x})`);
  });

  it('regularised incomplete gamma matches gammainc / gammaincc', () => {
    for (const c of scipy.special.gamma) {
      expectClose(gammaP(c.a, c.x), c.p, REL, 1e-300, `P(${c.a},${c.x})`);
      expectClose(gammaQ(c.a, c.x), c.q, REL, 1e-300, `Q(${c.a},${c.x})`);
    }
  });

  it('chi2Sf matches scipy.stats.chi2.sf, far tails included', () => {
    for (const c of scipy.special.chi2Sf)
      expectClose(chi2Sf(c.x, c.df), c.sf, REL, 1e-300, `sf(${c.x},${c.df})`);
  });

  it('chi2 quantiles match chi2.isf / chi2.ppf', () => {
    for (const c of scipy.special.chi2Quantiles) {
      expectClose(chi2Isf(c.q, c.df), c.isf, REL, 0, `isf(${c.q},${c.df})`);
      expectClose(chi2Ppf(c.q, c.df), c.ppf, REL, 0, `ppf(${c.q},${c.df})`);
    }
  });

  it('normal quantile and CDF match scipy.stats.norm', () => {
    for (const c of scipy.special.normalPpf)
      expectClose(normalQuantile(c.p), c.ppf, REL, 1e-15, `ppf(${c.p})`);
    for (const c of scipy.special.normalCdf) expectClose(normalCdf(c.x), c.cdf, REL, 1e-300, `cdf(${c.x})`);
  });

  it('incomplete beta and binomial tail match betainc / binom.sf', () => {
    for (const c of scipy.special.betaRegularized) {
      expectClose(betaRegularized(c.a, c.b, c.x), c.value, REL, 1e-300, `I(${c.x};${c.a},${c.b})`);
    }
    for (const c of scipy.special.binomialUpperTail) {
      expectClose(binomialUpperTail(c.k, c.n, c.p), c.upperTail, REL, 1e-300, `P(X>=${c.k})`);
    }
  });

  it('Kolmogorov distribution matches scipy.stats.kstwobign', () => {
    for (const c of scipy.special.kolmogorovSf)
      expectClose(kolmogorovSf(c.x), c.sf, REL, 1e-15, `sf(${c.x})`);
    for (const c of scipy.special.kolmogorovIsf)
      expectClose(kolmogorovIsf(c.q), c.isf, REL, 0, `isf(${c.q})`);
  });

  it('rejects arguments outside the domain with a code', () => {
    expect(codeOf(lnGamma, 0)).toBe('BAD_ARGUMENT');
    expect(codeOf(gammaP, -1, 1)).toBe('BAD_ARGUMENT');
    expect(codeOf(() => chi2Sf(Number.NaN, 3))).toBe('BAD_ARGUMENT');
    expect(codeOf(normalQuantile, 1.5)).toBe('BAD_ARGUMENT');
    expect(codeOf(betaRegularized, 1, 1, 2)).toBe('BAD_ARGUMENT');
    expect(chi2Sf(-1, 3)).toBe(1);
    expect(binomialUpperTail(0, 10, 0.3)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.3)).toBe(0);
  });
});
