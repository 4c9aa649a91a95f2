// The AF screener reference model: 30 s single-lead ECG windows (250 Hz, hop 5 s) → RR features → p(AF).
import type { ReferenceModelSpec } from '../build.ts';

export const AF_SCREENER_DATASET = Object.freeze({
  generator: 'afWindows',
  seed: 20_261_102,
  count: 1500,
  windowS: 30,
  rateHz: 250,
  source: 'ecg' as const,
  positiveFraction: 0.4,
  ectopyFraction: 0.3,
});

export const AF_SCREENER_SPEC: ReferenceModelSpec = {
  name: 'af-screener',
  version: '1.0.0',
  input: { rateHz: 250, channels: 1, windowS: 30 },
  preprocessing: [
    {
      op: 'butter_bandpass',
      version: 1,
      inputs: ['input'],
      output: 'ecg_clean',
      params: { lowHz: 0.5, highHz: 40, order: 2, mode: 'zero_phase' },
    },
    { op: 'pan_tompkins', version: 1, inputs: ['ecg_clean'], output: 'r_peaks', params: {} },
    {
      op: 'rr_intervals',
      version: 1,
      inputs: ['r_peaks'],
      output: 'rr',
      params: { minMs: 250, maxMs: 2000 },
    },
    { op: 'rr_features', version: 1, inputs: ['rr'], output: 'features', params: { minIntervals: 10 } },
  ],
  featuresFrom: 'features',
  inputName: 'rr_features',
  outputName: 'p_af',
  splitKey: 'af-screener/split/v1',
  splitFractions: { train: 0.6, validation: 0.2, test: 0.2 },
  train: { seed: 1201, hiddenUnits: [12], activation: 'tanh', maxEpochs: 400, batchSize: 64, patience: 40 },
  targetSensitivity: 0.95,
  hysteresis: 0.1,
  indeterminateBand: 0.1,
  acceptance: [
    { metric: 'test.sensitivity', comparator: '>=', threshold: 0.9 },
    { metric: 'test.specificity', comparator: '>=', threshold: 0.95 },
    { metric: 'test.rocAuc', comparator: '>=', threshold: 0.97 },
    { metric: 'test.ece', comparator: '<=', threshold: 0.05 },
    { metric: 'cohorts.min.sensitivity', comparator: '>=', threshold: 0.85 },
    { metric: 'cohorts.min.specificity', comparator: '>=', threshold: 0.9 },
  ],
  acceptanceRationale:
    'A screener runs continuously on people who mostly do not have AF, so false positives dominate the ' +
    'alert burden: specificity ≥ 0.95 overall (≥ 0.90 per age band) against a test set rich in ectopic ' +
    'beats, with sensitivity ≥ 0.90 (≥ 0.85 per band) because a positive prompts a confirmatory ECG ' +
    'rather than treatment. These mirror levels reported for RR-irregularity AF detection; they are ' +
    'acceptance levels for simulated data, not a clinical claim.',
  cohortDimension: 'age',
  profileSeed: 1202,
  bootstrapSeed: 1203,
};

/** The drift reference: a screening population where AF is the minority and ectopy common. */
export const AF_SCREENER_POPULATION = Object.freeze({
  generator: 'afWindows',
  seed: 20_261_112,
  count: 1600,
  windowS: 30,
  rateHz: 250,
  source: 'ecg' as const,
  positiveFraction: 0.1,
  ectopyFraction: 0.25,
});
