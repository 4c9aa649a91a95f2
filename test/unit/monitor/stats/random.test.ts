import { describe, expect, it } from 'vitest';
import { chi2Sf, lnGamma, SeededRandom } from '../../../../monitor/stats/index.ts';
import { codeOf } from './fixtures.ts';

function binomialPmf(k: number, n: number, p: number): number {
  return Math.exp(
    lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p),
  );
}

/** Pearson goodness of fit of binomial draws to the exact pmf, pooling tails with expected < 5. */
function binomialGofPValue(n: number, p: number, draws: number, seed: number, drawP = p): number {
  const random = SeededRandom.fromSeed(seed);
  const observed = new Map<number, number>();
  for (let i = 0; i < draws; i++) {
    const x = random.binomial(n, drawP);
    expect(Number.isInteger(x) && x >= 0 && x <= n).toBe(true);
    observed.set(x, (observed.get(x) ?? 0) + 1);
  }
  const cells: { o: number; e: number }[] = [];
  let pendingO = 0;
  let pendingE = 0;
  for (let k = 0; k <= n; k++) {
    pendingO += observed.get(k) ?? 0;
    pendingE += draws * binomialPmf(k, n, p);
    if (pendingE >= 5) {
      cells.push({ o: pendingO, e: pendingE });
      pendingO = 0;
      pendingE = 0;
    }
  }
  const lastCell = cells[cells.length - 1];
  if (lastCell) {
    lastCell.o += pendingO;
    lastCell.e += pendingE;
  }
  let statistic = 0;
  for (const c of cells) statistic += ((c.o - c.e) * (c.o - c.e)) / c.e;
  return chi2Sf(statistic, cells.length - 1);
}

describe('seeded random variates', () => {
  it('is deterministic per seed and splits into distinct streams', () => {
    const a = SeededRandom.fromSeed(42);
    const b = SeededRandom.fromSeed(42);
    const xs = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(xs);
    const c = SeededRandom.fromSeed(43);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(xs);
    const root = SeededRandom.fromSeed(42);
    const s1 = root.split();
    const s2 = root.split();
    expect(s1.uniform()).not.toBe(s2.uniform());
    const fromSeed = (seed: number): SeededRandom => SeededRandom.fromSeed(seed);
    expect(codeOf(fromSeed, -1)).toBe('BAD_ARGUMENT');
    expect(codeOf(fromSeed, 1.5)).toBe('BAD_ARGUMENT');
    expect(codeOf(fromSeed, 2 ** 32)).toBe('BAD_ARGUMENT');
  });

  // Inversion (np < 10), BTRD (np ≥ 10, incl. the recursive and squeeze branches), p > ½ by symmetry.
  for (const [n, p] of [
    [20, 0.1],
    [200, 0.03],
    [40, 0.5],
    [1000, 0.3],
    [100_000, 0.02],
    [60, 0.85],
  ] as const) {
    it(`binomial(${n}, ${p}) matches the exact pmf (chi-square GOF)`, () => {
      // 30,000 draws; a correct sampler fails this with probability 1e-4.
      expect(binomialGofPValue(n, p, 30_000, 1000 + n)).toBeGreaterThan(1e-4);
    });
  }

  it('the same GOF rejects draws from a slightly different binomial (the test can fail)', () => {
    expect(binomialGofPValue(1000, 0.3, 30_000, 5, 0.305)).toBeLessThan(1e-6);
    expect(binomialGofPValue(20, 0.1, 30_000, 5, 0.11)).toBeLessThan(1e-6);
  });

  it('normal variates have mean 0 and variance 1', () => {
    const random = SeededRandom.fromSeed(9);
    let s = 0;
    let s2 = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const z = random.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.015);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
  });

  it('multinomial draws sum to n and leave zero-probability bins empty', () => {
    const random = SeededRandom.fromSeed(3);
    const probs = [0, 0.2, 0.5, 0, 0.3, 0];
    const out = new Float64Array(probs.length);
    const totals = new Float64Array(probs.length);
    for (let r = 0; r < 5000; r++) {
      random.multinomialInto(137, probs, out);
      expect(out.reduce((a, b) => a + b, 0)).toBe(137);
      for (let i = 0; i < probs.length; i++) totals[i] = (totals[i] ?? 0) + (out[i] ?? 0);
    }
    expect(totals[0]).toBe(0);
    expect(totals[3]).toBe(0);
    expect(totals[5]).toBe(0);
    for (const i of [1, 2, 4]) {
      expect(Math.abs((totals[i] ?? 0) / (5000 * 137) - (probs[i] ?? 0))).toBeLessThan(0.005);
    }
    expect(codeOf(random.multinomialInto.bind(random), 3, [0, 0], out)).toBe('BAD_PROPORTIONS');
    expect(codeOf(() => random.binomial(-1, 0.5))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => random.binomial(3, 1.5))).toBe('BAD_ARGUMENT');
    expect(random.binomial(10, 1)).toBe(10);
    expect(random.binomial(10, 0)).toBe(0);
  });
});
