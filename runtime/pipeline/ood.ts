// Out-of-distribution check on the preprocessed features against the reference profile: features
// beyond the reference support, or a diagonal (per-feature SD) RMS distance beyond the policy.
import type { OodPolicy } from '../../models/format/manifest.ts';
import type { FeatureReference } from './features.ts';
import type { QualityVerdict } from './quality.ts';

export function checkOod(
  values: Float64Array,
  reference: FeatureReference,
  policy: OodPolicy,
): QualityVerdict {
  const count = values.length;
  let outside = 0;
  let sumSquares = 0;
  let used = 0;
  for (let i = 0; i < count; i += 1) {
    const value = values[i] as number;
    if (Number.isNaN(value)) continue; // not computable for this window: imputed inside the model
    const min = reference.min[i] as number;
    const max = reference.max[i] as number;
    if (value < min || value > max) outside += 1;
    const sd = reference.sd[i] as number;
    if (sd > 0) {
      const z = (value - (reference.mean[i] as number)) / sd;
      sumSquares += z * z;
      used += 1;
    }
  }
  if (count > 0 && outside / count > policy.maxFeaturesOutsideSupport) {
    return {
      kind: 'fail',
      reason: 'OOD_SUPPORT',
      detail: `${outside} of ${count} features outside the reference support`,
    };
  }
  const distance = used > 0 ? Math.sqrt(sumSquares / used) : 0;
  if (distance > policy.maxDistance) {
    return {
      kind: 'fail',
      reason: 'OOD_DISTANCE',
      detail: `distance ${distance.toFixed(2)} SD exceeds ${policy.maxDistance}`,
    };
  }
  return { kind: 'pass' };
}
