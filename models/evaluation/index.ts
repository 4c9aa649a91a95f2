// Public API of model evaluation: metrics, calibration, evidence and acceptance criteria.
export { EvaluationError } from './errors.ts';
export type { EvaluationErrorCode } from './errors.ts';
export {
  brierScore,
  checkScoresLabels,
  confusionAt,
  rocAuc,
  sensitivity,
  specificity,
  thresholdForSensitivity,
} from './metrics.ts';
export type { Confusion, Labels, OperatingPoint, Scores } from './metrics.ts';
export {
  ECE_BINS,
  calibrationBinIndex,
  eceFromBins,
  expectedCalibrationError,
  reliabilityBins,
} from './calibration.ts';
export type { ReliabilityBin } from './calibration.ts';
export {
  bootstrapInterval,
  buildEvidenceSummary,
  cohortMetrics,
  evaluateAcceptance,
  metricSet,
} from './evidence.ts';
export type {
  AcceptanceSpec,
  BootstrapOptions,
  CohortMetricSet,
  ConfidenceInterval,
  MetricName,
} from './evidence.ts';
export { chooseOperatingThreshold } from './operating-point.ts';
