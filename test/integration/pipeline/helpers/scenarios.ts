// Simulator recordings with injected artifacts and their ground truth per window, for the quality
// gate test, the calibration script and the end-to-end tests. The truth of a window comes from the
// simulator's annotations and from the timestamps this module writes — never from the signal.
//
// "An injected artifact exceeds the policy" (docs/pipeline.md "Quality gate on simulator data"):
//   dropout      any missing sample in the window (the reference models' preprocessing cannot
//                bridge gaps: maxMissingFraction is 0), whether sent as NaN or as a counter gap
//   lead-off     any sample flagged lead-off, for a policy that rejects the flag
//   flatline     a stuck span covering ≥ HELD_RUN samples of the window (0.1 s; shorter is below
//                the detector's resolution and counted as "within")
//   clipping     clipped samples (annotation runs) > maxClippedFraction of the window
//   timing       spread of the injected timestamp offsets over the window > maxRateJitterRel ×
//                the window duration (clock drift or timestamp steps)
//   noise        RMS of injected noise over the window ≥ NOISE_LIMIT_MV (ECG)
//   wander       power-equivalent baseline-wander amplitude over the window ≥ WANDER_LIMIT_MV (ECG)
// Windows holding only artifacts below these limits are "within" (reported apart); windows with no
// injected artifact at all are "clean".
import type { InputSpec, QualityPolicy } from '../../../../models/format/manifest.ts';
import { heldRunSamples, type SamplesFrame } from '../../../../runtime/pipeline/index.ts';
import {
  NEAR_FALLS,
  Rng,
  deviceRecording,
  simulateSignal,
  type ArtifactAnnotation,
  type ArtifactSpec,
  type PopulationShift,
  type RecordingEvent,
} from '../../../../simulator/index.ts';

/**
 * Noise and baseline-wander limits of the AF screener's policy, from the model's degradation on
 * simulator windows (test/integration/pipeline/calibrate.ts): white noise of 0.4 mV RMS (≥ 4× the
 * noisiest validated condition) leaves the model no better than chance; wander of 2 mV is where the
 * ADC range of a wearable ECG front end (±5 mV here) starts to be at risk (the model's band-pass
 * itself tolerates it).
 */
export const NOISE_LIMIT_MV = 0.4;
export const WANDER_LIMIT_MV = 2;

export type Truth = 'clean' | 'within' | 'exceeds';

export interface WindowTruth {
  readonly truth: Truth;
  /** Artifact kinds beyond the policy, and those present but within it. */
  readonly exceeds: readonly string[];
  readonly within: readonly string[];
}

/** Timestamps the "firmware" writes: true time plus an injected offset (ms) at a counter. */
export type TimingArtifact =
  | { readonly kind: 'none' }
  | { readonly kind: 'drift'; readonly epsilon: number }
  | {
      readonly kind: 'steps';
      readonly steps: readonly { readonly atCounter: number; readonly ms: number }[];
    };

export interface Scenario {
  readonly name: string;
  readonly streamId: string;
  readonly deviceId: string;
  readonly cohort: string;
  readonly rateHz: number;
  readonly channels: readonly Float32Array[];
  readonly flags: Uint8Array | null;
  /** Samples lost in transport (the simulator's dropout mask). */
  readonly missing: Uint8Array;
  /** Lost samples are sent as counter gaps (true) or as NaN values (false). */
  readonly missingAsGaps: boolean;
  readonly annotations: readonly ArtifactAnnotation[];
  readonly timing: TimingArtifact;
  readonly t0Ms: number;
  readonly frameSamples: number;
  /** Ground-truth events (falls, near-falls, AF) in seconds from the start. */
  readonly events: readonly RecordingEvent[];
  readonly rhythm: 'sinus' | 'af' | 'sinus+ectopy' | null;
}

function offsetAt(timing: TimingArtifact, counter: number, periodMs: number): number {
  switch (timing.kind) {
    case 'none':
      return 0;
    case 'drift':
      return timing.epsilon * counter * periodMs;
    case 'steps': {
      let total = 0;
      for (const s of timing.steps) if (s.atCounter <= counter) total += s.ms;
      return total;
    }
  }
}

/** The frames a firmware would send for a scenario (lost samples as gaps or NaN). */
export function* framesOf(s: Scenario): Generator<SamplesFrame> {
  const n = s.channels[0]?.length ?? 0;
  const periodMs = 1000 / s.rateHz;
  for (let start = 0; start < n; start += s.frameSamples) {
    const end = Math.min(n, start + s.frameSamples);
    // Split around lost samples when they travel as counter gaps.
    let a = start;
    while (a < end) {
      if (s.missingAsGaps && s.missing[a]) {
        a += 1;
        continue;
      }
      let b = a;
      while (b < end && !(s.missingAsGaps && s.missing[b])) b += 1;
      yield {
        streamId: s.streamId,
        firstCounter: a,
        timestampMs: s.t0Ms + a * periodMs + offsetAt(s.timing, a, periodMs),
        channels: s.channels.map((c) => c.slice(a, b)),
        ...(s.flags ? { flags: s.flags.slice(a, b) } : {}),
      };
      a = b;
    }
  }
}

export interface TruthLimits {
  readonly policy: QualityPolicy;
  readonly input: InputSpec;
  /** Only for ECG: noise and wander limits. */
  readonly ecg: boolean;
}

/** Ground truth of the window starting at `start` (native counters) of `length` samples. */
export function windowTruth(s: Scenario, start: number, length: number, limits: TruthLimits): WindowTruth {
  const end = start + length;
  const exceeds = new Set<string>();
  const within = new Set<string>();
  const overlap = (a: ArtifactAnnotation) =>
    Math.max(0, Math.min(end, a.endSample) - Math.max(start, a.startSample));
  let clipped = 0;
  let noisePower = 0;
  let wanderPower = 0;
  let leadOff = false;
  const held = heldRunSamples(s.rateHz);
  for (const a of s.annotations) {
    const o = overlap(a);
    if (o === 0) continue;
    switch (a.kind) {
      case 'dropout':
        (o > limits.policy.maxMissingFraction * length ? exceeds : within).add('dropout');
        break;
      case 'lead-off':
        leadOff = true;
        break;
      case 'flatline':
        (o >= held ? exceeds : within).add('flatline');
        break;
      case 'clipping':
        clipped += o;
        break;
      case 'gaussian-noise':
        noisePower += (a.params.sd ?? 0) ** 2 * (o / length);
        break;
      case 'baseline-wander':
        wanderPower += (a.params.amplitude ?? 0) ** 2 * (o / length);
        break;
      case 'gain-change':
      case 'motion':
      case 'powerline':
      case 'rate-mismatch':
        within.add(a.kind);
        break;
    }
  }
  if (leadOff) (limits.policy.rejectFlags.includes('lead-off') ? exceeds : within).add('lead-off');
  if (clipped > 0) (clipped > limits.policy.maxClippedFraction * length ? exceeds : within).add('clipping');
  if (noisePower > 0) (limits.ecg && Math.sqrt(noisePower) >= NOISE_LIMIT_MV ? exceeds : within).add('noise');
  if (wanderPower > 0)
    (limits.ecg && Math.sqrt(wanderPower) >= WANDER_LIMIT_MV ? exceeds : within).add('wander');
  // Timing: spread of the offsets of the frames that carry the window's samples.
  if (s.timing.kind !== 'none') {
    const periodMs = 1000 / s.rateHz;
    const firstFrame = Math.floor(start / s.frameSamples) * s.frameSamples;
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (let c = firstFrame; c < end; c += s.frameSamples) {
      const o = offsetAt(s.timing, c, periodMs);
      low = Math.min(low, o);
      high = Math.max(high, o);
    }
    // Frames split by counter gaps start at the gap's end: their offsets count too.
    for (let c = start; c < end; c += 1) {
      if (s.missingAsGaps && c > 0 && s.missing[c - 1] && !s.missing[c]) {
        const o = offsetAt(s.timing, c, periodMs);
        low = Math.min(low, o);
        high = Math.max(high, o);
      }
    }
    const spread = (high - low) / (length * periodMs);
    if (spread > limits.policy.maxRateJitterRel) exceeds.add('timing');
    else if (spread > 0) within.add('timing');
  }
  const truth: Truth = exceeds.size > 0 ? 'exceeds' : within.size > 0 ? 'within' : 'clean';
  return { truth, exceeds: [...exceeds].sort(), within: [...within].sort() };
}

const COHORTS = [
  'age=18-39;activity=active;placement=wrist',
  'age=18-39;activity=sedentary;placement=chest',
  'age=40-64;activity=active;placement=hip',
  'age=40-64;activity=sedentary;placement=wrist',
  'age=65+;activity=active;placement=chest',
  'age=65+;activity=sedentary;placement=hip',
];

function timingFor(rng: Rng, counters: number, maxEpsilon: number): TimingArtifact {
  // A quarter of artifact recordings keep good timing; the others drift or step.
  switch (rng.weighted([1, 1.5, 1.5])) {
    case 0:
      return { kind: 'none' };
    case 1:
      return { kind: 'drift', epsilon: (rng.chance(0.5) ? 1 : -1) * rng.between(0.002, maxEpsilon) };
    default:
      return {
        kind: 'steps',
        steps: Array.from({ length: 3 }, () => ({
          atCounter: rng.int(1, counters - 1),
          ms: (rng.chance(0.5) ? 1 : -1) * Math.exp(rng.between(Math.log(5), Math.log(400))),
        })).sort((a, b) => a.atCounter - b.atCounter),
      };
  }
}

function spans(rng: Rng, count: number, seconds: number, minS: number, maxS: number): [number, number][] {
  return Array.from({ length: count }, () => {
    const length = Math.exp(rng.between(Math.log(minS), Math.log(maxS)));
    const start = rng.between(1, Math.max(1.01, seconds - length - 1));
    return [start, Math.min(seconds, start + length)];
  });
}

/** A motion timeline for a wearer: activities, falls and near-falls with rest in between. */
export function motionEvents(rng: Rng, seconds: number): RecordingEvent[] {
  const events: RecordingEvent[] = [];
  let t = rng.between(5, 20);
  while (t < seconds - 30) {
    const what = rng.weighted([3, 1.5, 1, 1, 1, 1, 1.5, 1.5]);
    if (what <= 5) {
      const activity =
        (['walking', 'running', 'sit-down', 'stand-up', 'lie-down', 'rest'] as const)[what] ?? 'rest';
      const length = Math.min(
        seconds - 5 - t,
        activity === 'walking' || activity === 'running' ? rng.between(10, 60) : rng.between(3, 8),
      );
      events.push({ kind: 'activity', activity, startS: t, endS: t + length });
      t += length + rng.between(5, 20);
    } else {
      const atS = t + 1.5;
      events.push(
        what === 6
          ? { kind: 'fall', atS, direction: rng.pick(['forward', 'backward', 'lateral'] as const) }
          : { kind: 'near-fall', atS, type: rng.pick(NEAR_FALLS) },
      );
      t = atS + rng.between(15, 30);
    }
  }
  return events;
}

/** An accelerometer scenario: a wearer's day-like timeline, with injected artifacts if asked. */
export function accelScenario(
  seed: number,
  seconds: number,
  artifacts: boolean,
  shift: PopulationShift = {},
): Scenario {
  const rng = Rng.of(seed, 'pipeline-accel-scenario');
  const cohort = rng.pick(COHORTS);
  const events = motionEvents(rng.fork('motion'), seconds);
  const injected: RecordingEvent[] = [];
  if (artifacts) {
    const add = (artifact: ArtifactSpec) => injected.push({ kind: 'artifact', sensor: 'accel', artifact });
    for (const [startS, endS] of spans(rng, 4, seconds, 0.02, 2)) add({ kind: 'dropout', startS, endS });
    for (const [startS, endS] of spans(rng, 4, seconds, 0.04, 3)) add({ kind: 'flatline', startS, endS });
    if (rng.chance(0.4)) {
      const limit = rng.between(1.6, 4);
      add({ kind: 'clipping', min: -limit, max: limit });
    }
  }
  const rec = deviceRecording({
    seed,
    seconds,
    cohort,
    shift,
    events: [...events, ...injected],
    ecgRateHz: 100,
    ppgRateHz: 25,
  });
  const n = rec.accel.x.length;
  const missing = new Uint8Array(n);
  for (const a of rec.annotations.accelArtifacts)
    if (a.kind === 'dropout') missing.fill(1, a.startSample, a.endSample);
  return {
    name: `accel-${seed}`,
    streamId: `accel-${seed}`,
    deviceId: `wearer-${seed}`,
    cohort: rec.cohort,
    rateHz: rec.accel.rateHz,
    channels: [rec.accel.x, rec.accel.y, rec.accel.z],
    flags: null,
    missing,
    missingAsGaps: rng.chance(0.5),
    annotations: rec.annotations.accelArtifacts,
    timing: artifacts ? timingFor(rng.fork('timing'), n, 0.05) : { kind: 'none' },
    t0Ms: 1_767_225_600_000 + seed * 1000,
    frameSamples: 10,
    events,
    rhythm: null,
  };
}

/** An ECG scenario (single lead, 250 Hz): one rhythm for the recording, artifacts if asked. */
export function ecgScenario(
  seed: number,
  seconds: number,
  artifacts: boolean,
  shift: PopulationShift = {},
): Scenario {
  const rng = Rng.of(seed, 'pipeline-ecg-scenario');
  const cohort = rng.pick(COHORTS);
  const rhythm = (['sinus', 'sinus', 'af', 'af', 'sinus+ectopy'] as const)[rng.int(0, 4)] ?? 'sinus';
  // Respiratory baseline wander as in the training windows (afWindows: 0.02–0.3 mV): part of a
  // clean recording, not an injected artifact (the only span-less wander; left out of the truth).
  const specs: ArtifactSpec[] = [
    { kind: 'baseline-wander', amplitude: rng.between(0.02, 0.3), freqHz: rng.between(0.2, 0.33) },
  ];
  if (artifacts) {
    for (const [startS, endS] of spans(rng, 2, seconds, 0.5, 8))
      specs.push({ kind: 'lead-off', startS, endS });
    for (const [startS, endS] of spans(rng, 2, seconds, 0.02, 2))
      specs.push({ kind: 'dropout', startS, endS });
    for (const [startS, endS] of spans(rng, 2, seconds, 0.05, 3))
      specs.push({ kind: 'flatline', startS, endS });
    for (const [startS, endS] of spans(rng, 3, seconds, 5, 80)) {
      specs.push({
        kind: 'gaussian-noise',
        sd: Math.exp(rng.between(Math.log(0.05), Math.log(1.2))),
        startS,
        endS,
      });
    }
    for (const [startS, endS] of spans(rng, 2, seconds, 10, 80)) {
      specs.push({
        kind: 'baseline-wander',
        amplitude: Math.exp(rng.between(Math.log(0.2), Math.log(5))),
        freqHz: rng.between(0.1, 0.5),
        startS,
        endS,
      });
    }
    for (const [startS, endS] of spans(rng, 1, seconds, 10, 60)) {
      specs.push({
        kind: 'powerline',
        amplitude: rng.between(0.01, 0.3),
        freqHz: rng.chance(0.5) ? 50 : 60,
        startS,
        endS,
      });
    }
    for (const [startS, endS] of spans(rng, 1, seconds, 10, 60)) {
      specs.push({ kind: 'motion', amplitude: rng.between(0.1, 0.5), burstsPerMin: 4, startS, endS });
    }
    if (rng.chance(0.3)) {
      const limit = rng.between(0.5, 1.5);
      specs.push({ kind: 'clipping', min: -limit, max: limit });
    }
  }
  const sig = simulateSignal({
    kind: 'ecg',
    seconds,
    seed,
    shift,
    cohort,
    rhythm: rhythm === 'af' ? 'af' : 'sinus',
    ...(rhythm === 'sinus+ectopy' ? { ectopy: { pacPerMin: 4, pvcPerMin: 4 } } : {}),
    artifacts: specs,
  });
  if (sig.kind !== 'ecg') throw new Error('expected an ECG');
  const n = sig.samples.length;
  return {
    name: `ecg-${seed}`,
    streamId: `ecg-${seed}`,
    deviceId: `wearer-${seed}`,
    cohort: sig.cohort,
    rateHz: sig.rateHz,
    channels: [sig.samples],
    flags: sig.flags,
    missing: sig.missing,
    missingAsGaps: rng.chance(0.5),
    annotations: sig.annotations.artifacts.filter(
      (a) => !(a.kind === 'baseline-wander' && a.startSample === 0 && a.endSample === n),
    ),
    timing: artifacts ? timingFor(rng.fork('timing'), n, 0.03) : { kind: 'none' },
    t0Ms: 1_767_225_600_000 + seed * 1000,
    frameSamples: 50,
    events: rhythm === 'af' ? [{ kind: 'af', startS: 0, endS: seconds }] : [],
    rhythm,
  };
}
