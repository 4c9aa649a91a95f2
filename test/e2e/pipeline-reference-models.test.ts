// End to end on the reference models (issue 4 "Tests"): simulated wearers stream accelerometer and
// ECG through the assembled runtime (assembleRuntime → loader → pipeline → ONNX Runtime). Injected
// falls are detected, near-falls (sitting down hard, a dropped device) raise no fall alert, AF
// episodes are flagged, sinus rhythm is not, and ECG lead-off only ever yields declared fallbacks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleRuntime, type AssembledRuntime } from '../../runtime/assemble.ts';
import { DEFAULT_CONFIG } from '../../runtime/config.ts';
import type { PipelineEvent, WindowResult } from '../../runtime/pipeline/index.ts';
import { deviceRecording, Rng, type RecordingEvent } from '../../simulator/index.ts';
import { referenceArtifacts } from '../integration/pipeline/helpers/reference.ts';

const SECONDS = 360;
const WEARERS = 10;
const T0 = 1_767_225_600_000;
const LEAD_OFF = { startS: 20, endS: 35 };
const AF = { startS: 120, endS: 330 };
const COHORTS = [
  'age=18-39;activity=active;placement=wrist',
  'age=40-64;activity=sedentary;placement=chest',
  'age=65+;activity=sedentary;placement=hip',
  'age=65+;activity=active;placement=wrist',
  'age=40-64;activity=active;placement=chest',
];

interface Wearer {
  readonly id: string;
  readonly af: boolean;
  readonly falls: readonly number[];
  readonly nearFalls: readonly { atS: number; type: string }[];
  readonly events: readonly RecordingEvent[];
}

function wearer(i: number): Wearer {
  const rng = Rng.of(90_000 + i, 'e2e-wearer');
  const direction = () => rng.pick(['forward', 'backward', 'lateral'] as const);
  const nearType = () => rng.pick(['sit-hard', 'drop'] as const);
  const falls = [40 + rng.between(0, 5), 230 + rng.between(0, 5)];
  const nearFalls = [
    { atS: 100 + rng.between(0, 5), type: 'sit-hard' as const },
    { atS: 160 + rng.between(0, 5), type: 'drop' as const },
    { atS: 290 + rng.between(0, 5), type: nearType() },
  ];
  const af = i % 2 === 1;
  const events: RecordingEvent[] = [
    { kind: 'activity', activity: 'walking', startS: 5, endS: 30 },
    { kind: 'fall', atS: falls[0] ?? 40, direction: direction() },
    { kind: 'activity', activity: 'walking', startS: 60, endS: 90 },
    { kind: 'near-fall', atS: nearFalls[0]?.atS ?? 100, type: 'sit-hard' },
    { kind: 'activity', activity: 'sit-down', startS: 125, endS: 130 },
    { kind: 'activity', activity: 'stand-up', startS: 140, endS: 145 },
    { kind: 'near-fall', atS: nearFalls[1]?.atS ?? 160, type: 'drop' },
    { kind: 'activity', activity: 'running', startS: 175, endS: 205 },
    { kind: 'fall', atS: falls[1] ?? 230, direction: direction() },
    { kind: 'activity', activity: 'stand-up', startS: 260, endS: 265 },
    { kind: 'near-fall', atS: nearFalls[2]?.atS ?? 290, type: nearFalls[2]?.type ?? 'drop' },
    { kind: 'activity', activity: 'walking', startS: 310, endS: 340 },
    { kind: 'lead-off', startS: LEAD_OFF.startS, endS: LEAD_OFF.endS },
    ...(af ? [{ kind: 'af' as const, startS: AF.startS, endS: AF.endS }] : []),
  ];
  return { id: `wearer-${i}`, af, falls, nearFalls, events };
}

let assembled: AssembledRuntime;
const events: PipelineEvent[] = [];
const results: WindowResult[] = [];
const wearers = Array.from({ length: WEARERS }, (_, i) => wearer(i));

beforeAll(async () => {
  assembled = await assembleRuntime(
    [referenceArtifacts('fall-detector'), referenceArtifacts('af-screener')],
    {
      // Detection is under test here, not latency (bench/pipeline.bench.ts): a deadline of 1 s keeps a
      // busy shared machine from turning windows into DEADLINE_MISS fallbacks.
      config: { ...DEFAULT_CONFIG, backend: 'node', deviceId: 'gateway-e2e', inferenceDeadlineMs: 1000 },
      observer: { onEvent: (e) => events.push(e) },
    },
  );
  assembled.runtime.onResult((r) => results.push(r));
  for (const [i, w] of wearers.entries()) {
    const rec = deviceRecording({
      seed: 90_000 + i,
      seconds: SECONDS,
      cohort: COHORTS[i % COHORTS.length] ?? 'age=65+;activity=sedentary;placement=wrist',
      events: w.events,
    });
    const rt = assembled.runtime;
    rt.openStream({
      deviceId: w.id,
      streamId: `${w.id}/accel`,
      sensor: 'accel',
      rateHz: 50,
      channelCount: 3,
    });
    rt.openStream({ deviceId: w.id, streamId: `${w.id}/ecg`, sensor: 'ecg', rateHz: 250, channelCount: 1 });
    for (let s = 0; s < SECONDS; s += 1) {
      for (let part = 0; part < 5; part += 1) {
        const a = s * 50 + part * 10;
        rt.pushSamples({
          streamId: `${w.id}/accel`,
          firstCounter: a,
          timestampMs: T0 + a * 20,
          channels: [rec.accel.x, rec.accel.y, rec.accel.z].map((c) => c.subarray(a, a + 10)),
        });
        const e = s * 250 + part * 50;
        rt.pushSamples({
          streamId: `${w.id}/ecg`,
          firstCounter: e,
          timestampMs: T0 + e * 4,
          channels: [rec.ecg.samples.subarray(e, e + 50)],
          flags: rec.ecg.flags.subarray(e, e + 50),
        });
      }
      await rt.drain(); // one second of data at a time: the 50 ms inference deadline stays meaningful
    }
    await rt.drain();
    rt.closeStream(`${w.id}/accel`);
    rt.closeStream(`${w.id}/ecg`);
  }
}, 120_000);

afterAll(async () => {
  await assembled.close();
});

const alertsOf = (family: string, streamId: string) =>
  events.filter(
    (e): e is Extract<PipelineEvent, { kind: 'alert' }> =>
      e.kind === 'alert' && e.modelFamily === family && e.streamId === streamId,
  );
const secondsOf = (atMs: number) => (atMs - T0) / 1000;

describe('reference models end to end', () => {
  it('detects injected falls and raises no fall alert for near-falls or daily activities', () => {
    let detected = 0;
    let nearFallAlerts = 0;
    let otherAlerts = 0;
    const total = wearers.reduce((n, w) => n + w.falls.length, 0);
    const nearTotal = wearers.reduce((n, w) => n + w.nearFalls.length, 0);
    for (const w of wearers) {
      const alerts = alertsOf('fall-detector', `${w.id}/accel`).map((a) => secondsOf(a.atMs));
      const near = (t: number, at: number) => t >= at && t <= at + 6;
      for (const at of w.falls) if (alerts.some((t) => near(t, at))) detected += 1;
      for (const n of w.nearFalls) if (alerts.some((t) => near(t, n.atS))) nearFallAlerts += 1;
      otherAlerts += alerts.filter((t) => !w.falls.some((at) => near(t, at))).length;
    }
    process.stdout.write(
      `falls detected ${detected}/${total}; near-falls alerted ${nearFallAlerts}/${nearTotal}; ` +
        `fall alerts elsewhere ${otherAlerts}\n`,
    );
    expect(detected).toBe(total);
    expect(nearFallAlerts).toBe(0);
    expect(otherAlerts).toBe(0);
  });

  it('flags AF episodes, and not sinus rhythm', () => {
    const flagged: number[] = [];
    let falseAlerts = 0;
    for (const w of wearers) {
      const alerts = alertsOf('af-screener', `${w.id}/ecg`).map((a) => secondsOf(a.atMs));
      if (w.af) {
        const inEpisode = alerts.filter((t) => t > AF.startS && t <= AF.endS + 30);
        if (inEpisode.length > 0) flagged.push(Math.min(...inEpisode) - AF.startS);
        falseAlerts += alerts.length - inEpisode.length;
      } else falseAlerts += alerts.length;
    }
    const afWearers = wearers.filter((w) => w.af).length;
    process.stdout.write(
      `AF episodes flagged ${flagged.length}/${afWearers} (alert ${Math.min(...flagged)}–${Math.max(...flagged)} s after onset); ` +
        `AF alerts outside episodes ${falseAlerts}\n`,
    );
    expect(flagged).toHaveLength(afWearers);
    expect(falseAlerts).toBe(0);
  });

  it('answers every ECG window touching lead-off with the declared fallback, logged as one episode', () => {
    const touching = results.filter(
      (r) =>
        r.provenance.modelFamily === 'af-screener' &&
        secondsOf(r.startMs) < LEAD_OFF.endS &&
        secondsOf(r.endMs) > LEAD_OFF.startS,
    );
    expect(touching.length).toBe(WEARERS * 7); // windows starting at 0…30 s overlap 20–35 s
    for (const r of touching) {
      expect(r.status).toMatchObject({
        kind: 'fallback',
        reason: 'QUALITY_SENSOR_FLAG',
        output: { kind: 'quality-alert' },
      });
    }
    const okDuringLeadOff = results.filter(
      (r) => r.status.kind === 'ok' && touching.some((t) => t.resultId === r.resultId),
    );
    expect(okDuringLeadOff).toHaveLength(0);
    for (const w of wearers) {
      const episodes = events.filter(
        (e) => e.kind !== 'alert' && e.streamId === `${w.id}/ecg` && e.reason === 'QUALITY_SENSOR_FLAG',
      );
      expect(episodes.map((e) => e.kind).slice(0, 2)).toEqual([
        'fallback-episode-start',
        'fallback-episode-end',
      ]);
      // One episode holds the 7 lead-off windows (and any fallback that follows them directly).
      expect(episodes[1]).toMatchObject({ reasons: { QUALITY_SENSOR_FLAG: 7 } });
    }
  });

  it('puts provenance on every result and counts everything in the pipeline stats', () => {
    expect(results.length).toBeGreaterThan(WEARERS * 300);
    for (const r of results) {
      expect(r.provenance.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(r.provenance.runtimeVersion.length).toBeGreaterThan(0);
    }
    const stats = assembled.pipeline.stats();
    const windows = stats.families.reduce((n, f) => n + f.active.windows, 0);
    expect(windows).toBe(results.length);
    expect(stats.internalErrors).toBe(0);
    process.stdout.write(
      `${JSON.stringify(stats.families.map((f) => ({ family: f.family, ...f.active, latency: undefined })))}\n`,
    );
  });
});
