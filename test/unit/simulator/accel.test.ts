import { describe, expect, it } from 'vitest';
import type { AccelSegment, FallDirection, Placement } from '../../../simulator/index.ts';
import {
  PLACEMENTS,
  Rng,
  SimulatorError,
  accelTimeline,
  cohortParams,
  drawSubject,
} from '../../../simulator/index.ts';
import { angleDeg, magnitude, mean, meanVec, sd } from './helpers.ts';

const RATE = 50;

function run(seed: number, segments: AccelSegment[], placement: Placement = 'wrist', age = '40-64') {
  const rng = Rng.of(seed, 'accel-test');
  const subject = drawSubject(cohortParams(`age=${age};placement=${placement}`), rng.fork('subject'));
  const sig = accelTimeline({ rng, subject, rateHz: RATE, segments });
  return { ...sig, mag: magnitude(sig.x, sig.y, sig.z) };
}

describe('accelerometer', () => {
  it('reads about 1 g at rest in every placement', () => {
    for (const placement of PLACEMENTS) {
      const s = run(1, [{ kind: 'activity', activity: 'rest', durationS: 20 }], placement);
      expect(s.x.length).toBe(20 * RATE);
      expect(Math.abs(mean(s.mag) - 1)).toBeLessThan(0.03);
      expect(sd(s.mag)).toBeLessThan(0.05);
    }
  });

  it('shows gait oscillation at step frequency when walking and more when running', () => {
    const walk = run(2, [{ kind: 'activity', activity: 'walking', durationS: 20 }], 'hip');
    const runS = run(2, [{ kind: 'activity', activity: 'running', durationS: 20 }], 'hip');
    expect(Math.abs(mean(walk.mag) - 1)).toBeLessThan(0.1);
    expect(sd(walk.mag)).toBeGreaterThan(0.08);
    expect(sd(runS.mag)).toBeGreaterThan(2 * sd(walk.mag));
    expect(Math.max(...runS.mag)).toBeLessThan(5);
  });

  it.each(['forward', 'backward', 'lateral'] as FallDirection[])(
    'models a %s fall: dip, impact, orientation change, stillness',
    (direction) => {
      for (const placement of PLACEMENTS) {
        for (let seed = 0; seed < 4; seed++) {
          const s = run(
            seed,
            [
              { kind: 'activity', activity: 'walking', durationS: 5 },
              { kind: 'fall', direction, durationS: 6, impactOffsetS: 1.5 },
            ],
            placement,
          );
          const ev = s.annotations[1];
          expect(ev?.kind).toBe(`fall-${direction}`);
          const impact = ev?.impactSample ?? -1;
          expect(impact).toBe(Math.round(6.5 * RATE));
          // impact peak 3-8 g, located at the annotated sample
          const peak = s.mag[impact] ?? 0;
          expect(peak).toBeGreaterThan(3);
          expect(peak).toBeLessThan(8.5);
          expect(Math.max(...s.mag.slice(impact - 5, impact + 5))).toBe(peak);
          // free-fall dip below 0.6 g lasting 0.3-0.6 s in the second before the impact
          const before = Array.from(s.mag.slice(impact - RATE, impact));
          expect(Math.min(...before)).toBeLessThan(0.6);
          const low = before.filter((v) => v < 0.65).length / RATE;
          expect(low).toBeGreaterThanOrEqual(0.25);
          expect(low).toBeLessThanOrEqual(0.65);
          // gravity direction turns by ~60-90 degrees (walking before vs lying after)
          const pre = meanVec(s.x, s.y, s.z, 0, 4 * RATE);
          const post = meanVec(s.x, s.y, s.z, impact + RATE, impact + 4 * RATE);
          const turn = angleDeg(pre, post);
          expect(turn).toBeGreaterThan(50);
          expect(turn).toBeLessThan(105);
          // post-fall stillness
          expect(sd(s.mag, impact + RATE, impact + 4 * RATE)).toBeLessThan(0.02);
        }
      }
    },
  );

  it('makes sitting down hard a near-fall: 2-3.5 g impact, no lying orientation, no stillness', () => {
    for (let seed = 0; seed < 6; seed++) {
      const s = run(
        seed,
        [
          { kind: 'activity', activity: 'walking', durationS: 5 },
          { kind: 'sit-hard', durationS: 6, impactOffsetS: 1.5 },
        ],
        'chest',
      );
      const impact = s.annotations[1]?.impactSample ?? -1;
      const peak = s.mag[impact] ?? 0;
      expect(peak).toBeGreaterThan(1.9);
      expect(peak).toBeLessThan(3.7);
      const turn = angleDeg(
        meanVec(s.x, s.y, s.z, 0, 200),
        meanVec(s.x, s.y, s.z, impact + 50, impact + 200),
      );
      expect(turn).toBeLessThan(40);
      expect(sd(s.mag, impact + 50, impact + 200)).toBeGreaterThan(0.02);
    }
  });

  it('makes a device drop a hard negative: true free fall, sharp impact, still with a random orientation', () => {
    const turns: number[] = [];
    for (let seed = 0; seed < 8; seed++) {
      const s = run(seed, [
        { kind: 'activity', activity: 'rest', durationS: 4 },
        { kind: 'drop', durationS: 6, impactOffsetS: 1.5 },
      ]);
      const impact = s.annotations[1]?.impactSample ?? -1;
      expect(s.annotations[1]?.kind).toBe('drop');
      expect(Math.min(...s.mag.slice(impact - 12, impact - 2))).toBeLessThan(0.15);
      expect(s.mag[impact] ?? 0).toBeGreaterThan(4.5);
      // still on a table: only sensor noise
      expect(sd(s.mag, impact + 50, impact + 200)).toBeLessThan(0.01);
      turns.push(angleDeg(meanVec(s.x, s.y, s.z, 0, 150), meanVec(s.x, s.y, s.z, impact + 50, impact + 200)));
    }
    // random resting orientations: spread out, not all one angle
    expect(Math.max(...turns) - Math.min(...turns)).toBeGreaterThan(40);
  });

  it('models sitting down, standing up and lying down as posture transitions without impacts', () => {
    const s = run(
      5,
      [
        { kind: 'activity', activity: 'rest', durationS: 3 },
        { kind: 'activity', activity: 'sit-down', durationS: 5 },
        { kind: 'activity', activity: 'stand-up', durationS: 5 },
        { kind: 'activity', activity: 'lie-down', durationS: 6 },
      ],
      'chest',
    );
    expect(Math.max(...s.mag)).toBeLessThan(1.8);
    expect(s.annotations.map((a) => a.kind)).toEqual(['rest', 'sit-down', 'stand-up', 'lie-down']);
    const upright = meanVec(s.x, s.y, s.z, 0, 100);
    const lying = meanVec(s.x, s.y, s.z, s.x.length - 50, s.x.length);
    expect(angleDeg(upright, lying)).toBeGreaterThan(70);
    const seated = meanVec(s.x, s.y, s.z, 3 * RATE + 150, 8 * RATE);
    const seatTurn = angleDeg(upright, seated);
    expect(seatTurn).toBeGreaterThan(5);
    expect(seatTurn).toBeLessThan(30);
  });

  it('rejects impacts placed too early with BAD_ARGUMENT', () => {
    expect(() => run(1, [{ kind: 'fall', direction: 'forward', durationS: 3, impactOffsetS: 0.5 }])).toThrow(
      SimulatorError,
    );
    expect(() => run(1, [])).toThrow(/segment/);
  });
});
