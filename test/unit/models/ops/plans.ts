// The example preprocessing lists documented in docs/ops.md (fall detector, AF screener from ECG
// and from PPG), used by the plan, property and timing tests.
import type { PreprocessingStep } from '../../../../models/ops/index.ts';

export const FALL_STEPS: readonly PreprocessingStep[] = [
  { op: 'accel_features', version: 1, inputs: ['input'], output: 'features', params: {} },
];
export const FALL_INPUT = { rateHz: 50, channels: 3, length: 200 };

export const AF_ECG_STEPS: readonly PreprocessingStep[] = [
  {
    op: 'butter_bandpass',
    version: 1,
    inputs: ['input'],
    output: 'ecg_clean',
    params: { lowHz: 0.5, highHz: 40, order: 2, mode: 'zero_phase' },
  },
  { op: 'pan_tompkins', version: 1, inputs: ['ecg_clean'], output: 'r_peaks', params: {} },
  { op: 'rr_intervals', version: 1, inputs: ['r_peaks'], output: 'rr', params: { minMs: 250, maxMs: 2000 } },
  { op: 'rr_features', version: 1, inputs: ['rr'], output: 'features', params: { minIntervals: 10 } },
];
export const AF_ECG_INPUT = { rateHz: 250, channels: 1, length: 7500 };

export const AF_PPG_STEPS: readonly PreprocessingStep[] = [
  { op: 'pulse_peaks', version: 1, inputs: ['input'], output: 'pulses', params: {} },
  { op: 'rr_intervals', version: 1, inputs: ['pulses'], output: 'pp', params: { minMs: 250, maxMs: 2000 } },
  { op: 'rr_features', version: 1, inputs: ['pp'], output: 'features', params: { minIntervals: 10 } },
];
export const AF_PPG_INPUT = { rateHz: 64, channels: 1, length: 1920 };
