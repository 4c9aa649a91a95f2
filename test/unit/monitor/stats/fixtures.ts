// Loads the committed SciPy golden values (test/fixtures/stats/scipy-reference.json). Tests never run Python.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { StatsError } from '../../../../monitor/stats/index.ts';

const path = fileURLToPath(new URL('../../../fixtures/stats/scipy-reference.json', import.meta.url));

export interface ChiSquareFixture {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
  readonly n: number;
  readonly outsideSupport: number;
}

export interface DistanceCase {
  readonly name: string;
  readonly observed: number[];
  readonly reference: number[];
  readonly points: number[];
  readonly psi: number;
  readonly js: number;
  readonly ks: number;
  readonly wasserstein: number;
  readonly chi2: ChiSquareFixture;
}

export interface DriftCase {
  readonly name: string;
  readonly edges: number[];
  readonly proportions: number[];
  readonly sd: number;
  readonly counts: number[];
  readonly psi: number;
  readonly js: number;
  readonly ks: number;
  readonly wasserstein: number;
  readonly chi2: ChiSquareFixture;
  readonly missingness: { readonly nanCount: number; readonly total: number; readonly pValue: number };
}

export interface ScipyReference {
  readonly versions: { readonly numpy: string; readonly scipy: string };
  readonly psiEpsilon: number;
  readonly special: {
    readonly lnGamma: { x: number; value: number }[];
    readonly gamma: { a: number; x: number; p: number; q: number }[];
    readonly chi2Sf: { x: number; df: number; sf: number }[];
    readonly chi2Quantiles: { q: number; df: number; isf: number; ppf: number }[];
    readonly normalPpf: { p: number; ppf: number }[];
    readonly normalCdf: { x: number; cdf: number }[];
    readonly betaRegularized: { a: number; b: number; x: number; value: number }[];
    readonly binomialUpperTail: { k: number; n: number; p: number; upperTail: number }[];
    readonly kolmogorovSf: { x: number; sf: number }[];
    readonly kolmogorovIsf: { q: number; isf: number }[];
  };
  readonly distances: DistanceCase[];
  readonly drift: DriftCase[];
  readonly wilson: { k: number; n: number; confidence: number; lower: number; upper: number }[];
  readonly poisson: { observed: number; confidence: number; lower: number; upper: number }[];
  readonly fdr: {
    name: string;
    method: 'bh' | 'by';
    alpha: number;
    pValues: number[];
    qValues: number[];
    rejected: boolean[];
  }[];
  readonly null: {
    readonly edges: number[];
    readonly proportions: number[];
    readonly sd: number;
    readonly cases: {
      n: number;
      replicates: number;
      alpha: number;
      quantiles: Record<'psi' | 'js' | 'ks' | 'wasserstein' | 'chi2', number>;
      'fractionPsiAbove0.1': number;
    }[];
  };
}

export const scipy = JSON.parse(readFileSync(path, 'utf8')) as ScipyReference;

/** |actual − expected| ≤ rel·|expected| + abs, with a readable failure. */
export function expectClose(actual: number, expected: number, rel: number, abs = 0, label = ''): void {
  const tolerance = rel * Math.abs(expected) + abs;
  const error = Math.abs(actual - expected);
  if (!(error <= tolerance)) {
    expect.fail(`${label}: got ${actual}, expected ${expected} (error ${error} > tolerance ${tolerance})`);
  }
}

/** The StatsError code thrown by f(...args), or 'none'. Other errors propagate. */
export function codeOf<A extends unknown[]>(f: (...args: A) => unknown, ...args: A): string {
  try {
    f(...args);
  } catch (error) {
    if (error instanceof StatsError) return error.code;
    throw error;
  }
  return 'none';
}
