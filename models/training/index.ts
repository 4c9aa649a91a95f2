// Public API of the deterministic trainer, split handling and provenance helpers.
export { TrainingError } from './errors.ts';
export type { TrainingErrorCode } from './errors.ts';
export { checkLabeledData, classCounts, rowCount, selectRows } from './data.ts';
export type { LabeledData } from './data.ts';
export { dexp, dlog, dsigmoid, dsoftplus, dtanh } from './detmath.ts';
export { checkSeed, derivedSeed, seededRng } from './rng.ts';
export type { RandomGenerator } from './rng.ts';
export { quantileSorted, sortedFinite } from './quantile.ts';
export { IQR_TO_SD, applyStandardizer, fitStandardizer } from './standardize.ts';
export type { StandardizationMethod, Standardizer } from './standardize.ts';
export { DEFAULT_TRAIN_OPTIONS, predictProba, resolveTrainOptions, trainClassifier } from './trainer.ts';
export type {
  Activation,
  ClassWeighting,
  DenseLayer,
  EpochRecord,
  TrainOptions,
  TrainedClassifier,
} from './trainer.ts';
export { exportClassifierOnnx, toMlpClassifierSpec } from './export.ts';
export type { ExportOptions } from './export.ts';
export {
  assignSplit,
  checkSplitFractions,
  datasetSnapshotSha256,
  splitIndices,
  splitUniform,
} from './split.ts';
export type { DatasetSnapshot, SplitFractions, SplitName } from './split.ts';
export {
  UNKNOWN_COMMIT,
  defaultCommandRunner,
  defaultReadFile,
  dependencyLockSha256,
  sha256Hex,
  sourceCommit,
} from './provenance.ts';
export type { CommandRunner, ReadFile } from './provenance.ts';
