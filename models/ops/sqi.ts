// Where each signal-quality index comes from, so the runtime can compute exactly the indices a
// quality policy names (policy `sqi[].name`) and verification can reject unknown names.
import { OpError } from './types.ts';
import type { PreprocessingStep } from './types.ts';
import { ECG_SQI_NAMES } from './catalogue/ecg.ts';
import { PPG_SQI_NAMES } from './catalogue/ppg.ts';
import { ACTIVITY_NAMES } from './catalogue/accel.ts';

type Source = 'ecg' | 'ppg' | 'activity';
interface SqiSource {
  readonly op: string;
  readonly source: Source;
}

/** SQI feature name → the op chain that produces it. */
export const SQI_FEATURES: ReadonlyMap<string, SqiSource> = new Map<string, SqiSource>([
  ...ECG_SQI_NAMES.map((n): [string, SqiSource] => [n, { op: 'ecg_sqi@1', source: 'ecg' }]),
  ...PPG_SQI_NAMES.map((n): [string, SqiSource] => [n, { op: 'ppg_template_sqi@1', source: 'ppg' }]),
  ...ACTIVITY_NAMES.map((n): [string, SqiSource] => [n, { op: 'activity_level@1', source: 'activity' }]),
]);

export const SQI_OUTPUT = 'sqi';

/**
 * Steps computing the named indices from the window (`input`), ending in a features value named
 * `sqi` (which holds more than the requested names when an op yields several). `channel` selects
 * the channel of a multi-channel window for ECG/PPG indices. Unknown names: OpError BAD_PARAMS.
 */
export function sqiSteps(
  names: readonly string[],
  channel: number | null = null,
): readonly PreprocessingStep[] {
  const sources = new Set<Source>();
  for (const n of names) {
    const s = SQI_FEATURES.get(n);
    if (s === undefined) {
      throw new OpError(
        'BAD_PARAMS',
        `unknown signal quality index ${JSON.stringify(n.slice(0, 64))} (known: ${[...SQI_FEATURES.keys()].join(', ')})`,
      );
    }
    sources.add(s.source);
  }
  const steps: PreprocessingStep[] = [];
  let src = 'input';
  if (channel !== null && (sources.has('ecg') || sources.has('ppg'))) {
    steps.push({
      op: 'select_channels',
      version: 1,
      inputs: ['input'],
      output: 'sqi_channel',
      params: { channels: [channel] },
    });
    src = 'sqi_channel';
  }
  const parts: string[] = [];
  if (sources.has('ecg')) {
    steps.push({ op: 'ecg_sqi', version: 1, inputs: [src], output: 'sqi_ecg', params: {} });
    parts.push('sqi_ecg');
  }
  if (sources.has('ppg')) {
    steps.push({ op: 'pulse_peaks', version: 1, inputs: [src], output: 'sqi_ppg_peaks', params: {} });
    steps.push({
      op: 'ppg_template_sqi',
      version: 1,
      inputs: [src, 'sqi_ppg_peaks'],
      output: 'sqi_ppg',
      params: {},
    });
    parts.push('sqi_ppg');
  }
  if (sources.has('activity')) {
    steps.push({ op: 'activity_level', version: 1, inputs: ['input'], output: 'sqi_activity', params: {} });
    parts.push('sqi_activity');
  }
  if (parts.length === 0) throw new OpError('BAD_PARAMS', 'no signal quality index requested');
  steps.push({ op: 'concat_features', version: 1, inputs: parts, output: SQI_OUTPUT, params: {} });
  return steps;
}
