// Confidence intervals for a proportion (Wilson 1927) and a Poisson count (Garwood 1936).
import { StatsError } from './errors.ts';
import { chi2Isf, chi2Ppf, normalQuantile } from './special.ts';

export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) {
    throw new StatsError('BAD_ARGUMENT', `confidence must be in (0, 1), got ${confidence}`);
  }
}

/**
 * Wilson score interval for successes/trials: stays inside [0, 1] and keeps near-nominal coverage at
 * the 0 %/100 % extremes where the Wald interval collapses (Brown, Cai & DasGupta 2001).
 */
export function wilsonInterval(successes: number, trials: number, confidence = 0.95): Interval {
  checkConfidence(confidence);
  if (!Number.isSafeInteger(trials) || trials < 0 || !Number.isSafeInteger(successes) || successes < 0) {
    throw new StatsError('BAD_COUNTS', 'successes and trials must be integers >= 0');
  }
  if (successes > trials) throw new StatsError('BAD_COUNTS', 'successes exceed trials');
  if (trials === 0) throw new StatsError('EMPTY_SAMPLE', 'no trials');
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const z2 = z * z;
  const p = successes / trials;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

/** Exact (Garwood) interval for the mean of a Poisson variable observed as `count`. */
export function poissonInterval(count: number, confidence = 0.95): Interval {
  checkConfidence(confidence);
  if (!(count >= 0) || !Number.isFinite(count)) throw new StatsError('BAD_COUNTS', 'count must be >= 0');
  const a = 1 - confidence;
  return {
    lower: count === 0 ? 0 : chi2Ppf(a / 2, 2 * count) / 2,
    upper: chi2Isf(a / 2, 2 * count + 2) / 2,
  };
}
