// Cohorts: named parameter shifts per age band, activity level and sensor placement, plus an explicit
// population shift so that drift can be produced on purpose. Values are population medians; each
// simulated subject is drawn around them (drawSubject) so cohorts overlap as real populations do.
// Sources for the directions and rough sizes: Umetani et al. 1998 (HR/HRV fall with age, SDNN
// ~50 ms young vs ~30 ms elderly in short recordings); Task Force ESC/NASPE 1996 (LF 0.04-0.15 Hz,
// HF 0.15-0.4 Hz); AF prevalence rising steeply after 65 (Chugh et al. 2014); gait cadence and
// vigour lower in older adults (Hollman et al. 2011); older adults fall sideways more often and
// with weaker protective responses (Robinovitch et al. 2013).
import { SimulatorError } from '../errors.ts';

export const AGE_BANDS = ['18-39', '40-64', '65+'] as const;
export const ACTIVITY_LEVELS = ['sedentary', 'active'] as const;
export const PLACEMENTS = ['wrist', 'chest', 'hip'] as const;

export type AgeBand = (typeof AGE_BANDS)[number];
export type ActivityLevel = (typeof ACTIVITY_LEVELS)[number];
export type Placement = (typeof PLACEMENTS)[number];

export interface Cohort {
  readonly age: AgeBand;
  readonly activity: ActivityLevel;
  readonly placement: Placement;
}

/** Deliberate drift on top of a cohort (all optional; identity when omitted). */
export interface PopulationShift {
  /** Added to the cohort's median resting heart rate. */
  readonly hrOffsetBpm?: number;
  /** Multiplies the median SDNN. */
  readonly sdnnScale?: number;
  /** Multiplies gait and fall vigour (amplitudes of body motion). */
  readonly gaitVigorScale?: number;
  /** Multiplies every sensor noise level. */
  readonly noiseScale?: number;
  /** Sensor gain (e.g. a firmware or hardware change): multiplies accelerometer output. */
  readonly accelGain?: number;
  /** Multiplies ECG output (mV per mV). */
  readonly ecgGain?: number;
  /** Multiplies PPG output. */
  readonly ppgGain?: number;
  /** Multiplies AF prevalence (used by fleet scenarios). */
  readonly afPrevalenceScale?: number;
}

export interface HeartParams {
  readonly meanHrBpm: number;
  /** Between-subject SD of resting HR. */
  readonly hrBetweenSdBpm: number;
  readonly sdnnMs: number;
  readonly lfHfRatio: number;
  readonly respRateHz: number;
  readonly afPrevalence: number;
  readonly afMeanHrBpm: number;
  /** Coefficient of variation of RR in AF. */
  readonly afRrCv: number;
  /** Background ectopy (PAC + PVC per minute) in people who have some. */
  readonly ectopyPerMin: number;
  readonly rAmplitudeMv: number;
  /** Pulse transit (R to PPG foot), seconds: shorter with stiffer arteries. */
  readonly pttS: number;
  /** Diastolic-to-systolic PPG amplitude ratio: smaller with age. */
  readonly ppgDiastolicRatio: number;
}

export interface GaitParams {
  /** Steps per second when walking. */
  readonly cadenceHz: number;
  /** Amplitude multiplier of body motion. */
  readonly vigor: number;
  /** Share of running among dynamic activities. */
  readonly runningShare: number;
}

export interface FallParams {
  /** Weights of forward, backward, lateral. */
  readonly directionWeights: readonly [number, number, number];
  readonly impactG: readonly [number, number];
  readonly dipG: readonly [number, number];
  readonly freeFallS: readonly [number, number];
}

export interface SensorParams {
  readonly placement: Placement;
  /** Body-motion amplitude seen at this placement. */
  readonly dynamicGain: number;
  readonly accelGain: number;
  readonly accelNoiseG: number;
  readonly ecgNoiseMv: number;
  readonly ecgGain: number;
  readonly ppgNoise: number;
  /** PPG motion artifact amplitude per g of dynamic acceleration. */
  readonly ppgMotionPerG: number;
  /** ECG electrode-motion artifact, mV per g of dynamic acceleration. */
  readonly ecgMotionPerG: number;
  readonly ppgGain: number;
}

export interface CohortParams {
  readonly key: string;
  readonly cohort: Cohort;
  readonly heart: HeartParams;
  readonly gait: GaitParams;
  readonly falls: FallParams;
  readonly sensor: SensorParams;
}

export const DEFAULT_COHORT: Cohort = Object.freeze({ age: '40-64', activity: 'active', placement: 'wrist' });

export function cohortKey(c: Cohort): string {
  return `age=${c.age};activity=${c.activity};placement=${c.placement}`;
}

function member<T extends string>(list: readonly T[], value: string, what: string): T {
  const found = list.find((v) => v === value);
  if (found === undefined) {
    throw new SimulatorError('BAD_COHORT', `unknown ${what} "${value}" (expected ${list.join(', ')})`);
  }
  return found;
}

/**
 * Parses `age=65+;activity=sedentary;placement=wrist`. Missing fields take DEFAULT_COHORT's value;
 * unknown or duplicate fields are rejected.
 */
export function parseCohortKey(key: string): Cohort {
  let age: AgeBand = DEFAULT_COHORT.age;
  let activity: ActivityLevel = DEFAULT_COHORT.activity;
  let placement: Placement = DEFAULT_COHORT.placement;
  const seen = new Set<string>();
  if (key.length > 200) throw new SimulatorError('BAD_COHORT', 'cohort key too long');
  for (const part of key.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new SimulatorError('BAD_COHORT', `cohort field "${part}" is not name=value`);
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (seen.has(name)) throw new SimulatorError('BAD_COHORT', `duplicate cohort field "${name}"`);
    seen.add(name);
    switch (name) {
      case 'age':
        age = member(AGE_BANDS, value, 'age band');
        break;
      case 'activity':
        activity = member(ACTIVITY_LEVELS, value, 'activity level');
        break;
      case 'placement':
        placement = member(PLACEMENTS, value, 'placement');
        break;
      default:
        throw new SimulatorError(
          'BAD_COHORT',
          `unknown cohort field "${name}" (expected age, activity, placement)`,
        );
    }
  }
  return { age, activity, placement };
}

/** Every combination of age band x activity level x placement (18 cohorts). */
export function allCohorts(): Cohort[] {
  const out: Cohort[] = [];
  for (const age of AGE_BANDS)
    for (const activity of ACTIVITY_LEVELS)
      for (const placement of PLACEMENTS) out.push({ age, activity, placement });
  return out;
}

function checkShift(shift: PopulationShift): void {
  for (const [name, value] of Object.entries(shift)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new SimulatorError('BAD_COHORT', `population shift ${name} must be a finite number`);
    }
    if (name !== 'hrOffsetBpm' && (value <= 0 || value > 100)) {
      throw new SimulatorError('BAD_COHORT', `population shift ${name} must be a factor in (0, 100]`);
    }
    if (name === 'hrOffsetBpm' && Math.abs(value) > 60) {
      throw new SimulatorError('BAD_COHORT', 'population shift hrOffsetBpm must be within +-60 bpm');
    }
  }
}

/** The cohort's parameters, with an optional deliberate population shift applied. */
export function cohortParams(cohort: Cohort | string, shift: PopulationShift = {}): CohortParams {
  const c = typeof cohort === 'string' ? parseCohortKey(cohort) : cohort;
  checkShift(shift);
  const age = AGE_TABLE[c.age];
  const act = ACTIVITY_TABLE[c.activity];
  const pl = PLACEMENT_TABLE[c.placement];
  const noise = shift.noiseScale ?? 1;
  const vigorScale = shift.gaitVigorScale ?? 1;
  return {
    key: cohortKey(c),
    cohort: c,
    heart: {
      meanHrBpm: age.meanHrBpm + act.hrOffsetBpm + (shift.hrOffsetBpm ?? 0),
      hrBetweenSdBpm: 7,
      sdnnMs: age.sdnnMs * act.sdnnScale * (shift.sdnnScale ?? 1),
      lfHfRatio: age.lfHfRatio,
      respRateHz: age.respRateHz,
      afPrevalence: Math.min(1, age.afPrevalence * (shift.afPrevalenceScale ?? 1)),
      afMeanHrBpm: age.afMeanHrBpm,
      afRrCv: age.afRrCv,
      ectopyPerMin: age.ectopyPerMin,
      rAmplitudeMv: age.rAmplitudeMv,
      pttS: age.pttS,
      ppgDiastolicRatio: age.ppgDiastolicRatio,
    },
    gait: {
      cadenceHz: age.cadenceHz * act.cadenceScale,
      vigor: age.vigor * act.vigorScale * vigorScale,
      runningShare: age.runningShare * act.runningScale,
    },
    falls: {
      directionWeights: age.fallDirectionWeights,
      impactG: age.impactG,
      dipG: age.dipG,
      freeFallS: [0.3, 0.5],
    },
    sensor: {
      placement: c.placement,
      dynamicGain: pl.dynamicGain,
      accelGain: shift.accelGain ?? 1,
      accelNoiseG: 0.004 * noise,
      ecgNoiseMv: pl.ecgNoiseMv * noise,
      ecgGain: pl.ecgGain * (shift.ecgGain ?? 1),
      ppgNoise: pl.ppgNoise * noise,
      ppgMotionPerG: pl.ppgMotionPerG,
      ecgMotionPerG: pl.ecgMotionPerG,
      ppgGain: shift.ppgGain ?? 1,
    },
  };
}

interface AgeRow {
  meanHrBpm: number;
  sdnnMs: number;
  lfHfRatio: number;
  respRateHz: number;
  afPrevalence: number;
  afMeanHrBpm: number;
  afRrCv: number;
  ectopyPerMin: number;
  rAmplitudeMv: number;
  pttS: number;
  ppgDiastolicRatio: number;
  cadenceHz: number;
  vigor: number;
  runningShare: number;
  fallDirectionWeights: readonly [number, number, number];
  impactG: readonly [number, number];
  dipG: readonly [number, number];
}

const AGE_TABLE: Readonly<Record<AgeBand, AgeRow>> = {
  '18-39': {
    meanHrBpm: 66,
    sdnnMs: 55,
    lfHfRatio: 1.2,
    respRateHz: 0.25,
    afPrevalence: 0.002,
    afMeanHrBpm: 110,
    afRrCv: 0.22,
    ectopyPerMin: 0.5,
    rAmplitudeMv: 1.15,
    pttS: 0.27,
    ppgDiastolicRatio: 0.45,
    cadenceHz: 1.9,
    vigor: 1.1,
    runningShare: 0.35,
    fallDirectionWeights: [0.45, 0.35, 0.2],
    impactG: [4, 8],
    dipG: [0.2, 0.45],
  },
  '40-64': {
    meanHrBpm: 69,
    sdnnMs: 42,
    lfHfRatio: 1.8,
    respRateHz: 0.25,
    afPrevalence: 0.02,
    afMeanHrBpm: 105,
    afRrCv: 0.2,
    ectopyPerMin: 1,
    rAmplitudeMv: 1.0,
    pttS: 0.25,
    ppgDiastolicRatio: 0.35,
    cadenceHz: 1.8,
    vigor: 1.0,
    runningShare: 0.2,
    fallDirectionWeights: [0.4, 0.35, 0.25],
    impactG: [3.5, 7],
    dipG: [0.25, 0.5],
  },
  '65+': {
    meanHrBpm: 72,
    sdnnMs: 30,
    lfHfRatio: 2.4,
    respRateHz: 0.27,
    afPrevalence: 0.09,
    afMeanHrBpm: 98,
    afRrCv: 0.18,
    ectopyPerMin: 2,
    rAmplitudeMv: 0.85,
    pttS: 0.21,
    ppgDiastolicRatio: 0.22,
    cadenceHz: 1.65,
    vigor: 0.8,
    runningShare: 0.05,
    fallDirectionWeights: [0.3, 0.35, 0.35],
    impactG: [3.2, 6],
    dipG: [0.3, 0.55],
  },
};

interface ActivityRow {
  hrOffsetBpm: number;
  sdnnScale: number;
  cadenceScale: number;
  vigorScale: number;
  runningScale: number;
}

const ACTIVITY_TABLE: Readonly<Record<ActivityLevel, ActivityRow>> = {
  sedentary: { hrOffsetBpm: 4, sdnnScale: 0.85, cadenceScale: 0.95, vigorScale: 0.85, runningScale: 0.3 },
  active: { hrOffsetBpm: -5, sdnnScale: 1.15, cadenceScale: 1.03, vigorScale: 1.1, runningScale: 1.5 },
};

interface PlacementRow {
  dynamicGain: number;
  ecgNoiseMv: number;
  ecgGain: number;
  ppgNoise: number;
  ppgMotionPerG: number;
  ecgMotionPerG: number;
}

// A wrist sensor sees arm motion on top of body motion and gives a noisy single-lead ECG (finger
// closing the circuit) but is where PPG lives; a chest patch gives a clean ECG; a hip clip sees
// trunk motion attenuated and its PPG/ECG are least usable.
const PLACEMENT_TABLE: Readonly<Record<Placement, PlacementRow>> = {
  wrist: {
    dynamicGain: 1.3,
    ecgNoiseMv: 0.03,
    ecgGain: 0.8,
    ppgNoise: 0.03,
    ppgMotionPerG: 1.2,
    ecgMotionPerG: 0.15,
  },
  chest: {
    dynamicGain: 0.9,
    ecgNoiseMv: 0.01,
    ecgGain: 1.0,
    ppgNoise: 0.05,
    ppgMotionPerG: 0.8,
    ecgMotionPerG: 0.08,
  },
  hip: {
    dynamicGain: 1.0,
    ecgNoiseMv: 0.02,
    ecgGain: 0.9,
    ppgNoise: 0.06,
    ppgMotionPerG: 1.0,
    ecgMotionPerG: 0.1,
  },
};
