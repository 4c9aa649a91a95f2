// Calibrates the alarm threshold of a change detector by simulation under the reference, so that the
// false-alarm rate stated in the bundle (MonitoringPolicy.changeDetection.falseAlarmsPer10kWindows) is
// a measured property, not a guess. One long in-control stream is generated from a seed; the smallest
// threshold whose alarm count on it is at most the target is chosen (alarms fall as the threshold
// rises); an independent stream from the same seed then measures the achieved rate with an exact
// Poisson confidence interval.
import { Cusum, PageHinkley, validateCusumConfig, validatePageHinkleyConfig } from './changeDetection.ts';
import type {
  ChangeDirection,
  CusumConfig,
  PageHinkleyBaseline,
  PageHinkleyConfig,
} from './changeDetection.ts';
import { StatsError } from './errors.ts';
import { poissonInterval } from './intervals.ts';
import { SeededRandom } from './random.ts';

/** How in-control values are produced. */
export type NullStream =
  /**
   * Resample reference values (e.g. per-window scores of the validation set). `blockLength` > 1 draws
   * contiguous blocks of a time-ordered reference (moving-block bootstrap) to keep autocorrelation,
   * which i.i.d. resampling ignores and which raises real false-alarm rates.
   */
  | { readonly kind: 'bootstrap'; readonly values: ArrayLike<number>; readonly blockLength?: number }
  /** Any seeded sampler, e.g. a Bernoulli quality-failure indicator: (r) => (r.uniform() < p ? 1 : 0). */
  | { readonly kind: 'sampler'; readonly draw: (random: SeededRandom) => number };

export interface Validation {
  readonly windows: number;
  readonly alarms: number;
  readonly falseAlarmsPer10k: number;
  /** Exact 95 % Poisson interval of the rate per 10k windows. */
  readonly lower: number;
  readonly upper: number;
}

export interface ChangeCalibration<C> {
  readonly config: C;
  readonly targetFalseAlarmsPer10k: number;
  /** Rate on the calibration stream (≤ target by construction). */
  readonly calibrationFalseAlarmsPer10k: number;
  /** Rate on an independent stream: the figure to state in the bundle. */
  readonly validation: Validation;
  readonly seed: number;
  readonly streamLength: number;
}

const DEFAULT_STREAM_LENGTH = 1_000_000;

export function generateStream(stream: NullStream, length: number, random: SeededRandom): Float64Array {
  const out = new Float64Array(length);
  switch (stream.kind) {
    case 'bootstrap': {
      const values = stream.values;
      const block = stream.blockLength ?? 1;
      if (values.length < 1) throw new StatsError('BAD_ARGUMENT', 'bootstrap needs reference values');
      if (!Number.isInteger(block) || block < 1 || block > values.length) {
        throw new StatsError('BAD_ARGUMENT', 'blockLength must be an integer in [1, values.length]');
      }
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i]))
          throw new StatsError('BAD_ARGUMENT', 'reference values must be finite');
      }
      let i = 0;
      while (i < length) {
        const start = random.index(values.length - block + 1);
        for (let j = 0; j < block && i < length; j++, i++) out[i] = values[start + j] as number;
      }
      return out;
    }
    case 'sampler':
      for (let i = 0; i < length; i++) {
        const x = stream.draw(random);
        if (!Number.isFinite(x)) throw new StatsError('BAD_ARGUMENT', 'sampler returned a non-finite value');
        out[i] = x;
      }
      return out;
  }
}

interface Detector {
  update(x: number): string;
}

function countAlarms(make: () => Detector, values: Float64Array): number {
  const detector = make();
  let alarms = 0;
  for (const x of values) if (detector.update(x) !== 'none') alarms++;
  return alarms;
}

function spread(values: Float64Array): number {
  let min = Infinity;
  let max = -Infinity;
  for (const x of values) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return max > min ? max - min : 1;
}

/** Smallest threshold (to relative 1e-6) whose alarm count on `values` is ≤ maxAlarms. */
function searchThreshold(alarmsAt: (threshold: number) => number, maxAlarms: number, scale: number): number {
  let hi = scale;
  let guard = 0;
  while (alarmsAt(hi) > maxAlarms) {
    hi *= 2;
    if (++guard > 200) throw new StatsError('NOT_CONVERGED', 'no threshold meets the false-alarm target');
  }
  let lo = 0;
  while (hi - lo > 1e-6 * hi) {
    const mid = 0.5 * (lo + hi);
    if (alarmsAt(mid) > maxAlarms) lo = mid;
    else hi = mid;
  }
  return hi;
}

function checkCommon(target: number, length: number): void {
  if (!(target > 0 && target < 10_000)) {
    throw new StatsError('BAD_ARGUMENT', 'targetFalseAlarmsPer10k must be in (0, 10000)');
  }
  if (!Number.isInteger(length) || length < 1000)
    throw new StatsError('BAD_ARGUMENT', 'streamLength must be >= 1000');
  if ((target * length) / 10_000 < 10) {
    throw new StatsError(
      'BAD_ARGUMENT',
      'streamLength too short: expect at least 10 alarms at the target rate',
    );
  }
}

function calibrate<C>(
  stream: NullStream,
  seed: number,
  length: number,
  target: number,
  make: (threshold: number) => Detector,
  configAt: (threshold: number) => C,
): ChangeCalibration<C> {
  checkCommon(target, length);
  const root = SeededRandom.fromSeed(seed);
  const calibrationStream = generateStream(stream, length, root.split());
  const maxAlarms = Math.floor((target * length) / 10_000);
  const threshold = searchThreshold(
    (t) => countAlarms(() => make(t), calibrationStream),
    maxAlarms,
    spread(calibrationStream),
  );
  const calibrationAlarms = countAlarms(() => make(threshold), calibrationStream);
  const validationStream = generateStream(stream, length, root.split());
  const alarms = countAlarms(() => make(threshold), validationStream);
  const ci = poissonInterval(alarms, 0.95);
  const per10k = 10_000 / length;
  return {
    config: configAt(threshold),
    targetFalseAlarmsPer10k: target,
    calibrationFalseAlarmsPer10k: calibrationAlarms * per10k,
    validation: {
      windows: length,
      alarms,
      falseAlarmsPer10k: alarms * per10k,
      lower: ci.lower * per10k,
      upper: ci.upper * per10k,
    },
    seed,
    streamLength: length,
  };
}

export interface CalibratePageHinkleyOptions {
  readonly stream: NullStream;
  readonly delta: number;
  readonly targetFalseAlarmsPer10k: number;
  readonly seed: number;
  readonly direction?: ChangeDirection;
  readonly baseline?: PageHinkleyBaseline;
  readonly minSamples?: number;
  /** Windows simulated per stream (default 1,000,000). */
  readonly streamLength?: number;
}

/** Picks λ for Page–Hinkley so that false alarms per 10k in-control windows meet the target. */
export function calibratePageHinkley(
  options: CalibratePageHinkleyOptions,
): ChangeCalibration<PageHinkleyConfig> {
  const base = {
    delta: options.delta,
    direction: options.direction ?? 'both',
    baseline: options.baseline ?? { kind: 'running' as const },
    minSamples: options.minSamples ?? 30,
  };
  validatePageHinkleyConfig({ ...base, lambda: 1 });
  const configAt = (lambda: number): PageHinkleyConfig => ({ ...base, lambda });
  return calibrate(
    options.stream,
    options.seed,
    options.streamLength ?? DEFAULT_STREAM_LENGTH,
    options.targetFalseAlarmsPer10k,
    (t) => new PageHinkley(configAt(t)),
    configAt,
  );
}

export interface CalibrateCusumOptions {
  readonly stream: NullStream;
  readonly target: number;
  readonly k: number;
  readonly targetFalseAlarmsPer10k: number;
  readonly seed: number;
  readonly direction?: ChangeDirection;
  readonly streamLength?: number;
}

/** Picks h for CUSUM so that false alarms per 10k in-control windows meet the target. */
export function calibrateCusum(options: CalibrateCusumOptions): ChangeCalibration<CusumConfig> {
  const base = { target: options.target, k: options.k, direction: options.direction ?? 'both' };
  validateCusumConfig({ ...base, h: 1 });
  const configAt = (h: number): CusumConfig => ({ ...base, h });
  return calibrate(
    options.stream,
    options.seed,
    options.streamLength ?? DEFAULT_STREAM_LENGTH,
    options.targetFalseAlarmsPer10k,
    (t) => new Cusum(configAt(t)),
    configAt,
  );
}
