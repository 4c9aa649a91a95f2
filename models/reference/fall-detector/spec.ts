// The fall detector reference model: 4 s accelerometer windows (50 Hz, hop 1 s) → p(fall).
import type { ReferenceModelSpec } from '../build.ts';

export const FALL_DETECTOR_DATASET = Object.freeze({
  generator: 'fallWindows',
  seed: 20_261_101,
  count: 4000,
  windowS: 4,
  rateHz: 50,
  positiveFraction: 0.4,
  nearFallFraction: 0.3,
});

export const FALL_DETECTOR_SPEC: ReferenceModelSpec = {
  name: 'fall-detector',
  version: '1.0.0',
  input: { rateHz: 50, channels: 3, windowS: 4 },
  preprocessing: [{ op: 'accel_features', version: 1, inputs: ['input'], output: 'features', params: {} }],
  featuresFrom: 'features',
  inputName: 'features',
  outputName: 'p_fall',
  splitKey: 'fall-detector/split/v1',
  splitFractions: { train: 0.6, validation: 0.2, test: 0.2 },
  train: { seed: 1101, hiddenUnits: [16], activation: 'tanh', maxEpochs: 400, batchSize: 64, patience: 40 },
  targetSensitivity: 0.97,
  hysteresis: 0.1,
  indeterminateBand: 0.1,
  acceptance: [
    { metric: 'test.sensitivity', comparator: '>=', threshold: 0.9 },
    { metric: 'test.specificity', comparator: '>=', threshold: 0.9 },
    { metric: 'test.rocAuc', comparator: '>=', threshold: 0.95 },
    { metric: 'test.ece', comparator: '<=', threshold: 0.05 },
    { metric: 'cohorts.min.sensitivity', comparator: '>=', threshold: 0.85 },
    { metric: 'cohorts.min.specificity', comparator: '>=', threshold: 0.85 },
  ],
  acceptanceRationale:
    'A missed fall leaves a person on the floor, so sensitivity comes first (≥ 0.90 overall, ≥ 0.85 in ' +
    'every age band); false alarms erode trust and caregiver response, so specificity must also reach ' +
    '0.90 against a test set deliberately rich in near-falls (sitting down hard, dropped devices). ' +
    'These are the levels wearable fall detectors are commonly required to reach in laboratory ' +
    'validation; they are acceptance levels for simulated data, not a clinical claim.',
  cohortDimension: 'age',
  profileSeed: 1102,
  bootstrapSeed: 1103,
};

/** The drift reference: a day-to-day mix where falls are rare and near-falls occasional. */
export const FALL_DETECTOR_POPULATION = Object.freeze({
  generator: 'fallWindows',
  seed: 20_261_111,
  count: 4000,
  windowS: 4,
  rateHz: 50,
  positiveFraction: 0.02,
  nearFallFraction: 0.1,
});
