import { describe, expect, it } from 'vitest';
import { falseDiscoveryControl, normalCdf, SeededRandom } from '../../../../monitor/stats/index.ts';
import { codeOf, expectClose, scipy } from './fixtures.ts';

describe('Benjamini–Hochberg / Benjamini–Yekutieli', () => {
  for (const c of scipy.fdr) {
    it(`matches the NumPy step-up transcription: ${c.name}`, () => {
      const result = falseDiscoveryControl(c.pValues, c.alpha, c.method);
      c.qValues.forEach((q, i) => {
        expectClose(result.qValues[i] ?? Number.NaN, q, 1e-12, 1e-300, `q[${i}]`);
      });
      expect(result.rejected).toEqual(c.rejected);
      expect(result.rejections).toBe(c.rejected.filter(Boolean).length);
    });
  }

  it('controls the FDR on simulated tests (10 % true drifts among 200)', () => {
    const random = SeededRandom.fromSeed(17);
    let fdpSum = 0;
    let powerSum = 0;
    const runs = 200;
    for (let r = 0; r < runs; r++) {
      const isDrift = Array.from({ length: 200 }, (_, i) => i < 20);
      // Null p-values are uniform; drifted ones come from a strong one-sided z-test (z shifted by 3.5).
      const p = isDrift.map((drift) => {
        if (!drift) return random.uniform();
        return normalCdf(-(random.normal() + 3.5));
      });
      const result = falseDiscoveryControl(p, 0.1);
      const falseRejections = result.rejected.filter((x, i) => x && !isDrift[i]).length;
      fdpSum += result.rejections > 0 ? falseRejections / result.rejections : 0;
      powerSum += result.rejected.filter((x, i) => x && isDrift[i]).length / 20;
    }
    // BH guarantees FDR ≤ m0/m·alpha = 0.09 for independent tests.
    expect(fdpSum / runs).toBeLessThan(0.1);
    expect(powerSum / runs).toBeGreaterThan(0.5);
  });

  it('BY is never less conservative than BH and both handle edge cases', () => {
    const p = [0.001, 0.01, 0.02, 0.04, 0.3];
    const bh = falseDiscoveryControl(p, 0.05, 'bh');
    const by = falseDiscoveryControl(p, 0.05, 'by');
    by.qValues.forEach((q, i) => {
      expect(q).toBeGreaterThanOrEqual(bh.qValues[i] ?? Infinity);
    });
    expect(falseDiscoveryControl([], 0.05).qValues).toEqual([]);
    expect(codeOf(falseDiscoveryControl, [0.5, Number.NaN], 0.05)).toBe('BAD_ARGUMENT');
    expect(codeOf(falseDiscoveryControl, [0.5, 1.2], 0.05)).toBe('BAD_ARGUMENT');
    expect(codeOf(falseDiscoveryControl, [0.5], 0)).toBe('BAD_ARGUMENT');
  });
});
