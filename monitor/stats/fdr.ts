// False-discovery-rate control across the many (feature × group × statistic) tests the collector runs
// each period. Benjamini & Hochberg (1995) step-up for independent or positively dependent p-values;
// Benjamini & Yekutieli (2001) multiplies by c(m) = Σ_{i≤m} 1/i for arbitrary dependence (drift
// statistics of one device group share windows, so BY is the conservative choice).
import { StatsError } from './errors.ts';

export type FdrMethod = 'bh' | 'by';

export interface FdrResult {
  readonly method: FdrMethod;
  readonly alpha: number;
  /** Adjusted p-values (q-values), in input order. */
  readonly qValues: readonly number[];
  /** q ≤ alpha, in input order. */
  readonly rejected: readonly boolean[];
  readonly rejections: number;
}

/** Adjusted p-values and rejections at FDR level alpha. */
export function falseDiscoveryControl(
  pValues: readonly number[],
  alpha: number,
  method: FdrMethod = 'bh',
): FdrResult {
  if (!(alpha > 0 && alpha < 1))
    throw new StatsError('BAD_ARGUMENT', `alpha must be in (0, 1), got ${alpha}`);
  const m = pValues.length;
  for (let i = 0; i < m; i++) {
    const p = pValues[i] as number;
    if (!(p >= 0 && p <= 1)) throw new StatsError('BAD_ARGUMENT', `p-value ${i} must be in [0, 1]`);
  }
  let factor = 1;
  switch (method) {
    case 'bh':
      break;
    case 'by':
      factor = 0;
      for (let i = 1; i <= m; i++) factor += 1 / i;
      break;
  }
  // Stable ascending order of the p-values.
  const order = Array.from({ length: m }, (_, i) => i).sort(
    (a, b) => (pValues[a] as number) - (pValues[b] as number) || a - b,
  );
  const q = new Array<number>(m);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const index = order[rank - 1] as number;
    const adjusted = ((pValues[index] as number) * m * factor) / rank;
    running = Math.min(running, adjusted);
    q[index] = running;
  }
  const rejected = q.map((v) => v <= alpha);
  return { method, alpha, qValues: q, rejected, rejections: rejected.filter(Boolean).length };
}
