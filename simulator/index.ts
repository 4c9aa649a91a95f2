// Public API of the simulator: seeded, deterministic synthetic physiological signals with
// artifacts, cohorts and deliberate drift. Same seed => byte-identical output on any machine.
// See docs/simulator.md for what each generator models and its sources.
//
// STABLE (consumed by model training, the demo and tests; change only with their owners):
//
//   fallWindows({ seed, count, windowS = 4, rateHz = 50, positiveFraction = 0.5,
//                 nearFallFraction = 0.25, cohorts?, shift?, startIndex = 0 }): FallWindow[]
//     FallWindow = { id, cohort, label: 0|1, kind, x, y, z: Float32Array, impactSample }
//     Positives hold a fall impact with 1.0-2.5 s of post-impact data inside the window;
//     negatives are ADLs (rest, walking, running, sit-down, stand-up, lie-down) and near-falls
//     (sit-hard, drop; ~nearFallFraction of negatives). Example i depends only on (seed, i).
//
//   afWindows({ seed, count, source: 'ecg'|'ppg', windowS = 30, rateHz = 250|64,
//               positiveFraction = 0.5, ectopyFraction = 0.2, cohorts?, shift?, startIndex = 0 }): AfWindow[]
//     AfWindow = { id, cohort, label: 0|1, kind: 'sinus'|'af'|'sinus+ectopy', rateHz, samples,
//                  beatTimesS }
//
//   deviceRecording({ seed, seconds, cohort?, shift?, events?, ectopy?, accelRateHz = 50,
//                     ecgRateHz = 250, ppgRateHz = 64 }): DeviceRecording
//     events: { kind: 'fall', atS, direction? } | { kind: 'near-fall', atS, type }
//           | { kind: 'af', startS, endS } | { kind: 'lead-off', startS, endS }
//           | { kind: 'activity', activity, startS, endS } | { kind: 'artifact', sensor, artifact }
//
//   simulateSignal({ kind: 'ecg'|'ppg'|'accel'|'rr', seconds, seed, rhythm?, ectopy?, artifacts?,
//                    cohort?, shift?, rateHz?, activity?, clean? }): SimulatedSignal
//   toCsv(signal): string        toCbor(signal): Uint8Array
//
// Labels are ground truth from the generator, never computed from the signal.

export { SimulatorError } from './errors.ts';
export type { SimulatorErrorCode } from './errors.ts';
export { Rng, checkSeed } from './rng.ts';
export type { Seed } from './rng.ts';

export {
  ACTIVITY_LEVELS,
  AGE_BANDS,
  DEFAULT_COHORT,
  PLACEMENTS,
  allCohorts,
  cohortKey,
  cohortParams,
  parseCohortKey,
} from './cohorts/cohorts.ts';
export type {
  ActivityLevel,
  AgeBand,
  Cohort,
  CohortParams,
  FallParams,
  GaitParams,
  HeartParams,
  Placement,
  PopulationShift,
  SensorParams,
} from './cohorts/cohorts.ts';
export { drawSubject } from './cohorts/subject.ts';
export type { Subject } from './cohorts/subject.ts';

export {
  ACTIVITIES,
  FALL_DIRECTIONS,
  MIN_IMPACT_OFFSET_S,
  NEAR_FALLS,
  accelTimeline,
} from './signals/accel.ts';
export type {
  AccelAnnotation,
  AccelEventKind,
  AccelSegment,
  AccelSignal,
  AccelTimelineOptions,
  Activity,
  FallDirection,
  NearFall,
} from './signals/accel.ts';
export { PAD_S, beatsWithin, generateRr, respirationAt } from './signals/rr.ts';
export type {
  AfParams,
  BeatKind,
  EctopyParams,
  Exertion,
  HrvParams,
  Respiration,
  Rhythm,
  RhythmSegment,
  RrOptions,
  RrSeries,
} from './signals/rr.ts';
export { synthEcg } from './signals/ecg.ts';
export type { EcgOptions } from './signals/ecg.ts';
export { synthPpg } from './signals/ppg.ts';
export type { PpgOptions, PpgSignal } from './signals/ppg.ts';
export { ARTIFACT_KINDS, FLAG_LEAD_OFF, applyArtifacts, parseArtifactSpec } from './signals/artifacts.ts';
export type {
  ArtifactAnnotation,
  ArtifactKind,
  ArtifactResult,
  ArtifactSpec,
  MotionSource,
  SampledSignal,
} from './signals/artifacts.ts';

export { afWindows, fallWindows } from './datasets.ts';
export type {
  AfWindow,
  AfWindowKind,
  AfWindowOptions,
  FallWindow,
  FallWindowKind,
  FallWindowOptions,
} from './datasets.ts';
export { deviceRecording } from './recording.ts';
export type { DeviceRecording, RecordingEvent, RecordingOptions } from './recording.ts';
export {
  ACCEL_SCENARIOS,
  DEFAULT_RATE_HZ,
  SIGNAL_KINDS,
  scenarioSegments,
  simulateSignal,
} from './signal.ts';
export type {
  AccelScenario,
  AccelSignalOut,
  RrSignal,
  SignalKind,
  SignalOptions,
  SimulatedSignal,
  WaveSignal,
} from './signal.ts';
export { formatFloat32, toCbor, toCsv } from './export.ts';
