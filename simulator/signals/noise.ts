// Shared noise helpers (all draw from an explicit Rng so every caller stays seeded).
import type { Rng } from '../rng.ts';

/**
 * First-order autoregressive (AR(1)) noise with stationary SD `sd` and lag-one correlation `alpha`:
 * smooth, low-frequency wobble for body sway, tremor and slow drifts.
 */
export class Ar1 {
  private value: number;
  private readonly innovation: number;

  constructor(
    private readonly rng: Rng,
    sd: number,
    private readonly alpha: number,
  ) {
    this.innovation = sd * Math.sqrt(1 - alpha * alpha);
    this.value = rng.normal(0, sd);
  }

  next(): number {
    this.value = this.alpha * this.value + this.rng.normal(0, this.innovation);
    return this.value;
  }
}

/** Unnormalised Gaussian bump exp(-dt^2 / (2 sigma^2)). */
export function bump(dt: number, sigma: number): number {
  const u = dt / sigma;
  return Math.exp(-0.5 * u * u);
}
