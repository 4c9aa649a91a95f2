import { describe, expect, it } from 'vitest';
import { Rng, SimulatorError } from '../../../simulator/index.ts';
import { mean, sd } from './helpers.ts';

describe('Rng', () => {
  it('gives the same stream for the same seed and labels', () => {
    const a = Rng.of(42, 'x', 3);
    const b = Rng.of(42, 'x', 3);
    for (let i = 0; i < 100; i++) expect(a.uniform()).toBe(b.uniform());
  });

  it('gives different streams for different seeds, labels, and number vs string seeds', () => {
    const first = (r: Rng): number => r.uniform();
    const values = new Set([
      first(Rng.of(1)),
      first(Rng.of(2)),
      first(Rng.of(1, 'a')),
      first(Rng.of(1, 'b')),
      first(Rng.of('1')),
    ]);
    expect(values.size).toBe(5);
  });

  it('forks without consuming the parent stream', () => {
    const a = Rng.of(7);
    const b = Rng.of(7);
    a.fork('child').uniform();
    expect(a.uniform()).toBe(b.uniform());
    expect(Rng.of(7).fork('c').uniform()).toBe(Rng.of(7, 'c').uniform());
  });

  it('draws standard normals with the right moments', () => {
    const r = Rng.of(3);
    const xs = Array.from({ length: 20000 }, () => r.normal());
    expect(Math.abs(mean(xs))).toBeLessThan(0.03);
    expect(Math.abs(sd(xs) - 1)).toBeLessThan(0.03);
  });

  it('keeps uniform draws in range', () => {
    const r = Rng.of(9);
    for (let i = 0; i < 1000; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      const k = r.int(2, 4);
      expect(k >= 2 && k <= 4 && Number.isInteger(k)).toBe(true);
    }
    expect(r.weighted([0, 1, 0])).toBe(1);
  });

  it('rejects bad seeds with BAD_SEED', () => {
    for (const seed of [-1, 1.5, Number.NaN, '']) {
      try {
        Rng.of(seed);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(SimulatorError);
        expect((err as SimulatorError).code).toBe('BAD_SEED');
      }
    }
  });
});
