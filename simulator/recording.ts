// A continuous multi-sensor recording of one simulated wearer (accelerometer, ECG, PPG), used by
// the demo and end-to-end tests. Consistency: one RR series drives both ECG and PPG; the activity
// timeline drives the accelerometer, the heart rate (exertion) and the motion artifacts of ECG and
// PPG; every injected event is returned as ground truth.
import type { Cohort, PopulationShift } from './cohorts/cohorts.ts';
import { DEFAULT_COHORT, cohortParams, parseCohortKey } from './cohorts/cohorts.ts';
import { drawSubject } from './cohorts/subject.ts';
import { SimulatorError, checkRange } from './errors.ts';
import { subjectEcg, subjectPpg, subjectRr } from './heart.ts';
import type { Seed } from './rng.ts';
import { Rng } from './rng.ts';
import type { AccelAnnotation, AccelSegment, Activity, FallDirection, NearFall } from './signals/accel.ts';
import {
  ACTIVITIES,
  FALL_DIRECTIONS,
  MIN_IMPACT_OFFSET_S,
  NEAR_FALLS,
  accelTimeline,
} from './signals/accel.ts';
import type { ArtifactAnnotation, ArtifactSpec } from './signals/artifacts.ts';
import { applyArtifacts } from './signals/artifacts.ts';
import type { BeatKind, EctopyParams, Exertion, RhythmSegment } from './signals/rr.ts';
import { beatsWithin } from './signals/rr.ts';

export type RecordingEvent =
  | { readonly kind: 'fall'; readonly atS: number; readonly direction?: FallDirection }
  | { readonly kind: 'near-fall'; readonly atS: number; readonly type: NearFall }
  | { readonly kind: 'af'; readonly startS: number; readonly endS: number }
  | { readonly kind: 'lead-off'; readonly startS: number; readonly endS: number }
  | { readonly kind: 'activity'; readonly activity: Activity; readonly startS: number; readonly endS: number }
  | { readonly kind: 'artifact'; readonly sensor: 'ecg' | 'ppg' | 'accel'; readonly artifact: ArtifactSpec };

export interface RecordingOptions {
  readonly seed: Seed;
  readonly seconds: number;
  readonly cohort?: string | Cohort;
  readonly shift?: PopulationShift;
  readonly events?: readonly RecordingEvent[];
  /** Background ectopy during sinus rhythm (default none). */
  readonly ectopy?: EctopyParams;
  readonly accelRateHz?: number;
  readonly ecgRateHz?: number;
  readonly ppgRateHz?: number;
}

export interface DeviceRecording {
  readonly seed: Seed;
  readonly seconds: number;
  readonly cohort: string;
  readonly accel: {
    readonly rateHz: number;
    readonly x: Float32Array;
    readonly y: Float32Array;
    readonly z: Float32Array;
  };
  readonly ecg: {
    readonly rateHz: number;
    readonly samples: Float32Array;
    /** bit 0: lead-off */
    readonly flags: Uint8Array;
    readonly missing: Uint8Array;
  };
  readonly ppg: { readonly rateHz: number; readonly samples: Float32Array; readonly missing: Uint8Array };
  readonly annotations: {
    readonly events: readonly RecordingEvent[];
    /** Accelerometer ground truth (sample indices at the accelerometer rate). */
    readonly accel: readonly AccelAnnotation[];
    readonly rhythm: readonly RhythmSegment[];
    readonly beats: {
      readonly timesS: Float64Array;
      readonly rrMs: Float64Array;
      readonly kinds: readonly BeatKind[];
    };
    readonly ecgArtifacts: readonly ArtifactAnnotation[];
    readonly ppgArtifacts: readonly ArtifactAnnotation[];
    readonly accelArtifacts: readonly ArtifactAnnotation[];
  };
}

interface MotionEvent {
  readonly startS: number;
  readonly endS: number;
  readonly build: (startS: number, endS: number) => AccelSegment;
  readonly what: string;
  /** Impact time for falls and near-falls. */
  readonly atS?: number;
}

/** Lead-in a fall or near-fall takes before its impact. */
const IMPACT_LEAD_S = 1.5;

function checkSpan(what: string, startS: number, endS: number, seconds: number): void {
  if (
    !Number.isFinite(startS) ||
    !Number.isFinite(endS) ||
    startS < 0 ||
    endS > seconds ||
    !(endS > startS)
  ) {
    throw new SimulatorError(
      'BAD_EVENTS',
      `${what}: need 0 <= startS < endS <= ${seconds}, got ${startS}..${endS}`,
    );
  }
}

function motionEvents(events: readonly RecordingEvent[], seconds: number): MotionEvent[] {
  const out: MotionEvent[] = [];
  for (const e of events) {
    switch (e.kind) {
      case 'activity':
        if (!ACTIVITIES.includes(e.activity))
          throw new SimulatorError('BAD_EVENTS', `unknown activity ${e.activity}`);
        checkSpan(`activity ${e.activity}`, e.startS, e.endS, seconds);
        out.push({
          startS: e.startS,
          endS: e.endS,
          what: `activity ${e.activity}`,
          build: (s, t) => ({ kind: 'activity', activity: e.activity, durationS: t - s }),
        });
        break;
      case 'fall':
      case 'near-fall': {
        const what = e.kind === 'fall' ? `fall at ${e.atS}s` : `${e.type} at ${e.atS}s`;
        if (e.kind === 'fall' && e.direction !== undefined && !FALL_DIRECTIONS.includes(e.direction)) {
          throw new SimulatorError('BAD_EVENTS', `unknown fall direction ${e.direction}`);
        }
        if (e.kind === 'near-fall' && !(NEAR_FALLS as readonly string[]).includes(e.type)) {
          throw new SimulatorError('BAD_EVENTS', `unknown near-fall type ${e.type}`);
        }
        if (!Number.isFinite(e.atS) || e.atS < MIN_IMPACT_OFFSET_S || e.atS > seconds - 0.5) {
          throw new SimulatorError(
            'BAD_EVENTS',
            `${what}: impact must be within [${MIN_IMPACT_OFFSET_S}, ${seconds - 0.5}] s`,
          );
        }
        const atS = e.atS;
        out.push({
          startS: atS - MIN_IMPACT_OFFSET_S,
          endS: atS + 0.5,
          what,
          atS,
          build: (s, t) =>
            e.kind === 'fall'
              ? {
                  kind: 'fall',
                  direction: e.direction ?? 'forward',
                  durationS: t - s,
                  impactOffsetS: atS - s,
                }
              : { kind: e.type, durationS: t - s, impactOffsetS: atS - s },
        });
        break;
      }
      case 'af':
      case 'lead-off':
        checkSpan(e.kind, e.startS, e.endS, seconds);
        break;
      case 'artifact':
        if (!(['ecg', 'ppg', 'accel'] as readonly string[]).includes(e.sensor)) {
          throw new SimulatorError('BAD_EVENTS', `unknown artifact sensor ${e.sensor}`);
        }
        break;
    }
  }
  out.sort((a, b) => a.startS - b.startS);
  for (let k = 1; k < out.length; k++) {
    const prev = out[k - 1];
    const cur = out[k];
    if (prev && cur && cur.startS < prev.endS) {
      throw new SimulatorError('BAD_EVENTS', `${cur.what} overlaps ${prev.what}`);
    }
  }
  return out;
}

/**
 * Accelerometer timeline: motion events in order, 'rest' in the gaps. A fall's or near-fall's
 * segment runs from its lead-in (or the end of the previous event) until the next event, so the
 * post-fall stillness lasts until something else happens.
 */
function timeline(motion: readonly MotionEvent[], seconds: number): AccelSegment[] {
  const segs: AccelSegment[] = [];
  let cursor = 0;
  motion.forEach((m, k) => {
    const impact = m.atS !== undefined;
    const next = motion[k + 1]?.startS ?? seconds;
    let start = m.startS;
    if (m.atS !== undefined) {
      // Take up to IMPACT_LEAD_S of lead-in; attach a short gap to the event rather than leaving a
      // sliver of rest.
      start = Math.max(cursor, m.atS - IMPACT_LEAD_S);
      if (start - cursor < 0.5) start = cursor;
    }
    if (start > cursor) segs.push({ kind: 'activity', activity: 'rest', durationS: start - cursor });
    const end = impact ? next : m.endS;
    segs.push(m.build(start, end));
    cursor = end;
  });
  if (cursor < seconds) segs.push({ kind: 'activity', activity: 'rest', durationS: seconds - cursor });
  return segs;
}

/** Heart-rate rise during exercise and after a fall (stress), per activity. */
function exertionFor(events: readonly RecordingEvent[], vigor: number): Exertion[] {
  const out: Exertion[] = [];
  for (const e of events) {
    if (e.kind === 'activity') {
      const delta =
        e.activity === 'running'
          ? 55
          : e.activity === 'walking'
            ? 20
            : e.activity === 'rest' || e.activity === 'lie-down'
              ? 0
              : 5;
      if (delta > 0) out.push({ startS: e.startS, endS: e.endS, deltaBpm: delta * vigor });
    } else if (e.kind === 'fall') out.push({ startS: e.atS, endS: e.atS + 60, deltaBpm: 15 });
  }
  return out;
}

export function deviceRecording(opts: RecordingOptions): DeviceRecording {
  const seconds = checkRange('seconds', opts.seconds, 5, 24 * 3600);
  const accelRate = checkRange('accelRateHz', opts.accelRateHz ?? 50, 10, 1000);
  const ecgRate = checkRange('ecgRateHz', opts.ecgRateHz ?? 250, 50, 2000);
  const ppgRate = checkRange('ppgRateHz', opts.ppgRateHz ?? 64, 10, 1000);
  const events = opts.events ?? [];
  const cohort =
    typeof opts.cohort === 'string' ? parseCohortKey(opts.cohort) : (opts.cohort ?? DEFAULT_COHORT);
  const params = cohortParams(cohort, opts.shift ?? {});
  const root = Rng.of(opts.seed, 'recording');
  const subject = drawSubject(params, root.fork('subject'));
  const sensor = params.sensor;

  const motion = motionEvents(events, seconds);
  const accel = accelTimeline({
    rng: root.fork('accel'),
    subject,
    rateHz: accelRate,
    segments: timeline(motion, seconds),
  });

  const rhythm: RhythmSegment[] = [];
  for (const e of events) if (e.kind === 'af') rhythm.push({ rhythm: 'af', startS: e.startS, endS: e.endS });
  const rr = subjectRr(subject, root.fork('rr'), {
    seconds,
    rhythm,
    exertion: exertionFor(events, subject.vigor),
    ...(opts.ectopy ? { ectopy: opts.ectopy } : {}),
  });

  const extra = (s: 'ecg' | 'ppg' | 'accel'): ArtifactSpec[] =>
    events.flatMap((e) => (e.kind === 'artifact' && e.sensor === s ? [e.artifact] : []));
  const leadOff: ArtifactSpec[] = events.flatMap((e) =>
    e.kind === 'lead-off' ? [{ kind: 'lead-off', startS: e.startS, endS: e.endS } as const] : [],
  );
  const accelSource = { rateHz: accelRate, x: accel.x, y: accel.y, z: accel.z };

  // ECG: sensor noise, slow baseline wander, electrode motion from the same accelerometer.
  const ecgClean = subjectEcg(subject, rr, root.fork('ecg'), seconds, ecgRate);
  const ecg = applyArtifacts(
    { rateHz: ecgRate, channels: [ecgClean] },
    [
      { kind: 'gaussian-noise', sd: sensor.ecgNoiseMv },
      { kind: 'baseline-wander', amplitude: 0.05, freqHz: subject.respRateHz },
      { kind: 'motion', amplitude: sensor.ecgMotionPerG, accel: accelSource },
      ...leadOff,
      ...extra('ecg'),
    ],
    root.fork('ecg-artifacts'),
  );
  // PPG: optical noise and motion artifacts coupled to the accelerometer.
  const ppgClean = subjectPpg(subject, rr, root.fork('ppg'), seconds, ppgRate);
  const ppg = applyArtifacts(
    { rateHz: ppgRate, channels: [ppgClean.samples] },
    [
      { kind: 'gaussian-noise', sd: sensor.ppgNoise },
      { kind: 'motion', amplitude: sensor.ppgMotionPerG, accel: accelSource },
      ...extra('ppg'),
    ],
    root.fork('ppg-artifacts'),
  );
  const accelArt = applyArtifacts(
    { rateHz: accelRate, channels: [accel.x, accel.y, accel.z] },
    extra('accel'),
    root.fork('accel-artifacts'),
  );
  const [ax, ay, az] = accelArt.channels;
  const beats = beatsWithin(rr, 0, seconds);
  return {
    seed: opts.seed,
    seconds,
    cohort: params.key,
    accel: { rateHz: accelRate, x: ax ?? accel.x, y: ay ?? accel.y, z: az ?? accel.z },
    ecg: { rateHz: ecgRate, samples: ecg.channels[0] ?? ecgClean, flags: ecg.flags, missing: ecg.missing },
    ppg: { rateHz: ppgRate, samples: ppg.channels[0] ?? ppgClean.samples, missing: ppg.missing },
    annotations: {
      events: [...events],
      accel: accel.annotations,
      rhythm: rr.rhythm,
      beats: { timesS: beats.timesS, rrMs: beats.rrMs, kinds: beats.kinds },
      ecgArtifacts: ecg.annotations,
      ppgArtifacts: ppg.annotations,
      accelArtifacts: accelArt.annotations,
    },
  };
}
