import { describe, expect, it } from 'vitest';
import { Backoff, DEFAULT_RECONNECT } from '../../../../firmware-bridge/client/index.ts';

describe('reconnect backoff', () => {
  it('grows exponentially to the cap, with jitter that only shortens the delay', () => {
    const backoff = new Backoff({ ...DEFAULT_RECONNECT, initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 });
    const delays = Array.from({ length: 8 }, (_, i) => backoff.delayMs(i + 1));
    const bases = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
    delays.forEach((d, i) => {
      expect(d).toBeLessThanOrEqual(bases[i] as number);
      expect(d).toBeGreaterThanOrEqual((bases[i] as number) / 2);
    });
  });

  it('gives the same delays for the same seed and different ones for another seed', () => {
    const run = (seed: number): number[] => {
      const b = new Backoff({ ...DEFAULT_RECONNECT, seed });
      return Array.from({ length: 6 }, (_, i) => b.delayMs(i + 1));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('without jitter is exact, and is exhausted after maxAttempts', () => {
    const b = new Backoff({ ...DEFAULT_RECONNECT, jitter: 0, initialDelayMs: 10, factor: 3, maxAttempts: 3 });
    expect([1, 2, 3].map((a) => b.delayMs(a))).toEqual([10, 30, 90]);
    expect(b.exhausted(2)).toBe(false);
    expect(b.exhausted(3)).toBe(true);
  });

  it('refuses nonsense options', () => {
    expect(() => new Backoff({ ...DEFAULT_RECONNECT, factor: 0.5 })).toThrow(/reconnect/);
    expect(() => new Backoff({ ...DEFAULT_RECONNECT, jitter: 2 })).toThrow(/reconnect/);
  });
});
