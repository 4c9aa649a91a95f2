// Raw-window measurements the quality gate judges: taken once per window on the samples as received
// (native rate, before any resampling), so that the gate's verdict never depends on interpolation.
// Policy-free: the same numbers serve every model that reads the window (active and shadow).

/** Extremes of one channel over the finite samples of a window. */
export interface ChannelRange {
  /** +Infinity / -Infinity when the channel holds no finite sample. */
  readonly min: number;
  readonly max: number;
  /** How many samples sit exactly at the minimum / maximum. */
  readonly atMin: number;
  readonly atMax: number;
  /** Whether two consecutive samples sit at the minimum / maximum (a plateau: a saturated front end). */
  readonly plateauAtMin?: boolean;
  readonly plateauAtMax?: boolean;
}

export interface RawWindowStats {
  /** Samples per channel at the stream's own rate (counters covered by the window). */
  readonly nativeLength: number;
  readonly nativeRateHz: number;
  /** Time points whose value the firmware sent as NaN (counted as missing, apart from counter gaps). */
  readonly nanSamples: number;
  /** Time points holding ±Infinity in any channel. */
  readonly infiniteSamples: number;
  /** Time points inside runs of identical samples (all channels) of at least `heldRunSamples`. */
  readonly heldSamples: number;
  readonly channels: readonly ChannelRange[];
}

/**
 * A sensor that repeats exactly the same value on every channel for this long is stuck: a float
 * signal with any noise never does. 0.1 s, and at least 4 samples so that a short plateau at a slow
 * rate is not mistaken for one.
 */
export const HELD_RUN_S = 0.1;
export const HELD_RUN_MIN_SAMPLES = 4;

export function heldRunSamples(rateHz: number): number {
  return Math.max(HELD_RUN_MIN_SAMPLES, Math.ceil(HELD_RUN_S * rateHz));
}

/** Range statistics of one channel (NaN skipped; ±Infinity counted by the caller). */
export function channelRange(x: Float64Array): ChannelRange {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let atMin = 0;
  let atMax = 0;
  for (let i = 0; i < x.length; i += 1) {
    const v = x[i] as number;
    if (!(v - v === 0)) continue; // NaN and ±Infinity
    if (v < min) {
      min = v;
      atMin = 1;
    } else if (v === min) atMin += 1;
    if (v > max) {
      max = v;
      atMax = 1;
    } else if (v === max) atMax += 1;
  }
  // Plateaus only matter when an extreme repeats: a second pass in those (rare) windows only.
  return {
    min,
    max,
    atMin,
    atMax,
    plateauAtMin: atMin >= 2 && hasPair(x, min),
    plateauAtMax: atMax >= 2 && hasPair(x, max),
  };
}

/** channelRange for a channel known to hold only finite samples (the common case: no test per sample). */
export function finiteRange(x: Float64Array): ChannelRange {
  const n = x.length;
  if (n === 0) return channelRange(x);
  let min = x[0] as number;
  let max = min;
  let atMin = 1;
  let atMax = 1;
  for (let i = 1; i < n; i += 1) {
    const v = x[i] as number;
    if (v > max) {
      max = v;
      atMax = 1;
    } else if (v === max) atMax += 1;
    else if (v < min) {
      min = v;
      atMin = 1;
    } else if (v === min) atMin += 1;
  }
  return {
    min,
    max,
    atMin,
    atMax,
    plateauAtMin: atMin >= 2 && hasPair(x, min),
    plateauAtMax: atMax >= 2 && hasPair(x, max),
  };
}

/**
 * finiteRange and countHeld of a single finite channel in one pass (long single-lead windows: every
 * pass over 7,500 samples counts). Held runs are noted as they end and judged once the extremes
 * are known.
 */
export function finiteRangeAndHeld(x: Float64Array, minRun: number): { range: ChannelRange; held: number } {
  const n = x.length;
  if (n === 0) return { range: channelRange(x), held: 0 };
  let min = x[0] as number;
  let max = min;
  let atMin = 1;
  let atMax = 1;
  let run = 1;
  let runs: number[] | null = null; // [value, length] of each held run
  for (let i = 1; i < n; i += 1) {
    const v = x[i] as number;
    if (v === x[i - 1]) run += 1;
    else {
      if (run >= minRun) (runs ??= []).push(x[i - 1] as number, run);
      run = 1;
    }
    if (v > max) {
      max = v;
      atMax = 1;
    } else if (v === max) atMax += 1;
    else if (v < min) {
      min = v;
      atMin = 1;
    } else if (v === min) atMin += 1;
  }
  if (run >= minRun) (runs ??= []).push(x[n - 1] as number, run);
  let held = 0;
  if (runs) {
    for (let k = 0; k < runs.length; k += 2) {
      const value = runs[k] as number;
      if (value !== max && value !== min) held += runs[k + 1] as number;
    }
  }
  const range: ChannelRange = {
    min,
    max,
    atMin,
    atMax,
    plateauAtMin: atMin >= 2 && hasPair(x, min),
    plateauAtMax: atMax >= 2 && hasPair(x, max),
  };
  return { range, held };
}

function hasPair(x: Float64Array, value: number): boolean {
  for (let i = 1; i < x.length; i += 1) if (x[i] === value && x[i - 1] === value) return true;
  return false;
}

/**
 * Time points that lie in runs of ≥ `minRun` samples where every channel repeats its value. A run
 * whose value sits at a channel's extreme (`ranges`) is a saturated front end, judged as clipping,
 * not as a stuck sensor.
 */
export function countHeld(
  channels: readonly Float64Array[],
  minRun: number,
  ranges: readonly ChannelRange[],
): number {
  const first = channels[0];
  if (!first) return 0;
  const n = first.length;
  const count = channels.length;
  let held = 0;
  let run = 1;
  for (let i = 1; i <= n; i += 1) {
    // NaN never equals itself: gaps are not "held". Channel 0 decides almost every sample alone.
    let same = i < n && first[i] === first[i - 1];
    for (let c = 1; same && c < count; c += 1) {
      const x = channels[c] as Float64Array;
      if (x[i] !== x[i - 1]) same = false;
    }
    if (same) run += 1;
    else {
      if (run >= minRun && !atExtreme(channels, ranges, i - 1)) held += run;
      run = 1;
    }
  }
  return held;
}

function atExtreme(channels: readonly Float64Array[], ranges: readonly ChannelRange[], i: number): boolean {
  for (let c = 0; c < channels.length; c += 1) {
    const v = (channels[c] as Float64Array)[i] as number;
    const r = ranges[c];
    if (r && (v === r.max || v === r.min)) return true;
  }
  return false;
}

/**
 * Measures a window from its channel arrays (used for windows that did not come from a
 * StreamWindower, which measures while cutting). NaN samples beyond `gapSamples` count as NaN sent
 * by the firmware.
 */
export function measureChannels(
  channels: readonly Float64Array[],
  rateHz: number,
  gapSamples: number,
): RawWindowStats {
  const n = channels[0]?.length ?? 0;
  let nan = 0;
  let infinite = 0;
  for (let i = 0; i < n; i += 1) {
    let isNaN = false;
    let isInf = false;
    for (const x of channels) {
      const v = x[i] as number;
      if (Number.isNaN(v)) isNaN = true;
      else if (!Number.isFinite(v)) isInf = true;
    }
    if (isNaN) nan += 1;
    if (isInf) infinite += 1;
  }
  const ranges = channels.map(channelRange);
  return {
    nativeLength: n,
    nativeRateHz: rateHz,
    nanSamples: Math.max(0, nan - gapSamples),
    infiniteSamples: infinite,
    heldSamples: countHeld(channels, heldRunSamples(rateHz), ranges),
    channels: ranges,
  };
}
