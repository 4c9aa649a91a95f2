// Post-processing per stream: threshold table with hysteresis, an indeterminate band, and the
// consecutive-window and refractory rules for alerts — all from the signed manifest.
import type { PostprocessingRules, ThresholdTable } from '../../models/format/manifest.ts';

export interface PostprocessState {
  positive: boolean;
  consecutivePositive: number;
  lastAlertEndMs: number;
}

export function initialPostprocessState(): PostprocessState {
  return { positive: false, consecutivePositive: 0, lastAlertEndMs: Number.NEGATIVE_INFINITY };
}

export type Decision =
  | { readonly kind: 'indeterminate' }
  | { readonly kind: 'decided'; readonly positive: boolean; readonly alert: boolean };

/** Applies the rules to one score; mutates `state` (owned by one stream). */
export function decide(
  score: number,
  windowEndMs: number,
  thresholds: ThresholdTable,
  rules: PostprocessingRules,
  state: PostprocessState,
): Decision {
  const wasPositive = state.positive;
  const positive = wasPositive
    ? score >= thresholds.releaseThreshold
    : score >= thresholds.operatingThreshold;
  if (!positive && !wasPositive && score >= thresholds.indeterminateLow) {
    state.consecutivePositive = 0;
    return { kind: 'indeterminate' };
  }
  state.positive = positive;
  state.consecutivePositive = positive ? state.consecutivePositive + 1 : 0;
  const alert =
    positive &&
    state.consecutivePositive === rules.consecutiveWindows &&
    windowEndMs - state.lastAlertEndMs >= rules.refractoryMs;
  if (alert) state.lastAlertEndMs = windowEndMs;
  return { kind: 'decided', positive, alert };
}

/** A window the model could not judge breaks any run of positives. */
export function interrupt(state: PostprocessState): void {
  state.positive = false;
  state.consecutivePositive = 0;
}
