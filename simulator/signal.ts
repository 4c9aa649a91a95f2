// One signal of one simulated wearer (what `vigil simulate signal` writes).
import type { Cohort, PopulationShift } from './cohorts/cohorts.ts';
import { DEFAULT_COHORT, cohortParams, parseCohortKey } from './cohorts/cohorts.ts';
import { drawSubject } from './cohorts/subject.ts';
import { SimulatorError, checkRange } from './errors.ts';
import { subjectEcg, subjectPpg, subjectRr } from './heart.ts';
import type { Seed } from './rng.ts';
import { Rng } from './rng.ts';
import type { AccelAnnotation, AccelSegment, Activity, FallDirection, NearFall } from './signals/accel.ts';
import { ACTIVITIES, FALL_DIRECTIONS, accelTimeline } from './signals/accel.ts';
import type { ArtifactAnnotation, ArtifactSpec } from './signals/artifacts.ts';
import { applyArtifacts } from './signals/artifacts.ts';
import type { BeatKind, EctopyParams, Rhythm, RhythmSegment } from './signals/rr.ts';
import { beatsWithin } from './signals/rr.ts';

export const SIGNAL_KINDS = ['ecg', 'ppg', 'accel', 'rr'] as const;
export type SignalKind = (typeof SIGNAL_KINDS)[number];

/** What the accelerometer does in a single-signal simulation. */
export type AccelScenario = Activity | `fall-${FallDirection}` | NearFall;
export const ACCEL_SCENARIOS: readonly AccelScenario[] = [
  ...ACTIVITIES,
  ...FALL_DIRECTIONS.map((d) => `fall-${d}` as const),
  'sit-hard',
  'drop',
];

export const DEFAULT_RATE_HZ: Readonly<Record<Exclude<SignalKind, 'rr'>, number>> = {
  ecg: 250,
  ppg: 64,
  accel: 50,
};

export interface SignalOptions {
  readonly kind: SignalKind;
  readonly seconds: number;
  readonly seed: Seed;
  /** Whole-recording rhythm (default sinus). */
  readonly rhythm?: Rhythm;
  readonly ectopy?: EctopyParams;
  readonly artifacts?: readonly ArtifactSpec[];
  readonly cohort?: string | Cohort;
  readonly shift?: PopulationShift;
  /** Sampling rate; defaults per kind (ecg 250, ppg 64, accel 50). Not allowed for rr. */
  readonly rateHz?: number;
  /** Accelerometer scenario (default walking). */
  readonly activity?: AccelScenario;
  /** Leave out the sensor's intrinsic noise (ECG/PPG). */
  readonly clean?: boolean;
}

interface Common {
  readonly seed: Seed;
  readonly seconds: number;
  readonly cohort: string;
}

export interface WaveSignal extends Common {
  readonly kind: 'ecg' | 'ppg';
  readonly rateHz: number;
  readonly samples: Float32Array;
  readonly missing: Uint8Array;
  /** bit 0: lead-off */
  readonly flags: Uint8Array;
  readonly annotations: {
    readonly rhythm: readonly RhythmSegment[];
    readonly beatTimesS: Float64Array;
    readonly beatKinds: readonly BeatKind[];
    readonly artifacts: readonly ArtifactAnnotation[];
  };
}

export interface AccelSignalOut extends Common {
  readonly kind: 'accel';
  readonly rateHz: number;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly z: Float32Array;
  readonly missing: Uint8Array;
  readonly flags: Uint8Array;
  readonly annotations: {
    readonly events: readonly AccelAnnotation[];
    readonly artifacts: readonly ArtifactAnnotation[];
  };
}

export interface RrSignal extends Common {
  readonly kind: 'rr';
  readonly beatTimesS: Float64Array;
  readonly rrMs: Float64Array;
  readonly beatKinds: readonly BeatKind[];
  readonly rhythm: readonly RhythmSegment[];
}

export type SimulatedSignal = WaveSignal | AccelSignalOut | RrSignal;

/** Accelerometer segments for one scenario: events come after walking, impact mid-recording. */
export function scenarioSegments(scenario: AccelScenario, seconds: number): AccelSegment[] {
  if ((ACTIVITIES as readonly string[]).includes(scenario)) {
    return [{ kind: 'activity', activity: scenario as Activity, durationS: seconds }];
  }
  if (seconds < 3) throw new SimulatorError('BAD_ARGUMENT', `${scenario} needs at least 3 seconds`);
  const pre = Math.max(0, seconds / 2 - 1.5);
  const event = seconds - pre;
  const impactOffsetS = 1.5;
  const segs: AccelSegment[] = pre > 0 ? [{ kind: 'activity', activity: 'walking', durationS: pre }] : [];
  if (scenario.startsWith('fall-')) {
    const direction = scenario.slice(5) as FallDirection;
    segs.push({ kind: 'fall', direction, durationS: event, impactOffsetS });
  } else segs.push({ kind: scenario as NearFall, durationS: event, impactOffsetS });
  return segs;
}

export function simulateSignal(opts: SignalOptions): SimulatedSignal {
  if (!(SIGNAL_KINDS as readonly string[]).includes(opts.kind)) {
    throw new SimulatorError('BAD_ARGUMENT', `kind must be one of ${SIGNAL_KINDS.join(', ')}`);
  }
  const seconds = checkRange('seconds', opts.seconds, 1, 24 * 3600);
  const cohort =
    typeof opts.cohort === 'string' ? parseCohortKey(opts.cohort) : (opts.cohort ?? DEFAULT_COHORT);
  const params = cohortParams(cohort, opts.shift ?? {});
  const root = Rng.of(opts.seed, 'signal', opts.kind);
  const subject = drawSubject(params, root.fork('subject'));
  const common: Common = { seed: opts.seed, seconds, cohort: params.key };
  const artifacts = opts.artifacts ?? [];
  if (opts.kind === 'rr') {
    if (opts.rateHz !== undefined) throw new SimulatorError('BAD_ARGUMENT', 'rr has no sampling rate');
    if (artifacts.length > 0)
      throw new SimulatorError('BAD_ARGUMENT', 'artifacts apply to sampled signals, not rr');
  }
  if (opts.kind !== 'accel' && opts.activity !== undefined) {
    throw new SimulatorError('BAD_ARGUMENT', 'activity applies to accel only');
  }
  if (opts.kind === 'accel' && (opts.rhythm !== undefined || opts.ectopy !== undefined)) {
    throw new SimulatorError('BAD_ARGUMENT', 'rhythm and ectopy apply to ecg, ppg and rr only');
  }
  if (opts.kind === 'accel') {
    const rateHz = checkRange('rateHz', opts.rateHz ?? DEFAULT_RATE_HZ.accel, 10, 1000);
    const scenario = opts.activity ?? 'walking';
    if (!ACCEL_SCENARIOS.includes(scenario)) {
      throw new SimulatorError('BAD_ARGUMENT', `activity must be one of ${ACCEL_SCENARIOS.join(', ')}`);
    }
    const sig = accelTimeline({
      rng: root.fork('accel'),
      subject,
      rateHz,
      segments: scenarioSegments(scenario, seconds),
    });
    const art = applyArtifacts(
      { rateHz, channels: [sig.x, sig.y, sig.z] },
      artifacts,
      root.fork('artifacts'),
    );
    const [x, y, z] = art.channels;
    if (!x || !y || !z) throw new SimulatorError('BAD_ARGUMENT', 'accelerometer channels missing');
    return {
      ...common,
      kind: 'accel',
      rateHz,
      x,
      y,
      z,
      missing: art.missing,
      flags: art.flags,
      annotations: { events: sig.annotations, artifacts: art.annotations },
    };
  }
  const rhythm: RhythmSegment[] =
    opts.rhythm === 'af' ? [{ rhythm: 'af', startS: -10, endS: seconds + 10 }] : [];
  const rr = subjectRr(subject, root.fork('rr'), {
    seconds,
    rhythm,
    ...(opts.ectopy ? { ectopy: opts.ectopy } : {}),
  });
  const beats = beatsWithin(rr, 0, seconds);
  if (opts.kind === 'rr') {
    return {
      ...common,
      kind: 'rr',
      beatTimesS: beats.timesS,
      rrMs: beats.rrMs,
      beatKinds: beats.kinds,
      rhythm: rr.rhythm,
    };
  }
  const rateHz = checkRange('rateHz', opts.rateHz ?? DEFAULT_RATE_HZ[opts.kind], 10, 2000);
  const sensor = subject.cohort.sensor;
  let clean: Float32Array;
  const intrinsic: ArtifactSpec[] = [];
  if (opts.kind === 'ecg') {
    clean = subjectEcg(subject, rr, root.fork('ecg'), seconds, rateHz);
    if (opts.clean !== true) intrinsic.push({ kind: 'gaussian-noise', sd: sensor.ecgNoiseMv });
  } else {
    clean = subjectPpg(subject, rr, root.fork('ppg'), seconds, rateHz).samples;
    if (opts.clean !== true) intrinsic.push({ kind: 'gaussian-noise', sd: sensor.ppgNoise });
  }
  const withNoise = applyArtifacts({ rateHz, channels: [clean] }, intrinsic, root.fork('intrinsic'));
  const art = applyArtifacts({ rateHz, channels: withNoise.channels }, artifacts, root.fork('artifacts'));
  const samples = art.channels[0] ?? new Float32Array(0);
  return {
    ...common,
    kind: opts.kind,
    rateHz,
    samples,
    missing: art.missing,
    flags: art.flags,
    annotations: {
      rhythm: rr.rhythm,
      beatTimesS: beats.timesS,
      beatKinds: beats.kinds,
      artifacts: art.annotations,
    },
  };
}
