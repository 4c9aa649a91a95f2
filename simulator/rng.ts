// Seeded random streams. Every component draws from its own stream derived from (seed, labels) by
// SHA-256, so adding a component or an example never shifts the numbers another one sees.
// Only IEEE-754 arithmetic and V8's own Math functions (fdlibm ports, identical on every platform)
// are used downstream, so the same seed gives the same bytes on any machine.
import { createHash } from 'node:crypto';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { SimulatorError } from './errors.ts';

/** A seed: a non-negative safe integer or a non-empty string. */
export type Seed = number | string;

const TWO_PI = 2 * Math.PI;

export function checkSeed(seed: Seed): Seed {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new SimulatorError('BAD_SEED', `seed must be a non-negative safe integer, got ${seed}`);
    }
  } else if (seed.length === 0 || seed.length > 256) {
    throw new SimulatorError('BAD_SEED', 'seed string must have 1..256 characters');
  }
  return seed;
}

/** Canonical text of a seed plus labels; numbers and strings of the same digits differ on purpose. */
function streamKey(seed: Seed, labels: readonly (string | number)[]): string {
  const parts = [typeof seed === 'number' ? `n:${seed}` : `s:${seed}`];
  for (const l of labels) parts.push(typeof l === 'number' ? `n:${l}` : `s:${l}`);
  return `vigil-sim/v1\u0000${parts.join('\u0000')}`;
}

/** A deterministic stream of random numbers (xoroshiro128+ state taken from SHA-256 of the key). */
export class Rng {
  private spare: number | undefined = undefined;

  private constructor(
    private readonly gen: RandomGenerator,
    private readonly seed: Seed,
    private readonly labels: readonly (string | number)[],
  ) {}

  static of(seed: Seed, ...labels: (string | number)[]): Rng {
    checkSeed(seed);
    const digest = createHash('sha256').update(streamKey(seed, labels)).digest();
    const state: number[] = [
      digest.readInt32LE(0),
      digest.readInt32LE(4),
      digest.readInt32LE(8),
      digest.readInt32LE(12),
    ];
    // xoroshiro128+ must not start from the all-zero state.
    if (!state.some((s) => s !== 0)) state[0] = 1;
    return new Rng(xoroshiro128plusFromState(state), seed, labels);
  }

  /** An independent child stream; does not consume numbers from this one. */
  fork(...labels: (string | number)[]): Rng {
    return Rng.of(this.seed, ...this.labels, ...labels);
  }

  /** Uniform in [0, 1), 53 random bits. */
  uniform(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer uniform in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.uniform() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.uniform() * items.length)];
    if (item === undefined) throw new SimulatorError('BAD_ARGUMENT', 'pick from an empty list');
    return item;
  }

  /** Index drawn with probability proportional to weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let u = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i] ?? 0;
      if (u < 0) return i;
    }
    return weights.length - 1;
  }

  /** Standard normal by the Box–Muller transform (Box & Muller 1958), caching the second value. */
  normal(mean = 0, sd = 1): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return mean + sd * z;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log stays finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(TWO_PI * u2);
    return mean + sd * r * Math.cos(TWO_PI * u2);
  }

  /** Normal truncated (by clamping) to [lo, hi]. */
  clampedNormal(mean: number, sd: number, lo: number, hi: number): number {
    return Math.min(hi, Math.max(lo, this.normal(mean, sd)));
  }

  /** Log-normal with the given median and log-SD. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
}
