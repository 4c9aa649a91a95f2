// Public API of monitor/stats: pure statistics on plain arrays, shared by the device and the collector.
// Definitions, bin layout and threshold methods: docs/statistics.md.
export { StatsError } from './errors.ts';
export type { StatsErrorCode } from './errors.ts';
export {
  betaRegularized,
  binomialUpperTail,
  chi2Isf,
  chi2Ppf,
  chi2Sf,
  erfc,
  gammaP,
  gammaQ,
  gammaQuantile,
  gammaQuantileUpper,
  kolmogorovIsf,
  kolmogorovSf,
  lnGamma,
  normalCdf,
  normalQuantile,
} from './special.ts';
export {
  addCountsInto,
  addRow,
  addValue,
  addValues,
  assertCounts,
  assertEdges,
  binIndex,
  countsLength,
  createCounts,
  createMergedCounts,
  mergeCounts,
  nanBinIndex,
  orderedCount,
  overflowBinIndex,
  representativePoints,
  totalCount,
} from './bins.ts';
export type { BinCounts, MutableBinCounts } from './bins.ts';
export {
  binnedKs,
  binnedWasserstein,
  chiSquareGof,
  jensenShannonDistance,
  psi,
  PSI_EPSILON,
} from './distances.ts';
export type { ChiSquareResult } from './distances.ts';
export { driftStatistics, normalisedWasserstein, prepareReference } from './drift.ts';
export type { DriftStatistics, Missingness, PreparedReference, ReferenceBins } from './drift.ts';
export { SeededRandom } from './random.ts';
export { asymptoticExponent, DRIFT_STATISTICS, isDriftStatisticName } from './statistics.ts';
export type { DriftStatisticName } from './statistics.ts';
export { analyticPValue, analyticThreshold, jsScale, psiScale } from './analyticNull.ts';
export {
  calibrateNullThresholds,
  empiricalPValue,
  parseNullThresholdTable,
  simulateNull,
  simulateNullWith,
  thresholdAt,
  upperQuantile,
} from './monteCarloNull.ts';
export type {
  CalibrateNullOptions,
  NullSample,
  NullThresholdTable,
  TableThreshold,
} from './monteCarloNull.ts';
export { evaluateDrift, monteCarloPValues, statisticValue } from './evaluate.ts';
export type { DriftEvaluation, StatisticDecision, ThresholdSource } from './evaluate.ts';
export { poissonInterval, wilsonInterval } from './intervals.ts';
export type { Interval } from './intervals.ts';
export { Cusum, PageHinkley, validateCusumConfig, validatePageHinkleyConfig } from './changeDetection.ts';
export type {
  ChangeDirection,
  ChangeSignal,
  CusumConfig,
  CusumState,
  PageHinkleyBaseline,
  PageHinkleyConfig,
  PageHinkleyState,
} from './changeDetection.ts';
export { calibrateCusum, calibratePageHinkley, generateStream } from './changeCalibration.ts';
export type {
  CalibrateCusumOptions,
  CalibratePageHinkleyOptions,
  ChangeCalibration,
  NullStream,
  Validation,
} from './changeCalibration.ts';
export {
  addLabelled,
  addUnlabelled,
  assertScoreBins,
  createScoreBins,
  expectedCalibrationError,
  mergeScoreBinsInto,
  observedExpected,
  reliabilityPoints,
  scoreBinEdges,
} from './scoreBins.ts';
export type { ObservedExpected, ReliabilityPoint, ScoreBins, ScoreBinsView } from './scoreBins.ts';
export {
  accuracy,
  addOutcome,
  assertConfusion,
  confusionFromScoreBins,
  EMPTY_CONFUSION,
  mergeConfusion,
  positivePredictiveValue,
  proportion,
  sensitivity,
  specificity,
  thresholdEdgeIndex,
} from './confusion.ts';
export type { ConfusionCounts, ProportionEstimate } from './confusion.ts';
export { cbpeEstimate } from './cbpe.ts';
export type { CbpeMetric, CbpeResult } from './cbpe.ts';
export { falseDiscoveryControl } from './fdr.ts';
export type { FdrMethod, FdrResult } from './fdr.ts';
export { DEFAULT_LATENCY_BINS, latencyEdges, latencyQuantile } from './latency.ts';
export type { LatencyBinsSpec, LatencyQuantile } from './latency.ts';
