// Drift detection end to end on simulated data: a reference profile built (models/profile) from 3,000
// simulated windows through the real preprocessing and the shipped ONNX model; device intervals from
// an independent seed show no interval alarm, and a 15 % accelerometer gain change (a firmware or
// sensor change: simulator `shift.accelGain`) alarms in every interval, with alert events per policy.
import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReferenceProfile, type ReferenceProfile } from '../../../models/profile/index.ts';
import {
  DeviceMonitor,
  type DriftAlarm,
  type MonitoredModel,
  type ReportDraft,
} from '../../../monitor/device/index.ts';
import { DRIFT_FLAG } from '../../../monitor/report/index.ts';
import { FALL_SPEC, fallFeatures, type SimulatedWindows } from './simulated.ts';

const HOUR = 3_600_000;
const T0 = 1_767_225_600_000;
const PER_INTERVAL = 900;

let model: MonitoredModel;

beforeAll(async () => {
  const reference = await fallFeatures({ seed: 424_242, count: 3000 });
  const t = FALL_SPEC.thresholds;
  const profile: ReferenceProfile = buildReferenceProfile(
    {
      featureNames: FALL_SPEC.model.featureNames,
      x: reference.x,
      scores: reference.scores,
      labels: reference.labels,
      referenceSplit: 'simulated-3000',
    },
    {
      seed: 7,
      extraEdges: { score: [...new Set([t.operatingThreshold, t.releaseThreshold, t.indeterminateLow])] },
    },
  );
  const profileSha256 = crypto.createHash('sha256').update(JSON.stringify(profile)).digest('hex');
  model = {
    manifest: { ...FALL_SPEC, monitoring: { ...FALL_SPEC.monitoring, onDrift: 'alert' } },
    manifestSha256: crypto.createHash('sha256').update('simulated manifest').digest('hex'),
    profile,
    profileSha256,
  };
}, 60_000);

function runIntervals(
  data: SimulatedWindows,
  intervals: number,
): { drafts: ReportDraft[]; alarms: DriftAlarm[] } {
  const clock = { ms: T0 };
  const alarms: DriftAlarm[] = [];
  const monitor = new DeviceMonitor({
    fleet: 'ward-3',
    device: 'bedside-1',
    runtimeVersion: '0.1.0',
    firmwareVersion: 'fw-1',
    now: () => clock.ms,
    callbacks: { onAlarm: (a) => alarms.push(a) },
  });
  monitor.registerModel(model);
  const threshold = FALL_SPEC.thresholds.operatingThreshold;
  const drafts: ReportDraft[] = [];
  for (let k = 0; k < intervals; k++) {
    clock.ms = T0 + k * HOUR;
    for (let i = k * PER_INTERVAL; i < (k + 1) * PER_INTERVAL; i++) {
      const score = data.scores[i] as number;
      const positive = score >= threshold;
      monitor.onResult(
        {
          streamId: 's1',
          cohort: 'c1',
          endMs: clock.ms,
          status: { kind: 'ok', score, label: positive ? 'fall' : 'no-fall', positive },
          provenance: { bundleId: FALL_SPEC.bundleId },
          latencyMs: 0.2,
          shadow: false,
        },
        data.x.subarray(i * 16, (i + 1) * 16),
      );
    }
    drafts.push(...monitor.closeInterval(T0 + (k + 1) * HOUR));
  }
  return { drafts, alarms: alarms.filter((a) => a.kind === 'interval-drift') };
}

describe('drift detection on simulated windows', () => {
  it('raises no interval alarm on unshifted data from an independent seed', async () => {
    const data = await fallFeatures({ seed: 99, count: 4 * PER_INTERVAL });
    const { drafts, alarms } = runIntervals(data, 4);
    expect(drafts).toHaveLength(4);
    expect(drafts.map((d) => d.drift.alarm)).toEqual([false, false, false, false]);
    expect(alarms).toHaveLength(0);
    // Per-test exceedances (5 % of 68 tests would be 3.4 per interval) stay rare.
    const exceeded = drafts.flatMap((d) => d.drift.flags.filter((f) => (f.flags & 31) !== 0));
    expect(exceeded.length).toBeLessThanOrEqual(8);
  }, 60_000);

  it('alarms in every interval after a 15 % accelerometer gain change, and emits alert events', async () => {
    const data = await fallFeatures({ seed: 99, count: 2 * PER_INTERVAL, shift: { accelGain: 1.15 } });
    const { drafts, alarms } = runIntervals(data, 2);
    expect(drafts.map((d) => d.drift.alarm)).toEqual([true, true]);
    expect(alarms).toHaveLength(2);
    for (const alarm of alarms) {
      expect(alarm.action).toBe('alert');
      expect(alarm.event?.kind).toBe('interval-drift');
    }
    // acc_mag_mean_g (feature 0) scales with the gain: flagged by every policy statistic.
    const f0 = drafts[0]?.drift.flags.find((f) => f.index === 0);
    expect(f0 && f0.flags & (DRIFT_FLAG.psi | DRIFT_FLAG.ks | DRIFT_FLAG.alarm)).toBe(
      DRIFT_FLAG.psi | DRIFT_FLAG.ks | DRIFT_FLAG.alarm,
    );
  }, 60_000);
});
