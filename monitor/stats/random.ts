// Seeded random variates for Monte-Carlo calibration: same seed ⇒ same numbers on any machine
// (DESIGN.md "Conventions"). The bit source is pure-rand's xoroshiro128+; the distributions are
// hand-written because pure-rand only provides uniforms.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import { StatsError } from './errors.ts';
import { lnGamma } from './special.ts';

const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);

/** Stirling-series remainder ln k! − [(k + ½) ln(k + 1) − (k + 1) + ½ ln 2π], used by BTRD. */
function stirlingCorrection(k: number): number {
  if (k < 10) return lnGamma(k + 1) - ((k + 0.5) * Math.log(k + 1) - (k + 1) + HALF_LN_2PI);
  const r = 1 / (k + 1);
  const r2 = r * r;
  return (1 / 12 - (1 / 360 - (1 / 1260) * r2) * r2) * r;
}

export function assertSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new StatsError('BAD_ARGUMENT', `seed must be an integer in [0, 2^32), got ${seed}`);
  }
}

export class SeededRandom {
  private spareNormal = Number.NaN;

  private constructor(private readonly generator: JumpableRandomGenerator) {}

  static fromSeed(seed: number): SeededRandom {
    assertSeed(seed);
    return new SeededRandom(xoroshiro128plus(seed | 0));
  }

  /**
   * An independent stream: a copy of this generator jumped 2^64 steps ahead (xoroshiro128+ jump), so
   * calibration and validation draw from non-overlapping sequences of one seed.
   */
  split(): SeededRandom {
    const copy = this.generator.clone();
    copy.jump();
    this.generator.jump();
    this.generator.jump();
    return new SeededRandom(copy);
  }

  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    return uniformFloat64(this.generator);
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const spare = this.spareNormal;
      this.spareNormal = Number.NaN;
      return spare;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spareNormal = v * f;
        return u * f;
      }
    }
  }

  /** Integer uniform in [0, n). */
  index(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Binomial(n, p), exact: inversion when n·min(p, 1 − p) < 10, else Hörmann's BTRD (1993). */
  binomial(n: number, p: number): number {
    if (!Number.isInteger(n) || n < 0)
      throw new StatsError('BAD_ARGUMENT', `binomial n must be an integer >= 0`);
    if (!(p >= 0 && p <= 1)) throw new StatsError('BAD_ARGUMENT', `binomial p must be in [0, 1], got ${p}`);
    if (n === 0 || p === 0) return 0;
    if (p === 1) return n;
    if (p > 0.5) return n - this.binomialLow(n, 1 - p);
    return this.binomialLow(n, p);
  }

  private binomialLow(n: number, p: number): number {
    return n * p < 10 ? this.binomialInversion(n, p) : this.binomialBtrd(n, p);
  }

  private binomialInversion(n: number, p: number): number {
    const q = 1 - p;
    const s = p / q;
    const a = (n + 1) * s;
    const r0 = Math.exp(n * Math.log1p(-p));
    for (;;) {
      let r = r0;
      let u = this.uniform();
      let x = 0;
      while (u > r) {
        u -= r;
        x++;
        if (x > n) break; // rounding left u above the total mass: draw again
        r *= a / x - s;
      }
      if (x <= n) return x;
    }
  }

  /** BTRD: transformed rejection with decomposition (Hörmann, J. Stat. Comput. Simul. 46, 1993). p ≤ ½, np ≥ 10. */
  private binomialBtrd(n: number, p: number): number {
    const m = Math.floor((n + 1) * p);
    const r = p / (1 - p);
    const nr = (n + 1) * r;
    const npq = n * p * (1 - p);
    const sq = Math.sqrt(npq);
    const b = 1.15 + 2.53 * sq;
    const a = -0.0873 + 0.0248 * b + 0.01 * p;
    const c = n * p + 0.5;
    const alpha = (2.83 + 5.1 / b) * sq;
    const vr = 0.92 - 4.2 / b;
    const urvr = 0.86 * vr;
    for (;;) {
      let v = this.uniform();
      let u: number;
      if (v <= urvr) {
        u = v / vr - 0.43;
        return Math.floor(((2 * a) / (0.5 - Math.abs(u)) + b) * u + c);
      }
      if (v >= vr) {
        u = this.uniform() - 0.5;
      } else {
        u = v / vr - 0.93;
        u = Math.sign(u) * 0.5 - u;
        v = this.uniform() * vr;
      }
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + c);
      if (k < 0 || k > n) continue;
      v = (v * alpha) / (a / (us * us) + b);
      const km = Math.abs(k - m);
      if (km <= 15) {
        // Recursive evaluation of f(k)/f(m).
        let f = 1;
        if (m < k) for (let i = m + 1; i <= k; i++) f *= nr / i - r;
        else if (m > k) for (let i = k + 1; i <= m; i++) v *= nr / i - r;
        if (v <= f) return k;
        continue;
      }
      // Squeeze on ln f, then the exact test with Stirling corrections.
      v = Math.log(v);
      const rho = (km / npq) * (((km / 3 + 0.625) * km + 1 / 6) / npq + 0.5);
      const t = (-km * km) / (2 * npq);
      if (v < t - rho) return k;
      if (v > t + rho) continue;
      const nm = n - m + 1;
      const h = (m + 0.5) * Math.log((m + 1) / (r * nm)) + stirlingCorrection(m) + stirlingCorrection(n - m);
      const nk = n - k + 1;
      const bound =
        h +
        (n + 1) * Math.log(nm / nk) +
        (k + 0.5) * Math.log((nk * r) / (k + 1)) -
        stirlingCorrection(k) -
        stirlingCorrection(n - k);
      if (v <= bound) return k;
    }
  }

  /**
   * Multinomial(n, probabilities) into `out` by sequential conditional binomials: O(K) per draw
   * whatever n, so null distributions at collector-scale n stay cheap. Probabilities must sum to 1.
   */
  multinomialInto(
    n: number,
    probabilities: ArrayLike<number>,
    out: { [i: number]: number; length: number },
  ): void {
    const k = probabilities.length;
    let last = -1;
    for (let i = 0; i < k; i++) if ((probabilities[i] as number) > 0) last = i;
    if (last < 0) throw new StatsError('BAD_PROPORTIONS', 'multinomial needs a positive probability');
    let remaining = n;
    let mass = 1;
    for (let i = 0; i < k; i++) {
      const p = probabilities[i] as number;
      let x = 0;
      if (i === last) x = remaining;
      else if (p > 0 && remaining > 0) {
        x = p >= mass ? remaining : this.binomial(remaining, p / mass);
        mass -= p;
      }
      out[i] = x;
      remaining -= x;
    }
  }
}
