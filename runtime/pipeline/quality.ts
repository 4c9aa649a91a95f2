// The data-quality gate: checks that run on the raw window before any model sees it, against the
// manifest's quality policy. Each failure carries the reason code that the result, the monitor and
// the audit trail report (docs/pipeline.md "Quality gate" lists the order and every code).
import type { InputSpec, QualityPolicy } from '../../models/format/manifest.ts';
import { measureChannels, type RawWindowStats } from './measure.ts';
import type { FallbackReason } from './result.ts';
import { SENSOR_FLAG_NAMES, type Window } from './types.ts';

export type QualityVerdict =
  | { readonly kind: 'pass' }
  | { readonly kind: 'fail'; readonly reason: FallbackReason; readonly detail: string };

export const PASS: QualityVerdict = Object.freeze({ kind: 'pass' });

function fail(reason: FallbackReason, detail: string): QualityVerdict {
  return { kind: 'fail', reason, detail };
}

/** Flag bits named in the policy's `rejectFlags` (unknown names were refused at verification). */
export function rejectMask(policy: QualityPolicy): number {
  let mask = 0;
  for (const name of policy.rejectFlags) mask |= SENSOR_FLAG_NAMES[name] ?? 0;
  return mask;
}

function flagNames(bits: number): string {
  const names = Object.entries(SENSOR_FLAG_NAMES)
    .filter(([, bit]) => (bits & bit) !== 0)
    .map(([name]) => name);
  return names.length > 0 ? names.join(', ') : `0x${bits.toString(16)}`;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} %`;
}

/** The window's raw measurements (from the windower, or measured here for windows built elsewhere). */
export function rawStatsOf(window: Window): RawWindowStats {
  return window.raw ?? measureChannels(window.channels, window.rateHz, window.missingSamples);
}

/**
 * Checks on the raw samples, in a fixed order (the first failure wins):
 * sensor flags → ±Infinity → missing (counter gaps + NaN) → timing → range → flatline → stuck
 * sensor → clipping.
 */
export function checkRawWindow(
  window: Window,
  input: InputSpec,
  policy: QualityPolicy,
  mask: number,
): QualityVerdict {
  const flagged = window.flagsUnion & mask;
  if (flagged !== 0) {
    return fail('QUALITY_SENSOR_FLAG', `${flagNames(flagged)}: ${window.flaggedSamples} samples flagged`);
  }
  const raw = rawStatsOf(window);
  const n = raw.nativeLength;
  if (n === 0 || raw.channels.length !== input.channels.length) {
    return fail('QUALITY_MISSING', 'empty window or wrong channel count');
  }
  if (raw.infiniteSamples > 0) {
    return fail('QUALITY_NAN', `${raw.infiniteSamples} samples are ±Infinity`);
  }
  const lost = window.missingSamples + raw.nanSamples;
  if (lost / n > policy.maxMissingFraction) {
    // NaN values from the firmware get their own code; counter gaps are plain missing samples.
    return raw.nanSamples > 0
      ? fail('QUALITY_NAN', `${raw.nanSamples} NaN samples (${percent(lost / n)} missing in all)`)
      : fail('QUALITY_MISSING', `${window.missingSamples} samples missing (${percent(lost / n)})`);
  }
  if (!(window.rateJitterRel <= policy.maxRateJitterRel)) {
    return fail(
      'QUALITY_RATE_JITTER',
      `timestamps deviate ${percent(window.rateJitterRel)} of the window from the declared rate`,
    );
  }
  let clipped = 0;
  for (let c = 0; c < raw.channels.length; c += 1) {
    const r = raw.channels[c];
    const spec = input.channels[c];
    if (!r || !spec) return fail('QUALITY_RANGE', `channel ${c} is not declared`);
    if (r.min > r.max) return fail('QUALITY_MISSING', `${spec.name}: no valid sample`);
    if (r.min < spec.min || r.max > spec.max) {
      return fail(
        'QUALITY_RANGE',
        `${spec.name}: values in [${r.min.toPrecision(4)}, ${r.max.toPrecision(4)}] outside ` +
          `[${spec.min}, ${spec.max}] ${spec.unit}`,
      );
    }
    if (r.max - r.min < policy.flatlinePeakToPeak) {
      return fail(
        'QUALITY_FLATLINE',
        `${spec.name}: peak-to-peak ${(r.max - r.min).toPrecision(3)} ${spec.unit}`,
      );
    }
    // Samples at a rail: at the declared range's edge, or at an extreme the signal reaches more than
    // once with at least one plateau (two consecutive samples): a saturated front end flattens the
    // peaks it cuts, while a clean (even quantised, periodic) signal touches its maximum in passing.
    if (r.max === spec.max || (r.atMax >= 2 && r.plateauAtMax === true)) clipped += r.atMax;
    if (r.min === spec.min || (r.atMin >= 2 && r.plateauAtMin === true)) clipped += r.atMin;
  }
  if (raw.heldSamples / n > policy.maxMissingFraction) {
    return fail('QUALITY_FLATLINE', `sensor stuck: ${raw.heldSamples} samples repeat the same value`);
  }
  if (clipped / n > policy.maxClippedFraction) {
    return fail('QUALITY_CLIPPING', `${percent(clipped / n)} of samples at a rail`);
  }
  return PASS;
}
