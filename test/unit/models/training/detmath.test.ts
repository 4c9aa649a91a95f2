import { describe, expect, it } from 'vitest';
import { dexp, dlog, dsigmoid, dsoftplus, dtanh } from '../../../../models/training/index.ts';

describe('deterministic elementary functions', () => {
  it('agree with Math within ~2 ulp over their ranges', () => {
    for (let i = 0; i <= 20000; i++) {
      const x = -740 + (1449 * i) / 20000;
      const e = Math.exp(x);
      if (e > 1e-300) expect(Math.abs(dexp(x) - e) / e).toBeLessThan(5e-16);
      const y = Math.exp(-700 + (1400 * i) / 20000);
      const l = Math.log(y);
      expect(Math.abs(dlog(y) - l)).toBeLessThanOrEqual(Math.max(Math.abs(l), 1) * 5e-16);
      const t = -30 + (60 * i) / 20000;
      expect(Math.abs(dtanh(t) - Math.tanh(t))).toBeLessThan(5e-16);
    }
  });

  it('handles special values', () => {
    expect(dexp(0)).toBe(1);
    expect(dexp(1000)).toBe(Infinity);
    expect(dexp(-1000)).toBe(0);
    expect(Number.isNaN(dexp(Number.NaN))).toBe(true);
    expect(dlog(1)).toBe(0);
    expect(dlog(0)).toBe(-Infinity);
    expect(Number.isNaN(dlog(-1))).toBe(true);
    expect(dlog(Infinity)).toBe(Infinity);
    expect(dlog(5e-324)).toBeCloseTo(-744.4400719213812, 10);
    expect(dtanh(50)).toBe(1);
    expect(dtanh(-50)).toBe(-1);
    expect(dsigmoid(0)).toBe(0.5);
    expect(dsigmoid(-800)).toBe(0);
    expect(dsigmoid(800)).toBe(1);
    expect(dsoftplus(800)).toBe(800);
    expect(dsoftplus(-800)).toBe(0);
    expect(dsoftplus(0)).toBeCloseTo(Math.LN2, 15);
  });

  it('pins a few bit patterns (these must never change between machines)', () => {
    expect(dexp(0.5)).toBe(1.6487212707001282);
    expect(dtanh(0.3)).toBe(0.29131261245159085);
    expect(dlog(10)).toBe(2.302585092994046);
    expect(dexp(-3.7)).toBe(0.024723526470339388);
    expect(dlog(0.123)).toBe(-2.0955709236097197);
  });
});
