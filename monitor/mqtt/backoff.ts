// Reconnect delays: exponential backoff with jitter, so that a fleet whose broker comes back does
// not reconnect in lock step. Randomness is injected (seeded) so tests see the same delays.
import { createHash } from 'node:crypto';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export interface BackoffOptions {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  /** Fraction of the delay that is randomised: the delay is drawn from [d·(1−j), d]. */
  readonly jitterRatio: number;
}

export const BACKOFF_DEFAULTS: BackoffOptions = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitterRatio: 0.5,
});

/** Delay before reconnect attempt `attempt` (0-based), with `random()` in [0, 1). */
export function backoffDelayMs(options: BackoffOptions, attempt: number, random: () => number): number {
  const base = Math.min(
    options.maxDelayMs,
    options.initialDelayMs * options.multiplier ** Math.min(attempt, 64),
  );
  return Math.round(base * (1 - options.jitterRatio * random()));
}

/** A seeded uniform [0, 1) source; the seed is mixed with a label (e.g. the device id). */
export function seededRandom(seed: number, label: string): () => number {
  const digest = createHash('sha256').update(`vigil-backoff-v1:${label}:${seed}`, 'utf8').digest();
  const rng = xoroshiro128plus(digest.readInt32BE(0));
  return () => uniformFloat64(rng);
}
