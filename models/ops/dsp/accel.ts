// Fall-detection features from one tri-axial accelerometer window in g. Design follows the
// fall-detection literature: free-fall dip, impact peak, post-impact stillness and posture change
// (Bourke AK et al., Gait Posture 2007;26:194–199; Kangas M et al., Gait Posture 2008;28:285–291;
// Mathie MJ et al., Med Biol Eng Comput 2004;42:679–687 for signal magnitude area).
// The "impact" is the sample of maximal magnitude |a|.

export const ACCEL_FEATURE_NAMES = Object.freeze([
  'acc_mag_mean_g',
  'acc_mag_sd_g',
  'acc_mag_min_g',
  'acc_mag_max_g',
  'acc_sma_g',
  'acc_peak_count',
  'acc_max_jerk_g_s',
  'acc_mean_jerk_g_s',
  'acc_freefall_s',
  'acc_pre_impact_min_g',
  'acc_pre_impact_sd_g',
  'acc_impact_width_s',
  'acc_impact_to_end_s',
  'acc_post_impact_mean_g',
  'acc_post_impact_sd_g',
  'acc_orientation_change_deg',
]);

export interface AccelParams {
  readonly peakThresholdG: number;
  readonly peakMinSeparationS: number;
  readonly freefallThresholdG: number;
  readonly preImpactS: number;
  readonly postImpactSkipS: number;
  readonly postImpactMinS: number;
  readonly orientationWindowS: number;
}

function meanSd(m: Float64Array, a: number, b: number): [number, number] {
  const n = b - a;
  if (n <= 0) return [NaN, NaN];
  let s = 0;
  for (let i = a; i < b; i++) s += m[i] ?? 0;
  const mu = s / n;
  let ss = 0;
  for (let i = a; i < b; i++) {
    const d = (m[i] ?? 0) - mu;
    ss += d * d;
  }
  return [mu, Math.sqrt(ss / n)];
}

/**
 * Fills `out` (ACCEL_FEATURE_NAMES order); `mag` is scratch of length n. All NaN when the window
 * is empty or holds a non-finite sample (such windows never reach a model: the quality gate).
 */
export function accelFeatures(
  x: Float64Array,
  y: Float64Array,
  z: Float64Array,
  rateHz: number,
  p: AccelParams,
  mag: Float64Array,
  out: Float64Array,
): void {
  const n = x.length;
  out.fill(NaN);
  if (n === 0) return;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite((x[i] ?? NaN) + (y[i] ?? NaN) + (z[i] ?? NaN))) return;
  }
  let sma = 0;
  let imp = 0;
  let maxJerk = n > 1 ? 0 : NaN;
  let sumJerk = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i] ?? 0;
    const b = y[i] ?? 0;
    const c = z[i] ?? 0;
    const v = Math.sqrt(a * a + b * b + c * c);
    mag[i] = v;
    sma += Math.abs(a) + Math.abs(b) + Math.abs(c);
    if (v > (mag[imp] ?? 0)) imp = i;
    if (i > 0) {
      const da = a - (x[i - 1] ?? 0);
      const db = b - (y[i - 1] ?? 0);
      const dc = c - (z[i - 1] ?? 0);
      const j = Math.sqrt(da * da + db * db + dc * dc) * rateHz;
      if (j > maxJerk) maxJerk = j;
      sumJerk += j;
    }
  }
  const [mu, sd] = meanSd(mag, 0, n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = mag[i] ?? NaN;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }

  // Peaks: local maxima ≥ threshold, at least peakMinSeparationS apart (the larger one wins).
  const sep = Math.max(1, Math.round(p.peakMinSeparationS * rateHz));
  let peaks = 0;
  let last = -Infinity;
  let lastV = 0;
  for (let i = 0; i < n; i++) {
    const v = mag[i] ?? 0;
    if (!(v >= p.peakThresholdG)) continue;
    if (i > 0 && !(v > (mag[i - 1] ?? 0))) continue;
    if (i < n - 1 && !(v >= (mag[i + 1] ?? 0))) continue;
    if (i - last < sep) {
      if (v > lastV) {
        last = i;
        lastV = v;
      }
      continue;
    }
    peaks++;
    last = i;
    lastV = v;
  }

  // Longest run below the free-fall threshold.
  let run = 0;
  let longest = 0;
  for (let i = 0; i < n; i++) {
    run = (mag[i] ?? 0) < p.freefallThresholdG ? run + 1 : 0;
    if (run > longest) longest = run;
  }

  const pre = Math.max(1, Math.round(p.preImpactS * rateHz));
  const preA = Math.max(0, imp - pre);
  let preMin = mag[imp] ?? NaN;
  for (let i = preA; i < imp; i++) preMin = Math.min(preMin, mag[i] ?? NaN);
  const [, preSd] = imp > preA ? meanSd(mag, preA, imp) : [NaN, 0];

  // Impact width: contiguous samples around the impact with |a| − 1 ≥ (max − 1)/2 (half height above 1 g).
  let width = 0;
  const peakV = mag[imp] ?? NaN;
  if (peakV > 1) {
    const half = 1 + (peakV - 1) / 2;
    let a = imp;
    let b = imp;
    while (a > 0 && (mag[a - 1] ?? 0) >= half) a--;
    while (b < n - 1 && (mag[b + 1] ?? 0) >= half) b++;
    width = (b - a + 1) / rateHz;
  }

  // Post-impact segment: from impact + skip, but never shorter than postImpactMinS (at the end).
  const minPost = Math.max(1, Math.round(p.postImpactMinS * rateHz));
  const postA = Math.max(0, Math.min(imp + Math.round(p.postImpactSkipS * rateHz), n - minPost));
  const [postMean, postSd] = meanSd(mag, postA, n);

  // Orientation change: angle between the mean acceleration vectors of the first and last window.
  const k = Math.min(n, Math.max(1, Math.round(p.orientationWindowS * rateHz)));
  let ux = 0;
  let uy = 0;
  let uz = 0;
  let vx = 0;
  let vy = 0;
  let vz = 0;
  for (let i = 0; i < k; i++) {
    ux += x[i] ?? 0;
    uy += y[i] ?? 0;
    uz += z[i] ?? 0;
    vx += x[n - k + i] ?? 0;
    vy += y[n - k + i] ?? 0;
    vz += z[n - k + i] ?? 0;
  }
  const cx = uy * vz - uz * vy;
  const cy = uz * vx - ux * vz;
  const cz = ux * vy - uy * vx;
  const angle =
    (Math.atan2(Math.sqrt(cx * cx + cy * cy + cz * cz), ux * vx + uy * vy + uz * vz) * 180) / Math.PI;

  out[0] = mu;
  out[1] = sd;
  out[2] = lo;
  out[3] = hi;
  out[4] = sma / n;
  out[5] = peaks;
  out[6] = maxJerk;
  out[7] = n > 1 ? sumJerk / (n - 1) : NaN;
  out[8] = longest / rateHz;
  out[9] = preMin;
  out[10] = preSd;
  out[11] = width;
  out[12] = (n - 1 - imp) / rateHz;
  out[13] = postMean;
  out[14] = postSd;
  out[15] = angle;
}
