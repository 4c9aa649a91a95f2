// Seeded synthetic binary-classification data for the model-building tests (not a test file).
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { LabeledData } from '../../../../models/training/index.ts';
import { seededRng } from '../../../../models/training/index.ts';

/**
 * n rows × f features; ~30 % positives. Features 0–3 shift by +0.9 SD for positives, feature 4 has
 * a larger spread for positives (non-linear signal), the rest are noise. `nanRate` of values are NaN.
 */
export function syntheticData(n: number, f: number, seed: number, nanRate = 0.02): LabeledData {
  const rng = seededRng(seed, 'synthetic-data');
  const gauss = (): number => {
    const u = 1 - uniformFloat64(rng);
    const v = uniformFloat64(rng);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const x = new Float64Array(n * f);
  const y = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const label = uniformFloat64(rng) < 0.3 ? 1 : 0;
    y[r] = label;
    for (let j = 0; j < f; j++) {
      let v = gauss();
      if (j < 4 && label === 1) v += 0.9;
      if (j === 4 && label === 1) v *= 2.5;
      x[r * f + j] = uniformFloat64(rng) < nanRate ? Number.NaN : v * (j + 1) + j;
    }
  }
  return { featureNames: Array.from({ length: f }, (_, j) => `f${j}`), x, y };
}
