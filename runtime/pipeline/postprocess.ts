// Post-processing per stream: threshold table with hysteresis, an indeterminate band, and the
// consecutive-window (minimum duration) and refractory rules for alerts — all from the signed
// manifest (docs/pipeline.md "Post-processing").
import type { PostprocessingRules, ThresholdTable } from '../../models/format/manifest.ts';

export interface PostprocessState {
  positive: boolean;
  consecutivePositive: number;
  lastAlertEndMs: number;
  /** Whether the current run of positive windows has already raised its alert. */
  alertedThisRun?: boolean;
}

export function initialPostprocessState(): PostprocessState {
  return {
    positive: false,
    consecutivePositive: 0,
    lastAlertEndMs: Number.NEGATIVE_INFINITY,
    alertedThisRun: false,
  };
}

export type Decision =
  | { readonly kind: 'indeterminate' }
  | { readonly kind: 'decided'; readonly positive: boolean; readonly alert: boolean };

/**
 * Applies the rules to one score; mutates `state` (owned by one stream).
 *
 * - Thresholds with hysteresis: a negative stream turns positive at `operatingThreshold`; a positive
 *   one stays positive until the score falls below `releaseThreshold`.
 * - Indeterminate band: a score in [indeterminateLow, operatingThreshold) on a negative stream is
 *   reported as indeterminate and breaks any run.
 * - Alerts: one per run of positive windows, once the run is `consecutiveWindows` long and at least
 *   `refractoryMs` after the previous alert (a run that starts inside the refractory period alerts
 *   once the period is over, if it is still positive then).
 */
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
    state.alertedThisRun = false;
    return { kind: 'indeterminate' };
  }
  state.positive = positive;
  if (!positive) {
    state.consecutivePositive = 0;
    state.alertedThisRun = false;
    return { kind: 'decided', positive: false, alert: false };
  }
  state.consecutivePositive += 1;
  const alert =
    state.alertedThisRun !== true &&
    state.consecutivePositive >= rules.consecutiveWindows &&
    windowEndMs - state.lastAlertEndMs >= rules.refractoryMs;
  if (alert) {
    state.lastAlertEndMs = windowEndMs;
    state.alertedThisRun = true;
  }
  return { kind: 'decided', positive: true, alert };
}

/** A window the model could not judge breaks any run of positives. */
export function interrupt(state: PostprocessState): void {
  state.positive = false;
  state.consecutivePositive = 0;
  state.alertedThisRun = false;
}
