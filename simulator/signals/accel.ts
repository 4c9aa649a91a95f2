// 3-axis accelerometer (specific force, in g) for a timeline of activities, falls and near-falls.
//
// Model: each sample is a body-frame vector a = m * u + d, where u is the unit "up" vector in body
// coordinates (x anterior, y left, z up: the reading of a still sensor), m scales it (free fall makes
// |a| drop toward 0) and d is the linear acceleration of the body. The body vector is then rotated
// into the device frame by the wearer's mount (placement), plus arm swing for a wrist sensor, and
// white sensor noise is added. Waveform shapes follow the published descriptions of fall phases
// (pre-fall, free fall / descent, impact, post-fall rest; Noury et al. 2008; Bourke et al. 2007:
// impact > ~2.5-3 g, descent dips toward 0.3-0.6 g) and of gait accelerometry (vertical and
// antero-posterior components at step frequency, medio-lateral at stride frequency; Zijlstra & Hof
// 2003). Near-falls (sitting down hard, dropping the device) are hard negatives by design.
import type { Subject } from '../cohorts/subject.ts';
import { SimulatorError, checkRange } from '../errors.ts';
import type { Rng } from '../rng.ts';
import { Ar1, bump } from './noise.ts';
import type { Vec3 } from './vec.ts';
import { add, angleBetween, dot, matVec, normalize, rotateAbout, scale, slerp, smoothstep } from './vec.ts';

export const ACTIVITIES = ['rest', 'walking', 'running', 'sit-down', 'stand-up', 'lie-down'] as const;
export type Activity = (typeof ACTIVITIES)[number];
export const FALL_DIRECTIONS = ['forward', 'backward', 'lateral'] as const;
export type FallDirection = (typeof FALL_DIRECTIONS)[number];
export const NEAR_FALLS = ['sit-hard', 'drop'] as const;
export type NearFall = (typeof NEAR_FALLS)[number];

/** One piece of an activity timeline. Impact offsets are from the segment start. */
export type AccelSegment =
  | { readonly kind: 'activity'; readonly activity: Activity; readonly durationS: number }
  | {
      readonly kind: 'fall';
      readonly direction: FallDirection;
      readonly durationS: number;
      readonly impactOffsetS: number;
    }
  | { readonly kind: NearFall; readonly durationS: number; readonly impactOffsetS: number };

export type AccelEventKind = Activity | `fall-${FallDirection}` | NearFall;

/** Ground truth of one segment; samples are indices at the accelerometer rate, end exclusive. */
export interface AccelAnnotation {
  readonly kind: AccelEventKind;
  readonly startSample: number;
  readonly endSample: number;
  /** Sample of the peak of the impact (falls and near-falls). */
  readonly impactSample?: number;
}

export interface AccelSignal {
  readonly rateHz: number;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly z: Float32Array;
  readonly annotations: readonly AccelAnnotation[];
}

/** Minimum time before the impact a fall or near-fall segment needs for its descent. */
export const MIN_IMPACT_OFFSET_S = 1.0;

type Posture = 'upright' | 'sitting' | 'lying';

interface BodyState {
  u: Vec3;
  posture: Posture;
  /** The device has left the body (dropped): no sway, breathing or arm swing. */
  detached: boolean;
  gaitPhase: number;
  last: 'rest' | 'walking' | 'running';
}

/** Per-sample body-frame buffers for the whole timeline. */
class Body {
  readonly ux: Float64Array;
  readonly uy: Float64Array;
  readonly uz: Float64Array;
  readonly m: Float64Array;
  readonly dx: Float64Array;
  readonly dy: Float64Array;
  readonly dz: Float64Array;
  /** Arm rotation (radians) about the body's lateral axis, used for wrist sensors. */
  readonly swing: Float64Array;
  /** Scale of physiological sway and breathing (0 when the device lies on a table). */
  readonly alive: Float64Array;

  constructor(readonly n: number) {
    this.ux = new Float64Array(n);
    this.uy = new Float64Array(n);
    this.uz = new Float64Array(n).fill(1);
    this.m = new Float64Array(n).fill(1);
    this.dx = new Float64Array(n);
    this.dy = new Float64Array(n);
    this.dz = new Float64Array(n);
    this.swing = new Float64Array(n);
    this.alive = new Float64Array(n).fill(1);
  }

  setU(i: number, u: Vec3): void {
    this.ux[i] = u[0];
    this.uy[i] = u[1];
    this.uz[i] = u[2];
  }

  getU(i: number): Vec3 {
    return [this.ux[i] ?? 0, this.uy[i] ?? 0, this.uz[i] ?? 1];
  }

  addD(i: number, d: Vec3): void {
    this.dx[i] = (this.dx[i] ?? 0) + d[0];
    this.dy[i] = (this.dy[i] ?? 0) + d[1];
    this.dz[i] = (this.dz[i] ?? 0) + d[2];
  }
}

interface Ctx {
  readonly rng: Rng;
  readonly rateHz: number;
  readonly subject: Subject;
  readonly body: Body;
  /** Amplitude multiplier of voluntary body motion (subject vigour x placement gain). */
  readonly vigor: number;
}

const UPRIGHT: Vec3 = normalize([-Math.sin(0.05), 0, Math.cos(0.05)]);
const DEG = Math.PI / 180;

/** Up vector after tilting the trunk forward by `angle` (negative = reclined) about the lateral axis. */
function pitched(angle: number): Vec3 {
  return [-Math.sin(angle), 0, Math.cos(angle)];
}

function fillU(ctx: Ctx, start: number, end: number, u: Vec3): void {
  for (let i = start; i < end; i++) ctx.body.setU(i, u);
}

// --- activities --------------------------------------------------------------------------------

function rest(ctx: Ctx, start: number, end: number, st: BodyState): void {
  const { body, rng } = ctx;
  fillU(ctx, start, end, st.u);
  if (st.detached) {
    for (let i = start; i < end; i++) body.alive[i] = 0;
    return;
  }
  // Small voluntary movements while awake and not lying (weight shifts, gestures).
  const moving = st.posture !== 'lying';
  const gesture = new Ar1(rng, moving ? 0.012 * ctx.vigor : 0.001, 0.9);
  const arm = new Ar1(rng, moving ? 0.08 : 0.01, 0.99);
  for (let i = start; i < end; i++) {
    body.addD(i, [gesture.next(), gesture.next() * 0.7, gesture.next() * 0.5]);
    body.swing[i] = arm.next();
  }
  st.last = 'rest';
}

function gait(ctx: Ctx, start: number, end: number, st: BodyState, running: boolean): void {
  const { body, rng, rateHz, subject } = ctx;
  const v = running ? ctx.vigor * 0.9 : ctx.vigor;
  const stepHz = running ? subject.cadenceHz * rng.between(1.4, 1.6) : subject.cadenceHz;
  const p1 = rng.between(0.5, 1.1);
  const p2 = rng.between(0, 2 * Math.PI);
  const p3 = rng.between(0, 2 * Math.PI);
  const jitter = new Ar1(rng, 0.03, 0.97);
  const rough = new Ar1(rng, running ? 0.08 : 0.03, 0.6);
  // Running: vertical impacts as a Gaussian pulse per step (mean removed so the average stays 1 g).
  const pulseSigma = 0.5;
  const pulseMean = (pulseSigma * Math.sqrt(2 * Math.PI)) / (2 * Math.PI);
  const runAmp = 2.2 * v;
  let phase = st.gaitPhase;
  for (let i = start; i < end; i++) {
    phase += (2 * Math.PI * stepHz * (1 + jitter.next())) / rateHz;
    let vert: number;
    let ap: number;
    if (running) {
      const w = phase % (2 * Math.PI);
      const pulse = bump(w - Math.PI / 2, pulseSigma) + bump(w - Math.PI / 2 - 2 * Math.PI, pulseSigma);
      vert = runAmp * (pulse - pulseMean);
      ap = v * (0.35 * Math.sin(phase + p1) + 0.1 * Math.sin(2 * phase));
    } else {
      vert = v * (0.22 * Math.sin(phase) + 0.07 * Math.sin(2 * phase + p2));
      ap = v * (0.12 * Math.sin(phase + p1) + 0.04 * Math.sin(2 * phase));
    }
    const ml = v * (running ? 0.18 : 0.08) * Math.sin(phase / 2 + p3);
    body.setU(i, UPRIGHT);
    body.addD(i, [ap + rough.next(), ml + rough.next() * 0.5, vert + rough.next()]);
    body.swing[i] = (running ? 0.6 : 0.35) * v * Math.sin(phase / 2);
  }
  st.gaitPhase = phase % (4 * Math.PI);
  st.u = UPRIGHT;
  st.posture = 'upright';
  st.last = running ? 'running' : 'walking';
}

/** Sit-to-stand and stand-to-sit: trunk flexion, vertical push, return (Janssen et al. 2002). */
function transfer(ctx: Ctx, start: number, end: number, st: BodyState, toSitting: boolean): number {
  const { body, rng, rateHz } = ctx;
  const v = ctx.vigor;
  const n = end - start;
  const t = Math.min(n, Math.round(rng.between(1.8, 2.6) * rateHz));
  const lean = rng.between(25, 35) * DEG;
  const recline = rng.between(10, 20) * DEG;
  const from = toSitting ? 0.05 : -recline;
  const to = toSitting ? -recline : 0.05;
  for (let k = 0; k < n; k++) {
    const i = start + k;
    if (k >= t) {
      body.setU(i, pitched(to));
      continue;
    }
    const s = k / t;
    const angle =
      s < 0.45
        ? from + (lean - from) * smoothstep(s / 0.45)
        : lean + (to - lean) * smoothstep((s - 0.45) / 0.55);
    body.setU(i, pitched(angle));
    const vert = toSitting
      ? -0.18 * v * bump(s - 0.45, 0.08) + 0.28 * v * bump(s - 0.72, 0.06)
      : 0.25 * v * bump(s - 0.5, 0.08) - 0.15 * v * bump(s - 0.75, 0.07);
    body.addD(i, [0.1 * v * Math.sin(2 * Math.PI * s), 0, vert]);
    body.swing[i] = 0.2 * Math.sin(Math.PI * s);
  }
  if (t < n) rest(ctx, start + t, end, { ...st, u: pitched(to), posture: toSitting ? 'sitting' : 'upright' });
  st.u = pitched(to);
  st.posture = toSitting ? 'sitting' : 'upright';
  st.last = 'rest';
  return start + t;
}

function lieDown(ctx: Ctx, start: number, end: number, st: BodyState): number {
  const { body, rng, rateHz } = ctx;
  const v = ctx.vigor;
  const n = end - start;
  const t = Math.min(n, Math.round(rng.between(2.5, 4) * rateHz));
  const side = rng.chance(0.4);
  const tiltRad = rng.between(80, 90) * DEG;
  const target: Vec3 = side
    ? normalize([rng.between(-0.15, 0.15), (rng.chance(0.5) ? 1 : -1) * Math.sin(tiltRad), Math.cos(tiltRad)])
    : normalize([Math.sin(tiltRad), rng.between(-0.15, 0.15), Math.cos(tiltRad)]);
  const from = st.u;
  for (let k = 0; k < n; k++) {
    const i = start + k;
    if (k >= t) {
      body.setU(i, target);
      continue;
    }
    const s = k / t;
    body.setU(i, slerp(from, target, smoothstep(s)));
    body.addD(i, [
      0.12 * v * bump(s - 0.3, 0.08),
      0.05 * v * bump(s - 0.6, 0.1),
      0.1 * v * bump(s - 0.8, 0.07),
    ]);
    body.swing[i] = 0.3 * Math.sin(Math.PI * s);
  }
  st.u = target;
  st.posture = 'lying';
  st.last = 'rest';
  if (t < n) rest(ctx, start + t, end, st);
  return start + t;
}

// --- falls and near-falls ----------------------------------------------------------------------

/** Impact pulse size P so that |u + P * dir| equals the wanted peak magnitude. */
function impactScale(u: Vec3, dir: Vec3, peakG: number): number {
  const c = dot(u, dir);
  return -c + Math.sqrt(c * c - 1 + peakG * peakG);
}

/** Continues the pre-event activity up to sample `end`. */
function preActivity(ctx: Ctx, start: number, end: number, st: BodyState): void {
  if (end <= start) return;
  if (st.last === 'walking' || st.last === 'running') gait(ctx, start, end, st, st.last === 'running');
  else rest(ctx, start, end, st);
}

function randomUnit(rng: Rng): Vec3 {
  return normalize([rng.normal(), rng.normal(), rng.normal()]);
}

function fallTarget(rng: Rng, direction: FallDirection): Vec3 {
  const tilt = rng.between(60, 90) * DEG;
  const s = Math.sin(tilt);
  const c = Math.cos(tilt);
  const wobble = rng.between(-0.2, 0.2);
  switch (direction) {
    case 'forward':
      return normalize([-s, wobble, c]);
    case 'backward':
      return normalize([s, wobble, c]);
    case 'lateral':
      return normalize([wobble, rng.chance(0.5) ? s : -s, c]);
  }
}

function fall(
  ctx: Ctx,
  start: number,
  end: number,
  impact: number,
  st: BodyState,
  direction: FallDirection,
): number {
  const { body, rng, rateHz, subject } = ctx;
  const f = subject.cohort.falls;
  const dip = rng.between(f.dipG[0], f.dipG[1]);
  const hold = rng.between(f.freeFallS[0], f.freeFallS[1]);
  const peak = rng.between(f.impactG[0], f.impactG[1]);
  const sigma = rng.between(0.025, 0.045);
  const rise = Math.round(0.04 * rateHz);
  const holdStart = impact - rise - Math.round(hold * rateHz);
  const rampStart = holdStart - Math.round(0.12 * rateHz);
  const stumbleStart = Math.max(start, rampStart - Math.round(0.3 * rateHz));
  preActivity(ctx, start, stumbleStart, st);
  const from = st.u;
  const target = fallTarget(rng, direction);
  const dir = normalize(add(target, scale(randomUnit(rng), 0.3)));
  const p = impactScale(target, dir, peak);
  const push = direction === 'forward' ? 1 : direction === 'backward' ? -1 : 0;
  const side = rng.between(-1, 1);
  const flail = new Ar1(rng, 0.03, 0.8);
  const ring: Vec3 = randomUnit(rng);
  const ringHz = rng.between(6, 10);
  const bounceAt = impact + Math.round(rng.between(0.08, 0.14) * rateHz);
  const bounce = p * rng.between(0.25, 0.4);
  for (let i = stumbleStart; i < end; i++) {
    const t = (i - impact) / rateHz;
    // Orientation: accelerating rotation (inverted pendulum) from ramp start to the impact.
    if (i < rampStart) body.setU(i, from);
    else if (i < impact) {
      const s = (i - rampStart) / (impact - rampStart);
      body.setU(i, slerp(from, target, s * s));
    } else body.setU(i, target);
    // Magnitude: descent ramp, free-fall hold near `dip`, recovery just before contact.
    if (i >= rampStart && i < holdStart)
      body.m[i] = 1 - (1 - dip) * smoothstep((i - rampStart) / (holdStart - rampStart));
    else if (i >= holdStart && i < impact - rise) body.m[i] = dip + flail.next() * 0.3;
    else if (i >= impact - rise && i < impact)
      body.m[i] = dip + (1 - dip) * smoothstep((i - impact + rise) / rise);
    if (i < rampStart) {
      const s = (i - stumbleStart) / Math.max(1, rampStart - stumbleStart);
      body.addD(i, [0.3 * ctx.vigor * push * Math.sin(Math.PI * s), 0.15 * side * Math.sin(Math.PI * s), 0]);
    } else if (i < impact) {
      body.addD(i, [flail.next(), flail.next(), 0]);
    }
    // Impact, one rebound and a damped ring-down of soft tissue and the device strap.
    if (i >= impact - 6 * sigma * rateHz && i <= impact + Math.round(0.6 * rateHz)) {
      const tb = (i - bounceAt) / rateHz;
      let d = scale(dir, p * bump(t, sigma) + bounce * bump(tb, 0.03));
      if (t > 0) d = add(d, scale(ring, 0.12 * p * Math.exp(-t / 0.12) * Math.sin(2 * Math.PI * ringHz * t)));
      body.addD(i, d);
    }
    body.swing[i] = 0;
    // After the ring-down: lying still (reduced sway, breathing remains).
    if (i > impact + Math.round(0.6 * rateHz)) body.alive[i] = 0.5;
  }
  st.u = target;
  st.posture = 'lying';
  st.last = 'rest';
  return Math.min(end, impact + Math.round(1.0 * rateHz));
}

/** Sitting down hard: short descent, 2-3.5 g impact, seated (not lying) and fidgeting after. */
function sitHard(ctx: Ctx, start: number, end: number, impact: number, st: BodyState): number {
  const { body, rng, rateHz } = ctx;
  const dip = rng.between(0.45, 0.7);
  const descent = Math.round(rng.between(0.35, 0.6) * rateHz);
  const peak = rng.between(2.0, 3.5);
  const sigma = rng.between(0.035, 0.055);
  const rampStart = impact - descent;
  const leadIn = Math.max(start, rampStart - Math.round(0.4 * rateHz));
  preActivity(ctx, start, leadIn, st);
  const from = st.u;
  const seated = pitched(-rng.between(10, 25) * DEG);
  const lean = pitched(rng.between(10, 20) * DEG);
  const p = impactScale(seated, seated, peak);
  const fidget = new Ar1(rng, rng.between(0.03, 0.06) * ctx.vigor, 0.85);
  const fall = Math.round(0.1 * rateHz);
  for (let i = leadIn; i < end; i++) {
    if (i < rampStart)
      body.setU(i, slerp(from, lean, smoothstep((i - leadIn) / Math.max(1, rampStart - leadIn))));
    else if (i < impact) body.setU(i, slerp(lean, seated, (i - rampStart) / descent));
    else body.setU(i, seated);
    if (i >= rampStart && i < impact) {
      const s = (i - rampStart) / descent;
      const w =
        s < 0.3 ? smoothstep(s / 0.3) : i >= impact - fall ? 1 - smoothstep((i - impact + fall) / fall) : 1;
      body.m[i] = 1 - (1 - dip) * w;
    }
    const t = (i - impact) / rateHz;
    if (Math.abs(t) < 0.4) body.addD(i, scale(seated, p * bump(t, sigma)));
    if (i > impact + Math.round(0.3 * rateHz)) {
      body.addD(i, [fidget.next(), fidget.next(), fidget.next() * 0.5]);
      body.swing[i] = 0.2 * fidget.next();
    }
  }
  st.u = seated;
  st.posture = 'sitting';
  st.last = 'rest';
  return Math.min(end, impact + Math.round(1.0 * rateHz));
}

/** Device dropped from hand height: true free fall, sharp impact and bounce, then still on a surface. */
function drop(ctx: Ctx, start: number, end: number, impact: number, st: BodyState): number {
  const { body, rng, rateHz } = ctx;
  const freeFall = Math.round(rng.between(0.3, 0.45) * rateHz);
  const residual = rng.between(0.02, 0.08);
  const peak = rng.between(5, 12);
  const sigma = rng.between(0.006, 0.012);
  const fallStart = impact - freeFall;
  const handStart = Math.max(start, fallStart - Math.round(0.5 * rateHz));
  preActivity(ctx, start, handStart, st);
  const resting = randomUnit(rng);
  const dir = normalize(add(resting, scale(randomUnit(rng), 0.5)));
  const p = impactScale(resting, dir, peak);
  const bounceAt = impact + Math.round(rng.between(0.08, 0.15) * rateHz);
  const bouncePeak = rng.between(1.5, 3);
  const bounceDir = normalize(add(resting, scale(randomUnit(rng), 0.4)));
  const pb = impactScale(resting, bounceDir, bouncePeak);
  const tumble = new Ar1(rng, 0.02, 0.5);
  const hand = new Ar1(rng, 0.05, 0.85);
  const from = st.u;
  for (let i = handStart; i < end; i++) {
    const t = (i - impact) / rateHz;
    if (i < fallStart) {
      body.setU(i, from);
      body.addD(i, [hand.next(), hand.next(), hand.next()]);
      body.swing[i] = 0.3 * hand.next();
      continue;
    }
    body.alive[i] = 0;
    if (i < impact) {
      body.setU(i, from);
      body.m[i] = residual;
      body.addD(i, [tumble.next(), tumble.next(), tumble.next()]);
      continue;
    }
    body.setU(i, resting);
    if (i > impact && i < bounceAt) body.m[i] = 0.2;
    body.addD(i, scale(dir, p * bump(t, sigma)));
    if (Math.abs(i - bounceAt) <= 2)
      body.addD(i, scale(bounceDir, pb * bump((i - bounceAt) / rateHz, sigma)));
  }
  st.u = resting;
  st.detached = true;
  st.last = 'rest';
  return Math.min(end, impact + Math.round(1.0 * rateHz));
}

// --- timeline ----------------------------------------------------------------------------------

export interface AccelTimelineOptions {
  readonly rng: Rng;
  readonly subject: Subject;
  readonly rateHz: number;
  readonly segments: readonly AccelSegment[];
}

function checkSegments(segments: readonly AccelSegment[], rateHz: number): void {
  checkRange('rateHz', rateHz, 10, 1000);
  if (segments.length === 0)
    throw new SimulatorError('BAD_ARGUMENT', 'accelerometer timeline needs a segment');
  let total = 0;
  for (const seg of segments) {
    checkRange('segment durationS', seg.durationS, 1 / rateHz, 86_400);
    total += seg.durationS;
    if (seg.kind !== 'activity') {
      if (seg.impactOffsetS < MIN_IMPACT_OFFSET_S || seg.impactOffsetS > seg.durationS - 0.2) {
        throw new SimulatorError(
          'BAD_ARGUMENT',
          `${seg.kind} impactOffsetS must be in [${MIN_IMPACT_OFFSET_S}, durationS - 0.2], got ${seg.impactOffsetS}`,
        );
      }
    }
  }
  if (total * rateHz > 50_000_000)
    throw new SimulatorError('BAD_ARGUMENT', 'accelerometer timeline too long');
}

/** Builds the accelerometer signal of a whole timeline; segments follow one another without gaps. */
export function accelTimeline(opts: AccelTimelineOptions): AccelSignal {
  const { rng, subject, rateHz, segments } = opts;
  checkSegments(segments, rateHz);
  const bounds: number[] = [0];
  let acc = 0;
  for (const seg of segments) {
    acc += seg.durationS;
    bounds.push(Math.round(acc * rateHz));
  }
  const n = bounds[bounds.length - 1] ?? 0;
  const body = new Body(n);
  const sensor = subject.cohort.sensor;
  const ctx: Ctx = {
    rng: rng.fork('motion'),
    rateHz,
    subject,
    body,
    vigor: subject.vigor * sensor.dynamicGain,
  };
  const st: BodyState = { u: UPRIGHT, posture: 'upright', detached: false, gaitPhase: 0, last: 'rest' };
  const annotations: AccelAnnotation[] = [];
  segments.forEach((seg, k) => {
    const start = bounds[k] ?? 0;
    const end = bounds[k + 1] ?? start;
    if (end <= start) return;
    const before = st.u;
    const wasDetached = st.detached;
    if (seg.kind !== 'activity' || seg.activity !== 'rest') st.detached = false;
    let eventEnd = end;
    let eventStart = start;
    let impactSample: number | undefined;
    switch (seg.kind) {
      case 'activity':
        switch (seg.activity) {
          case 'rest':
            rest(ctx, start, end, st);
            break;
          case 'walking':
          case 'running':
            gait(ctx, start, end, st, seg.activity === 'running');
            break;
          case 'sit-down':
          case 'stand-up':
            eventEnd = transfer(ctx, start, end, st, seg.activity === 'sit-down');
            break;
          case 'lie-down':
            eventEnd = lieDown(ctx, start, end, st);
            break;
        }
        break;
      case 'fall':
      case 'sit-hard':
      case 'drop': {
        impactSample = start + Math.round(seg.impactOffsetS * rateHz);
        eventStart = impactSample - Math.round(0.9 * rateHz);
        if (seg.kind === 'fall') eventEnd = fall(ctx, start, end, impactSample, st, seg.direction);
        else if (seg.kind === 'sit-hard') eventEnd = sitHard(ctx, start, end, impactSample, st);
        else eventEnd = drop(ctx, start, end, impactSample, st);
        break;
      }
    }
    // Blend from the previous orientation when a segment starts in another posture (e.g. walking
    // after lying): a 0.8 s turn rather than a jump.
    const first = body.getU(start);
    if (angleBetween(before, first) > 3 * DEG && (seg.kind === 'activity' || wasDetached)) {
      const nb = Math.min(end - start, Math.round(0.8 * rateHz));
      for (let k2 = 0; k2 < nb; k2++)
        body.setU(start + k2, slerp(before, body.getU(start + k2), smoothstep(k2 / nb)));
    }
    const kind: AccelEventKind =
      seg.kind === 'activity' ? seg.activity : seg.kind === 'fall' ? `fall-${seg.direction}` : seg.kind;
    annotations.push(
      impactSample === undefined
        ? { kind, startSample: eventStart, endSample: eventEnd }
        : { kind, startSample: Math.max(start, eventStart), endSample: eventEnd, impactSample },
    );
  });
  return { rateHz, ...toDevice(ctx), annotations };
}

/** Body frame -> device frame, with sway, breathing, wrist arm swing, gain and sensor noise. */
function toDevice(ctx: Ctx): { x: Float32Array; y: Float32Array; z: Float32Array } {
  const { body, subject, rateHz } = ctx;
  const rng = ctx.rng.fork('sensor');
  const sensor = subject.cohort.sensor;
  const n = body.n;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const z = new Float32Array(n);
  const sway = new Ar1(rng, 0.004, 0.95);
  const breathHz = subject.respRateHz;
  const breathPhase = rng.between(0, 2 * Math.PI);
  const breathAmp = sensor.placement === 'chest' ? 0.008 : 0.003;
  const wrist = sensor.placement === 'wrist';
  const lateral: Vec3 = [0, 1, 0];
  const gain = sensor.accelGain;
  const noise = sensor.accelNoiseG;
  for (let i = 0; i < n; i++) {
    const alive = body.alive[i] ?? 1;
    const m = body.m[i] ?? 1;
    let a: Vec3 = [
      m * (body.ux[i] ?? 0) + (body.dx[i] ?? 0),
      m * (body.uy[i] ?? 0) + (body.dy[i] ?? 0),
      m * (body.uz[i] ?? 1) + (body.dz[i] ?? 0),
    ];
    if (alive > 0) {
      const b = breathAmp * Math.sin((2 * Math.PI * breathHz * i) / rateHz + breathPhase);
      a = [a[0] + alive * (sway.next() + b), a[1] + alive * sway.next(), a[2] + alive * sway.next()];
      if (wrist) a = rotateAbout(a, lateral, body.swing[i] ?? 0);
    }
    const d = matVec(subject.mount, a);
    x[i] = gain * d[0] + rng.normal(0, noise);
    y[i] = gain * d[1] + rng.normal(0, noise);
    z[i] = gain * d[2] + rng.normal(0, noise);
  }
  return { x, y, z };
}
