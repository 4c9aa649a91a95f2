// Simulated wearers for fleet scenarios: a busy day of activities (rest, walking, transfers, lying
// down, the odd near-fall) drawn from a seeded schedule, plus the scenario's own events, rendered
// chunk by chunk with deviceRecording. Dwell times are short (a few seconds) on purpose: the demo
// reports every few seconds, and a cohort's short interval then sees the same activity mix as a
// long one, so that a control cohort matches its reference profile (docs/scenarios.md "Wearers").
import type { PopulationShift } from '../cohorts/cohorts.ts';
import { SimulatorError } from '../errors.ts';
import { deviceRecording, type DeviceRecording, type RecordingEvent } from '../recording.ts';
import { Rng, type Seed } from '../rng.ts';
import type { Activity, NearFall } from '../signals/accel.ts';
import { MIN_IMPACT_OFFSET_S } from '../signals/accel.ts';

/** How a wearer spends the day: activity weights, dwell times and near-fall rate. */
export interface DaySchedule {
  /** Relative weights of the next activity. `rest` is standing, seated or lying still. */
  readonly weights: Readonly<Record<Activity, number>>;
  /** Dwell time of one activity, uniform in [min, max] seconds. */
  readonly dwellS: readonly [number, number];
  /** Near-falls (sitting down hard, dropping the device) per minute. */
  readonly nearFallsPerMin: number;
  /**
   * Share of chunks in atrial fibrillation (the population's AF burden; 65+ prevalence is about 9 %,
   * Chugh et al. 2014). Each chunk is a fresh draw from the population, so this is a prevalence.
   */
  readonly afShare: number;
}

/** Older adults at home: mostly still or walking about, frequent transfers, rarely running. */
export const HOME_DAY: DaySchedule = Object.freeze({
  weights: Object.freeze({
    rest: 0.34,
    walking: 0.3,
    running: 0.02,
    'sit-down': 0.12,
    'stand-up': 0.12,
    'lie-down': 0.1,
  }),
  dwellS: Object.freeze([3, 8] as const),
  nearFallsPerMin: 0.25,
  afShare: 0.1,
});

/** Younger, active wearers: on their feet, walking briskly and running much of the time. */
export const ACTIVE_DAY: DaySchedule = Object.freeze({
  weights: Object.freeze({
    rest: 0.18,
    walking: 0.38,
    running: 0.22,
    'sit-down': 0.08,
    'stand-up': 0.08,
    'lie-down': 0.06,
  }),
  dwellS: Object.freeze([4, 10] as const),
  nearFallsPerMin: 0.1,
  afShare: 0.01,
});

/** The day schedules a scenario can name. */
export const DAY_SCHEDULES = Object.freeze({ home: HOME_DAY, active: ACTIVE_DAY });
export type DayName = keyof typeof DAY_SCHEDULES;

/** A span the schedule must leave alone (a scenario event and its surroundings). */
export interface Reserved {
  readonly startS: number;
  readonly endS: number;
}

const ACTIVITY_ORDER: readonly Activity[] = [
  'rest',
  'walking',
  'running',
  'sit-down',
  'stand-up',
  'lie-down',
];
const NEAR_FALL_SPAN_S = 3;

function overlaps(a: Reserved, spans: readonly Reserved[]): boolean {
  return spans.some((s) => a.startS < s.endS && s.startS < a.endS);
}

/**
 * The background activities of one wearer over [0, seconds): non-overlapping `activity` and
 * `near-fall` events (rest fills the gaps), none inside a reserved span.
 */
export function dailyActivities(
  seed: Seed,
  seconds: number,
  schedule: DaySchedule = HOME_DAY,
  reserved: readonly Reserved[] = [],
): RecordingEvent[] {
  const [dmin, dmax] = schedule.dwellS;
  if (!(dmin > 0 && dmax >= dmin)) throw new SimulatorError('BAD_ARGUMENT', 'dwellS must be 0 < min <= max');
  const rng = Rng.of(seed, 'fleet-wearer-day');
  const weights = ACTIVITY_ORDER.map((a) => schedule.weights[a]);
  const out: RecordingEvent[] = [];
  const round = (s: number) => Math.round(s * 10) / 10;
  let t = round(rng.between(0, dmax));
  while (t < seconds - 1) {
    const nearFall = rng.chance((schedule.nearFallsPerMin * (dmin + dmax)) / 2 / 60);
    if (nearFall) {
      const span = { startS: t, endS: t + NEAR_FALL_SPAN_S };
      const type: NearFall = rng.chance(0.5) ? 'sit-hard' : 'drop';
      const atS = round(t + MIN_IMPACT_OFFSET_S + 0.2);
      if (span.endS < seconds - 0.5 && !overlaps(span, reserved)) out.push({ kind: 'near-fall', atS, type });
      t = round(span.endS);
      continue;
    }
    const activity = ACTIVITY_ORDER[rng.weighted(weights)] ?? 'rest';
    // Clamp after rounding: a chunk may end at any fraction of a second.
    const endS = Math.min(seconds, round(t + rng.between(dmin, dmax)));
    const span = { startS: t, endS };
    if (activity !== 'rest' && endS > t && !overlaps(span, reserved)) {
      out.push({ kind: 'activity', activity, startS: t, endS });
    }
    t = endS;
  }
  return out;
}

/** A scenario event in the wearer's own time (seconds since the wearer started streaming). */
export type WearerEvent =
  | { readonly kind: 'fall'; readonly atS: number }
  | { readonly kind: 'near-fall'; readonly atS: number; readonly type: NearFall }
  | { readonly kind: 'af'; readonly startS: number; readonly endS: number }
  | { readonly kind: 'lead-off'; readonly startS: number; readonly endS: number }
  | {
      readonly kind: 'gain';
      readonly sensor: 'accel' | 'ecg';
      readonly factor: number;
      readonly startS: number;
    };

/** What a wearer is: population (simulator cohort key), optional shift, and its events. */
export interface WearerProfile {
  readonly seed: Seed;
  /** Simulator cohort key (physiology and placement), e.g. `age=65+;activity=sedentary;placement=wrist`. */
  readonly population: string;
  readonly shift?: PopulationShift;
  readonly schedule?: DaySchedule;
  readonly events: readonly WearerEvent[];
}

/** Time around a fall kept free of background activity: the wearer lies still afterwards. */
const FALL_RESERVE = { beforeS: 3, afterS: 20 } as const;

function reservedSpans(events: readonly WearerEvent[]): Reserved[] {
  return events.flatMap((e): Reserved[] => {
    switch (e.kind) {
      case 'fall':
        return [{ startS: e.atS - FALL_RESERVE.beforeS, endS: e.atS + FALL_RESERVE.afterS }];
      case 'near-fall':
        return [{ startS: e.atS - 2, endS: e.atS + 2 }];
      case 'af':
      case 'lead-off':
      case 'gain':
        return [];
    }
  });
}

/**
 * The recording events of one chunk [fromS, fromS + seconds) of a wearer's timeline, in chunk time.
 * Spans are clipped to the chunk; impacts too close to a chunk edge move inside it.
 */
export function chunkEvents(
  profile: WearerProfile,
  chunk: number,
  fromS: number,
  seconds: number,
): RecordingEvent[] {
  const toS = fromS + seconds;
  const local = profile.events
    .map((e): WearerEvent | null => {
      switch (e.kind) {
        case 'fall':
        case 'near-fall': {
          if (e.atS < fromS || e.atS >= toS) return null;
          const atS = Math.min(seconds - 0.6, Math.max(MIN_IMPACT_OFFSET_S + 0.1, e.atS - fromS));
          return { ...e, atS };
        }
        case 'af':
        case 'lead-off': {
          const startS = Math.max(fromS, e.startS) - fromS;
          const endS = Math.min(toS, e.endS) - fromS;
          return endS - startS >= 0.5 ? { ...e, startS, endS } : null;
        }
        case 'gain':
          return e.startS < toS ? { ...e, startS: Math.max(0, e.startS - fromS) } : null;
      }
    })
    .filter((e): e is WearerEvent => e !== null);
  const schedule = profile.schedule ?? HOME_DAY;
  const background = dailyActivities(
    `${String(profile.seed)}/chunk-${chunk}`,
    seconds,
    schedule,
    reservedSpans(local),
  );
  // The population's AF burden: a whole chunk in AF, unless the scenario decides this chunk's rhythm.
  const rhythmSet = local.some((e) => e.kind === 'af');
  if (
    !rhythmSet &&
    Rng.of(`${String(profile.seed)}/chunk-${chunk}`, 'fleet-wearer-af').chance(schedule.afShare)
  ) {
    background.push({ kind: 'af', startS: 0, endS: seconds });
  }
  const scenario = local.map((e): RecordingEvent => {
    switch (e.kind) {
      case 'fall':
        return { kind: 'fall', atS: e.atS, direction: 'forward' };
      case 'near-fall':
        return { kind: 'near-fall', atS: e.atS, type: e.type };
      case 'af':
        return { kind: 'af', startS: e.startS, endS: e.endS };
      case 'lead-off':
        return { kind: 'lead-off', startS: e.startS, endS: e.endS };
      case 'gain':
        return {
          kind: 'artifact',
          sensor: e.sensor,
          artifact: { kind: 'gain-change', factor: e.factor, startS: e.startS },
        };
    }
  });
  return [...background, ...scenario];
}

/**
 * One chunk of a wearer's signals. Each chunk is a fresh deviceRecording (its own subject drawn from
 * the population, its own schedule): the population, not the person, is what the scenario fixes.
 */
export function wearerChunk(
  profile: WearerProfile,
  chunk: number,
  fromS: number,
  seconds: number,
): DeviceRecording {
  return deviceRecording({
    seed: `${String(profile.seed)}/chunk-${chunk}`,
    seconds,
    cohort: profile.population,
    ...(profile.shift ? { shift: profile.shift } : {}),
    events: chunkEvents(profile, chunk, fromS, seconds),
  });
}
