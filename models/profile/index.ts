// Public API of reference profiles: binning rule, drift statistics as thresholded, null
// thresholds, the profile builder and the untrusted-input parser.
export { ProfileError } from './errors.ts';
export type { ProfileErrorCode } from './errors.ts';
export {
  binCounts,
  binIndex,
  countsLength,
  edgesAreValid,
  mergeEdges,
  nextUp,
  quantileEdges,
} from './bins.ts';
export {
  PSI_EPSILON,
  chiSquareStatistic,
  binnedKs,
  binnedWasserstein,
  jsDistance,
  orderedPart,
  psi,
  representativePoints,
} from './statistics.ts';
export {
  DEFAULT_NULL_MODEL,
  DEFAULT_SAMPLE_SIZES,
  NULL_STATISTICS,
  checkNullModelOptions,
  nullStatistics,
  nullThresholds,
} from './nulls.ts';
export type { NullModelOptions, NullSampleCache, NullStatistic, NullThresholdTable } from './nulls.ts';
export { BINNING_RULE, PROFILE_FORMAT_VERSION } from './types.ts';
export type { BinnedReference, CalibrationReference, NullModelInfo, ReferenceProfile } from './types.ts';
export { DEFAULT_PROFILE_OPTIONS, binnedReference, buildReferenceProfile } from './build.ts';
export type { ProfileInput, ProfileOptions } from './build.ts';
export { PROFILE_LIMITS, parseProfile } from './parse.ts';
