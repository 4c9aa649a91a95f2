// Beat-to-beat (RR) features for rhythm classification. Inputs are RR intervals in ms, where NaN
// marks an interval excluded upstream (e.g. outside the physiological range): level statistics
// use the finite intervals, successive differences only pairs of adjacent finite intervals, and
// pattern measures (turning points) only triples of adjacent finite intervals.
//
// References: Task Force of the ESC/NASPE, Circulation 1996;93:1043–1065 (SDNN, RMSSD, pNN50);
// Dash S, Chon KH, Lu S, Raeder EA, Ann Biomed Eng 2009;37:1701–1709 (normalised RMSSD, Shannon
// entropy of the RR histogram, turning-point ratio for AF); Richman JS, Moorman JR, Am J Physiol
// 2000;278:H2039 (sample entropy); Lake DE, Moorman JR, Am J Physiol 2011;300:H319 (entropy of
// short RR records for AF detection).

export const RR_FEATURE_NAMES = Object.freeze([
  'rr_count',
  'rr_mean_ms',
  'hr_mean_bpm',
  'rr_sdnn_ms',
  'rr_rmssd_ms',
  'rr_nrmssd',
  'rr_pnn50',
  'rr_cv',
  'rr_madsd_norm',
  'rr_hist_entropy_bits',
  'rr_tpr',
  'rr_sampen',
]);

/** Histogram for the entropy: fixed 50 ms bins on [250, 2000) ms; values outside go to the end bins. */
export const RR_HIST_LO_MS = 250;
export const RR_HIST_HI_MS = 2000;
export const RR_HIST_BIN_MS = 50;
/**
 * Sample entropy: embedding m = 1 (as Lake & Moorman for short AF records: with m = 2 a 30–60 beat
 * window rarely has any (m + 1)-matches and the estimate sits at its cap), tolerance r = 0.2·SDNN,
 * on at most the first 2,000 intervals (the count is O(N²)).
 */
export const SAMPEN_M = 1;
export const SAMPEN_R = 0.2;
export const SAMPEN_MAX_N = 2000;

function median(v: number[]): number {
  if (v.length === 0) return NaN;
  v.sort((a, b) => a - b);
  const h = v.length >> 1;
  return v.length % 2 === 1 ? (v[h] ?? NaN) : ((v[h - 1] ?? NaN) + (v[h] ?? NaN)) / 2;
}

/**
 * Sample entropy ln(B/A): B (A) counts pairs i < j among the first N − m templates whose length-m
 * (m + 1) windows agree within r (Chebyshev). When A or B is 0 the value is capped at
 * ln((N − m)(N − m − 1)/2), the largest finite value N points can show. NaN when N − m < 2.
 */
export function sampleEntropy(x: readonly number[], m: number, r: number): number {
  const n = x.length;
  const t = n - m;
  if (t < 2) return NaN;
  let a = 0;
  let b = 0;
  for (let i = 0; i < t; i++) {
    for (let j = i + 1; j < t; j++) {
      let k = 0;
      while (k < m && Math.abs((x[i + k] ?? 0) - (x[j + k] ?? 0)) <= r) k++;
      if (k < m) continue;
      b++;
      if (Math.abs((x[i + m] ?? 0) - (x[j + m] ?? 0)) <= r) a++;
    }
  }
  if (a === 0 || b === 0) return Math.log((t * (t - 1)) / 2);
  return Math.log(b / a);
}

/** Fills `out` (RR_FEATURE_NAMES order). Features other than rr_count are NaN below `minIntervals`. */
export function rrFeatures(rr: Float64Array, minIntervals: number, out: Float64Array): void {
  const valid: number[] = [];
  for (const v of rr) if (Number.isFinite(v) && v > 0) valid.push(v);
  out.fill(NaN);
  out[0] = valid.length;
  if (valid.length < minIntervals || valid.length < 2) return;
  const n = valid.length;
  let sum = 0;
  for (const v of valid) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of valid) ss += (v - mean) * (v - mean);
  const sdnn = Math.sqrt(ss / (n - 1));

  const absDiffs: number[] = [];
  let sq = 0;
  let over50 = 0;
  for (let i = 1; i < rr.length; i++) {
    const a = rr[i - 1] ?? NaN;
    const b = rr[i] ?? NaN;
    if (!(Number.isFinite(a) && a > 0 && Number.isFinite(b) && b > 0)) continue;
    const d = b - a;
    sq += d * d;
    if (Math.abs(d) > 50) over50++;
    absDiffs.push(Math.abs(d));
  }
  const nd = absDiffs.length;
  const rmssd = nd > 0 ? Math.sqrt(sq / nd) : NaN;

  const bins = Math.round((RR_HIST_HI_MS - RR_HIST_LO_MS) / RR_HIST_BIN_MS);
  const counts = new Array<number>(bins).fill(0);
  for (const v of valid) {
    const k = Math.min(bins - 1, Math.max(0, Math.floor((v - RR_HIST_LO_MS) / RR_HIST_BIN_MS)));
    counts[k] = (counts[k] ?? 0) + 1;
  }
  let h = 0;
  for (const c of counts) {
    if (c > 0) {
      const p = c / n;
      h -= p * Math.log2(p);
    }
  }

  let turns = 0;
  let triples = 0;
  for (let i = 1; i + 1 < rr.length; i++) {
    const a = rr[i - 1] ?? NaN;
    const b = rr[i] ?? NaN;
    const c = rr[i + 1] ?? NaN;
    if (!(a > 0 && b > 0 && c > 0 && Number.isFinite(a + b + c))) continue;
    triples++;
    if ((b > a && b > c) || (b < a && b < c)) turns++;
  }

  const medRr = median([...valid]);
  out[1] = mean;
  out[2] = 60000 / mean;
  out[3] = sdnn;
  out[4] = rmssd;
  out[5] = rmssd / mean;
  out[6] = nd > 0 ? over50 / nd : NaN;
  out[7] = sdnn / mean;
  out[8] = median(absDiffs) / medRr;
  out[9] = h;
  out[10] = triples > 0 ? turns / triples : NaN;
  out[11] = sampleEntropy(valid.slice(0, SAMPEN_MAX_N), SAMPEN_M, SAMPEN_R * sdnn);
}
