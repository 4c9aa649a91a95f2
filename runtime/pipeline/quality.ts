// The data-quality gate: checks that run on the raw window before any model sees it. Each failure
// carries the reason code that the result, the monitor and the audit trail report.
import type { InputSpec, QualityPolicy } from '../../models/format/manifest.ts';
import type { FallbackReason } from './result.ts';
import { SENSOR_FLAG_NAMES, type Window } from './types.ts';

export type QualityVerdict =
  | { readonly kind: 'pass' }
  | { readonly kind: 'fail'; readonly reason: FallbackReason; readonly detail: string };

const PASS: QualityVerdict = Object.freeze({ kind: 'pass' });

function fail(reason: FallbackReason, detail: string): QualityVerdict {
  return { kind: 'fail', reason, detail };
}

/** Flag bits named in the policy's `rejectFlags` (unknown names were refused at verification). */
export function rejectMask(policy: QualityPolicy): number {
  let mask = 0;
  for (const name of policy.rejectFlags) mask |= SENSOR_FLAG_NAMES[name] ?? 0;
  return mask;
}

/** Checks on the raw samples, cheapest first; the first failure wins. */
export function checkRawWindow(
  window: Window,
  input: InputSpec,
  policy: QualityPolicy,
  mask: number,
): QualityVerdict {
  if (window.flagsUnion & mask) {
    return fail('QUALITY_SENSOR_FLAG', `${window.flaggedSamples} samples flagged by the sensor`);
  }
  const total = window.channels[0]?.length ?? 0;
  if (total === 0) return fail('QUALITY_MISSING', 'empty window');
  const missingFraction = window.missingSamples / total;
  if (missingFraction > policy.maxMissingFraction) {
    return fail('QUALITY_MISSING', `${(missingFraction * 100).toFixed(1)} % of samples missing`);
  }
  if (window.rateJitterRel > policy.maxRateJitterRel) {
    return fail(
      'QUALITY_RATE_JITTER',
      `timing deviates ${(window.rateJitterRel * 100).toFixed(1)} % from the rate`,
    );
  }
  for (let c = 0; c < window.channels.length; c += 1) {
    const samples = window.channels[c] as Float64Array;
    const spec = input.channels[c];
    if (!spec) return fail('QUALITY_RANGE', `channel ${c} is not declared`);
    let present = 0;
    let nonFinite = 0;
    let outOfRange = 0;
    let clipped = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < samples.length; i += 1) {
      const value = samples[i] as number;
      if (Number.isNaN(value)) continue; // missing samples were counted above
      present += 1;
      if (!Number.isFinite(value)) {
        nonFinite += 1;
        continue;
      }
      if (value < spec.min || value > spec.max) outOfRange += 1;
      else if (value === spec.min || value === spec.max) clipped += 1;
      if (value < min) min = value;
      if (value > max) max = value;
    }
    // NaN that the stream did not mark missing means the firmware sent NaN samples.
    const unexplainedNaN = samples.length - present - window.missingSamples;
    if (nonFinite > 0 || unexplainedNaN > 0) {
      return fail(
        'QUALITY_NAN',
        `${spec.name}: ${nonFinite + Math.max(0, unexplainedNaN)} non-finite samples`,
      );
    }
    if (outOfRange > 0) {
      return fail(
        'QUALITY_RANGE',
        `${spec.name}: ${outOfRange} samples outside [${spec.min}, ${spec.max}] ${spec.unit}`,
      );
    }
    if (present > 0 && clipped / present > policy.maxClippedFraction) {
      return fail(
        'QUALITY_CLIPPING',
        `${spec.name}: ${((clipped / present) * 100).toFixed(1)} % of samples at the rail`,
      );
    }
    if (present > 0 && max - min < policy.flatlinePeakToPeak) {
      return fail(
        'QUALITY_FLATLINE',
        `${spec.name}: peak-to-peak ${(max - min).toPrecision(3)} ${spec.unit}`,
      );
    }
  }
  return PASS;
}
