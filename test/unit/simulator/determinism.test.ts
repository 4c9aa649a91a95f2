// Same seed => byte-identical output on any machine. The golden digests below pin the exact bytes
// of fixed calls: an intended change to a generator must update them (and say so in the commit).
import { describe, expect, it } from 'vitest';
import type { DeviceRecording, SignalOptions } from '../../../simulator/index.ts';
import { afWindows, deviceRecording, fallWindows, simulateSignal, toCbor } from '../../../simulator/index.ts';
import { sha256 } from './helpers.ts';

const FIXED: SignalOptions = {
  kind: 'ecg',
  seconds: 10,
  seed: 42,
  cohort: 'age=65+;activity=sedentary;placement=chest',
  artifacts: [
    { kind: 'powerline', amplitude: 0.05, freqHz: 50 },
    { kind: 'dropout', perMin: 12 },
  ],
};

function recordingHash(r: DeviceRecording): string {
  return sha256(
    r.accel.x,
    r.accel.y,
    r.accel.z,
    r.ecg.samples,
    r.ecg.flags,
    r.ppg.samples,
    r.annotations.beats.timesS,
  );
}

function signalHash(opts: SignalOptions): string {
  return sha256(toCbor(simulateSignal(opts)));
}

describe('determinism', () => {
  it('gives identical bytes for the same seed and different bytes for another', () => {
    for (const kind of ['ecg', 'ppg', 'accel', 'rr'] as const) {
      const opts: SignalOptions = { kind, seconds: 8, seed: 7 };
      expect(signalHash(opts)).toBe(signalHash(opts));
      expect(signalHash({ ...opts, seed: 8 })).not.toBe(signalHash(opts));
    }
    const rec = (seed: number): string =>
      recordingHash(deviceRecording({ seed, seconds: 20, events: [{ kind: 'fall', atS: 8 }] }));
    expect(rec(1)).toBe(rec(1));
    expect(rec(2)).not.toBe(rec(1));
  });

  it('matches the committed golden digests', () => {
    expect(signalHash(FIXED)).toBe(GOLDEN.signal);
    const falls = fallWindows({ seed: 1, count: 12 });
    expect(sha256(...falls.flatMap((w) => [w.id, w.kind, w.x, w.y, w.z]))).toBe(GOLDEN.fallWindows);
    const af = afWindows({ seed: 1, count: 4, source: 'ecg' });
    expect(sha256(...af.flatMap((w) => [w.id, w.kind, w.samples]))).toBe(GOLDEN.afWindows);
    const rec = deviceRecording({
      seed: 3,
      seconds: 30,
      events: [
        { kind: 'fall', atS: 12, direction: 'lateral' },
        { kind: 'af', startS: 20, endS: 30 },
      ],
    });
    expect(recordingHash(rec)).toBe(GOLDEN.recording);
  });
});

const GOLDEN = {
  signal: '6b39542fda03661e103b886e5e4b82be429ae2b72b5a94ef45868460b02ad4c2',
  fallWindows: '71918d78e2a5aae660d213264d6578cd71c7c6b0d41b11b219191312dcb0ad44',
  afWindows: 'c0668d850eee8902be8e7b6fa09e5c65229bac7817b1c0f71e1e496ec5d93bdb',
  recording: '9014d22a79b333d7fcbc60c897efabb28b29671489e97bcf176af894eabf8b30',
};
