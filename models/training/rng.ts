// Seeded random streams. Each purpose gets its own xoroshiro128+ stream whose 32-bit seed is
// derived as the first 4 bytes of SHA-256("vigil-rng-v1:<purpose>:<seed>"), so adding a new
// consumer of randomness never shifts the numbers another one sees.
import { createHash } from 'node:crypto';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { TrainingError } from './errors.ts';

export type { RandomGenerator };

/** Seeds are unsigned 32-bit integers (what xoroshiro128plus consumes). */
export function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new TrainingError('BAD_OPTION', `seed must be an integer in [0, 2^32), got ${seed}`);
  }
}

export function derivedSeed(seed: number, purpose: string): number {
  checkSeed(seed);
  const digest = createHash('sha256').update(`vigil-rng-v1:${purpose}:${seed}`, 'utf8').digest();
  return digest.readUInt32BE(0);
}

export function seededRng(seed: number, purpose: string): RandomGenerator {
  return xoroshiro128plus(derivedSeed(seed, purpose) | 0);
}
