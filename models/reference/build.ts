// Builds one reference model from labelled raw windows: features through the very preprocessing
// plan the bundle declares (train/serve parity), a persisted split, deterministic training, ONNX
// export, threshold choice on validation, evidence on the held-out test set, and the drift profile.
// Everything here is deterministic; the only inputs that vary by machine or commit (source commit,
// lock-file hash) go into the evidence file, never into the ONNX file or the profile.
import {
  bootstrapInterval,
  buildEvidenceSummary,
  cohortMetrics,
  metricSet,
  rocAuc,
  sensitivity,
  specificity,
  confusionAt,
  chooseOperatingThreshold,
  type AcceptanceSpec,
  type ConfidenceInterval,
} from '../evaluation/index.ts';
import type { EvidenceSummary } from '../format/manifest.ts';
import { scoreWithOnnxRuntime } from '../onnx/index.ts';
import { compilePreprocessing, type PreprocessingStep } from '../ops/index.ts';
import { buildReferenceProfile, type ReferenceProfile } from '../profile/index.ts';
import {
  datasetSnapshotSha256,
  exportClassifierOnnx,
  splitIndices,
  trainClassifier,
  type SplitFractions,
  type TrainOptions,
} from '../training/index.ts';

/** One labelled raw window as the sensor would deliver it (channels at the model's rate). */
export interface RawExample {
  readonly id: string;
  /** Full cohort key, e.g. `age=65+;activity=sedentary;placement=wrist`. */
  readonly cohort: string;
  readonly label: 0 | 1;
  /** What the simulator generated (e.g. `fall-forward`, `sit-hard`, `af`), for error analysis. */
  readonly kind: string;
  readonly channels: readonly Float64Array[];
}

export interface ReferenceModelSpec {
  readonly name: string;
  readonly version: string;
  readonly input: { readonly rateHz: number; readonly channels: number; readonly windowS: number };
  readonly preprocessing: readonly PreprocessingStep[];
  readonly featuresFrom: string;
  readonly inputName: string;
  readonly outputName: string;
  readonly splitKey: string;
  readonly splitFractions: SplitFractions;
  readonly train: Partial<TrainOptions> & { readonly seed: number };
  /** Operating threshold: reaches this sensitivity on validation, then maximises specificity (operating-point.ts). */
  readonly targetSensitivity: number;
  /** Release threshold = operating − this (hysteresis); indeterminate band = [operating − this, operating). */
  readonly hysteresis: number;
  readonly indeterminateBand: number;
  readonly acceptance: readonly AcceptanceSpec[];
  /** Why these acceptance thresholds (goes into the evidence file). */
  readonly acceptanceRationale: string;
  /** Evidence groups cohorts by this key of the cohort string (e.g. `age`). */
  readonly cohortDimension: string;
  readonly profileSeed: number;
  readonly bootstrapSeed: number;
}

export interface ProvenanceInputs {
  readonly sourceCommit: string;
  readonly dependencyLockSha256: string;
  readonly datasetDescription: string;
}

export interface Thresholds {
  readonly operatingThreshold: number;
  readonly releaseThreshold: number;
  readonly indeterminateLow: number;
}

export interface ReferenceEvidence {
  readonly model: string;
  readonly version: string;
  readonly provenance: {
    readonly sourceCommit: string;
    readonly trainingRunId: string;
    readonly datasetSnapshotSha256: string;
    readonly splitKey: string;
    readonly dependencyLockSha256: string;
    readonly seed: number;
    readonly hyperparameters: Readonly<Record<string, number | string>>;
    readonly dataset: string;
  };
  readonly data: Readonly<Record<'train' | 'validation' | 'test', { n: number; positives: number }>>;
  readonly featureNames: readonly string[];
  readonly thresholds: Thresholds & { readonly chosenOn: string; readonly targetSensitivity: number };
  readonly validation: {
    readonly sensitivity: number;
    readonly specificity: number;
    readonly rocAuc: number;
  };
  readonly confidenceIntervals95: Readonly<
    Record<'sensitivity' | 'specificity' | 'rocAuc', ConfidenceInterval>
  >;
  readonly errorsByKind: Readonly<Record<string, { n: number; wrong: number }>>;
  readonly summary: EvidenceSummary;
  readonly acceptanceRationale: string;
  readonly training: {
    readonly bestEpoch: number;
    readonly epochsRun: number;
    readonly stoppedEarly: boolean;
  };
}

export interface ReferenceBuild {
  readonly onnx: Uint8Array;
  readonly profile: ReferenceProfile;
  readonly evidence: ReferenceEvidence;
  readonly thresholds: Thresholds;
  readonly featureNames: readonly string[];
  readonly datasetSnapshotSha256: string;
  /** ONNX Runtime scores of the reference population (for calibrating change detection). */
  readonly referenceScores: Float64Array;
}

function cohortGroup(cohort: string, dimension: string): string {
  for (const part of cohort.split(';')) {
    const [key, value] = part.split('=');
    if (key === dimension && value !== undefined) return `${dimension}=${value}`;
  }
  return `${dimension}=unknown`;
}

function rows(x: Float64Array, width: number, indices: readonly number[]): Float64Array {
  const out = new Float64Array(indices.length * width);
  indices.forEach((row, i) => {
    out.set(x.subarray(row * width, (row + 1) * width), i * width);
  });
  return out;
}

function pick<T>(values: ArrayLike<T>, indices: readonly number[]): T[] {
  return indices.map((i) => values[i] as T);
}

/**
 * `examples` are split into train/validation/test. `population` is a separate sample with the
 * prevalence and mix expected in use: the drift profile and the change detector's reference describe
 * what a device should see in the field, not the class-balanced training data.
 */
export async function buildReferenceModel(
  spec: ReferenceModelSpec,
  examples: readonly RawExample[],
  population: readonly RawExample[],
  provenance: ProvenanceInputs,
): Promise<ReferenceBuild> {
  const plan = compilePreprocessing(
    spec.preprocessing,
    {
      rateHz: spec.input.rateHz,
      channels: spec.input.channels,
      length: Math.round(spec.input.windowS * spec.input.rateHz),
    },
    spec.featuresFrom,
  );
  const featureNames = plan.featureNames;
  const width = featureNames.length;
  const featurise = (list: readonly RawExample[]) => {
    const matrix = new Float64Array(list.length * width);
    const labels = new Uint8Array(list.length);
    list.forEach((example, i) => {
      const features = plan.run({ kind: 'signal', rateHz: spec.input.rateHz, channels: example.channels });
      matrix.set(features.values, i * width);
      labels[i] = example.label;
    });
    return { x: matrix, y: labels };
  };
  const { x, y } = featurise(examples);
  const reference = featurise(population);
  const ids = examples.map((e) => e.id);
  const cohorts = examples.map((e) => e.cohort);
  const datasetSha = datasetSnapshotSha256({ featureNames, ids, x, y, cohorts });
  const split = splitIndices(spec.splitKey, ids, spec.splitFractions);
  const data = (indices: readonly number[]) => ({
    featureNames,
    x: rows(x, width, indices),
    y: Uint8Array.from(pick(y, indices)),
  });
  const train = data(split.train);
  const validation = data(split.validation);
  const test = data(split.test);

  const model = trainClassifier(train, validation, spec.train);
  const onnx = exportClassifierOnnx(model, {
    inputName: spec.inputName,
    outputName: spec.outputName,
    docString: `Vigil reference model ${spec.name} ${spec.version}`,
    metadata: { 'vigil.model': spec.name, 'vigil.version': spec.version },
  });
  // Scores come from ONNX Runtime itself: thresholds and evidence describe the shipped file.
  const io = { inputName: spec.inputName, outputName: spec.outputName, featureCount: width };
  const validationScores = Float64Array.from(
    await scoreWithOnnxRuntime(onnx, Float32Array.from(validation.x), io),
  );
  const testScores = Float64Array.from(await scoreWithOnnxRuntime(onnx, Float32Array.from(test.x), io));
  const referenceScores = Float64Array.from(
    await scoreWithOnnxRuntime(onnx, Float32Array.from(reference.x), io),
  );

  const operating = chooseOperatingThreshold(
    validationScores,
    validation.y,
    spec.targetSensitivity,
  ).threshold;
  const thresholds: Thresholds = {
    operatingThreshold: operating,
    releaseThreshold: Math.max(0, operating - spec.hysteresis),
    indeterminateLow: Math.max(0, operating - spec.indeterminateBand),
  };
  const testCohorts = pick(cohorts, split.test).map((c) => cohortGroup(c, spec.cohortDimension));
  const testSet = metricSet(testScores, test.y, operating);
  const perCohort = cohortMetrics(testScores, test.y, testCohorts, operating);
  const summary = buildEvidenceSummary(testSet, perCohort, spec.acceptance);
  const bootstrap = { seed: spec.bootstrapSeed, replicates: 1000, level: 0.95 };
  const errorsByKind: Record<string, { n: number; wrong: number }> = {};
  split.test.forEach((row, i) => {
    const kind = (examples[row] as RawExample).kind;
    const entry = (errorsByKind[kind] ??= { n: 0, wrong: 0 });
    entry.n += 1;
    const predicted = (testScores[i] as number) >= operating ? 1 : 0;
    if (predicted !== test.y[i]) entry.wrong += 1;
  });
  const validationConfusion = confusionAt(validationScores, validation.y, operating);

  const profile = buildReferenceProfile(
    {
      featureNames,
      x: reference.x,
      scores: referenceScores,
      labels: reference.y,
      referenceSplit: 'population',
    },
    {
      seed: spec.profileSeed,
      extraEdges: {
        score: [
          ...new Set([
            thresholds.operatingThreshold,
            thresholds.releaseThreshold,
            thresholds.indeterminateLow,
          ]),
        ],
      },
    },
  );

  const count = (indices: readonly number[]) => ({
    n: indices.length,
    positives: indices.reduce((sum, i) => sum + (y[i] as number), 0),
  });
  const evidence: ReferenceEvidence = {
    model: spec.name,
    version: spec.version,
    provenance: {
      sourceCommit: provenance.sourceCommit,
      trainingRunId: `${spec.name}@${spec.version}/seed-${spec.train.seed}/${datasetSha.slice(0, 12)}`,
      datasetSnapshotSha256: datasetSha,
      splitKey: spec.splitKey,
      dependencyLockSha256: provenance.dependencyLockSha256,
      seed: spec.train.seed,
      hyperparameters: model.hyperparameters,
      dataset: provenance.datasetDescription,
    },
    data: { train: count(split.train), validation: count(split.validation), test: count(split.test) },
    featureNames,
    thresholds: { ...thresholds, chosenOn: 'validation', targetSensitivity: spec.targetSensitivity },
    validation: {
      sensitivity: sensitivity(validationConfusion),
      specificity: specificity(validationConfusion),
      rocAuc: rocAuc(validationScores, validation.y),
    },
    confidenceIntervals95: {
      sensitivity: bootstrapInterval(
        testScores,
        test.y,
        (s, l) => sensitivity(confusionAt(s, l, operating)),
        bootstrap,
      ),
      specificity: bootstrapInterval(
        testScores,
        test.y,
        (s, l) => specificity(confusionAt(s, l, operating)),
        bootstrap,
      ),
      rocAuc: bootstrapInterval(testScores, test.y, (s, l) => rocAuc(s, l), bootstrap),
    },
    errorsByKind,
    summary,
    acceptanceRationale: spec.acceptanceRationale,
    training: { bestEpoch: model.bestEpoch, epochsRun: model.epochsRun, stoppedEarly: model.stoppedEarly },
  };
  return {
    onnx,
    profile,
    evidence,
    thresholds,
    featureNames,
    datasetSnapshotSha256: datasetSha,
    referenceScores,
  };
}
