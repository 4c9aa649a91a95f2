// Feature imputation and standardisation, fitted on the training split only.
//
// NaN rule (the runtime does the same, inside the ONNX graph: Where(IsNaN(x), impute, x)):
// a NaN feature is replaced by that feature's training median (of its non-NaN values); centre and
// scale are fitted on the non-NaN training values. All three vectors are rounded to float32 before
// training, so the trainer sees exactly the constants the exported graph carries.
import { TrainingError } from './errors.ts';
import { quantileSorted, sortedFinite } from './quantile.ts';

export type StandardizationMethod = 'mean-sd' | 'median-iqr';

/** 2·Φ⁻¹(0.75): the IQR of a standard normal, making IQR/1.349 comparable to an SD. */
export const IQR_TO_SD = 1.3489795003921634;

export interface Standardizer {
  readonly method: StandardizationMethod;
  /** Training median per feature; replaces NaN. */
  readonly impute: Float64Array;
  readonly center: Float64Array;
  /** Always finite and > 0 (1 for a constant feature). */
  readonly scale: Float64Array;
}

function sampleSd(sorted: Float64Array, mean: number): number {
  if (sorted.length < 2) return 0;
  let ss = 0;
  for (const v of sorted) ss += (v - mean) * (v - mean);
  return Math.sqrt(ss / (sorted.length - 1));
}

/**
 * Fits per-feature impute/centre/scale on row-major x [n, F].
 * mean-sd: centre = mean, scale = sample SD. median-iqr: centre = median, scale = IQR / 1.349.
 * A zero scale falls back to the SD, then to 1 (constant feature).
 */
export function fitStandardizer(
  x: Float64Array,
  featureNames: readonly string[],
  method: StandardizationMethod,
): Standardizer {
  const f = featureNames.length;
  const n = x.length / f;
  const impute = new Float64Array(f);
  const center = new Float64Array(f);
  const scale = new Float64Array(f);
  const column = new Float64Array(n);
  for (let j = 0; j < f; j++) {
    for (let r = 0; r < n; r++) column[r] = x[r * f + j] ?? Number.NaN;
    const sorted = sortedFinite(column);
    if (sorted.length === 0) {
      throw new TrainingError(
        'DEGENERATE_FEATURE',
        `feature ${featureNames[j] ?? j} has no non-NaN training value`,
      );
    }
    let sum = 0;
    for (const v of sorted) sum += v;
    const mean = sum / sorted.length;
    const sd = sampleSd(sorted, mean);
    const median = quantileSorted(sorted, 0.5);
    let c: number;
    let s: number;
    switch (method) {
      case 'mean-sd':
        c = mean;
        s = sd;
        break;
      case 'median-iqr':
        c = median;
        s = (quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25)) / IQR_TO_SD;
        if (!(s > 0)) s = sd;
        break;
    }
    if (!(s > 0) || !Number.isFinite(s)) s = 1;
    impute[j] = Math.fround(median);
    center[j] = Math.fround(c);
    // float32 rounding of a tiny positive SD could reach 0; keep the scale strictly positive.
    scale[j] = Math.fround(s) > 0 ? Math.fround(s) : 1;
  }
  return { method, impute, center, scale };
}

/** Applies imputation and standardisation; returns a new row-major array. */
export function applyStandardizer(st: Standardizer, x: Float64Array): Float64Array {
  const f = st.center.length;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % f;
    let v = x[i] ?? Number.NaN;
    if (Number.isNaN(v)) v = st.impute[j] ?? 0;
    out[i] = (v - (st.center[j] ?? 0)) / (st.scale[j] ?? 1);
  }
  return out;
}
