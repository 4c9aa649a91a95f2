// Labelled training windows for the reference models. Labels are ground truth from the generator,
// never computed from the signal. Example i is drawn from its own stream (seed, dataset, id) and its
// label from a count-independent low-discrepancy sequence, so example i is identical whatever
// `count` is, and label balance is close to the requested fraction for every prefix.
import type { Cohort, PopulationShift } from './cohorts/cohorts.ts';
import { allCohorts, cohortParams, parseCohortKey } from './cohorts/cohorts.ts';
import type { Subject } from './cohorts/subject.ts';
import { drawSubject } from './cohorts/subject.ts';
import { SimulatorError, checkInt, checkRange } from './errors.ts';
import { subjectEcg, subjectPpg, subjectRr } from './heart.ts';
import type { Seed } from './rng.ts';
import { Rng } from './rng.ts';
import type { AccelSegment, Activity, FallDirection } from './signals/accel.ts';
import { FALL_DIRECTIONS, accelTimeline } from './signals/accel.ts';
import type { ArtifactSpec } from './signals/artifacts.ts';
import { applyArtifacts } from './signals/artifacts.ts';
import type { RhythmSegment, RrSeries } from './signals/rr.ts';

/** Kinds of fall-dataset windows: falls (label 1), activities of daily living and near-falls (0). */
export type FallWindowKind = `fall-${FallDirection}` | Activity | 'sit-hard' | 'drop';

export interface FallWindow {
  readonly id: string;
  readonly cohort: string;
  readonly label: 0 | 1;
  readonly kind: FallWindowKind;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly z: Float32Array;
  /** Impact sample inside the window (falls and near-falls), else -1. */
  readonly impactSample: number;
}

export interface FallWindowOptions {
  readonly seed: Seed;
  readonly count: number;
  readonly windowS?: number;
  readonly rateHz?: number;
  /** Share of fall windows (default 0.5). */
  readonly positiveFraction?: number;
  /** Share of near-falls among negatives (default 0.25). */
  readonly nearFallFraction?: number;
  /** Cohorts drawn uniformly per example (keys or objects); default: all 18. */
  readonly cohorts?: readonly (string | Cohort)[];
  readonly shift?: PopulationShift;
  /** Index of the first example (to generate a slice of a larger dataset). */
  readonly startIndex?: number;
}

export type AfWindowKind = 'sinus' | 'af' | 'sinus+ectopy';

export interface AfWindow {
  readonly id: string;
  readonly cohort: string;
  readonly label: 0 | 1;
  readonly kind: AfWindowKind;
  readonly rateHz: number;
  readonly samples: Float32Array;
  /** Ground-truth beat (R-peak) times within the window, seconds from the window start. */
  readonly beatTimesS: Float64Array;
}

export interface AfWindowOptions {
  readonly seed: Seed;
  readonly count: number;
  readonly source: 'ecg' | 'ppg';
  readonly windowS?: number;
  /** Default 250 Hz for ECG, 64 Hz for PPG. */
  readonly rateHz?: number;
  readonly positiveFraction?: number;
  /** Share of negatives with PAC/PVC ectopy (default 0.2). */
  readonly ectopyFraction?: number;
  readonly cohorts?: readonly (string | Cohort)[];
  readonly shift?: PopulationShift;
  readonly startIndex?: number;
}

const GOLDEN = (Math.sqrt(5) - 1) / 2;
const ADL_KINDS: readonly Activity[] = ['rest', 'walking', 'running', 'sit-down', 'stand-up', 'lie-down'];

/** Label of example i: a Weyl sequence frac(offset + i * golden) below the positive fraction. */
function weylLabel(offset: number, i: number, fraction: number): 0 | 1 {
  const u = (offset + i * GOLDEN) % 1;
  return u < fraction ? 1 : 0;
}

function resolveCohorts(list: readonly (string | Cohort)[] | undefined): Cohort[] {
  const out = (list ?? allCohorts()).map((c) => (typeof c === 'string' ? parseCohortKey(c) : c));
  if (out.length === 0) throw new SimulatorError('BAD_ARGUMENT', 'cohorts must not be empty');
  return out;
}

function checkCommon(o: { count: number; startIndex?: number; positiveFraction?: number }): void {
  checkInt('count', o.count, 0, 10_000_000);
  checkInt('startIndex', o.startIndex ?? 0, 0, 1e12);
  checkRange('positiveFraction', o.positiveFraction ?? 0.5, 0, 1);
}

// --- fall windows --------------------------------------------------------------------------------

export function fallWindows(opts: FallWindowOptions): FallWindow[] {
  checkCommon(opts);
  const windowS = checkRange('windowS', opts.windowS ?? 4, 3, 60);
  const rateHz = checkRange('rateHz', opts.rateHz ?? 50, 10, 1000);
  const nearFrac = checkRange('nearFallFraction', opts.nearFallFraction ?? 0.25, 0, 1);
  const positive = opts.positiveFraction ?? 0.5;
  const cohorts = resolveCohorts(opts.cohorts);
  const offset = Rng.of(opts.seed, 'fall-windows', 'labels').uniform();
  const out: FallWindow[] = [];
  const start = opts.startIndex ?? 0;
  for (let i = start; i < start + opts.count; i++) {
    const id = `fall-${String(i).padStart(6, '0')}`;
    const label = weylLabel(offset, i, positive);
    out.push(
      fallWindow(
        Rng.of(opts.seed, 'fall-windows', id),
        id,
        label,
        windowS,
        rateHz,
        nearFrac,
        cohorts,
        opts.shift ?? {},
      ),
    );
  }
  return out;
}

function fallWindow(
  rng: Rng,
  id: string,
  label: 0 | 1,
  windowS: number,
  rateHz: number,
  nearFrac: number,
  cohorts: readonly Cohort[],
  shift: PopulationShift,
): FallWindow {
  const params = cohortParams(rng.pick(cohorts), shift);
  const subject = drawSubject(params, rng.fork('subject'));
  const plan =
    label === 1
      ? impactPlan(rng, subject, windowS, 'fall')
      : rng.chance(nearFrac)
        ? impactPlan(rng, subject, windowS, rng.chance(0.5) ? 'sit-hard' : 'drop')
        : adlPlan(rng, subject, windowS);
  const { kind, segments, startS, impactS } = plan;
  const sig = accelTimeline({ rng: rng.fork('accel'), subject, rateHz, segments });
  const a = Math.round(startS * rateHz);
  const n = Math.round(windowS * rateHz);
  const impactSample =
    impactS < 0 ? -1 : (sig.annotations.find((e) => e.impactSample !== undefined)?.impactSample ?? -1) - a;
  return {
    id,
    cohort: params.key,
    label,
    kind,
    x: sig.x.slice(a, a + n),
    y: sig.y.slice(a, a + n),
    z: sig.z.slice(a, a + n),
    impactSample,
  };
}

interface WindowPlan {
  readonly kind: FallWindowKind;
  readonly segments: AccelSegment[];
  /** Window start on the timeline, seconds. */
  readonly startS: number;
  /** Impact time on the timeline, or -1. */
  readonly impactS: number;
}

const MARGIN_S = 1.5;

/** A fall or near-fall placed so that 1.0-2.5 s of post-impact data lies inside the window. */
function impactPlan(
  rng: Rng,
  subject: Subject,
  windowS: number,
  ev: 'fall' | 'sit-hard' | 'drop',
): WindowPlan {
  const post = rng.between(1.0, 2.5);
  const pre = pickPre(rng, subject);
  const preS = windowS + MARGIN_S;
  const impactOffsetS = 1.2;
  const impactS = preS + impactOffsetS;
  const durationS = impactOffsetS + post + MARGIN_S;
  let seg: AccelSegment;
  let kind: FallWindowKind;
  if (ev === 'fall') {
    const direction = fallDirection(rng, subject);
    seg = { kind: 'fall', direction, durationS, impactOffsetS };
    kind = `fall-${direction}`;
  } else {
    seg = { kind: ev, durationS, impactOffsetS };
    kind = ev;
  }
  return { kind, segments: [...pre(preS), seg], startS: impactS + post - windowS, impactS };
}

/** An activity of daily living filling the window (transitions start inside it). */
function adlPlan(rng: Rng, subject: Subject, windowS: number): WindowPlan {
  const running = 0.5 * subject.cohort.gait.runningShare;
  const adl = ADL_KINDS[rng.weighted([0.2, 0.25, running, 0.15, 0.15, 0.15])] ?? 'rest';
  switch (adl) {
    case 'rest': {
      // Standing, seated or lying still: lying still without an impact is a hard negative.
      const lead = rng.pick<Activity>(['walking', 'sit-down', 'lie-down']);
      return {
        kind: adl,
        segments: [
          { kind: 'activity', activity: lead, durationS: 5 },
          { kind: 'activity', activity: 'rest', durationS: windowS + MARGIN_S },
        ],
        startS: 5 + rng.between(0, MARGIN_S),
        impactS: -1,
      };
    }
    case 'walking':
    case 'running':
      return {
        kind: adl,
        segments: [{ kind: 'activity', activity: adl, durationS: windowS + 2 * MARGIN_S }],
        startS: rng.between(0.5, 2 * MARGIN_S - 0.5),
        impactS: -1,
      };
    case 'sit-down':
    case 'stand-up':
    case 'lie-down': {
      const lead: Activity = adl === 'stand-up' ? 'sit-down' : rng.chance(0.5) ? 'walking' : 'rest';
      return {
        kind: adl,
        segments: [
          { kind: 'activity', activity: lead, durationS: 5 },
          { kind: 'activity', activity: adl, durationS: windowS + MARGIN_S },
        ],
        startS: 5 - rng.between(0.2, 1.2),
        impactS: -1,
      };
    }
  }
}

function fallDirection(rng: Rng, subject: Subject): FallDirection {
  return FALL_DIRECTIONS[rng.weighted(subject.cohort.falls.directionWeights)] ?? 'forward';
}

/** Activity before an impact event: walking, standing still, or standing up from a chair. */
function pickPre(rng: Rng, subject: Subject): (s: number) => AccelSegment[] {
  const u = rng.uniform();
  const running = subject.cohort.gait.runningShare * 0.3;
  if (u < running) return (s) => [{ kind: 'activity', activity: 'running', durationS: s }];
  if (u < 0.5) return (s) => [{ kind: 'activity', activity: 'walking', durationS: s }];
  if (u < 0.8) return (s) => [{ kind: 'activity', activity: 'rest', durationS: s }];
  return (s) => [
    { kind: 'activity', activity: 'sit-down', durationS: s / 2 },
    { kind: 'activity', activity: 'stand-up', durationS: s / 2 },
  ];
}

// --- AF windows ----------------------------------------------------------------------------------

export function afWindows(opts: AfWindowOptions): AfWindow[] {
  checkCommon(opts);
  // Runtime check: callers may be plain JavaScript.
  if (!(['ecg', 'ppg'] as readonly string[]).includes(opts.source))
    throw new SimulatorError('BAD_ARGUMENT', 'source must be ecg or ppg');
  const windowS = checkRange('windowS', opts.windowS ?? 30, 5, 600);
  const rateHz = checkRange('rateHz', opts.rateHz ?? (opts.source === 'ecg' ? 250 : 64), 10, 2000);
  const ectopyFraction = checkRange('ectopyFraction', opts.ectopyFraction ?? 0.2, 0, 1);
  const cohorts = resolveCohorts(opts.cohorts);
  const offset = Rng.of(opts.seed, 'af-windows', 'labels').uniform();
  const out: AfWindow[] = [];
  const start = opts.startIndex ?? 0;
  for (let i = start; i < start + opts.count; i++) {
    const id = `af-${opts.source}-${String(i).padStart(6, '0')}`;
    const label = weylLabel(offset, i, opts.positiveFraction ?? 0.5);
    const rng = Rng.of(opts.seed, 'af-windows', id);
    out.push(
      afWindow(rng, id, label, opts.source, windowS, rateHz, ectopyFraction, cohorts, opts.shift ?? {}),
    );
  }
  return out;
}

function afWindow(
  rng: Rng,
  id: string,
  label: 0 | 1,
  source: 'ecg' | 'ppg',
  windowS: number,
  rateHz: number,
  ectopyFraction: number,
  cohorts: readonly Cohort[],
  shift: PopulationShift,
): AfWindow {
  const params = cohortParams(rng.pick(cohorts), shift);
  const subject = drawSubject(params, rng.fork('subject'));
  const kind: AfWindowKind = label === 1 ? 'af' : rng.chance(ectopyFraction) ? 'sinus+ectopy' : 'sinus';
  const rhythm: RhythmSegment[] = label === 1 ? [{ rhythm: 'af', startS: -10, endS: windowS + 10 }] : [];
  // Some windows at a raised rate (after exertion) so rate alone does not give AF away.
  const exertion = rng.chance(0.3)
    ? [{ startS: -60, endS: windowS + 10, deltaBpm: rng.between(10, 40) }]
    : [];
  let rr: RrSeries | undefined;
  for (let attempt = 0; attempt < 20 && rr === undefined; attempt++) {
    const ectopy =
      kind === 'sinus+ectopy'
        ? { pacPerMin: rng.between(1, 10), pvcPerMin: rng.between(1, 10) }
        : { pacPerMin: 0, pvcPerMin: 0 };
    const candidate = subjectRr(subject, rng.fork('rr', attempt), {
      seconds: windowS,
      rhythm,
      ectopy,
      exertion,
    });
    // 'sinus+ectopy' must contain at least one ectopic beat inside the window (labels are truth).
    if (kind !== 'sinus+ectopy' || hasEctopy(candidate, windowS)) rr = candidate;
  }
  if (rr === undefined)
    throw new SimulatorError('BAD_ARGUMENT', 'could not place ectopic beats in the window');
  const sensor = subject.cohort.sensor;
  let clean: Float32Array;
  const artifacts: ArtifactSpec[] = [];
  if (source === 'ecg') {
    clean = subjectEcg(subject, rr, rng.fork('ecg'), windowS, rateHz);
    artifacts.push({ kind: 'gaussian-noise', sd: sensor.ecgNoiseMv * rng.between(0.5, 2) });
    artifacts.push({
      kind: 'baseline-wander',
      amplitude: rng.between(0.02, 0.3),
      freqHz: subject.respRateHz,
    });
    if (rng.chance(0.3))
      artifacts.push({
        kind: 'powerline',
        amplitude: rng.between(0.005, 0.05),
        freqHz: rng.chance(0.5) ? 50 : 60,
      });
    if (rng.chance(0.2))
      artifacts.push({ kind: 'motion', amplitude: rng.between(0.05, 0.2), burstsPerMin: 2 });
  } else {
    clean = subjectPpg(subject, rr, rng.fork('ppg'), windowS, rateHz).samples;
    artifacts.push({ kind: 'gaussian-noise', sd: sensor.ppgNoise * rng.between(0.5, 2) });
    artifacts.push({
      kind: 'baseline-wander',
      amplitude: rng.between(0.05, 0.3),
      freqHz: rng.between(0.05, 0.3),
    });
    if (rng.chance(0.3))
      artifacts.push({ kind: 'motion', amplitude: rng.between(0.1, 0.4), burstsPerMin: 2 });
  }
  const art = applyArtifacts({ rateHz, channels: [clean] }, artifacts, rng.fork('artifacts'));
  const beats: number[] = [];
  for (const t of rr.beatTimesS) if (t >= 0 && t < windowS) beats.push(t);
  return {
    id,
    cohort: params.key,
    label,
    kind,
    rateHz,
    samples: art.channels[0] ?? clean,
    beatTimesS: Float64Array.from(beats),
  };
}

function hasEctopy(rr: RrSeries, windowS: number): boolean {
  for (let k = 0; k < rr.kinds.length; k++) {
    const t = rr.beatTimesS[k] ?? -1;
    const kind = rr.kinds[k];
    if (t >= 0 && t < windowS && (kind === 'PAC' || kind === 'PVC')) return true;
  }
  return false;
}
