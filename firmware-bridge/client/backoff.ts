// Reconnect delays: exponential with a cap and seeded jitter, so that many devices restarting together
// do not reconnect in lockstep, and a test with the same seed sees the same delays.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { BridgeError } from '../protocol/index.ts';

export interface ReconnectOptions {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  /** Fraction of the delay removed at random (0 = none, 0.5 = up to half). */
  readonly jitter: number;
  /** Failed attempts in a row before the client gives up (Infinity: never). */
  readonly maxAttempts: number;
  /** Seed of the jitter (unsigned 32-bit). */
  readonly seed: number;
}

export const DEFAULT_RECONNECT: ReconnectOptions = Object.freeze({
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  factor: 2,
  jitter: 0.2,
  maxAttempts: Number.POSITIVE_INFINITY,
  seed: 1,
});

export class Backoff {
  private readonly rng;

  constructor(private readonly options: ReconnectOptions) {
    const ok =
      options.initialDelayMs >= 0 &&
      options.maxDelayMs >= options.initialDelayMs &&
      options.factor >= 1 &&
      options.jitter >= 0 &&
      options.jitter <= 1 &&
      options.maxAttempts >= 1 &&
      Number.isSafeInteger(options.seed) &&
      options.seed >= 0 &&
      options.seed <= 0xffffffff;
    if (!ok) throw new BridgeError('BAD_CONFIG', 'invalid reconnect options');
    this.rng = xoroshiro128plus(options.seed | 0);
  }

  /** Delay before attempt `attempt` (1 = first retry). */
  delayMs(attempt: number): number {
    const base = Math.min(
      this.options.maxDelayMs,
      this.options.initialDelayMs * this.options.factor ** Math.max(0, attempt - 1),
    );
    return Math.round(base * (1 - this.options.jitter * uniformFloat64(this.rng)));
  }

  exhausted(attempt: number): boolean {
    return attempt >= this.options.maxAttempts;
  }
}
