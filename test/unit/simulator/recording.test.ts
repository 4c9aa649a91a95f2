import { describe, expect, it } from 'vitest';
import type { RecordingEvent, SimulatorError } from '../../../simulator/index.ts';
import { deviceRecording } from '../../../simulator/index.ts';
import { argMax, magnitude, mean } from './helpers.ts';

const DEMO: RecordingEvent[] = [
  { kind: 'activity', activity: 'walking', startS: 2, endS: 11 },
  { kind: 'fall', atS: 12, direction: 'forward' },
  { kind: 'af', startS: 20, endS: 45 },
  { kind: 'lead-off', startS: 40, endS: 42 },
];

describe('deviceRecording', () => {
  const rec = deviceRecording({ seed: 21, seconds: 45, events: DEMO });

  it('returns the three sensors at their rates', () => {
    expect(rec.accel.x.length).toBe(45 * 50);
    expect(rec.ecg.samples.length).toBe(45 * 250);
    expect(rec.ecg.flags.length).toBe(45 * 250);
    expect(rec.ppg.samples.length).toBe(45 * 64);
    expect(rec.cohort).toBe('age=40-64;activity=active;placement=wrist');
  });

  it('injects the fall at the requested time', () => {
    const fall = rec.annotations.accel.find((a) => a.kind === 'fall-forward');
    expect(fall?.impactSample).toBe(600);
    const mag = magnitude(rec.accel.x, rec.accel.y, rec.accel.z);
    expect(mag[600]).toBeGreaterThan(3);
    expect(argMax(mag, 0, mag.length)).toBe(600);
    expect(rec.annotations.accel.map((a) => a.kind)).toEqual(['rest', 'walking', 'fall-forward']);
  });

  it('switches the rhythm to AF in the requested span, in ECG and RR truth', () => {
    expect(rec.annotations.rhythm).toEqual([
      { rhythm: 'sinus', startS: 0, endS: 20 },
      { rhythm: 'af', startS: 20, endS: 45 },
    ]);
    const b = rec.annotations.beats;
    for (let k = 1; k < b.timesS.length; k++) {
      const prev = b.timesS[k - 1] ?? 0;
      if (prev >= 21) expect(b.kinds[k]).toBe('AF');
      if ((b.timesS[k] ?? 0) < 19.5) expect(b.kinds[k]).toBe('N');
    }
  });

  it('drives ECG and PPG from the same beats', () => {
    const b = rec.annotations.beats;
    let ecgHits = 0;
    let ppgHits = 0;
    let n = 0;
    for (const t of b.timesS) {
      if (t < 1 || t > 39) continue;
      n++;
      const c = Math.round(t * 250);
      if (Math.abs(argMax(rec.ecg.samples, c - 25, c + 25) - c) <= 2) ecgHits++;
      const p = Math.round(t * 64);
      const delay = argMax(rec.ppg.samples, p, p + Math.round(0.55 * 64)) / 64 - t;
      if (delay > 0.2 && delay < 0.5) ppgHits++;
    }
    // motion artifacts during walking and the fall disturb some beats, not most
    expect(ecgHits / n).toBeGreaterThan(0.9);
    expect(ppgHits / n).toBeGreaterThan(0.6);
  });

  it('flags lead-off exactly where requested', () => {
    for (let i = 0; i < rec.ecg.flags.length; i++) {
      expect(rec.ecg.flags[i]).toBe(i >= 40 * 250 && i < 42 * 250 ? 1 : 0);
    }
    expect(rec.annotations.ecgArtifacts.some((a) => a.kind === 'lead-off' && a.startSample === 10_000)).toBe(
      true,
    );
  });

  it('raises the heart rate while walking and couples PPG motion artifacts to it', () => {
    const calm = deviceRecording({ seed: 21, seconds: 45 });
    const hr = (r: typeof rec, a: number, z: number): number => {
      const t = Array.from(r.annotations.beats.timesS).filter((x) => x >= a && x < z);
      return ((t.length - 1) / ((t[t.length - 1] ?? 0) - (t[0] ?? 0))) * 60;
    };
    expect(hr(rec, 8, 12)).toBeGreaterThan(hr(calm, 8, 12) + 5);
    const ppgRough = (r: typeof rec, a: number, z: number): number => {
      const s = r.ppg.samples;
      const d: number[] = [];
      for (let i = a * 64 + 1; i < z * 64; i++) d.push(Math.abs((s[i] ?? 0) - (s[i - 1] ?? 0)));
      return mean(d);
    };
    expect(ppgRough(rec, 3, 11)).toBeGreaterThan(1.3 * ppgRough(calm, 3, 11));
    expect(rec.annotations.ppgArtifacts.some((a) => a.kind === 'motion' && a.startSample < 11 * 64)).toBe(
      true,
    );
  });

  it('applies extra artifacts per sensor and near-falls', () => {
    const r = deviceRecording({
      seed: 2,
      seconds: 20,
      events: [
        { kind: 'near-fall', atS: 5, type: 'drop' },
        { kind: 'artifact', sensor: 'ppg', artifact: { kind: 'dropout', startS: 10, endS: 11 } },
      ],
    });
    expect(r.annotations.accel.find((a) => a.kind === 'drop')?.impactSample).toBe(250);
    expect(r.ppg.missing.reduce((s, v) => s + v, 0)).toBe(64);
    expect(r.ppg.samples.filter(Number.isNaN).length).toBe(64);
  });

  it('rejects overlapping or impossible events with BAD_EVENTS', () => {
    const bad: RecordingEvent[][] = [
      [{ kind: 'fall', atS: 0.5 }],
      [{ kind: 'fall', atS: 44.9 }],
      [
        { kind: 'activity', activity: 'walking', startS: 0, endS: 10 },
        { kind: 'fall', atS: 9 },
      ],
      [{ kind: 'af', startS: 10, endS: 5 }],
      [{ kind: 'activity', activity: 'flying' as 'rest', startS: 0, endS: 5 }],
    ];
    for (const events of bad) {
      let code: string | undefined;
      try {
        deviceRecording({ seed: 1, seconds: 45, events });
      } catch (err) {
        code = (err as SimulatorError).code;
      }
      expect(code, JSON.stringify(events)).toBe('BAD_EVENTS');
    }
  });
});
