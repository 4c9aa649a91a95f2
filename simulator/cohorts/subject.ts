// One simulated wearer: concrete values drawn around the cohort's medians (between-subject spread),
// so that two subjects of one cohort differ and cohorts overlap.
import type { Rng } from '../rng.ts';
import type { Mat3, Vec3 } from '../signals/vec.ts';
import { normalize, rotateRows } from '../signals/vec.ts';
import type { CohortParams, Placement } from './cohorts.ts';

export interface Subject {
  readonly cohort: CohortParams;
  readonly restingHrBpm: number;
  readonly sdnnMs: number;
  readonly lfHfRatio: number;
  readonly respRateHz: number;
  readonly afMeanHrBpm: number;
  readonly afRrCv: number;
  readonly rAmplitudeMv: number;
  readonly pttS: number;
  readonly ppgDiastolicRatio: number;
  readonly cadenceHz: number;
  readonly vigor: number;
  /** Body frame (x anterior, y left, z up) to device frame, incl. this wearer's mounting tilt. */
  readonly mount: Mat3;
}

// Device axes (rows) in body coordinates for each placement, before the wearer's own tilt.
const MOUNTS: Readonly<Record<Placement, Mat3>> = {
  // Watch on a hanging arm: x along the forearm toward the hand (down), y anterior, z lateral.
  wrist: [
    [0, 0, -1],
    [1, 0, 0],
    [0, -1, 0],
  ],
  // Chest patch: x left, y up, z out of the chest.
  chest: [
    [0, 1, 0],
    [0, 0, 1],
    [1, 0, 0],
  ],
  // Belt clip on the left hip: x up, y anterior, z lateral (out of the hip).
  hip: [
    [0, 0, 1],
    [1, 0, 0],
    [0, 1, 0],
  ],
};

const MOUNT_TILT_RAD: Readonly<Record<Placement, number>> = { wrist: 0.35, chest: 0.15, hip: 0.2 };

export function drawSubject(params: CohortParams, rng: Rng): Subject {
  const h = params.heart;
  const g = params.gait;
  const placement = params.sensor.placement;
  const axis: Vec3 = normalize([rng.normal(), rng.normal(), rng.normal()]);
  const tilt = rng.between(-1, 1) * MOUNT_TILT_RAD[placement];
  return {
    cohort: params,
    restingHrBpm: rng.clampedNormal(h.meanHrBpm, h.hrBetweenSdBpm, 45, 110),
    sdnnMs: h.sdnnMs * rng.clampedNormal(1, 0.25, 0.4, 1.8),
    lfHfRatio: h.lfHfRatio * rng.clampedNormal(1, 0.3, 0.3, 2.5),
    respRateHz: rng.clampedNormal(h.respRateHz, 0.03, 0.15, 0.4),
    afMeanHrBpm: rng.clampedNormal(h.afMeanHrBpm, 12, 75, 150),
    afRrCv: rng.clampedNormal(h.afRrCv, 0.04, 0.12, 0.35),
    rAmplitudeMv: h.rAmplitudeMv * rng.clampedNormal(1, 0.15, 0.6, 1.5),
    pttS: rng.clampedNormal(h.pttS, 0.02, 0.2, 0.3),
    ppgDiastolicRatio: h.ppgDiastolicRatio * rng.clampedNormal(1, 0.2, 0.4, 1.6),
    cadenceHz: rng.clampedNormal(g.cadenceHz, 0.1, 1.3, 2.3),
    vigor: g.vigor * rng.clampedNormal(1, 0.12, 0.6, 1.4),
    mount: rotateRows(MOUNTS[placement], axis, tilt),
  };
}
