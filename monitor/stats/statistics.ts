// The names of the drift statistics (the same strings as the manifest's MonitoringPolicy.statistics)
// and how their null distributions scale with n, which thresholds need when they leave a grid.

export type DriftStatisticName = 'psi' | 'js' | 'ks' | 'wasserstein' | 'chi2';

export const DRIFT_STATISTICS: readonly DriftStatisticName[] = Object.freeze([
  'psi',
  'js',
  'ks',
  'wasserstein',
  'chi2',
]);

/**
 * Large-n exponent of the null (1 − α) quantile in n: n·PSI → χ²(k−1), so PSI ∝ 1/n; JS distance,
 * KS and Wasserstein are √n-consistent, so ∝ n^−½; the χ² statistic itself does not scale with n.
 */
export function asymptoticExponent(statistic: DriftStatisticName): number {
  switch (statistic) {
    case 'psi':
      return -1;
    case 'js':
    case 'ks':
    case 'wasserstein':
      return -0.5;
    case 'chi2':
      return 0;
  }
}

export function isDriftStatisticName(value: unknown): value is DriftStatisticName {
  return typeof value === 'string' && (DRIFT_STATISTICS as readonly string[]).includes(value);
}
