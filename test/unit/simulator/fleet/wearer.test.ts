// Simulated wearers: the day schedule is seeded, never overlaps itself or a reserved span, and a chunk
// of signals is the same bytes for the same seed; scenario events land in the right chunk, clipped.
import crypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HOME_DAY,
  chunkEvents,
  dailyActivities,
  wearerChunk,
  type WearerProfile,
} from '../../../../simulator/fleet/index.ts';
import type { RecordingEvent } from '../../../../simulator/index.ts';

function span(e: RecordingEvent): [number, number] {
  switch (e.kind) {
    case 'activity':
      return [e.startS, e.endS];
    case 'near-fall':
    case 'fall':
      return [e.atS - 1, e.atS + 0.5];
    case 'af':
    case 'lead-off':
      return [e.startS, e.endS];
    case 'artifact':
      return [0, 0];
  }
}

describe('day schedule', () => {
  it('is seeded, ordered, inside the recording and clear of reserved spans', () => {
    const reserved = [{ startS: 40, endS: 70 }];
    const a = dailyActivities('w-1', 300, HOME_DAY, reserved);
    expect(dailyActivities('w-1', 300, HOME_DAY, reserved)).toEqual(a);
    expect(dailyActivities('w-2', 300, HOME_DAY, reserved)).not.toEqual(a);
    expect(a.length).toBeGreaterThan(20);
    let last = -1;
    for (const e of a) {
      const [from, to] = span(e);
      expect(from).toBeGreaterThanOrEqual(last - 1e-9);
      expect(to).toBeLessThanOrEqual(300);
      expect(to <= 40 || from >= 70).toBe(true);
      last = to;
    }
    const kinds = new Set(a.map((e) => (e.kind === 'activity' ? e.activity : e.kind)));
    expect(kinds.has('walking')).toBe(true);
  });
});

describe('chunks', () => {
  const profile: WearerProfile = {
    seed: 'unit',
    population: 'age=65+;activity=sedentary;placement=wrist',
    schedule: { ...HOME_DAY, afShare: 0 },
    events: [
      { kind: 'gain', sensor: 'accel', factor: 2, startS: 70 },
      { kind: 'af', startS: 50, endS: 130 },
      { kind: 'fall', atS: 100 },
    ],
  };

  it('places scenario events in chunk time, clipped to the chunk', () => {
    const first = chunkEvents(profile, 0, 0, 60).filter(
      (e) => e.kind !== 'activity' && e.kind !== 'near-fall',
    );
    expect(first).toEqual([{ kind: 'af', startS: 50, endS: 60 }]);
    const second = chunkEvents(profile, 1, 60, 60).filter(
      (e) => e.kind !== 'activity' && e.kind !== 'near-fall',
    );
    expect(second).toEqual([
      { kind: 'artifact', sensor: 'accel', artifact: { kind: 'gain-change', factor: 2, startS: 10 } },
      { kind: 'af', startS: 0, endS: 60 },
      { kind: 'fall', atS: 40, direction: 'forward' },
    ]);
  });

  it('gives the same signals for the same seed, and doubles the accelerometer after a gain change', () => {
    const digest = (c: ReturnType<typeof wearerChunk>) =>
      crypto
        .createHash('sha256')
        .update(new Uint8Array(c.accel.x.buffer))
        .update(new Uint8Array(c.ecg.samples.buffer))
        .digest('hex');
    const calm: WearerProfile = { ...profile, events: [] };
    const a = wearerChunk(calm, 3, 0, 20);
    expect(digest(wearerChunk(calm, 3, 0, 20))).toBe(digest(a));
    expect(digest(wearerChunk(calm, 4, 0, 20))).not.toBe(digest(a));
    const gained = wearerChunk(
      { ...calm, events: [{ kind: 'gain', sensor: 'accel', factor: 2, startS: 0 }] },
      3,
      0,
      20,
    );
    const mag = (c: ReturnType<typeof wearerChunk>, i: number) =>
      Math.hypot(c.accel.x[i] ?? 0, c.accel.y[i] ?? 0, c.accel.z[i] ?? 0);
    let ratio = 0;
    for (let i = 0; i < 1000; i += 1) ratio += mag(gained, i) / mag(a, i);
    expect(ratio / 1000).toBeCloseTo(2, 5);
  });

  it('renders any chunk: fractional bounds, events straddling or outside it (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 5, max: 45, noNaN: true }),
        fc.double({ min: -50, max: 600, noNaN: true }),
        fc.double({ min: -50, max: 600, noNaN: true }),
        (fromS, seconds, fallS, afS) => {
          const chunk = wearerChunk(
            {
              ...profile,
              events: [
                { kind: 'fall', atS: fallS },
                { kind: 'af', startS: afS, endS: afS + 30 },
                { kind: 'gain', sensor: 'ecg', factor: 1.5, startS: afS },
              ],
            },
            7,
            fromS,
            seconds,
          );
          expect(chunk.accel.x.length).toBe(Math.round(seconds * 50));
        },
      ),
      { numRuns: 40 },
    );
  });
});
